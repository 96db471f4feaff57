/**
 * Capacity of the Tanzu back end, pure: VM class × replicas per pool, held against the vSphere
 * Namespace limits (when set) and against the hosts (when the stack lists them).
 */
import type { FieldError } from "../validation";
import type { TanzuContext, TanzuSettings } from "./types";
import { vmClassName } from "./vm-classes";

export interface CapacityRow {
  /** `control-plane` or the node pool's name. */
  pool: string;
  vmClass: string;
  replicas: number;
  cpus: number;
  memoryMiB: number;
  /** Extra volumes per node (GiB); boot disks come from the release's image and are not counted. */
  volumeGiB: number;
}

export interface TanzuCapacity {
  rows: CapacityRow[];
  total: { vms: number; cpus: number; memoryMiB: number; volumeGiB: number };
  limits?: { cpuMHz?: number; memoryMiB?: number; storageMiB?: number; vcpuMHz: number };
  hosts?: { count: number; cpuThreads: number; memoryMiB: number };
}

/** The rows and totals; pools whose class is unknown are left out (the resolver reports them). */
export function tanzuCapacity(settings: TanzuSettings, context: TanzuContext = {}): TanzuCapacity {
  const c = settings.cluster;
  const rows: CapacityRow[] = [];
  const add = (pool: string, key: string, replicas: number, volumes: { capacityGiB: number }[]) => {
    const spec = settings.vmClasses[key];
    if (!spec) return;
    rows.push({ pool, vmClass: vmClassName(settings.namespace.name, key, spec), replicas, cpus: spec.cpus, memoryMiB: spec.memoryMiB, volumeGiB: volumes.reduce((s, v) => s + v.capacityGiB, 0) });
  };
  add("control-plane", c.controlPlane.vmClass, c.controlPlane.replicas, c.controlPlane.volumes);
  for (const p of c.nodePools) add(p.name, p.vmClass, p.replicas, p.volumes);
  const total = rows.reduce(
    (t, r) => ({ vms: t.vms + r.replicas, cpus: t.cpus + r.replicas * r.cpus, memoryMiB: t.memoryMiB + r.replicas * r.memoryMiB, volumeGiB: t.volumeGiB + r.replicas * r.volumeGiB }),
    { vms: 0, cpus: 0, memoryMiB: 0, volumeGiB: 0 },
  );
  const out: TanzuCapacity = { rows, total };
  if (settings.namespace.limits) out.limits = { ...settings.namespace.limits };
  if (context.hosts && context.hosts.length > 0)
    out.hosts = {
      count: context.hosts.length,
      cpuThreads: context.hosts.reduce((s, h) => s + h.cpuThreads, 0),
      memoryMiB: context.hosts.reduce((s, h) => s + h.memoryMiB, 0),
    };
  return out;
}

const gib = (mib: number) => `${+(mib / 1024).toFixed(1)} GiB`;

/**
 * Every capacity problem, keyed to the setting a user would change. Memory is never overcommitted
 * (executors are sized to fill the worker's memory, so an overcommitted host swaps), nor are vCPUs
 * beyond the hosts' threads (the reference design's rule).
 */
export function capacityErrors(settings: TanzuSettings, context: TanzuContext, path: string): FieldError[] {
  const cap = tanzuCapacity(settings, context);
  const errors: FieldError[] = [];
  const t = cap.total;
  const lim = cap.limits;
  const lp = `${path}.namespace.limits`;
  if (lim?.memoryMiB !== undefined && t.memoryMiB > lim.memoryMiB)
    errors.push({ path: `${lp}.memoryGiB`, message: `${gib(lim.memoryMiB)} is less than the ${t.vms} VMs' memory (${gib(t.memoryMiB)}): the nodes would be ballooned and swapped` });
  if (lim?.cpuMHz !== undefined && t.cpus * lim.vcpuMHz > lim.cpuMHz)
    errors.push({ path: `${lp}.cpuMHz`, message: `${lim.cpuMHz} MHz is less than ${t.cpus} vCPUs × ${lim.vcpuMHz} MHz = ${t.cpus * lim.vcpuMHz} MHz: the nodes would be throttled` });
  if (lim?.storageMiB !== undefined && t.volumeGiB * 1024 > lim.storageMiB)
    errors.push({ path: `${lp}.storageGiB`, message: `${gib(lim.storageMiB)} is less than the node volumes (${t.volumeGiB} GiB), before any persistent volume` });
  if (context.hosts && context.hosts.length > 0 && cap.hosts) {
    const maxThreads = Math.max(...context.hosts.map((h) => h.cpuThreads));
    const maxMem = Math.max(...context.hosts.map((h) => h.memoryMiB));
    for (const [key, spec] of Object.entries(settings.vmClasses)) {
      if (spec.cpus > maxThreads) errors.push({ path: `${path}.vmClasses.${key}.cpus`, message: `${spec.cpus} vCPUs exceed the largest host's ${maxThreads} threads` });
      if (spec.memoryMiB > maxMem) errors.push({ path: `${path}.vmClasses.${key}.memoryGiB`, message: `${gib(spec.memoryMiB)} exceeds the largest host's ${gib(maxMem)}` });
    }
    const np = `${path}.cluster.nodePools`;
    if (t.memoryMiB > cap.hosts.memoryMiB)
      errors.push({ path: np, message: `the ${t.vms} VMs need ${gib(t.memoryMiB)} of memory, the ${cap.hosts.count} hosts have ${gib(cap.hosts.memoryMiB)}` });
    if (t.cpus > cap.hosts.cpuThreads)
      errors.push({ path: np, message: `the ${t.vms} VMs need ${t.cpus} vCPUs, the ${cap.hosts.count} hosts have ${cap.hosts.cpuThreads} threads` });
  }
  return errors;
}
