/**
 * The vSphere layer's settings: what a user may say about the VMs (inventory, hosts, VM profiles,
 * the scaling knob, control-plane and load-balancer placement, the API endpoint, the network, DRS,
 * overcommit), one table of defaults, and one resolver that reports every problem at once with its
 * full key, then decides the topology: every VM, its host and its address.
 */
import { ConfigReader, Obj } from "../config-reader";
import { APISERVER_PORT, ENDPOINT_KINDS, EndpointKind, EndpointSpec, endpointProblems, quorumProblem } from "../control-plane";
import { Cidr, cidrContains, formatIpv4, isUsableHost, parseCidr, parseIpv4 } from "../net";
import { FieldError, didYouMean, isDnsLabel } from "../validation";
import { AddressingSpec, assignAddresses, checkAddresses, hostAddressBlock } from "./addressing";
import { DEFAULT_DRS, DrsSettings } from "./drs";
import { assignMacAddresses } from "./mac";
import { GPU_PROFILE_KEYS, GpuProfileSettings, HOST_GPU_KEYS, placeGpuWorkers, readGpuProfile, readHostGpus } from "./gpu";
import {
  HostSpec,
  Overcommit,
  TopologySpec,
  VmProfileName,
  VmShape,
  VmSlot,
  checkTopology,
  defaultControlPlaneHosts,
  defaultLoadBalancerHost,
  planSlots,
} from "./placement";
import type { VsphereInventory } from "./topology";
import {
  KeepApartRule,
  ZoneSpec,
  controlPlaneZoneNotes,
  defaultZonedControlPlaneHosts,
  defaultZonedLoadBalancerHost,
  keepApartProblems,
  readZones,
  zoneCidr,
  zoneOfHost,
} from "./zones";

/** The keys of the vSphere layer (in a stack file, each under the project's namespace). */
export const VSPHERE_SETTING_KEYS = [
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
  "ha",
  "zones",
] as const;
export type VsphereSettingKey = (typeof VSPHERE_SETTING_KEYS)[number];

export const INVENTORY_KEYS = ["datacenter", "computeCluster", "datastore", "network", "template", "folder", "resourcePool"] as const;

/** Every default of the vSphere layer, in one table. */
export const VSPHERE_DEFAULTS = {
  clusterName: "spark",
  workersPerHost: 4,
  profiles: {
    worker: { cpus: 16, memoryGiB: 120, diskGiB: 100 },
    small: { cpus: 8, memoryGiB: 64, diskGiB: 60 },
  } as Record<VmProfileName, { cpus: number; memoryGiB: number; diskGiB: number }>,
  controlPlaneCount: 3,
  endpoint: { kind: "haproxy" as EndpointKind, port: APISERVER_PORT },
  addressing: { firstOffset: 10, blockSize: 20 },
  drs: DEFAULT_DRS,
  overcommit: { cpu: 1, memory: 1 },
  ha: { hostFailuresToTolerate: 0 },
} as const;

export interface NetworkSettings {
  cidr: string;
  prefixLength: number;
  gateway: string;
  dnsServers: string[];
  searchDomains: string[];
  addressing: AddressingSpec;
}

/** The vSphere layer's decisions: the settings with defaults applied, and the topology they give. */
export interface VsphereDecisions {
  clusterName: string;
  inventory: VsphereInventory;
  topology: TopologySpec;
  overcommit: Overcommit;
  /**
   * The availability the stack declares (`vsphere-spark:ha`): `hostFailuresToTolerate: 1` says the
   * VMs of any one failed host must restart on the others (vSphere HA's admission-control question).
   * The program does not configure HA; `plan --compare --fail-on-breach` fails when it is not met.
   */
  ha: { hostFailuresToTolerate: 0 | 1 };
  drs: DrsSettings;
  network: NetworkSettings;
  /** The MAC of each VM's NIC (derived from its name, or pinned in `network.macAddresses`). */
  macAddresses: Record<string, string>;
  /** The API endpoint, its address decided (the HAProxy VM's address for kind `haproxy`). */
  endpoint: EndpointSpec;
  /** Every VM, in placement order. */
  slots: VmSlot[];
  /** IPv4 address per VM name. */
  addresses: Record<string, string>;
  /** The failure domains (`vsphere-spark:zones`), each host in one; absent: none (one datacenter, cluster and network, as `inventory` says). */
  zones?: ZoneSpec[];
  /** The user's anti-affinity rules (`drs.keepApart`), each inside one compute cluster. */
  keepApart?: KeepApartRule[];
  /** What the zones mean for availability (control planes per zone), for the plan. */
  zoneNotes?: string[];
}

/** What the layers above contribute to the vSphere checks: networks the VM addresses must avoid. */
export interface VsphereContext {
  clusterCidrs?: { name: string; cidr: string; path: string }[];
}

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

const dnsLabel = (s: string) =>
  isDnsLabel(s) ? undefined : `"${s}" is not a valid DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`;
const ipv4 = (s: string) => (parseIpv4(s) === undefined ? `"${s}" is not an IPv4 address` : undefined);

/** A host name or an IPv4 address. */
export function hostnameProblem(s: string): string | undefined {
  if (parseIpv4(s) !== undefined) return undefined;
  const labels = s.split(".");
  if (s.length > 253 || labels.some((l) => !/^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(l))) {
    return `"${s}" is not a valid host name or IPv4 address`;
  }
  return undefined;
}

/** The cluster's name (a DNS label of at most 40 characters; default `spark`), as every back end reads it. */
export function readClusterName(r: ConfigReader, raw: unknown, path: string): string {
  if (raw === undefined) return VSPHERE_DEFAULTS.clusterName;
  if (typeof raw !== "string") {
    r.err(path, `must be a string, got a ${typeof raw}`);
    return VSPHERE_DEFAULTS.clusterName;
  }
  const problem = dnsLabel(raw) ?? (raw.length > 40 ? `"${raw}" is longer than 40 characters` : undefined);
  if (problem) r.err(path, problem);
  return raw;
}

/**
 * Reads the ESXi hosts (`name`, `cpuThreads`, `memoryGiB`, optional `id` and `workers`) into `r`'s
 * errors; `ok` is false when any entry is unusable. Every back end that weighs VMs against hosts
 * reads them this way.
 */
export function readHosts(r: ConfigReader, raw: unknown, hostsPath: string, workersPerHost = 0): { hosts: HostSpec[]; ok: boolean } {
  const hosts: HostSpec[] = [];
  let hostsOk = true;
  if (raw === undefined) {
    r.err(hostsPath, "is required: the ESXi hosts, each with its name in vCenter, cpuThreads and memoryGiB");
    return { hosts, ok: false };
  }
  const list = r.list(raw, hostsPath);
  if (!list) return { hosts, ok: false };
  if (list.length === 0) {
    r.err(hostsPath, "lists no hosts");
    hostsOk = false;
  }
  const ids = new Map<string, number>();
  const names = new Map<string, number>();
  list.forEach((h, i) => {
    const p = `${hostsPath}[${i}]`;
    const o = r.object(h, p, ["name", "id", "cpuThreads", "memoryGiB", "workers", ...HOST_GPU_KEYS]);
    if (!o) return void (hostsOk = false);
    const before = r.errors.length;
    const name = r.requiredString(o, "name", p, hostnameProblem);
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
    const gpu = readHostGpus(r, o, p);
    if (id !== undefined) {
      if (ids.has(id)) r.err(`${p}.id`, `host id "${id}" is also used by ${hostsPath}[${ids.get(id)}]; ids name resources and must be unique`);
      ids.set(id, i);
    }
    if (name !== undefined) {
      if (names.has(name)) r.err(`${p}.name`, `host "${name}" is listed twice (also ${hostsPath}[${names.get(name)}])`);
      names.set(name, i);
    }
    if (r.errors.length > before || !name || !id || !cpuThreads || !memoryGiB) return void (hostsOk = false);
    hosts.push({
      id,
      name,
      cpuThreads,
      memoryMiB: Math.round(memoryGiB * 1024),
      workers: workers ?? workersPerHost,
      ...(gpu.gpuWorkers > 0 ? { gpuWorkers: gpu.gpuWorkers } : {}),
      ...(gpu.inventory.devices.length > 0 || Object.keys(gpu.inventory.vgpuProfiles).length > 0 ? { gpus: gpu.inventory } : {}),
    });
  });
  return { hosts, ok: hostsOk };
}

/**
 * Resolves the vSphere layer's settings from raw values (as a stack file holds them), applying the
 * defaults and checking every rule; `key(k)` names a key in errors (the stack passes
 * `vsphere-spark:<k>`). Returns the decisions only when there is no problem.
 */
export function resolveVsphereSettings(
  raw: Partial<Record<VsphereSettingKey, unknown>>,
  key: (k: VsphereSettingKey) => string = (k) => k,
  context: VsphereContext = {},
): { decisions?: VsphereDecisions; errors: FieldError[] } {
  const r = new ConfigReader();
  const D = VSPHERE_DEFAULTS;

  const clusterName = readClusterName(r, raw.clusterName, key("clusterName"));

  // Inventory.
  let inventory: VsphereInventory | undefined;
  const invPath = key("inventory");
  if (raw.inventory === undefined) {
    r.err(invPath, `is required: the names of the ${INVENTORY_KEYS.join(", ")} in vCenter`);
  } else {
    const o = r.object(raw.inventory, invPath, INVENTORY_KEYS);
    if (o) {
      const inv: Partial<VsphereInventory> = {};
      for (const k of INVENTORY_KEYS) inv[k] = r.requiredString(o, k, invPath, k === "folder" ? folderPath : inventoryName);
      if (INVENTORY_KEYS.every((k) => inv[k] !== undefined)) inventory = inv as VsphereInventory;
    }
  }

  // The scaling knob and the VM profiles.
  const workersPerHost =
    raw.workersPerHost === undefined ? D.workersPerHost : r.checkNumber(raw.workersPerHost, key("workersPerHost"), { integer: true, min: 0, max: 64 });
  const profiles: Partial<Record<VmProfileName | "gpu", VmShape>> = {};
  let gpuProfile: GpuProfileSettings | undefined;
  {
    const path = key("vmProfiles");
    const o = raw.vmProfiles === undefined ? {} : r.object(raw.vmProfiles, path, ["worker", "small", "gpu"]);
    for (const p of ["worker", "small", "gpu"] as const) {
      // The GPU profile exists only when given; it starts from the worker's defaults.
      if (p === "gpu" && o?.gpu === undefined) continue;
      const d = D.profiles[p === "gpu" ? "worker" : p];
      const po = o?.[p] === undefined ? {} : r.object(o[p], `${path}.${p}`, p === "gpu" ? GPU_PROFILE_KEYS : ["cpus", "memoryGiB", "diskGiB", "scratchDiskGiB"]);
      if (!po) continue;
      if (p === "gpu") gpuProfile = readGpuProfile(r, po, `${path}.${p}`);
      const before = r.errors.length;
      const cpus = r.number(po, "cpus", `${path}.${p}`, d.cpus, { integer: true, min: 1, max: 768 });
      const mem = r.number(po, "memoryGiB", `${path}.${p}`, d.memoryGiB, { min: 1, max: 24576 });
      const disk = r.number(po, "diskGiB", `${path}.${p}`, d.diskGiB, { integer: true, min: 1, max: 62 * 1024 });
      if (r.errors.length === before && !Number.isInteger(mem * 4)) {
        r.err(`${path}.${p}.memoryGiB`, `vSphere sizes memory in MiB multiples of 4; ${mem} GiB is not a multiple of 0.25 GiB`);
      }
      // The guest finds the scratch disk by its size, so it must differ from the boot disk's.
      const scratch = r.number(po, "scratchDiskGiB", `${path}.${p}`, 0, { integer: true, min: 0, max: 62 * 1024 });
      if (scratch > 0 && scratch === disk) r.err(`${path}.${p}.scratchDiskGiB`, `must differ from diskGiB (${disk}): the guest tells the scratch disk from the boot disk by its size`);
      if (r.errors.length === before) profiles[p] = { cpus, memoryMiB: Math.round(mem * 1024), diskGiB: disk, ...(scratch > 0 ? { scratchDiskGiB: scratch } : {}) };
    }
  }

  // Hosts.
  const hostsPath = key("hosts");
  const { hosts, ok: hostsOk } = readHosts(r, raw.hosts, hostsPath, workersPerHost ?? 0);
  const hostIds = hosts.map((h) => h.id);
  const hostRef = (s: string) => (hostIds.includes(s) ? undefined : `unknown host "${s}"${didYouMean(s, hostIds)} (host ids are: ${hostIds.join(", ")})`);

  // Failure domains: read once the hosts are; a zone's subnet defaults to the network's (when valid).
  const rawNet = typeof raw.network === "object" && raw.network !== null && !Array.isArray(raw.network) ? (raw.network as Obj) : {};
  const netCidr = typeof rawNet.cidr === "string" ? parseCidr(rawNet.cidr) : undefined;
  const netGateway = typeof rawNet.gateway === "string" && parseIpv4(rawNet.gateway) !== undefined ? rawNet.gateway : undefined;
  const zonesPath = key("zones");
  const zoneRead = readZones(r, raw.zones, zonesPath, {
    hosts,
    hostsOk,
    inventory,
    network: netCidr && netGateway ? { cidr: netCidr.text, gateway: netGateway } : undefined,
    hostsPath,
    networkPath: key("network"),
  });
  const zones = zoneRead.zones;
  // With zones, every placement waits for them to be valid.
  const zonesOk = zoneRead.ok;

  // Control plane: the quorum rule does not depend on the hosts, so it is checked even when they are broken.
  const cpPath = key("controlPlane");
  let controlPlaneHosts: string[] | undefined;
  {
    const o = raw.controlPlane === undefined ? {} : r.object(raw.controlPlane, cpPath, ["count", "hosts"]);
    if (o) {
      const before = r.errors.length;
      const count = r.number(o, "count", cpPath, D.controlPlaneCount, { integer: true, min: 0, max: 15 });
      const countOk = r.errors.length === before;
      if (o.hosts !== undefined) {
        const listed = r.errors.length;
        const list = r.stringList(o, "hosts", cpPath, [], hostsOk ? hostRef : undefined);
        if (o.count !== undefined && countOk && list.length !== count) {
          r.err(`${cpPath}.hosts`, `lists ${list.length} hosts but ${cpPath}.count is ${count}`);
        }
        const q = quorumProblem(Array.isArray(o.hosts) ? o.hosts.length : list.length);
        if (q) r.err(cpPath, q);
        // A bad entry or count leaves the placement undecided (rather than decided without it).
        if (r.errors.length === listed) controlPlaneHosts = list;
      } else if (countOk) {
        const q = quorumProblem(count);
        if (q) r.err(cpPath, q);
        else if (hostsOk && zonesOk) {
          const placed = zones ? defaultZonedControlPlaneHosts(zones, count) : defaultControlPlaneHosts(hostIds, count);
          if (typeof placed === "string") r.err(`${cpPath}.count`, placed);
          else controlPlaneHosts = placed;
        }
      }
    }
  }

  // Endpoint: kind, port, and the load balancer's host; its address is checked once the VMs have theirs.
  const epPath = key("endpoint");
  let endpointRaw: { kind: EndpointKind; port: number; host?: string; address?: string } | undefined;
  {
    const o = raw.endpoint === undefined ? {} : r.object(raw.endpoint, epPath, ["kind", "host", "address", "port"]);
    if (o) {
      const before = r.errors.length;
      const kind = r.oneOf(o, "kind", epPath, D.endpoint.kind, ENDPOINT_KINDS);
      const port = r.number(o, "port", epPath, D.endpoint.port, { integer: true, min: 1, max: 65535 });
      let host: string | undefined;
      let address: string | undefined;
      if (kind === "haproxy") {
        if (o.address !== undefined) {
          r.err(`${epPath}.address`, `is not used with kind "haproxy" (the HAProxy VM's own address is the endpoint; set ${key("network")}.addresses to pin it)`);
        }
        if (o.host !== undefined) host = r.optString(o, "host", epPath, hostsOk ? hostRef : undefined);
        else if (hostsOk && controlPlaneHosts) host = zones ? defaultZonedLoadBalancerHost(zones, controlPlaneHosts) : defaultLoadBalancerHost(hostIds, controlPlaneHosts);
      } else {
        if (o.host !== undefined) r.err(`${epPath}.host`, `is only used with kind "haproxy" (kind "${kind}" needs no load-balancer VM)`);
        address = r.requiredString(o, "address", epPath, kind === "kube-vip" ? ipv4 : hostnameProblem);
      }
      if (r.errors.length === before) endpointRaw = { kind, port, host, address };
    }
  }

  // DRS and overcommit.
  let drs: DrsSettings = { ...D.drs };
  const keepApart: KeepApartRule[] = [];
  {
    const o = raw.drs === undefined ? {} : r.object(raw.drs, key("drs"), ["enabled", "mandatory", "keepApart"]);
    if (o) drs = { enabled: r.boolean(o, "enabled", key("drs"), D.drs.enabled), mandatory: r.boolean(o, "mandatory", key("drs"), D.drs.mandatory) };
    if (o?.keepApart !== undefined) {
      const kp = `${key("drs")}.keepApart`;
      const isMap = typeof o.keepApart === "object" && o.keepApart !== null && !Array.isArray(o.keepApart);
      if (!isMap) r.err(kp, "must be an object mapping rule names to lists of VM names");
      const ko = isMap ? (o.keepApart as Obj) : undefined;
      for (const name of Object.keys(ko ?? {})) {
        if (!isDnsLabel(name)) r.err(`${kp}.${name}`, `"${name}" is not a DNS label: it names the rule in vCenter and in Pulumi`);
        const vms = r.stringList(ko, name, kp, []);
        if (!Array.isArray(ko![name])) continue;
        keepApart.push({ name, vms });
      }
      if (keepApart.length > 0 && !drs.enabled) r.err(kp, `needs ${key("drs")}.enabled: true (DRS rules are created only then)`);
    }
  }
  let overcommit: Overcommit = { ...D.overcommit };
  {
    const o = raw.overcommit === undefined ? {} : r.object(raw.overcommit, key("overcommit"), ["cpu", "memory"]);
    if (o) {
      overcommit = {
        cpu: r.number(o, "cpu", key("overcommit"), D.overcommit.cpu, { min: 1, max: 16 }),
        memory: r.number(o, "memory", key("overcommit"), D.overcommit.memory, { min: 1, max: 4 }),
      };
    }
  }

  let ha: VsphereDecisions["ha"] = { ...D.ha };
  {
    const o = raw.ha === undefined ? {} : r.object(raw.ha, key("ha"), ["hostFailuresToTolerate"]);
    if (o) ha = { hostFailuresToTolerate: r.number(o, "hostFailuresToTolerate", key("ha"), D.ha.hostFailuresToTolerate, { integer: true, min: 0, max: 1 }) as 0 | 1 };
  }

  // Network.
  const netPath = key("network");
  let network: NetworkSettings | undefined;
  const overrides: Record<string, number> = {};
  let macOverrides: Record<string, string> = {};
  if (raw.network === undefined) {
    r.err(netPath, "is required: cidr, gateway and dnsServers of the VM network (addresses are static)");
  } else {
    const o = r.object(raw.network, netPath, ["cidr", "gateway", "dnsServers", "searchDomains", "addressing", "addresses", "macAddresses"]);
    if (o) {
      const cidrText = r.requiredString(o, "cidr", netPath, (s) => (parseCidr(s) ? undefined : `"${s}" is not an IPv4 CIDR such as 192.168.1.0/24 (host bits must be zero)`));
      const cidr: Cidr | undefined = cidrText ? parseCidr(cidrText) : undefined;
      const gateway = r.requiredString(o, "gateway", netPath, ipv4);
      if (cidr && gateway) {
        const g = parseIpv4(gateway)!;
        if (!cidrContains(cidr, g)) r.err(`${netPath}.gateway`, `${gateway} is outside the network ${cidr.text}`);
        else if (!isUsableHost(cidr, g)) r.err(`${netPath}.gateway`, `${gateway} is the network's own network or broadcast address, not a host`);
      }
      const dnsServers = r.stringList(o, "dnsServers", netPath, [], ipv4);
      if (o.dnsServers === undefined) r.err(`${netPath}.dnsServers`, "is required: at least one DNS server address");
      else if (Array.isArray(o.dnsServers) && o.dnsServers.length === 0) r.err(`${netPath}.dnsServers`, "lists no DNS server");
      const searchDomains = r.stringList(o, "searchDomains", netPath, [], (s) => (hostnameProblem(s) ? `"${s}" is not a valid DNS domain` : undefined));
      const ao = o.addressing === undefined ? {} : r.object(o.addressing, `${netPath}.addressing`, ["firstOffset", "blockSize"]);
      const firstOffset = r.number(ao, "firstOffset", `${netPath}.addressing`, D.addressing.firstOffset, { integer: true, min: 1 });
      const blockSize = r.number(ao, "blockSize", `${netPath}.addressing`, D.addressing.blockSize, { integer: true, min: 3, max: 1024 });
      if (o.addresses !== undefined) {
        const ad = o.addresses;
        if (typeof ad !== "object" || ad === null || Array.isArray(ad)) {
          r.err(`${netPath}.addresses`, "must be an object mapping VM names to IPv4 addresses");
        } else {
          for (const [vm, ip] of Object.entries(ad as Obj)) {
            const n = typeof ip === "string" ? parseIpv4(ip) : undefined;
            if (n === undefined) r.err(`${netPath}.addresses.${vm}`, `must be an IPv4 address, got ${typeof ip === "string" ? `"${ip}"` : typeof ip}`);
            else overrides[vm] = n;
          }
        }
      }
      macOverrides = r.stringMap(o, "macAddresses", netPath, () => undefined);
      if (cidr && gateway && r.errors.every((e) => !e.path.startsWith(netPath))) {
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

  // The topology, once its parts are well-formed.
  let topology: TopologySpec | undefined;
  let slots: VmSlot[] | undefined;
  // GPU workers: on hosts that have the devices, no more than they hold (components/vsphere/gpu.ts).
  let gpuPlacement: Record<string, import("./gpu").SlotGpus[]> | undefined;
  if (hostsOk) {
    const g = placeGpuWorkers(
      hosts.map((h) => ({ id: h.id, inventory: h.gpus ?? { devices: [], vgpuProfiles: {} }, gpuWorkers: h.gpuWorkers ?? 0 })),
      gpuProfile,
      { hosts: hostsPath, profile: `${key("vmProfiles")}.gpu` },
    );
    r.errors.push(...g.errors);
    if (g.errors.length === 0) gpuPlacement = g.placed;
  }
  if (hostsOk && gpuPlacement && profiles.worker && profiles.small && controlPlaneHosts && endpointRaw && workersPerHost !== undefined) {
    topology = {
      hosts,
      profiles: { worker: profiles.worker, small: profiles.small },
      controlPlaneHosts,
      loadBalancerHost: endpointRaw.kind === "haproxy" ? endpointRaw.host : undefined,
      ...(profiles.gpu && Object.keys(gpuPlacement).length > 0 ? { gpuProfile: profiles.gpu, gpuPlacement } : {}),
    };
    const topoErrors = checkTopology(topology, overcommit, {
      hosts: hostsPath,
      controlPlane: cpPath,
      loadBalancer: epPath,
      workers: key("workersPerHost"),
      overcommit: key("overcommit"),
    });
    r.errors.push(...topoErrors);
    if (topoErrors.length === 0) slots = planSlots(topology);
  }

  // MACs: derived from each VM's identity, checked for collisions, or pinned.
  let macAddresses: Record<string, string> | undefined;
  if (slots) {
    const m = assignMacAddresses(clusterName, slots.map((s) => s.name), macOverrides, `${netPath}.macAddresses`);
    r.errors.push(...m.errors);
    macAddresses = { ...m.macs };
  }

  // Addresses and the endpoint's own address.
  let addresses: Record<string, string> | undefined;
  let endpoint: EndpointSpec | undefined;
  if (slots && network && endpointRaw) {
    const names = new Set(slots.map((s) => s.name));
    for (const vm of Object.keys(overrides)) {
      if (!names.has(vm)) r.err(`${netPath}.addresses.${vm}`, `no VM is named "${vm}"${movedLoadBalancer(vm, slots, (raw.endpoint as Record<string, unknown> | undefined)?.host, epPath) ?? didYouMean(vm, [...names])}`);
    }
    const clusterCidrs: { name: string; cidr: Cidr; path: string }[] = [];
    for (const c of context.clusterCidrs ?? []) {
      const parsed = parseCidr(c.cidr);
      if (parsed) clusterCidrs.push({ name: c.name, cidr: parsed, path: c.path });
    }
    // Addresses per zone's network: each zone's VMs in its subnet (a host keeps its address block,
    // by its position in `hosts`); without zones, one network.
    const zoneOf = zones ? zoneOfHost(zones) : undefined;
    // A host's address block is its position among the hosts on the same subnet (all hosts without zones).
    const groups: { spec: AddressingSpec; slots: VmSlot[]; order: string[] }[] = zones
      ? zones.map((z) => {
          const c = zoneCidr(z);
          const zoneOverrides = Object.fromEntries(Object.entries(overrides).filter(([vm]) => slots!.some((s) => s.name === vm && zoneOf!.get(s.hostId) === z)));
          const order = hostIds.filter((h) => zoneOf!.get(h)!.cidr === z.cidr);
          return { spec: { ...network!.addressing, cidr: c, gateway: parseIpv4(z.gateway)!, overrides: zoneOverrides }, slots: slots!.filter((s) => zoneOf!.get(s.hostId) === z), order };
        })
      : [{ spec: network.addressing, slots, order: hostIds }];
    const addressErrors: FieldError[] = [];
    const assigned = new Map<string, number>();
    for (const g of groups) {
      addressErrors.push(...checkAddresses(g.spec, g.order, g.slots, clusterCidrs, { network: netPath, workers: key("workersPerHost") }));
      for (const [k, v] of assignAddresses(g.spec, g.order, g.slots)) assigned.set(k, v);
    }
    // Zones sharing a subnet: one address, one VM.
    if (zones) {
      const byIp = new Map<number, string>();
      for (const s of slots) {
        const ip = assigned.get(s.name)!;
        const other = byIp.get(ip);
        if (other !== undefined) addressErrors.push({ path: overrides[s.name] !== undefined ? `${netPath}.addresses.${s.name}` : `${netPath}.addressing`, message: `address ${formatIpv4(ip)} of ${s.name} is already used by ${other} (zones sharing a subnet)` });
        byIp.set(ip, s.name);
      }
    }
    const seenErr = new Set<string>();
    for (const e of addressErrors) {
      const k = `${e.path}\u0000${e.message}`;
      if (!seenErr.has(k)) r.errors.push(e);
      seenErr.add(k);
    }
    addresses = Object.fromEntries([...assigned].map(([k, v]) => [k, formatIpv4(v)]));
    const lb = slots.find((s) => s.role === "load-balancer");
    endpoint = {
      kind: endpointRaw.kind,
      port: endpointRaw.port,
      address: endpointRaw.kind === "haproxy" ? addresses[lb?.name ?? ""] ?? "" : endpointRaw.address!,
    };
    // The endpoint's network: the first control plane's zone's (kube-vip announces its VIP there by ARP).
    const cpZones = zones ? [...new Set(topology!.controlPlaneHosts.map((h) => zoneOf!.get(h)!))] : [];
    if (zones && endpointRaw.kind === "kube-vip" && new Set(cpZones.map((z) => z.cidr)).size > 1) {
      r.err(
        `${epPath}.kind`,
        `"kube-vip" announces one virtual IP by ARP on one network, but the control planes are in zones with different subnets (${cpZones.map((z) => `${z.name}: ${z.cidr}`).join(", ")}): use "haproxy" or "external", or give those zones one subnet`,
      );
    }
    const epZone = cpZones[0];
    const epGroup = epZone ? groups[zones!.indexOf(epZone)] : groups[0];
    const problems = endpointProblems(endpoint, {
      nodes: slots.map((s) => ({ name: s.name, address: addresses![s.name], role: s.role })),
      nodeNetwork: epGroup.spec.cidr,
      gateway: epZone ? epZone.gateway : network.gateway,
      clusterCidrs: clusterCidrs.map((c) => ({ name: c.name, cidr: c.cidr })),
      reservedRanges: hostIds.map((id, i) => {
        const g = zoneOf ? groups[zones!.indexOf(zoneOf.get(id)!)] : undefined;
        const b = g ? hostAddressBlock(g.spec, g.order.indexOf(id)) : hostAddressBlock(network!.addressing, i);
        return { name: `host "${id}"'s address block ${formatIpv4(b.first)}–${formatIpv4(b.last)}`, ...b };
      }),
    });
    for (const p of problems) r.err(`${epPath}.${p.field}`, p.message);
  }

  // The user's DRS anti-affinity rules: VMs that exist, in one compute cluster each.
  if (slots && keepApart.length > 0) {
    const of = zones ? zoneOfHost(zones) : undefined;
    const clusterOf = (vm: string) => {
      const s = slots!.find((x) => x.name === vm);
      if (!s) return undefined;
      const z = of?.get(s.hostId);
      return z ? `compute cluster "${z.computeCluster}" (zone ${z.name})` : `compute cluster "${inventory?.computeCluster}"`;
    };
    r.errors.push(...keepApartProblems(keepApart, slots.map((s) => s.name), clusterOf, `${key("drs")}.keepApart`));
  }
  const zoneNotes = zones && controlPlaneHosts ? controlPlaneZoneNotes(zones, controlPlaneHosts) : [];

  if (r.errors.length > 0 || !inventory || !topology || !slots || !network || !endpoint || !addresses || !macAddresses) {
    if (r.errors.length === 0) r.err(key("hosts"), "the topology could not be decided");
    return { errors: r.errors };
  }
  return {
    errors: [],
    decisions: {
      clusterName, inventory, topology, overcommit, ha, drs, network, macAddresses, endpoint, slots, addresses,
      ...(zones ? { zones, zoneNotes } : {}),
      ...(keepApart.length > 0 ? { keepApart } : {}),
    },
  };
}

/**
 * Why an address key names no VM when it names the load balancer of another host: its default host
 * (the first host without a control plane, else the last: `defaultLoadBalancerHost`) moved, because
 * control planes were added or hosts changed. Following "did you mean" would replace the VM that
 * serves the API endpoint; pinning the host keeps it (measured in the whole-stack lab: 3 → 5 control
 * planes on five hosts moved it from esxi-04 to esxi-05).
 */
function movedLoadBalancer(vm: string, slots: readonly { name: string; role: string; hostId: string }[], pinnedHost: unknown, epPath: string): string | undefined {
  const m = /^(.+)-load-balancer$/.exec(vm);
  const lb = slots.find((s) => s.role === "load-balancer");
  if (!m || !lb || lb.hostId === m[1] || pinnedHost !== undefined) return undefined;
  return (
    `: the load balancer's default host is now ${lb.hostId} (the first host without a control plane, else the last), so it would be the new VM "${lb.name}", ` +
    `a replacement of the VM that serves the API endpoint. To keep it, set ${epPath}.host: ${m[1]}; to move it on purpose, rename this key to "${lb.name}"`
  );
}
