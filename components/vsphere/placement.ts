/**
 * Topology and placement: which VM goes on which ESXi host, with what shape and what name.
 * Pure and engine-free; the VsphereTopology component only turns these decisions into resources.
 */
import { FieldError, isDnsLabel } from "../validation";
import { quorumProblem } from "../control-plane";
import type { HostGpuInventory, SlotGpus } from "./gpu";

export type VmRole = "worker" | "control-plane" | "load-balancer";
export type VmProfileName = "worker" | "small";

export interface VmShape {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** A second disk, mounted by the guest at /var/lib/kubelet (executor scratch space); 0 or absent: none. */
  scratchDiskGiB?: number;
}

export interface HostSpec {
  /** Short, DNS-safe id used in resource and VM names (e.g. `esxi-01`). */
  id: string;
  /** The host's name in vCenter (e.g. `esxi-01.lab.local`). */
  name: string;
  /** Logical cores (hyper-threads) the host offers. */
  cpuThreads: number;
  memoryMiB: number;
  /** Worker VMs on this host. */
  workers: number;
  /** GPU worker VMs on this host (`hosts[i].gpuWorkers`, components/vsphere/gpu.ts); absent: none. */
  gpuWorkers?: number;
  /** The host's GPUs (`hosts[i].gpus`, `hosts[i].vgpuProfiles`); absent: none. */
  gpus?: HostGpuInventory;
}

export interface TopologySpec {
  hosts: HostSpec[];
  profiles: Record<VmProfileName, VmShape>;
  /** Host ids carrying one control-plane VM each, in control-plane order. */
  controlPlaneHosts: string[];
  /** Host id of the load-balancer VM; absent when the endpoint needs no VM. */
  loadBalancerHost?: string;
  /** The GPU worker profile (`vmProfiles.gpu`), when some host carries GPU workers. */
  gpuProfile?: VmShape;
  /** Host id → the GPU part of each of its GPU workers, in order (`placeGpuWorkers`). */
  gpuPlacement?: Record<string, SlotGpus[]>;
}

export interface VmSlot {
  /** Resource name, VM name in vCenter and guest host name: `<host id>-<role>[-<n>]`. */
  name: string;
  role: VmRole;
  profile: VmProfileName | "gpu";
  hostId: string;
  hostName: string;
  /** 1-based position among the host's VMs of the same role. */
  index: number;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  scratchDiskGiB?: number;
  /** A GPU worker's devices (named `<host id>-gpu-worker-<n>`; `index` counts GPU workers only). */
  gpus?: SlotGpus;
}

export interface HostAllocation {
  host: HostSpec;
  vms: VmSlot[];
  cpus: number;
  memoryMiB: number;
}

export const ROLE_SUFFIX: Record<VmRole, string> = {
  "control-plane": "control-plane",
  "load-balancer": "load-balancer",
  worker: "worker",
};

export function slotName(hostId: string, role: VmRole, index: number, gpu = false): string {
  if (gpu) return `${hostId}-gpu-${ROLE_SUFFIX[role]}-${index}`;
  return role === "worker" ? `${hostId}-${ROLE_SUFFIX[role]}-${index}` : `${hostId}-${ROLE_SUFFIX[role]}`;
}

/**
 * Lays out every VM: per host (in the order given), its control-plane VM, its load-balancer VM,
 * then its workers. A VM's name depends only on its host and its slot, so adding workers or
 * hosts only adds VMs.
 */
export function planSlots(spec: TopologySpec): VmSlot[] {
  const slots: VmSlot[] = [];
  const cp = new Set(spec.controlPlaneHosts);
  for (const host of spec.hosts) {
    const add = (role: VmRole, profile: VmProfileName, index: number) => {
      const shape = spec.profiles[profile];
      slots.push({
        name: slotName(host.id, role, index),
        role,
        profile,
        hostId: host.id,
        hostName: host.name,
        index,
        cpus: shape.cpus,
        memoryMiB: shape.memoryMiB,
        diskGiB: shape.diskGiB,
        ...(shape.scratchDiskGiB ? { scratchDiskGiB: shape.scratchDiskGiB } : {}),
      });
    };
    if (cp.has(host.id)) add("control-plane", "small", 1);
    if (spec.loadBalancerHost === host.id) add("load-balancer", "small", 1);
    for (let i = 1; i <= host.workers; i++) add("worker", "worker", i);
    // GPU workers after the others: adding either kind only adds VMs.
    const gpus = spec.gpuPlacement?.[host.id] ?? [];
    const g = spec.gpuProfile;
    if (g) {
      gpus.forEach((gp, k) => {
        slots.push({
          name: slotName(host.id, "worker", k + 1, true),
          role: "worker",
          profile: "gpu",
          hostId: host.id,
          hostName: host.name,
          index: k + 1,
          cpus: g.cpus,
          memoryMiB: g.memoryMiB,
          diskGiB: g.diskGiB,
          ...(g.scratchDiskGiB ? { scratchDiskGiB: g.scratchDiskGiB } : {}),
          gpus: gp,
        });
      });
    }
  }
  return slots;
}

/** What each host carries: its VMs and the vCPU and memory they add up to. */
export function hostAllocations(spec: TopologySpec, slots: VmSlot[] = planSlots(spec)): HostAllocation[] {
  return spec.hosts.map((host) => {
    const vms = slots.filter((s) => s.hostId === host.id);
    return {
      host,
      vms,
      cpus: vms.reduce((a, s) => a + s.cpus, 0),
      memoryMiB: vms.reduce((a, s) => a + s.memoryMiB, 0),
    };
  });
}

export interface Overcommit {
  /** Allowed ratio of allocated vCPU to logical cores (1 = none). */
  cpu: number;
  /** Allowed ratio of allocated memory to host memory (1 = none). */
  memory: number;
}

/**
 * Checks a topology that is already well-typed: control-plane quorum and spread, worker count,
 * capacity per host, name lengths. `paths` says which config key each rule reports against.
 */
export function checkTopology(
  spec: TopologySpec,
  overcommit: Overcommit,
  paths: { hosts: string; controlPlane: string; loadBalancer: string; workers: string; overcommit: string },
): FieldError[] {
  const errors: FieldError[] = [];
  const ids = new Set(spec.hosts.map((h) => h.id));
  const n = spec.controlPlaneHosts.length;
  const quorum = quorumProblem(n);
  if (quorum) errors.push({ path: paths.controlPlane, message: quorum });
  const seen = new Map<string, number>();
  spec.controlPlaneHosts.forEach((h, i) => {
    if (!ids.has(h)) errors.push({ path: `${paths.controlPlane}.hosts[${i}]`, message: `unknown host "${h}" (hosts are: ${[...ids].join(", ")})` });
    if (seen.has(h)) {
      errors.push({
        path: `${paths.controlPlane}.hosts[${i}]`,
        message: `two control-plane VMs on host "${h}": one host failure would take down two etcd members; put each on its own host`,
      });
    }
    seen.set(h, i);
  });
  if (spec.loadBalancerHost !== undefined && !ids.has(spec.loadBalancerHost)) {
    errors.push({ path: `${paths.loadBalancer}.host`, message: `unknown host "${spec.loadBalancerHost}" (hosts are: ${[...ids].join(", ")})` });
  }
  const totalWorkers = spec.hosts.reduce((a, h) => a + h.workers, 0);
  if (spec.hosts.length > 0 && totalWorkers === 0) {
    errors.push({ path: paths.workers, message: "the cluster has no worker VMs: Spark executors need at least one worker" });
  }
  const slots = planSlots(spec);
  for (const s of slots) {
    if (!isDnsLabel(s.name)) {
      errors.push({ path: paths.hosts, message: `VM name "${s.name}" is not a valid DNS label (lower-case letters, digits and '-', at most 63 characters): shorten the host id` });
    }
  }
  hostAllocations(spec, slots).forEach((a, i) => {
    const cpuCap = a.host.cpuThreads * overcommit.cpu;
    const memCap = a.host.memoryMiB * overcommit.memory;
    if (a.cpus > cpuCap) {
      errors.push({
        path: `${paths.hosts}[${i}]`,
        message:
          `host "${a.host.id}" is allocated ${a.cpus} vCPU but has ${a.host.cpuThreads} logical cores` +
          (overcommit.cpu > 1 ? ` (× overcommit ${overcommit.cpu} = ${cpuCap})` : "") +
          `; remove VMs or allow it with ${paths.overcommit}.cpu`,
      });
    }
    if (a.memoryMiB > memCap) {
      errors.push({
        path: `${paths.hosts}[${i}]`,
        message:
          `host "${a.host.id}" is allocated ${fmtGiB(a.memoryMiB)} of memory but has ${fmtGiB(a.host.memoryMiB)}` +
          (overcommit.memory > 1 ? ` (× overcommit ${overcommit.memory} = ${fmtGiB(memCap)})` : "") +
          `; remove VMs or allow it with ${paths.overcommit}.memory`,
      });
    }
  });
  return errors;
}

/**
 * The default placement of the control plane: one VM on each of the first `count` hosts, in the
 * order listed. Returns a message instead when there are fewer hosts than VMs (two control planes
 * on one host would lose two etcd members with that host).
 */
export function defaultControlPlaneHosts(hostIds: readonly string[], count: number): string[] | string {
  if (count > hostIds.length) return `${count} control-plane VMs need ${count} hosts, one each; only ${hostIds.length} configured`;
  return hostIds.slice(0, count);
}

/** The default host of the load-balancer VM: the first host without a control plane, else the last host. */
export function defaultLoadBalancerHost(hostIds: readonly string[], controlPlaneHosts: readonly string[]): string {
  const cp = new Set(controlPlaneHosts);
  return hostIds.find((h) => !cp.has(h)) ?? hostIds[hostIds.length - 1];
}

export function fmtGiB(mib: number): string {
  const g = mib / 1024;
  return `${Number.isInteger(g) ? g : g.toFixed(1)} GiB`;
}
