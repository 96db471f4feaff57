/**
 * vGPU VM classes and GPU node pools on the Tanzu back end, pure.
 *
 * A VM class carries NVIDIA vGPU profiles as `vsphere:index/virtualMachineClass:VirtualMachineClass.
 * vgpuDevices` ("The identifiers of the vGPU devices for the class. If this is set memory reservation
 * needs to be 100."; pulumi-vsphere 4.17.0 schema, terraform-provider-vsphere
 * `vsphere/resource_vsphere_virtual_machine_class.go`, `vgpu_devices`). vm-operator then gives each
 * VM of the class those devices, and sets the 64-bit MMIO window itself for TKG worker nodes
 * (F. Denneman, "vSphere ML Accelerator Spectrum Deep Dive", 2023: "Set automatically for TKG worker
 * nodes").
 *
 * A node pool of such a class is a GPU pool: its nodes carry the GPU label and taint of the kubeadm
 * back end (components/cluster/gpu.ts) from creation (Cluster API copies a MachineDeployment's
 * taints and labels to its nodes), so CPU executors stay off them and GPU executors find them.
 */
import type { ConfigReader, Obj } from "../config-reader";
import { GPU_NODE_LABEL, GPU_TAINT } from "../cluster/gpu";
import { vgpuProfileProblem } from "../vsphere/gpu";
import type { NodePoolSettings, VmClassSpec } from "./types";

/** Reads `vmClasses.<key>.vgpuDevices` into `spec`; a vGPU class reserves all its memory (100, the default then). */
export function readVmClassGpu(r: ConfigReader, x: Obj, p: string, spec: VmClassSpec): void {
  if (x.vgpuDevices === undefined) return;
  const devices = r.stringList(x, "vgpuDevices", p, [], vgpuProfileProblem);
  if (Array.isArray(x.vgpuDevices) && x.vgpuDevices.length === 0) r.err(`${p}.vgpuDevices`, "lists no vGPU profile (leave it out for a class without GPUs)");
  if (spec.memoryReservation !== undefined && spec.memoryReservation !== 100) {
    r.err(`${p}.memoryReservation`, `must be 100 with vgpuDevices (the provider: "If this is set memory reservation needs to be 100"), got ${spec.memoryReservation}`);
  }
  if (x.existing !== undefined) return r.err(`${p}.vgpuDevices`, "cannot be set with existing (the adopted class keeps its own devices)");
  if (devices.length > 0) {
    spec.vgpuDevices = devices;
    spec.memoryReservation = 100;
  }
}

/** The class-name suffix of a vGPU class: its profiles, DNS-safe (`grid_a100-40c` → `grid-a100-40c`). */
export function vgpuNameSuffix(spec: VmClassSpec): string {
  return spec.vgpuDevices?.length ? `-${spec.vgpuDevices.map((d) => d.toLowerCase().replace(/_/g, "-")).join("-")}` : "";
}

/** A node pool of a vGPU class gets the GPU label and taint (kept beside the user's own). */
export function gpuNodePool(pool: NodePoolSettings, classes: Record<string, VmClassSpec>): NodePoolSettings {
  if (!classes[pool.vmClass]?.vgpuDevices?.length) return pool;
  const taints = pool.taints.some((t) => t.key === GPU_TAINT.key) ? pool.taints : [...pool.taints, { ...GPU_TAINT }];
  return { ...pool, labels: { ...pool.labels, [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value }, taints };
}
