/**
 * Honest node capacity: the kernel keeps part of a VM's RAM (its image, the page structures, firmware
 * ranges, bounce buffers), so `MemTotal` in /proc/meminfo, which the kubelet reports as the node's
 * memory capacity, is below the RAM configured for the VM. Allocatable is computed from that
 * capacity, not from the VM's size. Pure.
 *
 * The default model is fitted to measurements of Debian 12's cloud kernel (6.1.0-56-cloud-amd64,
 * linux-image-6.1.0-56-cloud-amd64 6.1.192-2) booted under QEMU at 2 to 256 GiB
 * (bench/memtotal/measure.sh; data in bench/memtotal/memtotal-debian12-cloud.json):
 *
 *   configured   4 GiB   8 GiB   16 GiB   32 GiB   64 GiB   120 GiB   256 GiB
 *   kept (MiB)   169     239     379      659      1219     2115      4387
 *
 * kept ≈ 151 MiB + 1.6314 % of the RAM, an upper bound at every point from 4 GiB (at most 50 MiB
 * above a measurement). The slope is mostly the page structures (64 bytes per 4 KiB page =
 * 1.5625 %); the fixed part the kernel image, firmware ranges and the 64 MiB SWIOTLB buffer that
 * appears once RAM extends above 4 GiB.
 */

export interface KernelReservationModel {
  /** MiB the kernel keeps whatever the size. */
  fixedMiB: number;
  /** Share of the configured RAM the kernel keeps (0.016314 = 1.6314 %). */
  fraction: number;
}

/** Fitted to the Debian 12 cloud kernel measurements (see the table above). */
export const DEFAULT_KERNEL_RESERVATION: Readonly<KernelReservationModel> = Object.freeze({ fixedMiB: 151, fraction: 0.016314 });

/** MiB of a VM's RAM the kernel keeps (rounded up to a whole MiB, never more than the RAM). */
export function kernelReservedMiB(vmMemoryMiB: number, model: KernelReservationModel = DEFAULT_KERNEL_RESERVATION): number {
  return Math.min(vmMemoryMiB, Math.ceil(model.fixedMiB + model.fraction * vmMemoryMiB));
}

/** The node's memory capacity as the kubelet reports it (MemTotal), in whole MiB, by the model. */
export function nodeMemoryCapacityMiB(vmMemoryMiB: number, model: KernelReservationModel = DEFAULT_KERNEL_RESERVATION): number {
  return vmMemoryMiB - kernelReservedMiB(vmMemoryMiB, model);
}

/**
 * The most MiB a kernel keeps whatever the RAM: the measured fixed part is 151 MiB (the kernel image,
 * firmware ranges, the 64 MiB SWIOTLB buffer); 4 GiB is far above any of it, and far below the
 * 151 × 1024 = 154624 a value copied from /proc/meminfo (which counts kB) would give.
 */
export const MAX_KERNEL_FIXED_MIB = 4096;

/** Problems with a model (for settings validators): field → message. */
export function kernelReservationErrors(m: Partial<KernelReservationModel> | undefined): { field: keyof KernelReservationModel; message: string }[] {
  const out: { field: keyof KernelReservationModel; message: string }[] = [];
  const f = m?.fixedMiB;
  if (typeof f !== "number" || !Number.isFinite(f) || f < 0) out.push({ field: "fixedMiB", message: `must be a number of MiB ≥ 0, got ${String(f)}` });
  else if (f > MAX_KERNEL_FIXED_MIB) {
    out.push({
      field: "fixedMiB",
      message: `is ${f} MiB, more than any kernel keeps (at most ${MAX_KERNEL_FIXED_MIB} MiB; Debian 12's keeps about ${DEFAULT_KERNEL_RESERVATION.fixedMiB}). The unit is MiB: /proc/meminfo counts kB, so ${f} kB would be ${Math.round(f / 1024)} MiB`,
    });
  }
  const r = m?.fraction;
  if (typeof r !== "number" || !Number.isFinite(r) || r < 0 || r >= 0.5) out.push({ field: "fraction", message: `must be a share of the RAM in [0, 0.5), got ${String(r)}` });
  return out;
}
