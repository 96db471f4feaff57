/**
 * The stack configuration (`Pulumi.<stack>.yaml`): its keys, their types and defaults, and the
 * validation of the whole of it at once, before any resource is registered.
 *
 * Input is Pulumi's flat configuration map (`namespace:key` → string, structured values as JSON
 * text), which is what both `pulumi up` and the offline plan hand over.
 */
import { FieldError, didYouMean, isDnsLabel } from "../../components/validation";
import {
  AddressingSpec,
  Cidr,
  checkAddresses,
  formatIpv4,
  parseCidr,
  parseIpv4,
  assignAddresses,
  cidrContains,
} from "../../components/vsphere/addressing";
import { HostSpec, Overcommit, TopologySpec, VmShape, VmSlot, checkTopology, planSlots } from "../../components/vsphere/placement";
import type { VsphereInventory } from "../../components/vsphere/topology";
import { ConfigReader, Obj } from "../../components/config-reader";

export const PROJECT = "vsphere-spark";
const ns = (k: string) => `${PROJECT}:${k}`;

/** Every key this project reads from its own namespace. */
export const PROJECT_KEYS = [
  "clusterName",
  "inventory",
  "hosts",
  "vmProfiles",
  "workersPerHost",
  "controlPlane",
  "endpoint",
  "network",
  "drs",
  "overcommit",
  "kubernetes",
  "spark",
  "registryPassword",
] as const;

/** Project keys whose values must be Pulumi secrets. */
export const SECRET_PROJECT_KEYS = ["registryPassword"] as const;

/**
 * Configuration keys of the pulumi-vsphere 4.17.0 provider (`config.variables` in its schema; a
 * test holds this list against the schema).
 */
export const VSPHERE_PROVIDER_KEYS = [
  "allowUnverifiedSsl",
  "apiTimeout",
  "clientDebug",
  "clientDebugPath",
  "clientDebugPathRun",
  "password",
  "persistSession",
  "restSessionPath",
  "vcenterServer",
  "vimKeepAlive",
  "vimSessionPath",
  "vsphereServer",
  "user",
] as const;

export type EndpointKind = "haproxy" | "kube-vip" | "external";

/** The vCenter inventory names of `vsphere-spark:inventory` (what the topology component takes). */
export type Inventory = VsphereInventory;

export interface EndpointConfig {
  kind: EndpointKind;
  port: number;
  /** Host id of the HAProxy VM (kind `haproxy`). */
  host?: string;
  /** The VIP (kind `kube-vip`) or the user's load balancer address (kind `external`). */
  address?: string;
}

export interface NetworkConfig {
  cidr: string;
  prefixLength: number;
  gateway: string;
  dnsServers: string[];
  searchDomains: string[];
  addressing: AddressingSpec;
}

export interface StackConfig {
  clusterName: string;
  inventory: Inventory;
  topology: TopologySpec;
  overcommit: Overcommit;
  drs: { enabled: boolean; mandatory: boolean };
  endpoint: EndpointConfig;
  network: NetworkConfig;
  /** Every VM, in placement order. */
  slots: VmSlot[];
  /** IPv4 address per VM name. */
  addresses: Record<string, string>;
  /** The API endpoint's address (`host` part of `https://host:port`). */
  endpointAddress: string;
  /** Raw objects of the layers above; each layer's own resolver validates them. */
  raw: { kubernetes: unknown; spark: unknown };
}

export interface ParseResult {
  config?: StackConfig;
  errors: FieldError[];
}

/** Extra checks contributed by the layers above (Kubernetes and Spark settings). */
export interface LayerCheck {
  key: "kubernetes" | "spark";
  check(raw: unknown, path: string): FieldError[];
  /** CIDRs the VM network must not collide with (pod and service networks). */
  clusterCidrs?(raw: unknown): { name: string; cidr: string; path: string }[];
}

/** Parses one flat config value the way `pulumi.Config.getObject`/`getNumber` would. */
export function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const PROFILE_DEFAULTS: Record<"worker" | "small", { cpus: number; memoryGiB: number; diskGiB: number }> = {
  worker: { cpus: 16, memoryGiB: 120, diskGiB: 100 },
  small: { cpus: 8, memoryGiB: 64, diskGiB: 60 },
};

function inventoryName(s: string): string | undefined {
  if (s.length > 80) return `is ${s.length} characters long; vSphere inventory names have at most 80`;
  if (/[%\\/\u0000-\u001f]/.test(s)) return `"${s}" contains a character vSphere rejects in names (%, \\, / or a control character)`;
  return undefined;
}

function folderPath(s: string): string | undefined {
  const parts = s.split("/");
  if (parts.some((p) => p.length === 0)) return `"${s}" is not a folder path: segments separated by single '/', no leading or trailing '/'`;
  for (const p of parts) {
    const e = inventoryName(p);
    if (e) return `segment ${e}`;
  }
  return undefined;
}

function dnsLabel(s: string): string | undefined {
  return isDnsLabel(s) ? undefined : `"${s}" is not a valid DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`;
}

function ipv4(s: string): string | undefined {
  return parseIpv4(s) === undefined ? `"${s}" is not an IPv4 address` : undefined;
}

function hostname(s: string): string | undefined {
  if (parseIpv4(s) !== undefined) return undefined;
  const labels = s.split(".");
  if (s.length > 253 || labels.some((l) => !/^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(l))) {
    return `"${s}" is not a valid host name or IPv4 address`;
  }
  return undefined;
}

/**
 * Reads and validates the whole stack configuration. Returns every problem at once; `config` is
 * set only when there are none.
 */
export function parseStackConfig(flat: Record<string, string>, secretKeys: readonly string[] = [], layers: LayerCheck[] = []): ParseResult {
  const r = new ConfigReader();
  const values: Obj = {};
  for (const [key, text] of Object.entries(flat)) {
    const [namespace, ...rest] = key.split(":");
    const name = rest.join(":");
    if (namespace === PROJECT) {
      if (!(PROJECT_KEYS as readonly string[]).includes(name)) {
        r.err(key, `unknown configuration key${didYouMean(name, PROJECT_KEYS)}; known keys: ${PROJECT_KEYS.map(ns).join(", ")}`);
        continue;
      }
      if ((SECRET_PROJECT_KEYS as readonly string[]).includes(name)) {
        if (!secretKeys.includes(key)) r.err(key, `is stored in clear text: remove it and run \`pulumi config set --secret ${key}\``);
        continue;
      }
      values[name] = parseConfigValue(text);
    } else if (namespace === "vsphere") {
      if (!(VSPHERE_PROVIDER_KEYS as readonly string[]).includes(name)) {
        r.err(key, `not a configuration key of the vSphere provider${didYouMean(name, VSPHERE_PROVIDER_KEYS)}`);
      } else if (name === "password" && !secretKeys.includes(key)) {
        r.err(key, "is stored in clear text: remove it and run `pulumi config set --secret vsphere:password`");
      }
    }
  }

  const clusterName = (values.clusterName === undefined ? "spark" : typeof values.clusterName === "string" ? values.clusterName : undefined) ?? "";
  if (typeof values.clusterName !== "undefined" && typeof values.clusterName !== "string") {
    r.err(ns("clusterName"), `must be a string, got a ${typeof values.clusterName}`);
  } else if (dnsLabel(clusterName) || clusterName.length > 40) {
    r.err(ns("clusterName"), dnsLabel(clusterName) ?? `"${clusterName}" is longer than 40 characters`);
  }

  // vCenter inventory
  const invPath = ns("inventory");
  let inventory: Inventory | undefined;
  if (values.inventory === undefined) {
    r.err(invPath, "is required: the names of the datacenter, computeCluster, datastore, network, template, folder and resourcePool in vCenter");
  } else {
    const keys = ["datacenter", "computeCluster", "datastore", "network", "template", "folder", "resourcePool"] as const;
    const o = r.object(values.inventory, invPath, keys);
    if (o) {
      const inv: Partial<Inventory> = {};
      for (const k of keys) inv[k] = r.requiredString(o, k, invPath, k === "folder" ? folderPath : inventoryName);
      if (keys.every((k) => inv[k] !== undefined)) inventory = inv as Inventory;
    }
  }

  // Workers per host (the scaling knob) and VM profiles
  const workersPerHost =
    values.workersPerHost === undefined ? 4 : r.checkNumber(values.workersPerHost, ns("workersPerHost"), { integer: true, min: 0, max: 64 });
  const profiles: Partial<Record<"worker" | "small", VmShape>> = {};
  {
    const path = ns("vmProfiles");
    const o = values.vmProfiles === undefined ? {} : r.object(values.vmProfiles, path, ["worker", "small"]);
    for (const p of ["worker", "small"] as const) {
      const d = PROFILE_DEFAULTS[p];
      const po = o?.[p] === undefined ? {} : r.object(o[p], `${path}.${p}`, ["cpus", "memoryGiB", "diskGiB"]);
      if (!po) continue;
      const cpus = r.number(po, "cpus", `${path}.${p}`, d.cpus, { integer: true, min: 1, max: 768 });
      const mem = r.number(po, "memoryGiB", `${path}.${p}`, d.memoryGiB, { min: 1, max: 24576 });
      const disk = r.number(po, "diskGiB", `${path}.${p}`, d.diskGiB, { integer: true, min: 1, max: 62 * 1024 });
      if (mem !== undefined && !Number.isInteger(mem * 4)) r.err(`${path}.${p}.memoryGiB`, `vSphere sizes memory in MiB multiples of 4; ${mem} GiB is not a multiple of 0.25 GiB`);
      if (cpus !== undefined && mem !== undefined && disk !== undefined) profiles[p] = { cpus, memoryMiB: Math.round(mem * 1024), diskGiB: disk };
    }
  }

  // Hosts
  const hostsPath = ns("hosts");
  const hosts: HostSpec[] = [];
  let hostsOk = true;
  if (values.hosts === undefined) {
    r.err(hostsPath, "is required: the ESXi hosts, each with its name in vCenter, cpuThreads and memoryGiB");
    hostsOk = false;
  } else {
    const list = r.list(values.hosts, hostsPath);
    if (!list) hostsOk = false;
    else if (list.length === 0) {
      r.err(hostsPath, "lists no hosts");
      hostsOk = false;
    }
    const ids = new Map<string, number>();
    const names = new Map<string, number>();
    list?.forEach((h, i) => {
      const p = `${hostsPath}[${i}]`;
      const o = r.object(h, p, ["name", "id", "cpuThreads", "memoryGiB", "workers"]);
      if (!o) return void (hostsOk = false);
      const before = r.errors.length;
      const name = r.requiredString(o, "name", p, hostname);
      const derivedId = name !== undefined && parseIpv4(name) === undefined ? name.split(".")[0].toLowerCase() : undefined;
      const id = o.id === undefined ? derivedId : r.optString(o, "id", p, dnsLabel);
      if (o.id === undefined && name !== undefined && (id === undefined || !isDnsLabel(id))) {
        r.err(`${p}.id`, `is required: no DNS-safe id can be derived from the host name "${name}"`);
      } else if (id !== undefined && id.length > 40) {
        r.err(`${p}.id`, `"${id}" is longer than 40 characters; VM names are built from it and must stay within 63`);
      }
      const cpuThreads = r.requiredNumber(o, "cpuThreads", p, { integer: true, min: 1, max: 4096 });
      const memoryGiB = r.requiredNumber(o, "memoryGiB", p, { min: 1, max: 65536 });
      const workers = r.optNumber(o, "workers", p, { integer: true, min: 0, max: 64 });
      if (id !== undefined) {
        if (ids.has(id)) r.err(`${p}.id`, `host id "${id}" is also used by ${hostsPath}[${ids.get(id)}]; ids name resources and must be unique`);
        ids.set(id, i);
      }
      if (name !== undefined) {
        if (names.has(name)) r.err(`${p}.name`, `host "${name}" is listed twice (also ${hostsPath}[${names.get(name)}])`);
        names.set(name, i);
      }
      if (r.errors.length > before || !name || !id || !cpuThreads || !memoryGiB) return void (hostsOk = false);
      hosts.push({ id, name, cpuThreads, memoryMiB: Math.round(memoryGiB * 1024), workers: workers ?? workersPerHost ?? 0 });
    });
  }
  const hostIds = hosts.map((h) => h.id);
  const hostRef = (s: string) => (hostIds.includes(s) ? undefined : `unknown host "${s}" (host ids are: ${hostIds.join(", ")})`);

  // Control plane
  const cpPath = ns("controlPlane");
  let controlPlaneHosts: string[] | undefined;
  {
    const o = values.controlPlane === undefined ? {} : r.object(values.controlPlane, cpPath, ["count", "hosts"]);
    if (o) {
      const count = r.number(o, "count", cpPath, 3, { integer: true, min: 0, max: 15 });
      if (o.hosts !== undefined) {
        const list = r.stringList(o, "hosts", cpPath, [], hostsOk ? hostRef : undefined);
        if (o.count !== undefined && count !== undefined && list.length !== count) {
          r.err(`${cpPath}.hosts`, `lists ${list.length} hosts but ${cpPath}.count is ${count}`);
        }
        controlPlaneHosts = list;
      } else if (count !== undefined && hostsOk) {
        if (count > hostIds.length) {
          // One control-plane VM per host: there is no placement to derive.
          r.err(cpPath, `${count} control-plane VMs need ${count} hosts, one each; only ${hostIds.length} configured`);
        } else {
          controlPlaneHosts = hostIds.slice(0, count);
        }
      }
    }
  }

  // Endpoint
  const epPath = ns("endpoint");
  let endpoint: EndpointConfig | undefined;
  {
    const o = values.endpoint === undefined ? {} : r.object(values.endpoint, epPath, ["kind", "host", "address", "port"]);
    if (o) {
      const kind = r.oneOf(o, "kind", epPath, "haproxy", ["haproxy", "kube-vip", "external"] as const);
      const port = r.number(o, "port", epPath, 6443, { integer: true, min: 1, max: 65535 });
      let host: string | undefined;
      let address: string | undefined;
      if (kind === "haproxy") {
        if (o.address !== undefined) r.err(`${epPath}.address`, `is not used with kind "haproxy" (the HAProxy VM's own address is the endpoint; set ${ns("network")}.addresses to pin it)`);
        host = r.optString(o, "host", epPath, hostsOk ? hostRef : undefined);
        if (o.host === undefined && hostsOk && controlPlaneHosts) {
          const cp = new Set(controlPlaneHosts);
          host = hostIds.find((h) => !cp.has(h)) ?? hostIds[hostIds.length - 1];
        }
      } else {
        if (o.host !== undefined) r.err(`${epPath}.host`, `is only used with kind "haproxy" (kind "${kind}" needs no load-balancer VM)`);
        address = r.requiredString(o, "address", epPath, kind === "kube-vip" ? ipv4 : hostname);
      }
      if (port !== undefined) endpoint = { kind, port, host, address };
    }
  }

  // DRS, overcommit
  let drs = { enabled: true, mandatory: false };
  {
    const o = values.drs === undefined ? {} : r.object(values.drs, ns("drs"), ["enabled", "mandatory"]);
    if (o) drs = { enabled: r.boolean(o, "enabled", ns("drs"), true), mandatory: r.boolean(o, "mandatory", ns("drs"), false) };
  }
  let overcommit: Overcommit = { cpu: 1, memory: 1 };
  {
    const o = values.overcommit === undefined ? {} : r.object(values.overcommit, ns("overcommit"), ["cpu", "memory"]);
    if (o) {
      overcommit = {
        cpu: r.number(o, "cpu", ns("overcommit"), 1, { min: 1, max: 16 }),
        memory: r.number(o, "memory", ns("overcommit"), 1, { min: 1, max: 4 }),
      };
    }
  }

  // Network
  const netPath = ns("network");
  let network: NetworkConfig | undefined;
  let cidr: Cidr | undefined;
  const overrides: Record<string, number> = {};
  if (values.network === undefined) {
    r.err(netPath, "is required: cidr, gateway and dnsServers of the VM network (addresses are static)");
  } else {
    const o = r.object(values.network, netPath, ["cidr", "gateway", "dnsServers", "searchDomains", "addressing", "addresses"]);
    if (o) {
      const cidrText = r.requiredString(o, "cidr", netPath, (s) => (parseCidr(s) ? undefined : `"${s}" is not an IPv4 CIDR such as 192.168.1.0/24 (host bits must be zero)`));
      cidr = cidrText ? parseCidr(cidrText) : undefined;
      const gateway = r.requiredString(o, "gateway", netPath, ipv4);
      if (cidr && gateway && !cidrContains(cidr, parseIpv4(gateway)!)) r.err(`${netPath}.gateway`, `${gateway} is outside the network ${cidr.text}`);
      const dnsServers = r.stringList(o, "dnsServers", netPath, [], ipv4);
      if (o.dnsServers === undefined) r.err(`${netPath}.dnsServers`, "is required: at least one DNS server address");
      else if (Array.isArray(o.dnsServers) && o.dnsServers.length === 0) r.err(`${netPath}.dnsServers`, "lists no DNS server");
      const searchDomains = r.stringList(o, "searchDomains", netPath, [], (s) => (hostname(s) ? `"${s}" is not a valid DNS domain` : undefined));
      const ao = o.addressing === undefined ? {} : r.object(o.addressing, `${netPath}.addressing`, ["firstOffset", "blockSize"]);
      const firstOffset = r.number(ao, "firstOffset", `${netPath}.addressing`, 10, { integer: true, min: 1 });
      const blockSize = r.number(ao, "blockSize", `${netPath}.addressing`, 20, { integer: true, min: 3, max: 1024 });
      if (o.addresses !== undefined) {
        const ad = o.addresses;
        if (typeof ad !== "object" || ad === null || Array.isArray(ad)) {
          r.err(`${netPath}.addresses`, "must be an object mapping VM names to IPv4 addresses");
        } else {
          for (const [vm, ip] of Object.entries(ad)) {
            const n = typeof ip === "string" ? parseIpv4(ip) : undefined;
            if (n === undefined) r.err(`${netPath}.addresses.${vm}`, `must be an IPv4 address, got ${typeof ip === "string" ? `"${ip}"` : typeof ip}`);
            else overrides[vm] = n;
          }
        }
      }
      if (cidr && gateway && firstOffset !== undefined && blockSize !== undefined) {
        network = {
          cidr: cidr.text,
          prefixLength: cidr.prefixLength,
          gateway,
          dnsServers,
          searchDomains,
          addressing: { cidr, gateway: parseIpv4(gateway)!, firstOffset, blockSize, overrides },
        };
      }
    }
  }

  // Layers above: their own validation, reported with the rest.
  const raw = { kubernetes: values.kubernetes ?? {}, spark: values.spark ?? {} };
  for (const layer of layers) r.errors.push(...layer.check(raw[layer.key], ns(layer.key)));

  // Cross-field checks, once the parts are well-formed.
  let topology: TopologySpec | undefined;
  let slots: VmSlot[] | undefined;
  if (hostsOk && profiles.worker && profiles.small && controlPlaneHosts && endpoint && workersPerHost !== undefined) {
    topology = {
      hosts,
      profiles: { worker: profiles.worker, small: profiles.small },
      controlPlaneHosts,
      loadBalancerHost: endpoint.kind === "haproxy" ? endpoint.host : undefined,
    };
    const topoErrors = checkTopology(topology, overcommit, {
      hosts: hostsPath,
      controlPlane: cpPath,
      loadBalancer: epPath,
      workers: ns("workersPerHost"),
      overcommit: ns("overcommit"),
    });
    r.errors.push(...topoErrors);
    if (topoErrors.length === 0) slots = planSlots(topology);
  } else if (controlPlaneHosts && (controlPlaneHosts.length === 0 || controlPlaneHosts.length % 2 === 0)) {
    // The rest of the topology is broken too; still report the quorum problem with the others.
    r.err(cpPath, `the control plane needs an odd number of VMs (1, 3, 5, ...) for an etcd quorum; got ${controlPlaneHosts.length}`);
  }
  let addresses: Record<string, string> | undefined;
  let endpointAddress: string | undefined;
  if (slots && network && endpoint) {
    const names = new Set(slots.map((s) => s.name));
    for (const vm of Object.keys(overrides)) {
      if (!names.has(vm)) r.err(`${netPath}.addresses.${vm}`, `no VM is named "${vm}"${didYouMean(vm, [...names])}`);
    }
    const reserved: { name: string; ip: number; path: string }[] = [];
    if (endpoint.kind === "kube-vip" && endpoint.address) {
      reserved.push({ name: "the kube-vip virtual IP", ip: parseIpv4(endpoint.address)!, path: `${epPath}.address` });
    }
    const clusterCidrs: { name: string; cidr: Cidr; path: string }[] = [];
    for (const layer of layers) {
      for (const c of layer.clusterCidrs?.(raw[layer.key]) ?? []) {
        const parsed = parseCidr(c.cidr);
        if (parsed) clusterCidrs.push({ name: c.name, cidr: parsed, path: c.path });
      }
    }
    r.errors.push(...checkAddresses(network.addressing, hostIds, slots, reserved, clusterCidrs, { network: netPath, workers: ns("workersPerHost") }));
    const assigned = assignAddresses(network.addressing, hostIds, slots);
    addresses = Object.fromEntries([...assigned].map(([k, v]) => [k, formatIpv4(v)]));
    endpointAddress =
      endpoint.kind === "haproxy" ? addresses[slots.find((s) => s.role === "load-balancer")!.name] : endpoint.address;
  }

  if (r.errors.length > 0 || !inventory || !topology || !slots || !network || !endpoint || !addresses || !endpointAddress) {
    if (r.errors.length === 0) r.err(PROJECT, "configuration is incomplete");
    return { errors: r.errors };
  }
  return {
    errors: [],
    config: {
      clusterName,
      inventory,
      topology,
      overcommit,
      drs,
      endpoint,
      network,
      slots,
      addresses,
      endpointAddress,
      raw,
    },
  };
}
