/**
 * Capacity of the Tanzu back end, pure: VM class × replicas per pool, held against the vSphere
 * Namespace limits (when set) and against the hosts (when the stack lists them), at the peak of a
 * rolling update.
 *
 * The peak: Cluster API replaces machines by surging, `maxSurge` defaulting to 1 for a
 * MachineDeployment (cluster-api `api/v1beta1/machinedeployment_types.go` v1.10.10,
 * `MachineRollingUpdateDeployment.MaxSurge`: "Defaults to 1") and for the KubeadmControlPlane
 * (`controlplane/kubeadm/api/v1beta1/kubeadm_control_plane_types.go` v1.10.10,
 * `+kubebuilder:default={type: "RollingUpdate", rollingUpdate: {maxSurge: 1}}`). A change every
 * template sees (a VM class, the release, trust or proxy) can roll the control plane and every
 * pool at once, so the peak is one more VM of each group that has any. Node volumes are
 * PersistentVolumeClaims in the Supervisor namespace (VKS provisions them there), so they count
 * against its storage limit, the surge VM's too; boot disks come from the release's image, are not
 * known offline and are not counted. A node pool the Cluster Autoscaler sizes counts at its
 * maximum (`maxReplicas`).
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

type Totals = { vms: number; cpus: number; memoryMiB: number; volumeGiB: number };

export interface TanzuCapacity {
  rows: CapacityRow[];
  total: Totals;
  /** The extra VMs of a rolling update: one per group with replicas (maxSurge 1). */
  surge: Totals;
  /** `total` + `surge`: what the limits and the hosts must hold. */
  peak: Totals;
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
  // An autoscaled pool counts at its maximum: what the autoscaler may grow it to must fit too.
  for (const p of c.nodePools) add(p.name, p.vmClass, p.autoscale?.max ?? p.replicas, p.volumes);
  const sum = (count: (r: CapacityRow) => number): Totals =>
    rows.reduce(
      (t, r) => ({ vms: t.vms + count(r), cpus: t.cpus + count(r) * r.cpus, memoryMiB: t.memoryMiB + count(r) * r.memoryMiB, volumeGiB: t.volumeGiB + count(r) * r.volumeGiB }),
      { vms: 0, cpus: 0, memoryMiB: 0, volumeGiB: 0 },
    );
  const total = sum((r) => r.replicas);
  const surge = sum((r) => (r.replicas > 0 ? MAX_SURGE : 0));
  const peak = sum((r) => r.replicas + (r.replicas > 0 ? MAX_SURGE : 0));
  const out: TanzuCapacity = { rows, total, surge, peak };
  if (settings.namespace.limits) out.limits = { ...settings.namespace.limits };
  if (context.hosts && context.hosts.length > 0)
    out.hosts = {
      count: context.hosts.length,
      cpuThreads: context.hosts.reduce((s, h) => s + h.cpuThreads, 0),
      memoryMiB: context.hosts.reduce((s, h) => s + h.memoryMiB, 0),
    };
  return out;
}

/** Cluster API's default `maxSurge` for machine deployments and the control plane (see above). */
export const MAX_SURGE = 1;

const gib = (mib: number) => `${+(mib / 1024).toFixed(1)} GiB`;

/**
 * Every capacity problem, keyed to the setting a user would change. Memory is never overcommitted
 * (executors are sized to fill the worker's memory, so an overcommitted host swaps), nor are vCPUs
 * beyond the hosts' threads (the reference design's rule); both held at the rolling update's peak.
 * A shortage of the hosts is keyed to the replicas of the pool with the largest share (the one a
 * user would shrink), and the message lists every group's share.
 */
export function capacityErrors(settings: TanzuSettings, context: TanzuContext, path: string): FieldError[] {
  const cap = tanzuCapacity(settings, context);
  const errors: FieldError[] = [];
  const p = cap.peak;
  const lim = cap.limits;
  const lp = `${path}.namespace.limits`;
  const vms = `the ${cap.total.vms} VMs${cap.surge.vms > 0 ? ` and the ${cap.surge.vms} a rolling update adds (maxSurge 1 per node pool and control plane)` : ""}`;
  if (lim?.memoryMiB !== undefined && p.memoryMiB > lim.memoryMiB)
    errors.push({ path: `${lp}.memoryGiB`, message: `${gib(lim.memoryMiB)} is less than the memory of ${vms}, ${gib(p.memoryMiB)}: the nodes would be ballooned and swapped` });
  if (lim?.cpuMHz !== undefined && p.cpus * lim.vcpuMHz > lim.cpuMHz)
    errors.push({ path: `${lp}.cpuMHz`, message: `${lim.cpuMHz} MHz is less than the ${p.cpus} vCPUs of ${vms} × ${lim.vcpuMHz} MHz = ${p.cpus * lim.vcpuMHz} MHz: the nodes would be throttled` });
  if (lim?.storageMiB !== undefined && p.volumeGiB * 1024 > lim.storageMiB)
    errors.push({ path: `${lp}.storageGiB`, message: `${gib(lim.storageMiB)} is less than the node volumes of ${vms}, ${p.volumeGiB} GiB (PersistentVolumeClaims in the namespace), before any persistent volume` });
  if (context.hosts && context.hosts.length > 0 && cap.hosts) {
    const maxThreads = Math.max(...context.hosts.map((h) => h.cpuThreads));
    const maxMem = Math.max(...context.hosts.map((h) => h.memoryMiB));
    for (const [key, spec] of Object.entries(settings.vmClasses)) {
      if (spec.cpus > maxThreads) errors.push({ path: `${path}.vmClasses.${key}.cpus`, message: `${spec.cpus} vCPUs exceed the largest host's ${maxThreads} threads` });
      if (spec.memoryMiB > maxMem) errors.push({ path: `${path}.vmClasses.${key}.memoryGiB`, message: `${gib(spec.memoryMiB)} exceeds the largest host's ${gib(maxMem)}` });
    }
    const pools = settings.cluster.nodePools;
    const shortage = (what: "memory" | "cpu", need: string, have: string, share: (r: CapacityRow) => number, unit: (n: number) => string) => {
      const rows = cap.rows.filter((r) => r.replicas > 0);
      const biggest = rows.filter((r) => r.pool !== "control-plane").sort((a, b) => share(b) * b.replicas - share(a) * a.replicas)[0];
      const index = biggest ? pools.findIndex((x) => x.name === biggest.pool) : -1;
      const at = index >= 0 ? `${path}.cluster.nodePools[${index}].replicas` : `${path}.cluster.nodePools`;
      const shares = rows.map((r) => `${r.pool === "control-plane" ? "control plane" : `pool ${r.pool}`} ${r.replicas}+${MAX_SURGE} × ${unit(share(r))}`).join(", ");
      errors.push({ path: at, message: `${vms} need ${need}, the ${cap.hosts!.count} hosts have ${have} (${shares})` });
    };
    if (p.memoryMiB > cap.hosts.memoryMiB) shortage("memory", `${gib(p.memoryMiB)} of memory`, gib(cap.hosts.memoryMiB), (r) => r.memoryMiB, gib);
    if (p.cpus > cap.hosts.cpuThreads) shortage("cpu", `${p.cpus} vCPUs`, `${cap.hosts.cpuThreads} threads`, (r) => r.cpus, (n) => `${n} vCPU`);
  }
  return errors;
}
