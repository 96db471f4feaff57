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
import { GPU_NODE_LABEL, GPU_TAINT, gpuWorkerPool } from "../cluster/gpu";
import type { AddOnPod } from "../cluster/add-ons";
import type { WorkerPool } from "../cluster/backend";
import { KUBELET_ROOT } from "../cluster/scratch";
import type { KubernetesSettings } from "../cluster/settings";
import { vgpuProfileProblem } from "../vsphere/gpu";
import type { NodePoolSettings, TanzuSettings, VmClassSpec } from "./types";

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

/**
 * How a vGPU node comes to advertise `nvidia.com/gpu` on a VKS cluster, and what it runs for it.
 *
 * The device plugin alone (the chart the kubeadm back end installs, components/cluster/gpu.ts) only
 * counts GPUs that a loaded NVIDIA driver and the NVIDIA container toolkit expose; a VKS node boots
 * VMware's release image, which has neither. For vGPU the guest driver is NVIDIA's licensed vGPU
 * guest driver: NVIDIA's documented way on vSphere with Tanzu / VKS is the NVIDIA GPU Operator with
 * that driver as a container image and an NVIDIA License System client token
 * (NVIDIA/cloud-native-docs `gpu-operator/install-gpu-operator-vgpu.rst` at dcec175e: "NVIDIA vGPU is
 * only supported with the NVIDIA License System", the driver image built from the licensed
 * `*-grid.run` and pushed to a private registry, "Uploading the NVIDIA vGPU driver to a publicly
 * available repository ... is a violation of the NVIDIA vGPU EULA", the `licensing-config` Secret of
 * `gridd.conf` and `client_configuration_token.tok`, `driver.licensingConfig.secretName`;
 * `gpu-operator/install-gpu-operator-nvaie.rst` at 1761006d: the prebuilt vGPU driver image "is only
 * available to NVIDIA AI Enterprise customers" and "Installations on virtualization platforms must
 * use the vGPU driver installation"), and VMware's Private AI Foundation architecture names the
 * GPU Operator "deployed on a TKG cluster" (VCF 5.2 documentation, "VMware Private AI Foundation
 * with NVIDIA" components). The Operator brings its own device plugin, so the kubeadm back end's
 * chart is not installed here (two plugins would register the same resource). Neither the driver
 * nor the licence can be provided by this stack: the GPU Operator is a prerequisite.
 */
export const TANZU_GPU_PREREQUISITE =
  "vGPU nodes advertise nvidia.com/gpu only once the NVIDIA GPU Operator runs on the workload cluster with NVIDIA's vGPU guest driver image (NVIDIA AI Enterprise, from your private registry) and an NVIDIA License System client token (the licensing-config Secret); this stack installs neither (see README, GPU workers)";

/**
 * The GPU Operator's node pods as its chart renders them by default (NVIDIA/gpu-operator
 * `deployments/gpu-operator/values.yaml` at v26.7.0, 10ee5b36): `resources: {}` for the driver,
 * toolkit, device plugin, GPU feature discovery, DCGM exporter, validator and MIG manager; the
 * node-feature-discovery subchart (0.19.0, `charts/node-feature-discovery/values.yaml`) requests
 * cpu 5m, memory 64Mi for its worker, which tolerates `nvidia.com/gpu` and runs on every node. The
 * Operator's own Deployment (200m / 100Mi) prefers the control plane and does not tolerate the
 * GPU taint.
 */
const none = (name: string): AddOnPod => ({ name, kind: "DaemonSet", replicas: 1, initContainers: [], containers: [{ name, cpuMilli: 0, memoryMiB: 0 }], source: "NVIDIA/gpu-operator deployments/gpu-operator/values.yaml resources: {} (v26.7.0)" });
export const GPU_OPERATOR_NFD_WORKER: AddOnPod = {
  name: "nfd-worker",
  kind: "DaemonSet",
  replicas: 1,
  initContainers: [],
  containers: [{ name: "nfd-worker", cpuMilli: 5, memoryMiB: 64 }],
  source: "NVIDIA/gpu-operator deployments/gpu-operator/charts/node-feature-discovery/values.yaml worker.resources.requests (v26.7.0, subchart 0.19.0)",
};
export const GPU_OPERATOR_GPU_NODE_PODS: readonly AddOnPod[] = [
  none("nvidia-driver-daemonset"),
  none("nvidia-container-toolkit-daemonset"),
  none("nvidia-device-plugin-daemonset"),
  none("gpu-feature-discovery"),
  none("nvidia-dcgm-exporter"),
  none("nvidia-operator-validator"),
  GPU_OPERATOR_NFD_WORKER,
];

/** The node pools of vGPU classes, in the order listed. */
export function vgpuPools(settings: TanzuSettings): NodePoolSettings[] {
  return settings.cluster.nodePools.filter((p) => (settings.vmClasses[p.vmClass]?.vgpuDevices?.length ?? 0) > 0);
}

/** Where a Tanzu stack gets GPU workers, for the error when `spark.gpu` finds none. */
export function tanzuGpuWorkersKey(path = "vsphere-spark:tanzu"): string {
  return `${path}.vmClasses.<class>.vgpuDevices (and a node pool of that class in ${path}.cluster.nodePools, replicas at least 1)`;
}

/**
 * The GPU workers of a Tanzu cluster: every node of the vGPU pools (an autoscaled pool at its
 * minimum, what always exists, as the CPU pool), each with its class's vCPUs and memory, the pool's
 * /var/lib/kubelet volume, and as many GPUs as its class has vGPU devices (one `nvidia.com/gpu`
 * per vGPU device). The allocatable is the Kubernetes layer's model, as for the CPU pool, with the
 * GPU Operator's node pods among the DaemonSets. Absent: no vGPU pool, or none with replicas.
 */
export function tanzuGpuWorkers(settings: TanzuSettings, kubernetes: Pick<KubernetesSettings, "kubelet" | "workerDaemonSetRequests" | "kernelReservation" | "cni">): WorkerPool["gpuWorkers"] {
  const nodes = vgpuPools(settings).flatMap((p) => {
    const spec = settings.vmClasses[p.vmClass];
    const scratch = p.volumes.find((v) => v.mountPath === KUBELET_ROOT)?.capacityGiB;
    return Array.from({ length: p.replicas }, () => ({ cpus: spec.cpus, memoryMiB: spec.memoryMiB, scratchDiskGiB: scratch, gpus: spec.vgpuDevices!.length }));
  });
  return nodes.length > 0 ? gpuWorkerPool(nodes, kubernetes, GPU_OPERATOR_GPU_NODE_PODS) : undefined;
}
