/**
 * What the kubelet offers to pods on a node: capacity − kubeReserved − systemReserved − the hard
 * eviction threshold for memory. `memoryMiB` is the node's capacity as the kubelet sees it (MemTotal;
 * for a VM, `nodeMemoryCapacityMiB` of its RAM). The Spark layer sizes executors on this.
 */
import type { KubeletSettings } from "./settings";
import { parseThreshold, requireQuantity } from "../quantity";

const MiB = 2 ** 20;

export interface NodeShape {
  cpus: number;
  memoryMiB: number;
  /** GiB of the node's disk mounted at /var/lib/kubelet (absent or 0: none). */
  scratchDiskGiB?: number;
}

export interface Allocatable {
  /** Cores, rounded down to whole millicores. */
  cpu: number;
  /** MiB, rounded down to a whole MiB. */
  memoryMiB: number;
}

export function nodeAllocatable(shape: NodeShape, kubelet: KubeletSettings): Allocatable {
  const reservedCpu =
    requireQuantity(kubelet.kubeReserved.cpu ?? "0", "kubeReserved.cpu") +
    requireQuantity(kubelet.systemReserved.cpu ?? "0", "systemReserved.cpu");
  const capacityBytes = shape.memoryMiB * MiB;
  const reservedBytes =
    requireQuantity(kubelet.kubeReserved.memory ?? "0", "kubeReserved.memory") +
    requireQuantity(kubelet.systemReserved.memory ?? "0", "systemReserved.memory");
  const evictionText = kubelet.evictionHard["memory.available"] ?? "0";
  const t = parseThreshold(evictionText);
  if (!t) throw new Error(`evictionHard["memory.available"]: "${evictionText}" is not a quantity or percentage`);
  const evictionBytes = t.kind === "percent" ? (capacityBytes * t.value) / 100 : t.value;
  // Round in millicores / bytes first so binary fractions do not shave off a unit.
  const cpuMilli = Math.floor(Math.round((shape.cpus - reservedCpu) * 1e6) / 1e3);
  const memBytes = capacityBytes - reservedBytes - evictionBytes;
  return { cpu: cpuMilli / 1000, memoryMiB: Math.floor(Math.round(memBytes) / MiB) };
}
