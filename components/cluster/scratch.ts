/**
 * Executor scratch space (shuffle files, spill): Spark's executors write it to `spark-local-dir-*`
 * volumes, by default an emptyDir (Spark's LocalDirsFeatureStep), and an emptyDir lives in the
 * kubelet's root directory, `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/`: on the
 * boot disk unless a disk is mounted at `/var/lib/kubelet`. Such a disk (a Tanzu node-pool volume)
 * becomes the kubelet's nodefs: the node's `ephemeral-storage` capacity is that filesystem's size,
 * and its allocatable is capacity − kubeReserved − systemReserved − the `nodefs.available` hard
 * eviction threshold (kubernetes pkg/kubelet/cm/node_container_manager_linux.go,
 * GetNodeAllocatableReservation → hardEvictionReservation maps nodefs.available to
 * ephemeral-storage). Pure.
 *
 * The filesystem is smaller than the disk: ext4 with mke2fs's defaults (mke2fs.conf: inode_ratio
 * 16384, inode_size 256) spends 1/64 of the disk on inode tables, and its journal takes up to 1 GiB.
 * The model subtracts both, an upper bound of the overhead.
 */
import type { KubeletSettings } from "./settings";
import { parseThreshold, requireQuantity } from "../quantity";

const MiB = 2 ** 20;

/** Where a scratch disk must be mounted for emptyDirs to live on it. */
export const KUBELET_ROOT = "/var/lib/kubelet";

/** The filesystem size (MiB) the kubelet reports for an ext4 disk of `diskGiB` (mke2fs defaults). */
export function ext4CapacityMiB(diskGiB: number): number {
  const disk = diskGiB * 1024;
  return Math.floor(disk - disk / 64 - Math.min(1024, disk / 64));
}

/** The node's allocatable ephemeral-storage (MiB) when the kubelet's root directory is on a disk of `diskGiB`. */
export function ephemeralAllocatableMiB(diskGiB: number, kubelet: KubeletSettings): number {
  const capacity = ext4CapacityMiB(diskGiB);
  const reserved =
    requireQuantity(kubelet.kubeReserved["ephemeral-storage"] ?? "0", "kubeReserved.ephemeral-storage") +
    requireQuantity(kubelet.systemReserved["ephemeral-storage"] ?? "0", "systemReserved.ephemeral-storage");
  const text = kubelet.evictionHard["nodefs.available"] ?? "0";
  const t = parseThreshold(text);
  if (!t) throw new Error(`evictionHard["nodefs.available"]: "${text}" is not a quantity or percentage`);
  const eviction = t.kind === "percent" ? (capacity * MiB * t.value) / 100 : t.value;
  return Math.max(0, Math.floor((capacity * MiB - reserved - eviction) / MiB));
}
