/**
 * The worker pool shape, decided by the cluster layer and handed to the layers above through the
 * back end seam (`WorkerPool`): how many workers, their VM size, what the kubelet offers to pods on
 * each (allocatable after the kernel's share and the kubelet's reservations), and what the DaemonSets
 * take there. The Spark sizing
 * works from this one value, whichever back end made the cluster and whoever calls it.
 */
import { quantityMiB, parseQuantity } from "../quantity";
import type { WorkerPool } from "./backend";
import { NodeShape, nodeAllocatable } from "./allocatable";
import { nodeMemoryCapacityMiB } from "./node-capacity";
import { clusterAddOns } from "./add-ons";
import { ephemeralAllocatableMiB } from "./scratch";
import type { KubernetesSettings } from "./settings";

/**
 * The pool of `workers` (each with its VM shape) under `settings`: the smallest worker decides the
 * shape, since one executor size must fit every worker.
 */
export function workerPool(
  workers: readonly NodeShape[],
  settings: Pick<KubernetesSettings, "kubelet" | "workerDaemonSetRequests" | "kernelReservation" | "cni">,
): WorkerPool {
  // Scratch space only when every worker has its disk at /var/lib/kubelet (the smallest decides).
  const scratchDiskGiB = workers.every((w) => (w.scratchDiskGiB ?? 0) > 0) ? Math.min(...workers.map((w) => w.scratchDiskGiB!)) : undefined;
  const addOns = clusterAddOns(settings.cni.kind, settings.cni.version).deployments;
  if (workers.length === 0) throw new Error("workerPool: a cluster without workers has no worker pool");
  const vm = { cpus: Math.min(...workers.map((w) => w.cpus)), memoryMiB: Math.min(...workers.map((w) => w.memoryMiB)) };
  return {
    count: workers.length,
    vm,
    // The kubelet's capacity is MemTotal: the VM's RAM less the kernel's share.
    allocatable: nodeAllocatable({ cpus: vm.cpus, memoryMiB: nodeMemoryCapacityMiB(vm.memoryMiB, settings.kernelReservation) }, settings.kubelet),
    daemonSetRequests: {
      cpu: parseQuantity(settings.workerDaemonSetRequests.cpu) ?? 0,
      memoryMiB: quantityMiB(settings.workerDaemonSetRequests.memory) ?? 0,
    },
    addOnPods: { cpu: addOns.cpuMilli / 1000, memoryMiB: addOns.memoryMiB },
    ...(scratchDiskGiB ? { scratchDisk: { capacityGiB: scratchDiskGiB, allocatableMiB: ephemeralAllocatableMiB(scratchDiskGiB, settings.kubelet) } } : {}),
  };
}
