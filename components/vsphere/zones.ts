/**
 * Failure domains (`vsphere-spark:zones`): pure and engine-free, like placement.ts. A zone is where
 * a group of hosts lives in vCenter: its datacenter, compute cluster, hosts (or an existing DRS host
 * group), datastore, network and resource pool, and the subnet of that network. It is modelled on
 * Cluster API Provider vSphere's failure domains (kubernetes-sigs/cluster-api-provider-vsphere
 * @ 00a82b757e76129617abf62d7e847a94ef9cac8b, apis/v1beta1/vspherefailuredomain_types.go:
 * `VSphereFailureDomainSpec{Region, Zone, Topology{Datacenter, ComputeCluster, Hosts{VMGroupName,
 * HostGroupName}, Networks, Datastore}}`, the failure-domain types "Datacenter", "ComputeCluster" and
 * "HostGroup"; and @ 0dacccfae31d5a0f5b2dda8dada6789255d87a0f, apis/v1beta1/
 * vspheredeploymentzone_types.go: `VSphereDeploymentZoneSpec{FailureDomain, ControlPlane,
 * PlacementConstraint{ResourcePool, Folder}}`). Here one stack entry carries both halves (where the
 * hosts are, and where the VMs go inside it), because the hosts' capacity is planned here too.
 *
 * Facts the rules rest on:
 * - A DRS group or rule lives in one compute cluster (terraform-provider-vsphere's
 *   `vsphere_compute_cluster_vm_group`, `_host_group`, `_vm_host_rule`, `_vm_anti_affinity_rule` each
 *   take one `compute_cluster_id`; the binding's ComputeCluster* resources the same). So the groups
 *   and rules are planned per compute cluster, and a rule naming VMs of several clusters is refused.
 * - vSphere HA is a property of one compute cluster: it restarts a failed host's VMs on the other
 *   hosts of the same cluster only. A zone that is a whole compute cluster loses its VMs until it
 *   returns; zones that are host groups of one cluster can take each other's VMs.
 * - The zone and region reach each Node as the labels `topology.kubernetes.io/zone` and
 *   `topology.kubernetes.io/region`, which a kubelet may set on itself (see components/cluster/kubeadm.ts).
 */
import { ConfigReader, Obj } from "../config-reader";
import { Cidr, cidrContains, isUsableHost, parseCidr, parseIpv4 } from "../net";
import { FieldError, didYouMean, isDnsLabel } from "../validation";
import { DrsPlan, DrsSettings, planDrsRules } from "./drs";
import type { HostSpec, Overcommit, VmSlot } from "./placement";
import type { VsphereInventory } from "./topology";

export const ZONE_KEYS = ["name", "region", "datacenter", "computeCluster", "hosts", "hostGroup", "datastore", "network", "resourcePool", "cidr", "gateway"] as const;

/** The Node labels a zone gives its nodes (k8s.io/api core/v1 well_known_labels.go: LabelTopologyZone, LabelTopologyRegion). */
export const ZONE_LABEL = "topology.kubernetes.io/zone";
export const REGION_LABEL = "topology.kubernetes.io/region";

/** One failure domain, resolved (defaults from `vsphere-spark:inventory` and `network` applied). */
export interface ZoneSpec {
  /** The zone's name: the `topology.kubernetes.io/zone` label value and part of resource names (a DNS label). */
  name: string;
  /** The `topology.kubernetes.io/region` label value (default: the datacenter's name). */
  region: string;
  datacenter: string;
  computeCluster: string;
  /** Host ids (from `vsphere-spark:hosts`), in the order of that list. */
  hosts: string[];
  /** An existing DRS host group of the compute cluster: the VMs' "run on" rules name it instead of one group per host. */
  hostGroup?: string;
  datastore: string;
  network: string;
  /** Created under the compute cluster's root resource pool. */
  resourcePool: string;
  /** The subnet of the zone's network (default: `network.cidr` and `gateway`). */
  cidr: string;
  gateway: string;
}

/** The label value rule (k8s.io/apimachinery validation.IsValidLabelValue): at most 63, alphanumerics, '-', '_', '.' inside. */
export function labelValueProblem(s: string): string | undefined {
  if (s.length > 63) return `"${s}" is ${s.length} characters long; a Kubernetes label value has at most 63`;
  if (!/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s)) return `"${s}" is not a valid Kubernetes label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`;
  return undefined;
}

function inventoryName(s: string): string | undefined {
  if (s.length > 80) return `is ${s.length} characters long; vSphere inventory names have at most 80`;
  if (/[%\\/\u0000-\u001f]/.test(s)) return `"${s}" contains a character vSphere rejects in names (%, \\, / or a control character)`;
  return undefined;
}

/** The compute cluster a zone is in, as one key (a cluster's name is unique only within its datacenter). */
export const clusterKey = (z: Pick<ZoneSpec, "datacenter" | "computeCluster">) => `${z.datacenter}/${z.computeCluster}`;

export interface ZoneContext {
  hosts: readonly HostSpec[];
  /** Whether every host entry was well-formed (unknown-host checks are only meaningful then). */
  hostsOk: boolean;
  inventory?: VsphereInventory;
  /** `network.cidr` and `network.gateway`, when they are valid. */
  network?: { cidr: string; gateway: string };
  /** The full keys of `hosts` and `network`, for messages. */
  hostsPath: string;
  networkPath: string;
}

/**
 * Reads `vsphere-spark:zones` into `r`'s errors, every problem at once: each zone's name, region,
 * vCenter names, hosts and subnet; duplicate names; a host in two zones, or in none; two zones of one
 * compute cluster that would create the same resource pool. `undefined`: no zones (the key is unset).
 */
export function readZones(r: ConfigReader, raw: unknown, path: string, ctx: ZoneContext): { zones?: ZoneSpec[]; ok: boolean } {
  if (raw === undefined || raw === null) return { ok: true };
  const list = r.list(raw, path);
  if (!list) return { ok: false };
  const before = r.errors.length;
  if (list.length === 0) r.err(path, "lists no zones: leave the key out for a stack without failure domains");
  const hostIds = ctx.hosts.map((h) => h.id);
  const byName = new Map(ctx.hosts.map((h) => [h.name, h.id]));
  const names = new Map<string, number>();
  const hostZone = new Map<string, number>();
  const pools = new Map<string, number>();
  const zones: ZoneSpec[] = [];
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o: Obj | undefined = r.object(item, p, ZONE_KEYS);
    if (!o) return;
    const zb = r.errors.length;
    const name = r.requiredString(o, "name", p, (s) =>
      !isDnsLabel(s) ? `"${s}" is not a DNS label (lower-case letters, digits and '-'): it names resources and is the ${ZONE_LABEL} label value` : s.length > 40 ? `"${s}" is longer than 40 characters` : undefined,
    );
    if (name !== undefined) {
      if (names.has(name)) r.err(`${p}.name`, `zone "${name}" is also ${path}[${names.get(name)}]: zone names must be unique`);
      else names.set(name, i);
    }
    const inv = ctx.inventory;
    const fromInventory = (k: "datacenter" | "datastore" | "network" | "resourcePool") => (o[k] === undefined ? inv?.[k] : r.optString(o, k, p, inventoryName));
    const datacenter = fromInventory("datacenter");
    const computeCluster = r.requiredString(o, "computeCluster", p, inventoryName);
    const datastore = fromInventory("datastore");
    const network = fromInventory("network");
    const resourcePool = fromInventory("resourcePool");
    const hostGroup = r.optString(o, "hostGroup", p, inventoryName);
    let region = r.optString(o, "region", p, labelValueProblem);
    if (o.region === undefined && datacenter !== undefined) {
      const problem = labelValueProblem(datacenter);
      if (problem) r.err(`${p}.region`, `is required: the datacenter's name ${problem.replace(/^"[^"]*" /, `"${datacenter}" `)}, so it cannot be the ${REGION_LABEL} label`);
      else region = datacenter;
    }
    // Hosts: ids or vCenter names of `hosts` entries, each in exactly one zone.
    const zoneHosts: string[] = [];
    if (o.hosts === undefined) r.err(`${p}.hosts`, `is required: the ids of the zone's hosts in ${ctx.hostsPath}`);
    else {
      const items = r.list(o.hosts, `${p}.hosts`);
      if (items && items.length === 0) r.err(`${p}.hosts`, "lists no hosts");
      items?.forEach((h, j) => {
        const hp = `${p}.hosts[${j}]`;
        if (typeof h !== "string" || h.length === 0) return r.err(hp, `must be a host id from ${ctx.hostsPath}`);
        const id = hostIds.includes(h) ? h : byName.get(h);
        if (id === undefined) {
          if (ctx.hostsOk) r.err(hp, `unknown host "${h}"${didYouMean(h, hostIds)}: a zone's hosts must be listed in ${ctx.hostsPath} (ids are: ${hostIds.join(", ")})`);
          return;
        }
        const other = hostZone.get(id);
        if (other !== undefined) {
          r.err(hp, other === i ? `host "${id}" is listed twice in this zone` : `host "${id}" is also in ${path}[${other}]: a host is in exactly one zone`);
          return;
        }
        hostZone.set(id, i);
        zoneHosts.push(id);
      });
    }
    // The zone's subnet: both or neither.
    let cidr = ctx.network?.cidr;
    let gateway = ctx.network?.gateway;
    if (o.cidr !== undefined || o.gateway !== undefined) {
      const c = r.requiredString(o, "cidr", p, (s) => (parseCidr(s) ? undefined : `"${s}" is not an IPv4 CIDR such as 192.168.2.0/24 (host bits must be zero)`));
      const g = r.requiredString(o, "gateway", p, (s) => (parseIpv4(s) === undefined ? `"${s}" is not an IPv4 address` : undefined));
      const parsed = c ? parseCidr(c) : undefined;
      if (parsed && g !== undefined && parseIpv4(g) !== undefined) {
        const gi = parseIpv4(g)!;
        if (!cidrContains(parsed, gi)) r.err(`${p}.gateway`, `${g} is outside the zone's network ${parsed.text}`);
        else if (!isUsableHost(parsed, gi)) r.err(`${p}.gateway`, `${g} is the network's own network or broadcast address, not a host`);
      }
      cidr = parsed?.text;
      gateway = g;
    }
    if (r.errors.length > zb || !name || !region || !datacenter || !computeCluster || !datastore || !network || !resourcePool || !cidr || !gateway) return;
    // Each zone creates its resource pool; two zones of one cluster cannot create the same one.
    const poolKey = `${datacenter}/${computeCluster}/${resourcePool}`;
    if (pools.has(poolKey)) {
      r.err(`${p}.resourcePool`, `"${resourcePool}" is also the resource pool of ${path}[${pools.get(poolKey)}] in compute cluster "${computeCluster}": each zone creates its own pool, give this one another name`);
      return;
    }
    pools.set(poolKey, i);
    zones.push({ name, region, datacenter, computeCluster, hosts: zoneHosts, ...(hostGroup ? { hostGroup } : {}), datastore, network, resourcePool, cidr, gateway });
  });
  // Every host is in a zone: a host outside all zones would have no datastore, network or pool.
  if (ctx.hostsOk && r.errors.length === before) {
    ctx.hosts.forEach((h, i) => {
      if (!hostZone.has(h.id)) r.err(`${ctx.hostsPath}[${i}]`, `host "${h.id}" is in no zone of ${path}: add it to one zone's hosts`);
    });
  }
  // A host group is a group of one compute cluster: zones in different clusters cannot share one by name
  // expecting the same hosts, but two zones of the same cluster naming the same group would overlap.
  const groups = new Map<string, number>();
  zones.forEach((z) => {
    if (!z.hostGroup) return;
    const k = `${clusterKey(z)}/${z.hostGroup}`;
    const i = list.findIndex((x) => (x as Obj | undefined)?.name === z.name);
    if (groups.has(k)) r.err(`${path}[${i}].hostGroup`, `host group "${z.hostGroup}" of compute cluster "${z.computeCluster}" is also ${path}[${groups.get(k)}]'s: two zones would be the same hosts`);
    groups.set(k, i);
  });
  if (r.errors.length > before) return { ok: false };
  // Keep the hosts of each zone in the order of `hosts` (that order decides address blocks and names).
  for (const z of zones) z.hosts.sort((a, b) => hostIds.indexOf(a) - hostIds.indexOf(b));
  return { zones, ok: true };
}

/** The zone of each host id. */
export function zoneOfHost(zones: readonly ZoneSpec[]): Map<string, ZoneSpec> {
  const m = new Map<string, ZoneSpec>();
  for (const z of zones) for (const h of z.hosts) m.set(h, z);
  return m;
}

/**
 * The default control-plane placement over zones: round robin, the first host of each zone in turn
 * (zones in the order listed), so three control planes over three zones are one per zone, and no
 * zone holds more than its share. A message instead when there are fewer hosts than control planes.
 */
export function defaultZonedControlPlaneHosts(zones: readonly ZoneSpec[], count: number): string[] | string {
  const total = zones.reduce((a, z) => a + z.hosts.length, 0);
  if (count > total) return `${count} control-plane VMs need ${count} hosts, one each; only ${total} configured`;
  const out: string[] = [];
  for (let round = 0; out.length < count; round++) {
    for (const z of zones) {
      if (out.length < count && round < z.hosts.length) out.push(z.hosts[round]);
    }
  }
  return out;
}

/**
 * The default host of the load-balancer VM with zones: the first host without a control plane in
 * the zone with the fewest control planes (so the zone that takes the endpoint down with it takes
 * as little else as possible), else the last host.
 */
export function defaultZonedLoadBalancerHost(zones: readonly ZoneSpec[], controlPlaneHosts: readonly string[]): string {
  const cp = new Set(controlPlaneHosts);
  const ranked = [...zones].sort((a, b) => a.hosts.filter((h) => cp.has(h)).length - b.hosts.filter((h) => cp.has(h)).length);
  for (const z of ranked) {
    const h = z.hosts.find((x) => !cp.has(x));
    if (h) return h;
  }
  const last = zones[zones.length - 1];
  return last.hosts[last.hosts.length - 1];
}

/** What a zone means for quorum: the largest share of control planes any one zone holds. */
export function controlPlaneZoneNotes(zones: readonly ZoneSpec[], controlPlaneHosts: readonly string[]): string[] {
  const n = controlPlaneHosts.length;
  if (n < 2) return [];
  const of = zoneOfHost(zones);
  const per = new Map<string, number>();
  for (const h of controlPlaneHosts) {
    const z = of.get(h)?.name ?? "?";
    per.set(z, (per.get(z) ?? 0) + 1);
  }
  const quorum = Math.floor(n / 2) + 1;
  const out: string[] = [];
  for (const [z, k] of per) {
    if (n - k < quorum) out.push(`zone ${z} holds ${k} of the ${n} control planes: when it fails etcd loses quorum (${n - k} of ${n} left, ${quorum} needed); spread them over at least three zones`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** The zone's subnet, parsed (readZones checked it). */
export function zoneCidr(z: ZoneSpec): Cidr {
  return parseCidr(z.cidr)!;
}

// ---------------------------------------------------------------------------------------------
// DRS per compute cluster

/** One compute cluster's DRS groups and rules, and which zones share it. */
export interface ClusterDrsPlan {
  /** `datacenter/computeCluster`. */
  key: string;
  datacenter: string;
  computeCluster: string;
  zones: string[];
  plan: DrsPlan;
}

/** A user rule (`drs.keepApart.<name>`): these VMs on different hosts. */
export interface KeepApartRule {
  name: string;
  vms: string[];
}

/** A stable resource-name part for a compute cluster: the name of its first zone (in the order listed). */
export function clusterSlug(zones: readonly ZoneSpec[], key: string): string {
  return zones.find((z) => clusterKey(z) === key)!.name;
}

/**
 * The DRS groups and rules per compute cluster (they cannot span clusters): each cluster's hosts and
 * VMs get `planDrsRules`' groups and rules, the control-plane anti-affinity rule covers the control
 * planes of that cluster only (those of other clusters are apart already), and a zone with a
 * `hostGroup` gets no host groups of its own: its VMs' "run on" rules name that group.
 * Pulumi suffixes stay unique over clusters (host and VM names are; the anti-affinity rule carries
 * the cluster's first zone's name).
 */
export function planZonedDrsRules(clusterName: string, zones: readonly ZoneSpec[], slots: readonly VmSlot[], drs: DrsSettings): ClusterDrsPlan[] {
  const of = zoneOfHost(zones);
  const keys = [...new Set(zones.map(clusterKey))];
  return keys.map((key) => {
    const inCluster = zones.filter((z) => clusterKey(z) === key);
    const hostIds = inCluster.flatMap((z) => z.hosts);
    const vms = slots.filter((s) => hostIds.includes(s.hostId));
    const base = planDrsRules(clusterName, hostIds.map((id) => ({ id })), vms, drs);
    const grouped = new Map(inCluster.filter((z) => z.hostGroup).flatMap((z) => z.hosts.map((h) => [h, z.hostGroup!] as const)));
    const slug = clusterSlug(zones, key);
    const plan: DrsPlan = {
      hostGroups: base.hostGroups.filter((g) => !grouped.has(g.hostId)),
      vmGroups: base.vmGroups,
      vmHostRules: base.vmHostRules.map((rule) => {
        const vm = vms.find((v) => `${v.name}-vm-group` === rule.vmGroup)!;
        const group = grouped.get(vm.hostId);
        // `existing:` marks a host group that is named, not created (createVsphereTopology passes the name through).
        return group ? { ...rule, name: `${clusterName}-${vm.name}-in-${of.get(vm.hostId)!.name}`, hostGroup: `existing:${group}` } : rule;
      }),
      antiAffinityRules: base.antiAffinityRules.map((a) => ({ ...a, suffix: `${slug}-${a.suffix}` })),
    };
    return { key, datacenter: inCluster[0].datacenter, computeCluster: inCluster[0].computeCluster, zones: inCluster.map((z) => z.name), plan };
  });
}

/**
 * Checks the user's anti-affinity rules (`drs.keepApart`): each names at least two VMs that exist,
 * all in one compute cluster (a DRS rule cannot span clusters: VMs in different clusters are on
 * different hosts anyway). `clusterOf` gives a VM's compute cluster key (one key for every VM without zones).
 */
export function keepApartProblems(rules: readonly KeepApartRule[], vmNames: readonly string[], clusterOf: (vm: string) => string | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const rule of rules) {
    const p = `${path}.${rule.name}`;
    const unknown = rule.vms.filter((v) => !vmNames.includes(v));
    for (const v of unknown) errors.push({ path: p, message: `no VM is named "${v}"${didYouMean(v, vmNames)}` });
    if (rule.vms.length < 2) errors.push({ path: p, message: `names ${rule.vms.length} VM; an anti-affinity rule keeps at least two VMs apart` });
    if (new Set(rule.vms).size !== rule.vms.length) errors.push({ path: p, message: "names a VM twice" });
    if (unknown.length > 0) continue;
    const clusters = new Map<string, string[]>();
    for (const v of rule.vms) {
      const c = clusterOf(v) ?? "?";
      clusters.set(c, [...(clusters.get(c) ?? []), v]);
    }
    if (clusters.size > 1) {
      errors.push({
        path: p,
        message:
          `a DRS rule belongs to one compute cluster, but these VMs are in ${clusters.size}: ` +
          [...clusters].map(([c, vms]) => `${vms.join(", ")} in ${c}`).join("; ") +
          ". VMs of different compute clusters never share a host; keep one rule per cluster",
      });
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Capacity and failures per zone

export interface ZoneCapacity {
  zone: string;
  region: string;
  datacenter: string;
  computeCluster: string;
  hosts: string[];
  cpuThreads: number;
  memoryMiB: number;
  allocated: { cpus: number; memoryMiB: number };
  /** `workers` counts CPU workers (what the CPU executors and WorkerPool.zones count); GPU workers apart. */
  vms: { controlPlanes: number; workers: number; gpuWorkers: number; loadBalancers: number };
}

export interface ZoneFailure {
  zone: string;
  /** VMs of the zone's hosts. */
  vms: string[];
  /** VMs HA can restart on the surviving hosts of the same compute cluster (within capacity and overcommit). */
  restarted: string[];
  /** VMs that stay down until the zone returns. */
  lost: string[];
  controlPlane?: { running: number; total: number; quorum: boolean };
  /** The single load-balancer VM (the API endpoint) is among the lost VMs. */
  endpointDown: boolean;
  workers: { before: number; after: number };
}

export function zoneCapacities(zones: readonly ZoneSpec[], hosts: readonly HostSpec[], slots: readonly VmSlot[]): ZoneCapacity[] {
  return zones.map((z) => {
    const hs = hosts.filter((h) => z.hosts.includes(h.id));
    const vms = slots.filter((s) => z.hosts.includes(s.hostId));
    return {
      zone: z.name,
      region: z.region,
      datacenter: z.datacenter,
      computeCluster: z.computeCluster,
      hosts: hs.map((h) => h.id),
      cpuThreads: hs.reduce((a, h) => a + h.cpuThreads, 0),
      memoryMiB: hs.reduce((a, h) => a + h.memoryMiB, 0),
      allocated: { cpus: vms.reduce((a, s) => a + s.cpus, 0), memoryMiB: vms.reduce((a, s) => a + s.memoryMiB, 0) },
      vms: {
        controlPlanes: vms.filter((s) => s.role === "control-plane").length,
        workers: vms.filter((s) => s.role === "worker" && !s.gpus).length,
        gpuWorkers: vms.filter((s) => s.role === "worker" && s.gpus).length,
        loadBalancers: vms.filter((s) => s.role === "load-balancer").length,
      },
    };
  });
}

/**
 * One zone fails (all its hosts): which VMs vSphere HA restarts, and where. HA restarts VMs only on
 * the surviving hosts of the same compute cluster, so a zone that is a whole cluster loses every VM
 * until it returns. The packing is the compare report's (largest memory first, within each host's
 * logical cores and memory times the overcommit). `pinned` VMs (required DRS rules) never move.
 */
export function zoneFailures(
  zones: readonly ZoneSpec[],
  hosts: readonly HostSpec[],
  slots: readonly VmSlot[],
  overcommit: Overcommit,
  opts: { pinned?: boolean; endpointKind?: string } = {},
): ZoneFailure[] {
  const cps = slots.filter((s) => s.role === "control-plane");
  const lbs = slots.filter((s) => s.role === "load-balancer");
  const workers = slots.filter((s) => s.role === "worker");
  return zones.map((z) => {
    const down = new Set(z.hosts);
    const here = slots.filter((s) => down.has(s.hostId));
    const survivors = zones
      .filter((o) => o !== z && clusterKey(o) === clusterKey(z))
      .flatMap((o) => o.hosts)
      .map((id) => {
        const h = hosts.find((x) => x.id === id)!;
        const used = slots.filter((s) => s.hostId === id);
        return { id, cpu: h.cpuThreads * overcommit.cpu - used.reduce((a, s) => a + s.cpus, 0), mem: h.memoryMiB * overcommit.memory - used.reduce((a, s) => a + s.memoryMiB, 0) };
      });
    const restarted: string[] = [];
    const lost: string[] = [];
    for (const v of [...here].sort((a, b) => b.memoryMiB - a.memoryMiB || b.cpus - a.cpus || (a.name < b.name ? -1 : 1))) {
      // A GPU worker's passthrough devices are its host's: it cannot restart anywhere else (gpu.ts).
      const target = opts.pinned || v.gpus ? undefined : survivors.find((f) => f.mem >= v.memoryMiB && f.cpu >= v.cpus);
      if (!target) {
        lost.push(v.name);
        continue;
      }
      target.cpu -= v.cpus;
      target.mem -= v.memoryMiB;
      restarted.push(v.name);
    }
    const lostSet = new Set(lost);
    const cpDown = cps.filter((c) => lostSet.has(c.name)).length;
    return {
      zone: z.name,
      vms: here.map((s) => s.name),
      restarted: restarted.sort(),
      lost: lost.sort(),
      ...(cps.length > 0 ? { controlPlane: { running: cps.length - cpDown, total: cps.length, quorum: cps.length - cpDown >= Math.floor(cps.length / 2) + 1 } } : {}),
      endpointDown: opts.endpointKind === "haproxy" && lbs.length === 1 && lostSet.has(lbs[0].name),
      workers: { before: workers.length, after: workers.filter((w) => !lostSet.has(w.name)).length },
    };
  });
}

/** "zone a fails: ..." in words. */
export function describeZoneFailure(f: ZoneFailure): string {
  const parts: string[] = [];
  if (f.lost.length > 0) parts.push(`${f.lost.length} of its ${f.vms.length} VMs stay down until it returns (HA restarts VMs only inside their compute cluster${f.restarted.length > 0 ? ", and the other zones' hosts there have no room for these, or they are GPU workers bound to their hosts by PCI passthrough" : ""})`);
  if (f.restarted.length > 0) parts.push(`${f.restarted.length} VMs restart on the other zones' hosts of the same compute cluster`);
  if (f.controlPlane) parts.push(`control plane ${f.controlPlane.running} of ${f.controlPlane.total} running (${f.controlPlane.quorum ? "quorum holds" : "etcd quorum LOST: the API stops"})`);
  if (f.endpointDown) parts.push("API endpoint down: the load-balancer VM is in this zone");
  parts.push(`${f.workers.after} of ${f.workers.before} workers left`);
  return `zone ${f.zone} fails: ${parts.join("; ")}`;
}

/**
 * What happens to the API when the endpoint's zone fails, by endpoint kind (the plan note and the
 * README say the same): HAProxy is one VM in one zone; kube-vip's address moves between the control
 * planes of one network; an external load balancer is outside the zones.
 */
export function endpointZoneNote(kind: string, lbZone: string | undefined, lbRestarts: boolean): string {
  if (kind === "haproxy") {
    return (
      `the API endpoint is the HAProxy VM in zone ${lbZone}: when zone ${lbZone} fails, the API is unreachable through it ` +
      (lbRestarts
        ? "until vSphere HA restarts the VM on another zone's host of the same compute cluster"
        : "until the zone returns (HA restarts VMs only inside their compute cluster)") +
      "; control planes elsewhere keep etcd and running pods keep running, but kubectl, Spark drivers (which create executor pods through the API) and node heartbeats through the endpoint stop. " +
      "For an endpoint that survives a zone, use endpoint.kind external (a load balancer outside the zones, in front of every control plane)"
    );
  }
  if (kind === "kube-vip") return "the API endpoint is kube-vip's virtual IP, held by one control plane at a time: when its zone fails, another control plane takes the address over (all control planes are on one network)";
  return "the API endpoint is an external load balancer: it is outside the zones; it must send traffic to the control planes of every zone and check their health";
}
