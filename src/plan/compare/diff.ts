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

export type VmStatus = "added" | "removed" | "replaced" | "changed" | "unchanged";

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
  /** VMs that would not fit on the surviving hosts (first-fit, largest memory first). */
  unplaced: string[];
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
  counts: Record<ResourceAction, number> & { unchanged: number };
  warnings: string[];
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
  /** Whether the head breaches capacity or loses a placeable executor (what the CI check may fail on). */
  breach: { capacity: boolean; spark: boolean };
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
    changes.push({
      type: h.type,
      name: h.name,
      ...vmField(h),
      action: replaceBecause.length > 0 ? "replace" : "update",
      changes: raw.map(toPropertyChange),
      replaceBecause,
      ignored: c.ignored,
      refused: c.refused,
      source: c.source,
    });
  }
  for (const [k, b] of before) if (!after.has(k)) changes.push({ type: b.type, name: b.name, ...vmField(b), action: "delete", changes: [], replaceBecause: [], ignored: [], refused: [] });
  const order: Record<ResourceAction, number> = { replace: 0, delete: 1, create: 2, update: 3 };
  changes.sort((x, y) => order[x.action] - order[y.action] || x.type.localeCompare(y.type) || x.name.localeCompare(y.name, undefined, { numeric: true }));
  return { changes, unchanged };
}

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

/**
 * The question vSphere HA admission control asks (host failures to tolerate = 1): can the VMs of
 * any one failed host restart on the surviving hosts within their capacity? Packs each failed
 * host's VMs, largest memory first, onto the surviving hosts' free vCPU (logical cores) and memory.
 */
export function survivability(p: Plan): Survivability {
  const notes: string[] = [];
  const failures: HostFailure[] = [];
  const cps = p.hosts.flatMap((h) => h.vms.filter((v) => v.role === "control-plane").map((v) => ({ v, host: h.id })));
  const lbs = p.hosts.flatMap((h) => h.vms.filter((v) => v.role === "load-balancer").map((v) => ({ v, host: h.id })));
  for (const failed of p.hosts) {
    if (failed.vms.length === 0) continue;
    const free = p.hosts
      .filter((h) => h.id !== failed.id)
      .map((h) => ({ id: h.id, cpu: h.cpuThreads - h.allocated.cpus, mem: h.memoryMiB - h.allocated.memoryMiB }));
    const unplaced: string[] = [];
    for (const v of [...failed.vms].sort((a, b) => b.memoryMiB - a.memoryMiB || b.cpus - a.cpus)) {
      // Memory decides (it is not over-committed); vCPU beyond the logical cores is reported.
      const target = free.find((f) => f.mem >= v.memoryMiB && f.cpu >= v.cpus) ?? free.find((f) => f.mem >= v.memoryMiB);
      if (!target) {
        unplaced.push(v.name);
        continue;
      }
      target.cpu -= v.cpus;
      target.mem -= v.memoryMiB;
    }
    const cpHere = cps.filter((c) => c.host === failed.id).length;
    const f: HostFailure = {
      host: failed.id,
      vms: failed.vms.map((v) => v.name),
      unplaced,
      cpuOvercommitted: free.some((x) => x.cpu < 0),
      loadBalancerDown: lbs.length === 1 && lbs[0].host === failed.id };
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
  return { nPlusOne: failures.every((x) => x.unplaced.length === 0), failures, notes };
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

export function diffPlans(base: Plan, head: Plan): PlanDiff {
  const { changes, unchanged } = diffResources(base, head);
  const effective = changes.filter((c) => !isNoop(c));
  const counts = { create: 0, update: 0, replace: 0, delete: 0, unchanged: unchanged + (changes.length - effective.length) };
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
    const status: VmStatus = !before ? "added" : !after ? "removed" : r?.action === "replace" ? "replaced" : differences.length > 0 || (r && !isNoop(r)) ? "changed" : "unchanged";
    vms.push({ name, status, before, after, differences });
  }

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

  // Warnings, most consequential first.
  const warnings: string[] = [];
  const replacedVms = effective.filter((c) => isVmType(c.type) && c.action === "replace");
  const deletedVms = effective.filter((c) => isVmType(c.type) && c.action === "delete");
  const vmOf = (c: ResourceChange) => c.vm ?? c.name;
  const roleOf = (c: ResourceChange) => (vb.get(vmOf(c)) ?? va.get(vmOf(c)))?.role;
  if (replacedVms.length > 0) {
    const why = [...new Set(replacedVms.flatMap((c) => c.replaceBecause))];
    warnings.push(`${plural(replacedVms.length, "VM")} replaced (destroyed and re-cloned; data on them is lost), because of ${list(why)}: ${list(replacedVms.map(vmOf))}`);
  }
  if (deletedVms.length > 0) warnings.push(`${plural(deletedVms.length, "VM")} deleted (data on them is lost): ${list(deletedVms.map(vmOf))}`);
  const cpGone = [...replacedVms, ...deletedVms].filter((c) => roleOf(c) === "control-plane");
  if (cpGone.length > 0) {
    const total = [...vb.values()].filter((v) => v.role === "control-plane").length;
    warnings.push(
      `control plane ${cpGone.some((c) => c.action === "replace") ? "replaced" : "reduced"}: ${list(cpGone.map(vmOf))} (${cpGone.length} of ${total} etcd members); ` +
        "etcd keeps quorum only if they go one at a time, and a replaced member must rejoin the cluster",
    );
  }
  const lbGone = [...replacedVms, ...deletedVms].filter((c) => roleOf(c) === "load-balancer");
  if (lbGone.length > 0) warnings.push(`load-balancer VM ${lbGone[0].action === "replace" ? "replaced" : "deleted"} (${lbGone.map(vmOf).join(", ")}): the API endpoint is down meanwhile`);
  const tanzu = effective.filter((c) => (c.action === "replace" || c.action === "delete") && /(:Namespace|VirtualMachineClass|:Supervisor)$/.test(c.type));
  for (const c of tanzu) {
    warnings.push(`${c.type.split(":").pop()} ${c.name} ${c.action === "replace" ? "replaced" : "deleted"}: everything in it is deleted with it${c.replaceBecause.length ? ` (because of ${list(c.replaceBecause)})` : ""}`);
  }
  for (const h of hosts) {
    const a = h.after;
    if (!a) continue;
    const over: string[] = [];
    if (a.cpus > a.cpuThreads) over.push(`vCPU ${a.cpus} of ${a.cpuThreads} logical cores (${Math.round((100 * a.cpus) / a.cpuThreads)}%)`);
    if (a.allocatedMiB > a.memoryMiB) over.push(`memory ${Math.round(a.allocatedMiB / 1024)} of ${Math.round(a.memoryMiB / 1024)} GiB (${Math.round((100 * a.allocatedMiB) / a.memoryMiB)}%)`);
    if (over.length > 0) warnings.push(`host ${h.id} over capacity: ${over.join(", ")}`);
  }
  // A new stack (no hosts in the base) that cannot survive a host failure is worth saying too.
  const newStack = base.hosts.length === 0;
  if (!survAfter.nPlusOne && (survBefore.nPlusOne || newStack)) {
    const bad = survAfter.failures.filter((f) => f.unplaced.length > 0);
    const which = bad.length === 1 ? bad[0].host : `any of ${list(bad.map((f) => f.host))}`;
    warnings.push(`N+1 ${newStack ? "not met" : "lost"}: if ${which} fails, ${list(bad.flatMap((f) => f.unplaced))} cannot restart on the other hosts within their memory`);
  }
  if (spark && spark.fitsBefore && !spark.fitsAfter) warnings.push("Spark: the executor no longer fits on a worker node (or the driver cannot be placed)");
  for (const c of effective) for (const r of c.refused) warnings.push(`${vmOf(c)}: the provider refuses this change (${r}); pulumi up would fail`);
  const moved = vms.filter((v) => v.before && v.after && v.before.address !== v.after.address && v.status !== "replaced");
  if (moved.length > 0) {
    const firstBootOnly = new Set(head.resources.filter((r) => isVmType(r.type) && (r.ignoreChanges ?? []).length > 0).map(vmName));
    const ignoredUserData = moved.some((v) => firstBootOnly.has(v.name));
    warnings.push(
      `${plural(moved.length, "existing VM")} change static address (addresses follow the host order): ${list(moved.map((v) => `${v.name} ${v.before!.address} → ${v.after!.address}`), 4)}` +
        (ignoredUserData ? "; their cloud-init user-data is first-boot only (ignoreChanges), so a running VM keeps its old address while the rest of the cluster expects the new one" : ""),
    );
  }
  const hostMoves = vms.filter((v) => v.before && v.after && v.before.host !== v.after.host);
  if (hostMoves.length > 0) warnings.push(`${plural(hostMoves.length, "VM")} move to another host (vMotion): ${list(hostMoves.map((v) => `${v.name} ${v.before!.host} → ${v.after!.host}`), 4)}`);
  if (endpoint.changed && base.resources.length > 0) {
    const e = (x: Plan["endpoint"]) => `${x.kind} ${x.address}:${x.port}`;
    const firstBoot = head.resources.filter((r) => isVmType(r.type) && (r.ignoreChanges ?? []).length > 0 && vb.get(vmName(r))?.role === "control-plane" && va.has(vmName(r)));
    warnings.push(
      `API endpoint changes: ${e(endpoint.before)} → ${e(endpoint.after)}; every kubeconfig and the API server certificate's names follow it` +
        (firstBoot.length > 0
          ? `; the ${plural(firstBoot.length, "existing control-plane VM")} keep their first-boot configuration (${firstBoot[0].ignoreChanges!.join(", ")} is ignoreChanges), so the change is not applied to them`
          : ""),
    );
  }

  const total = counts.create + counts.update + counts.replace + counts.delete;
  const noChanges =
    total === 0 && !endpoint.changed && !(spark?.rows.some((r) => r.changed) ?? false) && (config?.length ?? 0) === 0 && sections.length === 0 && vms.every((v) => v.status === "unchanged");
  const countText = `${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.delete} to delete`;
  const verdict = noChanges
    ? "No changes: the head plans the same resources, placement and Spark sizing as the base."
    : `${warnings.length > 0 ? `${plural(warnings.length, "warning")}; ` : "No warnings; "}${countText}${total === 0 ? " (only plan details changed)" : ""}.`;

  return {
    base: { stack: base.stack, configFile: base.configFile, formatVersion: base.formatVersion ?? 0 },
    head: { stack: head.stack, configFile: head.configFile, formatVersion: head.formatVersion ?? 0 },
    verdict,
    noChanges,
    counts,
    warnings,
    resources: changes,
    endpoint,
    hosts,
    vms,
    survivability: { before: survBefore, after: survAfter },
    spark,
    config,
    sections,
    breach: {
      capacity: hosts.some((h) => h.after && (h.after.cpus > h.after.cpuThreads || h.after.allocatedMiB > h.after.memoryMiB)) || (survBefore.nPlusOne && !survAfter.nPlusOne && !newStack),
      spark: spark !== undefined && !spark.fitsAfter,
    },
  };
}

/** The empty plan: the base of a stack file that does not exist at the base revision. */
export function emptyPlan(stack: string, configFile: string): Plan {
  return { formatVersion: 1, stack, configFile, simulated: "", endpoint: { kind: "none", address: "", port: 0 }, counts: {}, resources: [], hosts: [], artifacts: [], outputs: {}, config: {} };
}
