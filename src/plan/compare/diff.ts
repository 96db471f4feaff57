/**
 * The difference between two offline plans (base → head), as data: what `pulumi up` would create,
 * update, replace or delete and why, what happens to each host and VM, whether one host can fail,
 * what happens to Spark's sizing, and which configuration keys changed. Pure: no I/O.
 *
 * Generic over the plan's shape so it serves every cluster back end: resources are keyed by
 * type + name, hosts by id, VMs by name; the Spark section is read by its field names; any other
 * section (a back end's own, e.g. `tanzu`) is diffed as changed keys.
 */
import { Plan } from "../plan";
import { ChangedPath, Classification, classify } from "./replacement";
import { REBOOT_SOURCE, rebootReasons } from "../../../components/vsphere/reboot";
import { PROVIDER_SOURCE, ProviderChange, diffProviders } from "./provider";
import { ProgramNote, Refusal, groupRefusals, runProgramNotes, runProgramRules } from "./program-rules";
import { Contents, FirstBootChange, diffFirstBoot } from "./first-boot";

export const SECRET = "[secret]";

/** Top-level plan fields this module reads by name; every other one is diffed generically. */
const KNOWN_SECTIONS = new Set(["formatVersion", "stack", "configFile", "simulated", "endpoint", "counts", "resources", "hosts", "artifacts", "outputs", "config", "spark"]);

export type ResourceAction = "create" | "update" | "replace" | "delete";

export interface PropertyChange {
  path: string;
  /** Absent when a side is secret (then `secret` is true) or the value is long. */
  before?: unknown;
  after?: unknown;
  secret?: boolean;
  /** A word instead of values (e.g. "added" for an artifact). */
  note?: string;
}

export interface ResourceChange {
  type: string;
  name: string;
  /** For a VM: its name in vCenter (`inputs.name`), which is how the plan's hosts list it. */
  vm?: string;
  action: ResourceAction;
  changes: PropertyChange[];
  replaceBecause: string[];
  ignored: string[];
  refused: string[];
  source?: string;
  /** An in-place VM update that powers the VM off and on, and why (terraform-provider-vsphere's rules: reboot.ts). */
  reboot?: string[];
  /** Listed only because its provider is replaced (its own inputs did not change). */
  viaProvider?: boolean;
}

/** A VM that an in-place update powers off and on. */
export interface VmReboot {
  vm: string;
  role?: string;
  host?: string;
  because: string[];
}

export interface VmState {
  name: string;
  role: string;
  host: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  address: string;
}

export type VmStatus = "added" | "removed" | "replaced" | "rebooted" | "changed" | "unchanged";

export interface VmChange {
  name: string;
  status: VmStatus;
  before?: VmState;
  after?: VmState;
  /** What differs in the placement view: host, shape, address. */
  differences: string[];
}

export interface HostSide {
  cpuThreads: number;
  memoryMiB: number;
  cpus: number;
  allocatedMiB: number;
  vms: number;
}

export interface HostChange {
  id: string;
  name: string;
  before?: HostSide;
  after?: HostSide;
}

export interface HostFailure {
  host: string;
  vms: string[];
  /** VMs that would not fit on the surviving hosts (first-fit, largest memory first), or that a must-rule keeps off them. */
  unplaced: string[];
  /** Of `unplaced`, the VMs a required (mandatory) DRS rule keeps from every surviving host. */
  heldByRule?: string[];
  /**
   * VMs with PCI passthrough devices (GPU workers): bound to the failed host, down until it returns.
   * Not in `unplaced`: no amount of room elsewhere would restart them, so they do not decide N+1.
   */
  boundToHost?: string[];
  /** The restarted VMs need more vCPU than the surviving hosts' logical cores (they run, over-committed). */
  cpuOvercommitted: boolean;
  /** Control-plane members left running while the failed host's VMs restart, of the total. */
  controlPlaneLeft?: { running: number; total: number; quorum: boolean };
  loadBalancerDown: boolean;
}

export interface Survivability {
  /** True when the VMs of any one failed host restart on the others within capacity. */
  nPlusOne: boolean;
  failures: HostFailure[];
  notes: string[];
}

export interface SparkRow {
  name: string;
  before: string;
  after: string;
  changed: boolean;
}

export interface SparkDiff {
  rows: SparkRow[];
  /** spark-submit scripts: lines only in base (removed) and only in head (added). */
  submit: { output: string; removed: string[]; added: string[] }[];
  fitsBefore: boolean;
  fitsAfter: boolean;
}

export interface PlanDiff {
  base: { stack: string; configFile: string; formatVersion: number };
  head: { stack: string; configFile: string; formatVersion: number };
  verdict: string;
  noChanges: boolean;
  /** `reboot` counts the updates (already in `update`) that power a VM off and on. */
  counts: Record<ResourceAction, number> & { unchanged: number; reboot: number };
  warnings: string[];
  /** VMs an in-place update powers off and on (pulumi preview shows them as plain updates). */
  reboots: VmReboot[];
  /** Kubernetes providers whose configuration change replaces (or, in a preview, seems to replace) what they manage. */
  providers: ProviderChange[];
  /** What the program's own rules refuse on this pair (program-rules.ts). */
  refusals: Refusal[];
  /** What the program's own rules note on this pair (program-rules.ts, runProgramNotes): also in `warnings`. */
  programNotes: ProgramNote[];
  /** Settings carried only in the VMs' first-boot user-data that changed, and which running VMs never see them. */
  firstBoot: FirstBootChange[];
  /** etcd quorum through the change (kubeadm back end). */
  quorum?: QuorumCheck;
  resources: ResourceChange[];
  endpoint: { before: Plan["endpoint"]; after: Plan["endpoint"]; changed: boolean };
  hosts: HostChange[];
  vms: VmChange[];
  survivability: { before: Survivability; after: Survivability };
  spark?: SparkDiff;
  /** Changed configuration keys (leaf paths), secrets redacted. Absent when a side has no `config` (plan format 0). */
  config?: PropertyChange[];
  /** Other sections (a back end's own, outputs, artifacts): changed leaf paths. */
  sections: { section: string; changes: PropertyChange[] }[];
  /** What the CI check fails on (BREACH_POLICY): `reasons` lists the ones that hold. */
  breach: { capacity: boolean; spark: boolean; quorum: boolean; refused: boolean; reasons: string[]; policy: string };
}

// ---------------------------------------------------------------------------------------------
// Leaf differences

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Changed leaf paths between two JSON values. Both sides "[secret]": cannot be compared offline, skipped. */
export function leafChanges(a: unknown, b: unknown, prefix = ""): ChangedPath[] {
  if (a === b) return [];
  if (a === SECRET && b === SECRET) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: ChangedPath[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...leafChanges(a[i], b[i], `${prefix}[${i}]`));
    return out;
  }
  if (isObj(a) && isObj(b)) {
    const out: ChangedPath[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out.push(...leafChanges(a[k], b[k], prefix ? `${prefix}.${k}` : k));
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path: prefix, before: a, after: b }];
}

const containsSecret = (x: unknown): boolean =>
  x === SECRET || (Array.isArray(x) ? x.some(containsSecret) : isObj(x) ? Object.values(x).some(containsSecret) : false);

/** For display: secrets never shown; long or structured values left out (the path says enough). */
export function toPropertyChange(c: ChangedPath): PropertyChange {
  if (containsSecret(c.before) || containsSecret(c.after)) return { path: c.path, secret: true };
  const short = (x: unknown) => x === undefined || x === null || typeof x === "number" || typeof x === "boolean" || (typeof x === "string" && x.length <= 64);
  return short(c.before) && short(c.after) ? { path: c.path, before: c.before, after: c.after } : { path: c.path };
}

// ---------------------------------------------------------------------------------------------
// Resources

type PlanResource = Plan["resources"][number];
const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
const isVmType = (t: string) => /:VirtualMachine$/.test(t);
/** A VM resource's vCenter name (the plan's hosts list VMs by it), else its resource name. */
const vmName = (r: PlanResource) => {
  const n = isObj(r.inputs) ? r.inputs.name : undefined;
  return typeof n === "string" ? n : r.name;
};
const vmField = (r: PlanResource) => (isVmType(r.type) ? { vm: vmName(r) } : {});

function diffResources(base: Plan, head: Plan): { changes: ResourceChange[]; unchanged: number } {
  const before = new Map(base.resources.map((r) => [key(r), r]));
  const after = new Map(head.resources.map((r) => [key(r), r]));
  const changes: ResourceChange[] = [];
  let unchanged = 0;
  for (const [k, h] of after) {
    const b = before.get(k);
    if (!b) {
      changes.push({ type: h.type, name: h.name, ...vmField(h), action: "create", changes: [], replaceBecause: [], ignored: [], refused: [] });
      continue;
    }
    const raw = leafChanges(b.inputs, h.inputs);
    const parentChanged = (b.parent ?? null) !== (h.parent ?? null);
    if (raw.length === 0 && !parentChanged) {
      unchanged++;
      continue;
    }
    const c: Classification = classify(h.type, raw, h.ignoreChanges ?? (b as PlanResource).ignoreChanges ?? [], h.replaceOnChanges ?? []);
    // A new parent changes the URN: Pulumi deletes and creates (unless aliased), i.e. a replacement.
    const replaceBecause = parentChanged ? [...c.replaceBecause, "parent (the resource's URN changes)"] : c.replaceBecause;
    const effective = raw.filter((x) => !c.ignored.includes(x.path));
    if (effective.length === 0 && !parentChanged) {
      // Only ignored inputs changed: nothing happens to the resource; listed for the record.
      changes.push({ type: h.type, name: h.name, ...vmField(h), action: "update", changes: raw.map(toPropertyChange), replaceBecause: [], ignored: c.ignored, refused: [], source: c.source });
      continue;
    }
    const action = replaceBecause.length > 0 ? "replace" : "update";
    const reboot = action === "update" && isVmType(h.type) ? rebootReasons(b.inputs, h.inputs, h.ignoreChanges ?? []) : [];
    changes.push({
      type: h.type,
      name: h.name,
      ...vmField(h),
      action,
      changes: raw.map(toPropertyChange),
      replaceBecause,
      ignored: c.ignored,
      refused: c.refused,
      source: reboot.length > 0 ? `${c.source}; ${REBOOT_SOURCE}` : c.source,
      ...(reboot.length > 0 ? { reboot } : {}),
    });
  }
  for (const [k, b] of before) if (!after.has(k)) changes.push({ type: b.type, name: b.name, ...vmField(b), action: "delete", changes: [], replaceBecause: [], ignored: [], refused: [] });
  const order: Record<ResourceAction, number> = { replace: 0, delete: 1, create: 2, update: 3 };
  changes.sort((x, y) => order[x.action] - order[y.action] || x.type.localeCompare(y.type) || x.name.localeCompare(y.name, undefined, { numeric: true }));
  return { changes, unchanged };
}

/** The id the plan records for a resource (the mock runtime's: src/plan/mock-runtime.ts). */
const planId = (name: string) => `${name}-id`;

/**
 * A replaced resource gets a new id, unknown until its replacement exists: every unchanged resource
 * whose inputs hold its id changes in the same update (the engine diffs the unknown id against the
 * old one), updated or replaced as its own provider's table says for that path. Measured with
 * pulumi-resource-vsphere 4.17.0 under the real engine (lab/README.md, "The vSphere parts"): a
 * template change replaces the 20 VMs of Pulumi.dev.yaml and updates their 20 VM groups and the
 * control planes' anti-affinity rule (`virtualMachineIds`; not ForceNew in
 * terraform-provider-vsphere's vsphere/resource_vsphere_compute_cluster_vm_group.go and
 * _vm_anti_affinity_rule.go), which the compare listed as unchanged before.
 */
function dependentsOfReplaced(base: Plan, head: Plan, changes: ResourceChange[]): ResourceChange[] {
  const listed = new Set(changes.map(key));
  const inBase = new Set(base.resources.map(key));
  // One walk of each candidate's inputs, indexed by the plan ids it holds: the work grows with the
  // stack, not with the stack times the replaced resources (a template change replaces every VM).
  const nameOfId = new Map(head.resources.map((r) => [planId(r.name), r.name]));
  const candidates = head.resources.filter((r) => !listed.has(key(r)) && inBase.has(key(r)));
  const holding = candidates.map((r) => idsHeld(r.inputs, nameOfId));
  const holders = new Map<string, number[]>();
  holding.forEach((ids, i) => {
    for (const name of ids.keys()) holders.set(name, [...(holders.get(name) ?? []), i]);
  });
  const replaced = new Set<string>();
  const found = new Map<number, ResourceChange>();
  const queue = changes.filter((c) => c.action === "replace").map((c) => c.name);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (replaced.has(name)) continue;
    replaced.add(name);
    for (const i of holders.get(name) ?? []) {
      const r = candidates[i];
      // Every replaced id this resource holds (e.g. the three control planes in one anti-affinity rule).
      const held = [...holding[i]].filter(([n]) => replaced.has(n)).flatMap(([n, paths]) => paths.map((path) => ({ path, name: n })));
      const raw = held.map((h) => ({ path: h.path, before: planId(h.name), after: UNKNOWN_ID }));
      const c = classify(r.type, raw, r.ignoreChanges ?? [], r.replaceOnChanges ?? []);
      const action: ResourceAction = c.replaceBecause.length > 0 ? "replace" : "update";
      found.set(i, {
        type: r.type,
        name: r.name,
        ...vmField(r),
        action,
        changes: held.map((h) => ({ path: h.path, note: `the id of ${h.name}, replaced` })),
        replaceBecause: c.replaceBecause,
        ignored: c.ignored,
        refused: [],
        source: `${c.source}; engine: a replaced resource's id is unknown until it is created`,
      });
      if (action === "replace") queue.push(r.name);
    }
  }
  return [...found.keys()].sort((a, b) => a - b).map((i) => found.get(i)!);
}

/** The plan ids a resource's inputs hold, by the name of the resource they belong to, with their paths. */
function idsHeld(x: unknown, nameOfId: ReadonlyMap<string, string>, prefix = "", into = new Map<string, string[]>()): Map<string, string[]> {
  if (typeof x === "string") {
    const name = nameOfId.get(x);
    if (name !== undefined) into.set(name, [...(into.get(name) ?? []), prefix]);
  } else if (Array.isArray(x)) x.forEach((v, i) => idsHeld(v, nameOfId, `${prefix}[${i}]`, into));
  else if (isObj(x)) for (const [k, v] of Object.entries(x)) idsHeld(v, nameOfId, prefix ? `${prefix}.${k}` : k, into);
  return into;
}

const UNKNOWN_ID = "[known after pulumi up]";

/** A change that only touches ignored inputs does nothing: it is not counted as an update. */
export const isNoop = (c: ResourceChange) => c.action === "update" && c.changes.length > 0 && c.changes.every((p) => c.ignored.includes(p.path));

// ---------------------------------------------------------------------------------------------
// Hosts, VMs, failure of one host

function vmStates(p: Plan): Map<string, VmState> {
  const m = new Map<string, VmState>();
  for (const h of p.hosts) for (const v of h.vms) m.set(v.name, { name: v.name, role: v.role, host: h.id, cpus: v.cpus, memoryMiB: v.memoryMiB, diskGiB: v.diskGiB, address: v.address });
  return m;
}

function hostSide(h: Plan["hosts"][number]): HostSide {
  return { cpuThreads: h.cpuThreads, memoryMiB: h.memoryMiB, cpus: h.allocated.cpus, allocatedMiB: h.allocated.memoryMiB, vms: h.vms.length };
}

/** The stack's overcommit ratios (`vsphere-spark:overcommit`), 1 when absent (plans of other back ends). */
export function overcommitOf(p: Plan): { cpu: number; memory: number } {
  const raw = p.config?.["vsphere-spark:overcommit"];
  let o: Record<string, unknown> = {};
  try {
    o = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  } catch {
    o = {};
  }
  const n = (x: unknown) => (typeof x === "number" && x >= 1 ? x : 1);
  return { cpu: n(o.cpu), memory: n(o.memory) };
}

/** `vsphere-spark:ha.hostFailuresToTolerate` (0 when absent): 1 declares that the stack must survive one host failure. */
export function declaredHostFailures(p: Plan): number {
  const raw = p.config?.["vsphere-spark:ha"];
  try {
    const o = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    return typeof o.hostFailuresToTolerate === "number" ? o.hostFailuresToTolerate : 0;
  } catch {
    return 0;
  }
}

/**
 * The DRS "must" rules of a plan, as placement constraints: the hosts each VM may run on (VM-host
 * rules with `mandatory: true`) and the sets of VMs that must stay apart (anti-affinity rules with
 * `mandatory: true`). vSphere HA honours required rules: it does not fail a VM over in violation of
 * one (VMware vSphere Availability, "Using vSphere HA and DRS Together" / "VM-Host Affinity Rules":
 * a required rule is not violated by HA failover; a "should" rule may be). Groups and rules are
 * matched by their vCenter names as the vSphere layer writes them (components/vsphere/drs.ts), VMs
 * by the ids the offline plan gives them (`<resource name>-id`).
 */
export function mustRules(p: Plan): { pinned: Map<string, Set<string>>; apart: string[][] } {
  const pinned = new Map<string, Set<string>>();
  const apart: string[][] = [];
  const inputs = (r: PlanResource) => (isObj(r.inputs) ? r.inputs : {});
  const vmById = new Map<string, string>();
  const hostByMoid = new Map<string, string>();
  const placed = new Map<string, string>();
  for (const h of p.hosts) for (const v of h.vms) placed.set(v.name, h.id);
  for (const r of p.resources.filter((x) => isVmType(x.type))) {
    vmById.set(`${r.name}-id`, vmName(r));
    const hid = inputs(r).hostSystemId;
    const host = placed.get(vmName(r));
    if (typeof hid === "string" && host) hostByMoid.set(hid, host);
  }
  const byName = (suffix: string) => new Map(p.resources.filter((r) => r.type.endsWith(suffix)).map((r) => [String(inputs(r).name), inputs(r)]));
  const vmGroups = byName(":ComputeClusterVmGroup");
  const hostGroups = byName(":ComputeClusterHostGroup");
  const ids = (x: unknown) => (Array.isArray(x) ? x.map(String) : []);
  for (const r of p.resources) {
    const i = inputs(r);
    if (i.mandatory !== true) continue;
    if (r.type.endsWith(":ComputeClusterVmHostRule")) {
      // A zone's existing host group (not created by the program): its hosts are unknown offline.
      if (!hostGroups.has(String(i.affinityHostGroupName))) continue;
      const vms = ids(vmGroups.get(String(i.vmGroupName))?.virtualMachineIds).map((id) => vmById.get(id) ?? id);
      const hosts = ids(hostGroups.get(String(i.affinityHostGroupName))?.hostSystemIds).map((m) => hostByMoid.get(m) ?? m);
      for (const v of vms) pinned.set(v, new Set(hosts));
    } else if (r.type.endsWith(":ComputeClusterVmAntiAffinityRule")) {
      apart.push(ids(i.virtualMachineIds).map((id) => vmById.get(id) ?? id));
    }
  }
  return { pinned, apart };
}

/**
 * The question vSphere HA admission control asks (host failures to tolerate = 1): can the VMs of
 * any one failed host restart on the surviving hosts within their capacity? Packs each failed
 * host's VMs, largest memory first, onto the surviving hosts' free vCPU and memory (logical cores
 * and memory times the stack's overcommit ratios), honouring the DRS must-rules (see mustRules).
 */
export function survivability(p: Plan): Survivability {
  const notes: string[] = [];
  const failures: HostFailure[] = [];
  const oc = overcommitOf(p);
  const must = mustRules(p);
  const cps = p.hosts.flatMap((h) => h.vms.filter((v) => v.role === "control-plane").map((v) => ({ v, host: h.id })));
  const lbs = p.hosts.flatMap((h) => h.vms.filter((v) => v.role === "load-balancer").map((v) => ({ v, host: h.id })));
  // A VM with PCI passthrough devices (pciDeviceIds: the host's own devices, by id) cannot be restarted
  // on another host: vSphere HA and vMotion need the device on the target, and these ids are this
  // host's (fixed DirectPath I/O, VirtualPCIPassthroughDeviceBackingInfo: terraform-provider-vsphere
  // vsphere/internal/virtualdevice/virtual_machine_device_subresource.go, modifyVirtualPciDevices).
  const passthrough = new Set(
    p.resources
      .filter((r) => isVmType(r.type) && ((r.inputs as { pciDeviceIds?: unknown[] }).pciDeviceIds ?? []).length > 0)
      .map((r) => vmName(r)),
  );
  for (const failed of p.hosts) {
    if (failed.vms.length === 0) continue;
    // vSphere HA restarts VMs inside their compute cluster only (hosts of a zoned plan carry it).
    const free = p.hosts
      .filter((h) => h.id !== failed.id && (h.computeCluster ?? "") === (failed.computeCluster ?? ""))
      .map((h) => ({ id: h.id, cpu: h.cpuThreads * oc.cpu - h.allocated.cpus, mem: h.memoryMiB * oc.memory - h.allocated.memoryMiB, vms: new Set(h.vms.map((v) => v.name)) }));
    const unplaced: string[] = [];
    const heldByRule: string[] = [];
    const boundToHost = failed.vms.filter((v) => passthrough.has(v.name)).map((v) => v.name);
    for (const v of [...failed.vms].filter((x) => !passthrough.has(x.name)).sort((a, b) => b.memoryMiB - a.memoryMiB || b.cpus - a.cpus)) {
      const allowedHosts = must.pinned.get(v.name);
      const apartFrom = must.apart.filter((g) => g.includes(v.name)).flat();
      const allowed = free.filter((f) => (!allowedHosts || allowedHosts.has(f.id)) && !apartFrom.some((o) => o !== v.name && f.vms.has(o)));
      if (allowed.length === 0) {
        unplaced.push(v.name);
        // No host left in its compute cluster is not a rule's doing.
        if (free.length > 0) heldByRule.push(v.name);
        continue;
      }
      // Memory decides; vCPU beyond the (overcommitted) logical cores is reported.
      const target = allowed.find((f) => f.mem >= v.memoryMiB && f.cpu >= v.cpus) ?? allowed.find((f) => f.mem >= v.memoryMiB);
      if (!target) {
        unplaced.push(v.name);
        continue;
      }
      target.cpu -= v.cpus;
      target.mem -= v.memoryMiB;
      target.vms.add(v.name);
    }
    const cpHere = cps.filter((c) => c.host === failed.id).length;
    const f: HostFailure = {
      host: failed.id,
      vms: failed.vms.map((v) => v.name),
      unplaced,
      ...(heldByRule.length > 0 ? { heldByRule } : {}),
      ...(boundToHost.length > 0 ? { boundToHost } : {}),
      cpuOvercommitted: free.some((x) => x.cpu < 0),
      loadBalancerDown: lbs.length === 1 && lbs[0].host === failed.id,
    };
    if (cps.length > 0 && cpHere > 0) {
      const running = cps.length - cpHere;
      f.controlPlaneLeft = { running, total: cps.length, quorum: running >= Math.floor(cps.length / 2) + 1 };
    }
    failures.push(f);
  }
  if (cps.length === 1) notes.push("one control-plane VM: the Kubernetes API is down while HA restarts it");
  else if (cps.length === 2) notes.push("two control-plane VMs: etcd loses quorum when either host fails (use 3)");
  const byHost = new Map<string, number>();
  for (const c of cps) byHost.set(c.host, (byHost.get(c.host) ?? 0) + 1);
  if (cps.length >= 3 && [...byHost.values()].some((n) => n > 1)) notes.push("control-plane VMs share a host: that host's failure can take etcd below quorum");
  if (lbs.length === 1 && p.endpoint.kind === "haproxy") {
    notes.push(`the single load-balancer VM ${lbs[0].v.name} (${lbs[0].host}) is the API endpoint: the API is unreachable while HA restarts it`);
  }
  if (must.pinned.size > 0) notes.push(`${must.pinned.size} VMs are held to their hosts by required (mandatory) DRS rules: vSphere HA does not restart them elsewhere`);
  if (passthrough.size > 0) notes.push(`${passthrough.size} GPU workers have PCI passthrough devices, bound to their hosts: when a host fails, its GPU workers stay down until it returns (not counted against N+1)`);
  if (oc.cpu > 1 || oc.memory > 1) notes.push(`capacity counted with the stack's overcommit (vCPU × ${oc.cpu}, memory × ${oc.memory})`);
  return { nPlusOne: failures.every((x) => x.unplaced.length === 0), failures, notes };
}

/**
 * Zone changes (components/vsphere/zones.ts): a host moved to another zone (its running nodes would
 * need replacing: the change rules refuse it), zones added or removed, and a zone whose failure
 * loses etcd's quorum in the head.
 */
export function zoneWarnings(base: Plan, head: Plan): string[] {
  const out: string[] = [];
  const zoneOf = (p: Plan) => new Map(p.hosts.map((h) => [h.id, h.zone ?? ""]));
  const b = zoneOf(base);
  const moved = head.hosts.filter((h) => b.has(h.id) && b.get(h.id) !== (h.zone ?? "") && h.vms.length > 0);
  const label = (z: string) => (z ? z : "no zone");
  if (moved.length > 0) {
    out.push(
      `${plural(moved.length, "host")} change zone (their running nodes keep the old zone label and address; the change rules refuse it unless they are replaced): ${list(moved.map((h) => `${h.id} ${label(b.get(h.id)!)} → ${label(h.zone ?? "")}`), 4)}`,
    );
  }
  const names = (p: Plan) => new Set(p.hosts.map((h) => h.zone).filter((z): z is string => !!z));
  const zb = names(base);
  const zh = names(head);
  const added = [...zh].filter((z) => !zb.has(z));
  const removed = [...zb].filter((z) => !zh.has(z));
  if (base.hosts.length > 0 && (added.length > 0 || removed.length > 0)) out.push(`zones ${[added.length ? `added: ${added.join(", ")}` : "", removed.length ? `removed: ${removed.join(", ")}` : ""].filter(Boolean).join("; ")}`);
  const failures = isObj(head.zones) && Array.isArray(head.zones.failures) ? (head.zones.failures as { zone: string; text: string; controlPlane?: { quorum: boolean } }[]) : [];
  for (const f of failures) if (f.controlPlane && !f.controlPlane.quorum) out.push(f.text);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spark

function get(o: unknown, path: string): unknown {
  let x = o;
  for (const k of path.split("/")) x = isObj(x) ? x[k] : undefined;
  return x;
}
const show = (x: unknown) => (x === undefined || x === null ? "—" : typeof x === "number" ? String(Math.round(x * 1000) / 1000) : String(x));
const pct = (x: unknown) => (typeof x === "number" ? `${(100 * x).toFixed(1)}%` : "—");

/** [label, how to read it from the spark section]. */
const SPARK_ROWS: [string, (s: unknown) => string][] = [
  ["executors", (s) => show(get(s, "conf/spark.executor.instances") ?? get(s, "utilization/executors"))],
  ["executor cores", (s) => show(get(s, "conf/spark.executor.cores"))],
  ["executor heap", (s) => show(get(s, "conf/spark.executor.memory"))],
  [
    "executor overhead",
    (s) => {
      const f = get(s, "conf/spark.executor.memoryOverhead") ?? get(s, "conf/spark.executor.memoryOverheadFactor");
      return f === undefined ? "—" : String(f).includes(".") ? `factor ${f}` : String(f);
    },
  ],
  ["executor pod", (s) => (get(s, "executorPod") ? `${show(get(s, "executorPod/cpuRequest"))} CPU / ${show(get(s, "executorPod/memoryMiB"))} MiB` : "—")],
  ["driver pod", (s) => (get(s, "driverPod") ? `${show(get(s, "driverPod/cpuRequest"))} CPU / ${show(get(s, "driverPod/memoryMiB"))} MiB` : "—")],
  ["task slots", (s) => show(get(s, "utilization/taskSlots"))],
  ["CPU utilization (of allocatable)", (s) => pct(get(s, "utilization/cpu/ofAllocatable"))],
  ["memory utilization (of allocatable)", (s) => pct(get(s, "utilization/memory/ofAllocatable"))],
  ["executors per node", (s) => show(get(s, "fit/perNode/executors"))],
  ["fit", (s) => show(get(s, "fit/verdict"))],
  ["driver placeable", (s) => show(get(s, "fit/driver/placeable"))],
  ["deploy mode", (s) => show(get(s, "conf/spark.submit.deployMode"))],
  ["image", (s) => show(get(s, "conf/spark.kubernetes.container.image"))],
];

const sparkFits = (s: unknown) =>
  s === undefined || (String(get(s, "fit/verdict") ?? "fits").startsWith("fits") && get(s, "fit/driver/placeable") !== false && get(s, "fit/perNode/executors") !== 0);

function lineDiff(a: string, b: string): { removed: string[]; added: string[] } {
  const la = a.split("\n").map((l) => l.trim());
  const lb = b.split("\n").map((l) => l.trim());
  const sa = new Set(la);
  const sb = new Set(lb);
  return { removed: la.filter((l) => l && !sb.has(l)), added: lb.filter((l) => l && !sa.has(l)) };
}

function diffSpark(base: Plan, head: Plan): SparkDiff | undefined {
  const a = base.spark;
  const b = head.spark;
  if (a === undefined && b === undefined) return undefined;
  const rows = SPARK_ROWS.map(([name, read]) => {
    const before = a === undefined ? "—" : read(a);
    const after = b === undefined ? "—" : read(b);
    return { name, before, after, changed: before !== after };
  });
  const submit: SparkDiff["submit"] = [];
  for (const k of [...new Set([...Object.keys(base.outputs ?? {}), ...Object.keys(head.outputs ?? {})])].filter((k) => /^sparkSubmit/.test(k)).sort()) {
    const x = base.outputs?.[k];
    const y = head.outputs?.[k];
    if (x === y) continue;
    if (containsSecret(x) || containsSecret(y)) {
      submit.push({ output: k, removed: [], added: ["(secret)"] });
      continue;
    }
    const d = lineDiff(typeof x === "string" ? x : "", typeof y === "string" ? y : "");
    if (d.removed.length + d.added.length > 0) submit.push({ output: k, ...d });
  }
  return { rows, submit, fitsBefore: sparkFits(a), fitsAfter: sparkFits(b) };
}

// ---------------------------------------------------------------------------------------------
// Configuration keys and other sections

/** Structured config values are JSON text: expand them so a change names the leaf key. */
function expandConfig(c: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    try {
      const parsed = JSON.parse(v) as unknown;
      out[k] = typeof parsed === "string" ? v : parsed;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

function diffConfig(base: Plan, head: Plan): PropertyChange[] | undefined {
  if (!base.config || !head.config) return undefined;
  const a = expandConfig(base.config);
  const b = expandConfig(head.config);
  const out: PropertyChange[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    for (const c of leafChanges(a[k], b[k])) {
      const path = c.path ? (c.path.startsWith("[") ? `${k}${c.path}` : `${k}.${c.path}`) : k;
      out.push(toPropertyChange({ ...c, path }));
    }
  }
  return out;
}

function diffSections(base: Plan, head: Plan): PlanDiff["sections"] {
  const out: PlanDiff["sections"] = [];
  const names = [...new Set([...Object.keys(base), ...Object.keys(head)])].filter((k) => !KNOWN_SECTIONS.has(k)).sort();
  for (const s of names) {
    const changes = leafChanges(base[s], head[s]).map(toPropertyChange);
    if (changes.length > 0) out.push({ section: s, changes });
  }
  // Outputs and artifacts: which ones changed, by name (their values are in the sections above).
  const outs = [...new Set([...Object.keys(base.outputs ?? {}), ...Object.keys(head.outputs ?? {})])]
    .sort()
    .filter((k) => JSON.stringify(base.outputs?.[k]) !== JSON.stringify(head.outputs?.[k]))
    .map((k) => ({ path: k, ...(containsSecret(base.outputs?.[k]) || containsSecret(head.outputs?.[k]) ? { secret: true } : {}) }));
  if (outs.length > 0) out.push({ section: "outputs", changes: outs });
  const pa = new Set((base.artifacts ?? []).map((a) => a.path));
  const pb = new Set((head.artifacts ?? []).map((a) => a.path));
  const arts = [
    ...[...pb].filter((p) => !pa.has(p)).map((p) => ({ path: p, note: "added" })),
    ...[...pa].filter((p) => !pb.has(p)).map((p) => ({ path: p, note: "removed" })),
  ];
  if (arts.length > 0) out.push({ section: "artifacts", changes: arts });
  return out;
}

// ---------------------------------------------------------------------------------------------

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
const list = (xs: string[], max = 6) => (xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")} and ${xs.length - max} more`);

/** The cluster name the program prefixes resources with (the VsphereSpark component's name). */
function clusterNameOf(p: Plan): string {
  const c = p.config?.["vsphere-spark:clusterName"];
  return c ?? p.resources.find((r) => r.type === "vsphere-spark:stack:VsphereSpark")?.name ?? "spark";
}

/** etcd quorum of `members` voting members: a majority (etcd docs, "fault tolerance table"). */
export const quorumOf = (members: number) => Math.floor(members / 2) + 1;

export interface QuorumCheck {
  /** Voting etcd members registered before the change (the base's control-plane VMs). */
  members: number;
  deleted: string[];
  replaced: string[];
  rebooted: string[];
  /** Rebooted one at a time by their VMs' rolling hook (components/cluster/power-cycle-hooks.ts): at most one down at once. */
  rolled: string[];
  /** Members running while the change is applied (all of it at once: Pulumi runs independent steps in parallel). */
  runningDuring: number;
  /** Members still registered that will never come back (deleted VMs; `pulumi up` does not run `etcdctl member remove`). */
  lostForGood: number;
  quorumDuring: boolean;
  quorumAfter: boolean;
}

/**
 * Quorum of the stacked etcd through a change. A deleted control-plane VM stays a registered voting
 * member (nothing removes it: no `kubeadm reset` or `etcdctl member remove` runs on deletion), so the
 * quorum after the change is counted against the base's member count; a replaced member is down
 * while its replacement boots and joins as a new member; a rebooted one is down while it reboots.
 * Source: etcd docs (v3.5 op-guide/runtime-configuration and faq: a cluster of N members tolerates
 * (N-1)/2 failures; a removed machine must be removed from membership with `member remove`).
 */
export function quorumCheck(members: number, deleted: string[], replaced: string[], rebooted: string[], rolled: string[] = []): QuorumCheck {
  const q = quorumOf(members);
  const withData = members - deleted.length - replaced.length;
  const runningDuring = withData - rebooted.length - (rolled.length > 0 ? 1 : 0);
  return {
    members,
    deleted,
    replaced,
    rebooted,
    rolled,
    runningDuring,
    lostForGood: deleted.length + replaced.length,
    quorumDuring: runningDuring >= q,
    // The members that keep their data must stay a majority of the registered membership: new or
    // re-cloned members can only join (etcd member add) a cluster that has quorum.
    quorumAfter: withData >= q,
  };
}

/** The breach gate's policy, stated in the report (`--fail-on-breach` exits 3 when any reason holds). */
export const BREACH_POLICY =
  "--fail-on-breach fails when: a host goes over its capacity (with the stack's overcommit); N+1 is lost, or not met on a stack that declares " +
  "vsphere-spark:ha.hostFailuresToTolerate: 1; etcd quorum is at risk (during or after the change); a change is refused (by the provider or the program's own rules); " +
  "an executor no longer fits a worker";

export interface DiffOptions {
  /** Artifact contents (path → text) of plans computed in this run: the user-data lines are diffed with them. */
  contents?: { base?: Contents; head?: Contents };
}

export function diffPlans(base: Plan, head: Plan, opts: DiffOptions = {}): PlanDiff {
  const clusterName = clusterNameOf(head);
  const { changes, unchanged } = diffResources(base, head);

  // A provider whose configuration change replaces it replaces every resource it manages.
  const providers = diffProviders(base, head, changes, clusterName);
  for (const pc of providers.filter((x) => x.action === "replace")) {
    const managed = new Set(pc.manages);
    const why = `provider ${pc.name} replaced (${pc.because.join("; ")})`;
    for (const c of changes) {
      if (managed.has(c.name) && c.type.startsWith("kubernetes:") && (c.action === "update" || c.action === "replace")) {
        c.action = "replace";
        if (!c.replaceBecause.includes(why)) c.replaceBecause.push(why);
        c.source = `${c.source ?? ""}${c.source ? "; " : ""}${PROVIDER_SOURCE}`;
      }
    }
    const listed = new Set(changes.map((c) => `${c.type}::${c.name}`));
    for (const r of head.resources) {
      if (!managed.has(r.name) || !r.type.startsWith("kubernetes:") || listed.has(`${r.type}::${r.name}`)) continue;
      if (!base.resources.some((b) => b.type === r.type && b.name === r.name)) continue;
      changes.push({ type: r.type, name: r.name, action: "replace", changes: [], replaceBecause: [why], ignored: [], refused: [], source: PROVIDER_SOURCE, viaProvider: true });
    }
  }
  changes.push(...dependentsOfReplaced(base, head, changes));
  const viaProvider = changes.filter((c) => c.viaProvider).length;
  const effective = changes.filter((c) => !isNoop(c));
  const counts = { create: 0, update: 0, replace: 0, delete: 0, unchanged: unchanged - viaProvider + (changes.length - effective.length), reboot: 0 };
  for (const c of effective) counts[c.action]++;

  // VMs
  const vb = vmStates(base);
  const va = vmStates(head);
  const vmResource = new Map(changes.filter((c) => c.vm !== undefined).map((c) => [c.vm!, c]));
  const vms: VmChange[] = [];
  for (const name of [...new Set([...vb.keys(), ...va.keys()])]) {
    const before = vb.get(name);
    const after = va.get(name);
    const differences: string[] = [];
    if (before && after) {
      if (before.host !== after.host) differences.push(`host ${before.host} → ${after.host}`);
      if (before.cpus !== after.cpus) differences.push(`vCPU ${before.cpus} → ${after.cpus}`);
      if (before.memoryMiB !== after.memoryMiB) differences.push(`memory ${before.memoryMiB} → ${after.memoryMiB} MiB`);
      if (before.diskGiB !== after.diskGiB) differences.push(`disk ${before.diskGiB} → ${after.diskGiB} GiB`);
      if (before.address !== after.address) differences.push(`address ${before.address} → ${after.address}`);
      if (before.role !== after.role) differences.push(`role ${before.role} → ${after.role}`);
    }
    const r = vmResource.get(name);
    const status: VmStatus = !before
      ? "added"
      : !after
        ? "removed"
        : r?.action === "replace"
          ? "replaced"
          : r?.reboot
            ? "rebooted"
            : differences.length > 0 || (r && !isNoop(r))
              ? "changed"
              : "unchanged";
    vms.push({ name, status, before, after, differences });
  }

  // Reboots: in-place VM updates that power the VM off and on.
  const reboots: VmReboot[] = effective
    .filter((c) => c.reboot && c.reboot.length > 0)
    .map((c) => {
      const s = va.get(c.vm ?? c.name) ?? vb.get(c.vm ?? c.name);
      return { vm: c.vm ?? c.name, ...(s ? { role: s.role, host: s.host } : {}), because: c.reboot! };
    });
  counts.reboot = reboots.length;

  // Hosts
  const hb = new Map(base.hosts.map((h) => [h.id, h]));
  const ha = new Map(head.hosts.map((h) => [h.id, h]));
  const hostIds = [...head.hosts.map((h) => h.id), ...base.hosts.map((h) => h.id).filter((id) => !ha.has(id))];
  const hosts: HostChange[] = hostIds.map((id) => {
    const b = hb.get(id);
    const a = ha.get(id);
    return { id, name: (a ?? b)!.name, before: b && hostSide(b), after: a && hostSide(a) };
  });

  const survBefore = survivability(base);
  const survAfter = survivability(head);
  const spark = diffSpark(base, head);
  const config = diffConfig(base, head);
  const sections = diffSections(base, head);
  const endpoint = { before: base.endpoint, after: head.endpoint, changed: JSON.stringify(base.endpoint) !== JSON.stringify(head.endpoint) };
  const oc = overcommitOf(head);

  // Program rules on the pair (one place: program-rules.ts).
  const newVms = effective
    .filter((c) => isVmType(c.type) && (c.action === "create" || c.action === "replace"))
    .map((c) => ({ name: c.vm ?? c.name, role: (va.get(c.vm ?? c.name) ?? vb.get(c.vm ?? c.name))?.role ?? "worker" }));
  const refusals = runProgramRules(base, head, { newVms });
  const programNotes = runProgramNotes(base, head);
  const firstBoot = diffFirstBoot(base, head, effective, opts.contents);

  // Warnings, most consequential first. Each kind is one warning (lists capped), so their number is bounded.
  const warnings: string[] = [];
  const vmOf = (c: ResourceChange) => c.vm ?? c.name;
  const roleOf = (c: ResourceChange) => (vb.get(vmOf(c)) ?? va.get(vmOf(c)))?.role;
  // Program refusals, one warning per kind (a host inserted early refuses every later node's address: one line).
  for (const g of groupRefusals(refusals, new Set([...va.keys(), ...vb.keys()]))) {
    const by = `${g.rule}${g.enforcedByProgram ? "; pulumi up refuses it" : ""}`;
    const [first] = g.refusals;
    warnings.push(
      g.refusals.length === 1
        ? `refused: \`${first.path}\` ${first.message} (${by})`
        : `refused: \`${g.key}\` for ${g.refusals.length} keys (${list(g.refusals.map((r) => r.path.split(".").pop()!))}); the first: ${first.message} (${by})`,
    );
  }
  // Provider refusals, one warning per reason (a disk shrink on 1600 VMs is one line).
  const refusedBy = new Map<string, string[]>();
  for (const c of effective) for (const r of c.refused) refusedBy.set(r.replace(/\[\d+\]/g, "[*]"), [...(refusedBy.get(r.replace(/\[\d+\]/g, "[*]")) ?? []), vmOf(c)]);
  for (const [r, who] of refusedBy) warnings.push(`refused: the provider refuses this change on ${plural(who.length, "resource")} (${r}); pulumi up would fail: ${list(who)}`);

  const replacedVms = effective.filter((c) => isVmType(c.type) && c.action === "replace");
  const allDeletedVms = effective.filter((c) => isVmType(c.type) && c.action === "delete");
  // A VM the base bound a retirement hook (beforeDelete, components/cluster/retire-hooks.ts) is
  // drained, its etcd member removed (control planes) and its Node deleted before it goes.
  const hookOf = new Map(base.resources.filter((r) => isVmType(r.type)).map((r) => [r.name, r.beforeDelete ?? []]));
  const retired = allDeletedVms.filter((c) => (hookOf.get(c.name) ?? []).some((h) => /-retire-(worker|control-plane)$/.test(h)));
  const deletedVms = allDeletedVms.filter((c) => !retired.includes(c));
  const retiredCpNames = retired.map(vmOf).filter((n) => vb.get(n)?.role === "control-plane");
  const baseCps = [...vb.values()].filter((v) => v.role === "control-plane" && !retiredCpNames.includes(v.name)).map((v) => v.name);
  const cpOf = (xs: { vm: string }[]) => xs.map((x) => x.vm).filter((n) => baseCps.includes(n));
  // A node VM the head binds the rolling hook (beforeUpdate, components/cluster/power-cycle-hooks.ts)
  // is drained before its power cycle and the next one waits until it is back: one at a time.
  const rollHookOf = new Map(head.resources.filter((r) => isVmType(r.type)).map((r) => [r.name, r.beforeUpdate ?? []]));
  const rolledVms = new Set(effective.filter((c) => c.reboot && c.reboot.length > 0 && (rollHookOf.get(c.name) ?? []).some((h) => /-power-cycle-drain$/.test(h))).map(vmOf));
  const rolledReboots = reboots.filter((r) => rolledVms.has(r.vm) && (r.role === "worker" || r.role === "control-plane"));
  const togetherReboots = reboots.filter((r) => !rolledReboots.includes(r));
  const q =
    baseCps.length > 0
      ? quorumCheck(
          baseCps.length,
          cpOf(deletedVms.map((c) => ({ vm: vmOf(c) }))),
          cpOf(replacedVms.map((c) => ({ vm: vmOf(c) }))),
          cpOf(togetherReboots),
          cpOf(rolledReboots),
        )
      : undefined;
  const quorumAtRisk = q !== undefined && (!q.quorumDuring || !q.quorumAfter);
  if (q && q.deleted.length + q.replaced.length + q.rebooted.length + q.rolled.length > 0) {
    const parts: string[] = [];
    if (q.deleted.length) parts.push(`${list(q.deleted)} deleted (still registered etcd members: pulumi up runs no \`etcdctl member remove\`)`);
    if (q.replaced.length) parts.push(`${list(q.replaced)} replaced (destroyed, re-cloned, rejoin as new members)`);
    if (q.rebooted.length) parts.push(`${list(q.rebooted)} rebooted together`);
    if (q.rolled.length) parts.push(`${list(q.rolled)} rebooted one at a time (each only while the other members keep the quorum)`);
    const need = quorumOf(q.members);
    const verdict = !q.quorumAfter
      ? `quorum lost for good: ${q.members - q.lostForGood} of ${q.members} registered members keep their data, quorum needs ${need}; etcd and the API stop, and new members cannot join (restore from a snapshot)`
      : !q.quorumDuring
        ? `quorum lost while the change runs: ${Math.max(0, q.runningDuring)} of ${q.members} members up, quorum needs ${need}; the API stops until they are back`
        : `${q.runningDuring} of ${q.members} members stay up (quorum ${need} holds)`;
    warnings.push(`control plane: ${parts.join("; ")}: ${verdict}`);
  }
  if (replacedVms.length > 0) {
    const why = [...new Set(replacedVms.flatMap((c) => c.replaceBecause))];
    warnings.push(`${plural(replacedVms.length, "VM")} replaced (destroyed and re-cloned; data on them is lost), because of ${list(why)}: ${list(replacedVms.map(vmOf))}`);
  }
  if (retired.length > 0)
    warnings.push(
      `${plural(retired.length, "node")} drained and removed before deletion (their VMs' beforeDelete hook: pods evicted through the eviction API, PodDisruptionBudgets honoured` +
        `${retiredCpNames.length ? `; etcd members of ${list(retiredCpNames)} removed one at a time, quorum checked (${baseCps.length + retiredCpNames.length} → ${baseCps.length} members)` : ""}; Nodes deleted), then their VMs deleted: ${list(retired.map(vmOf))}`,
    );
  if (deletedVms.length > 0) warnings.push(`${plural(deletedVms.length, "VM")} deleted (data on them is lost): ${list(deletedVms.map(vmOf))}`);
  // Control planes joining, HAProxy's backends: the program's words (pulumi up prints the same notes).
  for (const n of programNotes) warnings.push(`${n.message} (${n.rule}; pulumi up notes it)`);
  const lbGone = [...replacedVms, ...deletedVms].filter((c) => roleOf(c) === "load-balancer");
  if (lbGone.length > 0) warnings.push(`load-balancer VM ${lbGone[0].action === "replace" ? "replaced" : "deleted"} (${lbGone.map(vmOf).join(", ")}): the API endpoint is down meanwhile`);

  for (const pc of providers) {
    const what = pc.manages.length;
    if (pc.action === "replace") {
      warnings.push(
        `Kubernetes provider ${pc.name} replaced (${pc.because.join("; ")}): the engine replaces all ${plural(what, "resource")} it manages ` +
          `(${list(pc.manages, 5)}): each is deleted and created again (a Namespace deleted takes everything in it)`,
      );
    } else if (pc.action === "preview-replace") {
      warnings.push(`Kubernetes provider ${pc.name}: ${pc.because.join("; ")} (${plural(what, "resource")})`);
    }
  }

  if (reboots.length > 0) {
    const cps = reboots.filter((r) => r.role === "control-plane");
    const lbs = reboots.filter((r) => r.role === "load-balancer");
    const workers = togetherReboots.filter((r) => r.role === "worker");
    const why = [...new Set(reboots.flatMap((r) => r.because.map((b) => b.replace(/ \d+ → \d+( MiB)?/, ""))))];
    warnings.push(`${plural(reboots.length, "VM")} powered off and on by the provider (${list(why, 3)}; ${REBOOT_SOURCE.split(":")[0]}): ${list(reboots.map((r) => r.vm))}`);
    if (rolledReboots.length > 0)
      warnings.push(
        `${plural(rolledReboots.length, "node")} rolled one at a time by their VMs' beforeUpdate hook: each drained first (pods evicted through the eviction API, PodDisruptionBudgets honoured), ` +
          `powered off and on, back Ready with a new boot ID and uncordoned before the next: ${list(rolledReboots.map((r) => r.vm))}`,
      );
    if (lbs.length > 0) warnings.push(`load balancer rebooted (${lbs.map((r) => r.vm).join(", ")}): the API endpoint is down while it reboots`);
    const hostsWithWorkers = new Set([...va.values()].filter((v) => v.role === "worker").map((v) => v.host)).size;
    const allWorkers = [...va.values()].filter((v) => v.role === "worker").length;
    const share = hostsWithWorkers > 0 ? Math.ceil(allWorkers / hostsWithWorkers) : 0;
    if (workers.length > share) {
      warnings.push(`${workers.length} of ${allWorkers} workers reboot together, more than one host's share (${share}): running Spark executors on them are lost and capacity drops by ${Math.round((100 * workers.length) / allWorkers)}% at once`);
    }
    if (cps.length > 1 && !(q && q.deleted.length + q.replaced.length > 0)) {
      // Already worded in the quorum line above; repeated here only as the reboot-specific consequence.
    }
  }

  // Tanzu: workload cluster replacement, node rolls, VM classes (Cluster API ClusterClass: a topology
  // change of version, class or machine-template variables rolls the machines; replicas only scale).
  for (const c of effective.filter((x) => /cluster\.x-k8s\.io\/[^:]+:Cluster$/.test(x.type))) {
    if (c.action === "replace") {
      warnings.push(`workload cluster ${c.name} replaced (because of ${list(c.replaceBecause)}): the whole Tanzu Kubernetes cluster is destroyed and created again, every node and everything running on it`);
    } else if (c.action === "delete") {
      warnings.push(`workload cluster ${c.name} deleted: every node and everything running on it`);
    } else if (c.action === "update") {
      const rolls = c.changes.map((p) => p.path).filter((p) => p.startsWith("spec.topology.") && !/\.replicas$/.test(p));
      if (rolls.length > 0) {
        const what = rolls.some((p) => p === "spec.topology.version" || p === "spec.topology.class" || p.startsWith("spec.topology.variables"))
          ? "the control plane and then every node pool"
          : "the node pools whose template changes";
        warnings.push(`workload cluster ${c.name}: ${list(rolls, 4)} changed: Cluster API rolls ${what} (each node replaced by a new VM, one at a time: drained, pods rescheduled)`);
      }
    }
  }
  for (const c of effective.filter((x) => (x.action === "replace" || x.action === "delete") && /:VirtualMachineClass$/.test(x.type))) {
    warnings.push(
      c.action === "replace"
        ? `VM class ${c.name} replaced by a new class (its name carries the size: ${list(c.replaceBecause)}): the nodes using it are rolled onto the new class (each replaced by a new VM); the class itself holds no data`
        : `VM class ${c.name} deleted: nodes that still use it can no longer be re-created`,
    );
  }
  for (const c of effective.filter((x) => (x.action === "replace" || x.action === "delete") && /(:Namespace|:Supervisor)$/.test(x.type))) {
    warnings.push(`${c.type.split(":").pop()} ${c.name} ${c.action === "replace" ? "replaced" : "deleted"}: everything in it is deleted with it${c.replaceBecause.length ? ` (because of ${list(c.replaceBecause)})` : ""}`);
  }

  // Capacity and N+1.
  const newStack = base.hosts.length === 0;
  const mustN1 = declaredHostFailures(head) >= 1;
  // N+1: a warning when the change loses it or makes it worse, and always on a stack that declares it;
  // otherwise (not met before either, no worse) the N+1 section and the verdict say it.
  const unplacedCount = (s: Survivability) => Math.max(0, ...s.failures.map((f) => f.unplaced.length));
  if (!survAfter.nPlusOne && (newStack || survBefore.nPlusOne || mustN1 || unplacedCount(survAfter) > unplacedCount(survBefore))) {
    const bad = survAfter.failures.filter((f) => f.unplaced.length > 0);
    const which = bad.length === 1 ? bad[0].host : `any of ${list(bad.map((f) => f.host))}`;
    const worst = bad.reduce((m, f) => (f.unplaced.length > m.unplaced.length ? f : m), bad[0]);
    const held = bad.some((f) => (f.heldByRule ?? []).length > 0) ? "; required (mandatory) DRS rules keep VMs from restarting elsewhere (vSphere HA does not violate them)" : "";
    const state = newStack ? "not met" : survBefore.nPlusOne ? "lost" : unplacedCount(survAfter) > unplacedCount(survBefore) ? "worse (not met before either)" : "not met (as in the base)";
    warnings.push(
      `N+1 ${state}${mustN1 ? " on a stack that declares vsphere-spark:ha.hostFailuresToTolerate: 1" : ""}: if ${which} fails, up to ${worst.unplaced.length} of its ${worst.vms.length} VMs cannot restart ` +
        `(${list(bad.flatMap((f) => f.unplaced), 4)})${held}`,
    );
  }
  const overHosts = hosts.filter((h) => h.after && (h.after.cpus > h.after.cpuThreads * oc.cpu || h.after.allocatedMiB > h.after.memoryMiB * oc.memory));
  if (overHosts.length > 0) {
    const h0 = overHosts[0].after!;
    const what: string[] = [];
    if (h0.cpus > h0.cpuThreads * oc.cpu) what.push(`vCPU ${h0.cpus} of ${h0.cpuThreads * oc.cpu}${oc.cpu > 1 ? ` (${h0.cpuThreads} logical cores × overcommit ${oc.cpu})` : " logical cores"}`);
    if (h0.allocatedMiB > h0.memoryMiB * oc.memory) what.push(`memory ${Math.round(h0.allocatedMiB / 1024)} of ${Math.round((h0.memoryMiB * oc.memory) / 1024)} GiB`);
    warnings.push(`${plural(overHosts.length, "host")} over capacity (${list(overHosts.map((h) => h.id))}); ${overHosts[0].id}: ${what.join(", ")}`);
  }
  if (spark && spark.fitsBefore && !spark.fitsAfter) warnings.push("Spark: the executor no longer fits on a worker node (or the driver cannot be placed)");

  // Moves and rules.
  const storageMoves = effective.filter((c) => isVmType(c.type) && c.action === "update" && c.changes.some((p) => p.path === "datastoreId"));
  if (storageMoves.length > 0) warnings.push(`${plural(storageMoves.length, "VM")} move to another datastore (Storage vMotion of every disk, no reboot; heavy I/O while it copies): ${list(storageMoves.map(vmOf))}`);
  const hostMoves = vms.filter((v) => v.before && v.after && v.before.host !== v.after.host);
  if (hostMoves.length > 0) warnings.push(`${plural(hostMoves.length, "VM")} move to another host (vMotion): ${list(hostMoves.map((v) => `${v.name} ${v.before!.host} → ${v.after!.host}`), 4)}`);
  warnings.push(...zoneWarnings(base, head));
  const rulesGone = effective.filter((c) => c.action === "delete" && /:ComputeClusterVm(AntiAffinity|Host)Rule$/.test(c.type));
  if (rulesGone.length > 0) {
    const anti = rulesGone.filter((c) => c.type.endsWith("AntiAffinityRule"));
    warnings.push(
      `${plural(rulesGone.length, "DRS rule")} deleted${anti.length ? ` (including ${anti.map((c) => c.name).join(", ")}: control planes may then share a host, and one host failure can take etcd below quorum)` : ""}: ${list(rulesGone.map((c) => c.name), 4)}`,
    );
  }
  const moved = vms.filter((v) => v.before && v.after && v.before.address !== v.after.address && v.status !== "replaced");
  if (moved.length > 0) {
    const fb = new Set(head.resources.filter((r) => isVmType(r.type) && (r.ignoreChanges ?? []).length > 0).map(vmName));
    warnings.push(
      `${plural(moved.length, "existing VM")} change static address (addresses follow the host order): ${list(moved.map((v) => `${v.name} ${v.before!.address} → ${v.after!.address}`), 4)}` +
        (moved.some((v) => fb.has(v.name)) ? "; their cloud-init user-data is first-boot only (ignoreChanges), so a running VM keeps its old address while the rest of the cluster expects the new one" : ""),
    );
  }
  if (endpoint.changed && base.resources.length > 0) {
    const e = (x: Plan["endpoint"]) => `${x.kind} ${x.address}:${x.port}`;
    const fbCps = head.resources.filter((r) => isVmType(r.type) && (r.ignoreChanges ?? []).length > 0 && vb.get(vmName(r))?.role === "control-plane" && va.has(vmName(r)));
    warnings.push(
      `API endpoint changes: ${e(endpoint.before)} → ${e(endpoint.after)}; every kubeconfig and the API server certificate's names follow it` +
        (fbCps.length > 0
          ? `; the ${plural(fbCps.length, "existing control-plane VM")} keep their first-boot configuration (${fbCps[0].ignoreChanges!.join(", ")} is ignoreChanges), so the change is not applied to them`
          : ""),
    );
  }
  if (firstBoot.length > 0) {
    const reach = firstBoot.filter((f) => f.existing.length > 0);
    if (reach.length > 0) {
      warnings.push(
        `first-boot only: ${list(reach.map((f) => f.key), 4)} changed in the user-data of ${plural(new Set(reach.flatMap((f) => f.existing)).size, "running VM")}, ` +
          "which never see it (user-data is read at first boot; extraConfig is ignoreChanges); only VMs created from now on get it",
      );
    }
  }

  // The breach gate.
  const reasons: string[] = [];
  if (overHosts.length > 0) reasons.push("host over capacity");
  if (survBefore.nPlusOne && !survAfter.nPlusOne && !newStack) reasons.push("N+1 lost");
  else if (!survAfter.nPlusOne && mustN1) reasons.push("N+1 not met on a stack that declares it (vsphere-spark:ha.hostFailuresToTolerate)");
  if (quorumAtRisk) reasons.push("etcd quorum at risk");
  if (refusals.length > 0 || effective.some((c) => c.refused.length > 0)) reasons.push("refused change");
  if (spark !== undefined && !spark.fitsAfter) reasons.push("executor does not fit");

  const total = counts.create + counts.update + counts.replace + counts.delete;
  const noChanges =
    total === 0 && !endpoint.changed && !(spark?.rows.some((r) => r.changed) ?? false) && (config?.length ?? 0) === 0 && sections.length === 0 && vms.every((v) => v.status === "unchanged");
  const countText =
    `${counts.create} to create, ${counts.update} to update${counts.reboot > 0 ? ` (${counts.reboot} of them reboot a VM)` : ""}, ${counts.replace} to replace, ${counts.delete} to delete`;
  const verdict = noChanges
    ? "No changes: the head plans the same resources, placement and Spark sizing as the base."
    : `${reasons.length > 0 ? `BREACH (${reasons.join(", ")}); ` : ""}${warnings.length > 0 ? `${plural(warnings.length, "warning")}; ` : "No warnings; "}${countText}${total === 0 ? " (only plan details changed)" : ""}` +
      `${head.hosts.length > 0 && !survAfter.nPlusOne ? "; N+1 not met" : ""}.`;

  return {
    base: { stack: base.stack, configFile: base.configFile, formatVersion: base.formatVersion ?? 0 },
    head: { stack: head.stack, configFile: head.configFile, formatVersion: head.formatVersion ?? 0 },
    verdict,
    noChanges,
    counts,
    warnings,
    reboots,
    providers,
    refusals,
    programNotes,
    firstBoot,
    quorum: q,
    resources: changes,
    endpoint,
    hosts,
    vms,
    survivability: { before: survBefore, after: survAfter },
    spark,
    config,
    sections,
    breach: {
      capacity: overHosts.length > 0 || (survBefore.nPlusOne && !survAfter.nPlusOne && !newStack) || (!survAfter.nPlusOne && mustN1),
      spark: spark !== undefined && !spark.fitsAfter,
      quorum: quorumAtRisk,
      refused: reasons.includes("refused change"),
      reasons,
      policy: BREACH_POLICY,
    },
  };
}

/** The empty plan: the base of a stack file that does not exist at the base revision. */
export function emptyPlan(stack: string, configFile: string): Plan {
  return { formatVersion: 1, stack, configFile, simulated: "", endpoint: { kind: "none", address: "", port: 0 }, counts: {}, resources: [], hosts: [], artifacts: [], outputs: {}, config: {} };
}
