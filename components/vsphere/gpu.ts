/**
 * GPU workers on vSphere, pure: the per-host GPU inventory (`vsphere-spark:hosts[i].gpus`,
 * `hosts[i].vgpuProfiles`), the GPU worker profile (`vsphere-spark:vmProfiles.gpu`), how many GPU
 * workers each host carries (`hosts[i].gpuWorkers`), which of a host's devices each GPU VM gets, and
 * the VM inputs a GPU VM needs.
 *
 * What the provider can express (pulumi-vsphere 4.17.0, schemas/vsphere/schema.json, upstream
 * terraform-provider-vsphere 2.16.1):
 * - `vsphere:index/virtualMachine:VirtualMachine.pciDeviceIds` ("A list of PCI passthrough devices";
 *   terraform-provider-vsphere `vsphere/resource_vsphere_virtual_machine.go`, `pci_device_id`, a set
 *   of host PCI device ids as `vsphere_host_pci_device` returns them, the host's
 *   `HostPciDevice.id` "domain:bus:slot.function", e.g. `0000:3b:00.0`). The resource refuses it
 *   without `host_system_id` ("host_system_id must be set when using pci_device_id"): every VM here
 *   is pinned to its host.
 * - The VirtualMachine resource has no vGPU input at this version (only `pciDeviceIds`); NVIDIA vGPU
 *   profiles are expressible only on `vsphere:index/virtualMachineClass:VirtualMachineClass.vgpuDevices`
 *   (the Tanzu back end, components/tanzu/gpu.ts). A vGPU profile on a kubeadm worker is therefore
 *   refused, naming the key, rather than silently dropped.
 *
 * What a passthrough GPU VM needs (VMware, "How to Enable Nvidia V100 GPU in Passthrough mode on
 * vSphere" (blogs.vmware.com/apps, 2018); F. Denneman, "vSphere ML Accelerator Spectrum Deep Dive –
 * ESXi Host BIOS, VM, and vCenter Settings" (2023)):
 * - EFI firmware (large BARs are mapped above 4 GB only under EFI): `firmware: "efi"`;
 * - all guest memory reserved: `memoryReservation` = `memory`, `memoryReservationLockedToMax: true`
 *   (passthrough pins every guest page for DMA; vSphere refuses to power on otherwise);
 * - `pciPassthru.use64bitMMIO = "TRUE"` and `pciPassthru.64bitMMIOSizeGB = n` in the VM's extra
 *   configuration, n = the GPUs' total memory × 2, rounded up to a power of two (Denneman; the 2018
 *   blog's "count × 16 rounded up" is the same rule for 16 GB V100s): `mmioSizeGiB`.
 */
import type { ConfigReader, Obj } from "../config-reader";
import type { FieldError } from "../validation";
import { didYouMean } from "../validation";

/** One passthrough-capable GPU of a host, as `vsphere_host_pci_device` names it. */
export interface GpuDevice {
  /** The host's PCI id of the device, `domain:bus:slot.function` (e.g. `0000:3b:00.0`). */
  pciId: string;
  /** The GPU's model as the operator names it (e.g. `A100-80GB`); shown in the plan. */
  model: string;
  /** The GPU's own memory in GiB (decides the VM's 64-bit MMIO window). */
  memoryGiB: number;
}

/** What a host offers to GPU VMs. */
export interface HostGpuInventory {
  /** Devices enabled for passthrough on the host. */
  devices: GpuDevice[];
  /** NVIDIA vGPU profile name → how many VMs of that profile the host's GPUs can hold. */
  vgpuProfiles: Record<string, number>;
}

/** What the GPU worker profile asks of its host: whole GPUs by passthrough, or one vGPU profile. */
export type GpuRequest = { kind: "passthrough"; count: number } | { kind: "vgpu"; profile: string };

/** The GPU worker profile's GPU part (`vmProfiles.gpu.gpus` / `vmProfiles.gpu.vgpuProfile`). */
export interface GpuProfileSettings {
  request: GpuRequest;
  /** An explicit `pciPassthru.64bitMMIOSizeGB`; absent: derived from the devices (mmioSizeGiB). */
  mmioSizeGiB?: number;
}

/** The GPU part of one GPU worker VM, once placed. */
export interface SlotGpus {
  /** PCI ids of the host devices this VM gets (passthrough), in the host's order. */
  pciIds: string[];
  /** Models of those devices (plan display). */
  models: string[];
  /** GPUs the node advertises as `nvidia.com/gpu`. */
  count: number;
  /** The 64-bit MMIO window in GiB. */
  mmioSizeGiB: number;
}

export const HOST_GPU_KEYS = ["gpus", "vgpuProfiles", "gpuWorkers"] as const;
export const GPU_PROFILE_KEYS = ["cpus", "memoryGiB", "diskGiB", "scratchDiskGiB", "gpus", "vgpuProfile", "mmioSizeGiB"] as const;

/** `domain:bus:slot.function` in hex, as ESXi lists passthrough devices (`HostPciDevice.id`). */
const PCI_ID = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
/** NVIDIA vGPU profile names as ESXi lists them (`vsphere_host_vgpu_profile`), e.g. `grid_a100-40c`, `nvidia_h100-80c`. */
const VGPU_PROFILE = /^[a-z0-9_]+[-_][a-z0-9]+$/i;

export function pciIdProblem(s: string): string | undefined {
  return PCI_ID.test(s)
    ? undefined
    : `"${s}" is not a host PCI device id: ESXi names passthrough devices domain:bus:slot.function in lower-case hex, e.g. 0000:3b:00.0 (vsphere.getHostPciDevice, esxcli hardware pci list)`;
}

export function vgpuProfileProblem(s: string): string | undefined {
  return VGPU_PROFILE.test(s) ? undefined : `"${s}" is not an NVIDIA vGPU profile name such as grid_a100-40c (vsphere.getHostVgpuProfile lists a host's)`;
}

/** The 64-bit MMIO window for GPUs of `totalMemoryGiB` together: twice that, rounded up to a power of two (at least 32). */
export function mmioSizeGiB(totalMemoryGiB: number): number {
  let n = 32;
  while (n < 2 * totalMemoryGiB) n *= 2;
  return n;
}

/** Reads a host's GPU inventory and GPU worker count (`hosts[i].gpus`, `.vgpuProfiles`, `.gpuWorkers`) into `r`. */
export function readHostGpus(r: ConfigReader, o: Obj, p: string): { inventory: HostGpuInventory; gpuWorkers: number } {
  const devices: GpuDevice[] = [];
  if (o.gpus !== undefined) {
    const list = r.list(o.gpus, `${p}.gpus`) ?? [];
    const seen = new Map<string, number>();
    list.forEach((g, j) => {
      const gp = `${p}.gpus[${j}]`;
      const go = r.object(g, gp, ["pciId", "model", "memoryGiB"]);
      if (!go) return;
      const before = r.errors.length;
      const pciId = r.requiredString(go, "pciId", gp, pciIdProblem);
      const model = r.requiredString(go, "model", gp);
      const memoryGiB = r.requiredNumber(go, "memoryGiB", gp, { min: 1, max: 1024 });
      if (pciId !== undefined) {
        if (seen.has(pciId)) r.err(`${gp}.pciId`, `device ${pciId} is listed twice on this host (also ${p}.gpus[${seen.get(pciId)}])`);
        seen.set(pciId, j);
      }
      if (r.errors.length === before && pciId && model && memoryGiB) devices.push({ pciId, model, memoryGiB });
    });
  }
  const vgpuProfiles: Record<string, number> = {};
  if (o.vgpuProfiles !== undefined) {
    const vp = `${p}.vgpuProfiles`;
    const vo = r.object(o.vgpuProfiles, vp, Object.keys((o.vgpuProfiles as Obj) ?? {}));
    for (const [name, slots] of Object.entries(vo ?? {})) {
      const problem = vgpuProfileProblem(name);
      if (problem) {
        r.err(`${vp}.${name}`, problem);
        continue;
      }
      const n = r.checkNumber(slots, `${vp}.${name}`, { integer: true, min: 1, max: 64 });
      if (n !== undefined) vgpuProfiles[name] = n;
    }
  }
  const gpuWorkers = r.number(o, "gpuWorkers", p, 0, { integer: true, min: 0, max: 64 });
  return { inventory: { devices, vgpuProfiles }, gpuWorkers };
}

/** Reads the GPU part of `vmProfiles.gpu` (the shape itself is read like the other profiles). */
export function readGpuProfile(r: ConfigReader, o: Obj, p: string): GpuProfileSettings | undefined {
  const before = r.errors.length;
  const hasCount = o.gpus !== undefined;
  const hasVgpu = o.vgpuProfile !== undefined;
  if (hasCount && hasVgpu) {
    r.err(`${p}.vgpuProfile`, `a GPU worker takes whole GPUs (${p}.gpus) or one vGPU profile, not both`);
    return undefined;
  }
  if (!hasCount && !hasVgpu) {
    r.err(`${p}.gpus`, `is required: the passthrough GPUs each GPU worker gets (or ${p}.vgpuProfile)`);
    return undefined;
  }
  const mmio = r.optNumber(o, "mmioSizeGiB", p, { integer: true, min: 1, max: 16384 });
  if (mmio !== undefined && (mmio & (mmio - 1)) !== 0) r.err(`${p}.mmioSizeGiB`, `must be a power of two (vSphere's pciPassthru.64bitMMIOSizeGB), got ${mmio}`);
  let request: GpuRequest | undefined;
  if (hasCount) {
    const count = r.optNumber(o, "gpus", p, { integer: true, min: 1, max: 16 });
    if (count !== undefined) request = { kind: "passthrough", count };
  } else {
    if (mmio !== undefined) r.err(`${p}.mmioSizeGiB`, "applies to passthrough GPUs only (a vGPU's MMIO is set by vSphere)");
    const profile = r.optString(o, "vgpuProfile", p, vgpuProfileProblem);
    if (profile !== undefined) request = { kind: "vgpu", profile };
  }
  if (r.errors.length > before || !request) return undefined;
  return { request, ...(mmio !== undefined ? { mmioSizeGiB: mmio } : {}) };
}

export interface GpuHost {
  id: string;
  inventory: HostGpuInventory;
  gpuWorkers: number;
}

/** Which config key each GPU rule reports against. */
export interface GpuPaths {
  hosts: string;
  profile: string;
}

/**
 * Places the GPU workers on their hosts: each VM takes the next `count` devices of its host (in the
 * order the inventory lists them), so a VM's devices depend only on its host and index. Every
 * problem is reported at once: GPU workers on a host without GPUs, more GPU workers than devices,
 * a vGPU profile the host does not offer (or more of them than its slots), a vGPU profile on the
 * kubeadm back end (the VM resource cannot express it), GPU workers without a GPU profile.
 * Returns the GPU part per GPU VM (host id → one entry per VM, in index order).
 */
export function placeGpuWorkers(
  hosts: readonly GpuHost[],
  profile: GpuProfileSettings | undefined,
  paths: GpuPaths,
): { placed: Record<string, SlotGpus[]>; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const placed: Record<string, SlotGpus[]> = {};
  const wanted = hosts.filter((h) => h.gpuWorkers > 0);
  if (wanted.length === 0) return { placed, errors };
  if (!profile) {
    errors.push({ path: `${paths.profile}`, message: `is required: ${wanted.map((h) => `host "${h.id}"`).join(", ")} carr${wanted.length === 1 ? "ies" : "y"} GPU workers (gpuWorkers), and they need a GPU profile (cpus, memoryGiB, gpus or vgpuProfile)` });
    return { placed, errors };
  }
  hosts.forEach((h, i) => {
    if (h.gpuWorkers === 0) return;
    const hp = `${paths.hosts}[${i}]`;
    const req = profile.request;
    if (req.kind === "vgpu") {
      const offered = h.inventory.vgpuProfiles;
      const names = Object.keys(offered);
      if (names.length === 0) {
        errors.push({ path: `${hp}.vgpuProfiles`, message: `host "${h.id}" carries ${h.gpuWorkers} GPU workers of vGPU profile "${req.profile}" but lists no vGPU profiles` });
      } else if (offered[req.profile] === undefined) {
        errors.push({ path: `${paths.profile}.vgpuProfile`, message: `"${req.profile}" is not among host "${h.id}"'s vGPU profiles (${names.join(", ")})${didYouMean(req.profile, names)}` });
      } else if (h.gpuWorkers > offered[req.profile]) {
        errors.push({ path: `${hp}.gpuWorkers`, message: `host "${h.id}" holds ${offered[req.profile]} VMs of vGPU profile "${req.profile}" (${hp}.vgpuProfiles), not ${h.gpuWorkers}` });
      }
      return;
    }
    const devs = h.inventory.devices;
    if (devs.length === 0) {
      errors.push({ path: `${hp}.gpuWorkers`, message: `host "${h.id}" has no GPUs (${hp}.gpus lists none) and cannot carry ${h.gpuWorkers} GPU workers` });
      return;
    }
    const need = h.gpuWorkers * req.count;
    if (need > devs.length) {
      errors.push({
        path: `${hp}.gpuWorkers`,
        message: `${h.gpuWorkers} GPU workers × ${req.count} GPUs need ${need} devices; host "${h.id}" has ${devs.length} (${hp}.gpus): at most ${Math.floor(devs.length / req.count)} GPU workers`,
      });
      return;
    }
    placed[h.id] = [];
    for (let k = 0; k < h.gpuWorkers; k++) {
      const mine = devs.slice(k * req.count, (k + 1) * req.count);
      placed[h.id].push({
        pciIds: mine.map((d) => d.pciId),
        models: mine.map((d) => d.model),
        count: req.count,
        mmioSizeGiB: profile.mmioSizeGiB ?? mmioSizeGiB(mine.reduce((s, d) => s + d.memoryGiB, 0)),
      });
    }
  });
  // The VM resource has pciDeviceIds only; a vGPU needs the Tanzu back end's VM classes.
  if (profile.request.kind === "vgpu") {
    errors.push({
      path: `${paths.profile}.vgpuProfile`,
      message:
        "vSphere's VirtualMachine resource (pulumi-vsphere 4.17.0) has no vGPU input, only pciDeviceIds for passthrough: " +
        "give kubeadm GPU workers whole GPUs (gpus: <n>), or use the Tanzu back end, whose VM classes carry vGPU profiles (vgpuDevices)",
    });
  }
  return { placed, errors };
}

/** The VirtualMachine inputs a passthrough GPU VM adds (names as in schemas/vsphere/schema.json). */
export interface GpuVmInputs {
  pciDeviceIds: string[];
  memoryReservation: number;
  memoryReservationLockedToMax: true;
  firmware: "efi";
  extraConfig: Record<string, string>;
}

export function gpuVmInputs(memoryMiB: number, gpus: SlotGpus): GpuVmInputs {
  return {
    pciDeviceIds: [...gpus.pciIds],
    memoryReservation: memoryMiB,
    memoryReservationLockedToMax: true,
    firmware: "efi",
    extraConfig: { "pciPassthru.use64bitMMIO": "TRUE", "pciPassthru.64bitMMIOSizeGB": String(gpus.mmioSizeGiB) },
  };
}
