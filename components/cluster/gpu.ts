/**
 * GPU nodes in Kubernetes, pure: how a GPU worker is labelled and tainted from its first boot, and
 * the NVIDIA device plugin that makes its GPUs schedulable as `nvidia.com/gpu`.
 *
 * - Label `nvidia.com/gpu.present=true`: the NVIDIA device plugin chart's default node affinity
 *   accepts it ("We allow a GPU deployment to be forced by setting the following label to true";
 *   NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/values.yaml, `affinity`), so the
 *   plugin runs on GPU workers without Node Feature Discovery. A kubelet may set labels outside the
 *   kubernetes.io / k8s.io namespaces on its own Node (NodeRestriction), so `--node-labels` works.
 * - Taint `nvidia.com/gpu=present:NoSchedule`: the chart tolerates `nvidia.com/gpu` (Exists,
 *   NoSchedule) and its NFD worker `nvidia.com/gpu=present:NoSchedule` (same values.yaml); CPU
 *   executors, the History Server and the add-ons' Deployments do not, so they stay off GPU workers.
 *   Set at registration (kubeadm `nodeRegistration.taints`), so no pod lands before it.
 * - The chart's DaemonSet requests nothing: values.yaml `resources: {}`; `gfd.enabled: false`,
 *   `nfd` only with gfd. Its pod is tabled like the CNI's (components/cluster/add-ons.ts) so the room
 *   on a GPU node counts it.
 */
import { AddOnPod, podRequests } from "./add-ons";
import type { WorkerPool } from "./backend";
import type { KubernetesSettings } from "./settings";
import type { ClusterNode } from "./types";
import { workerPool } from "./worker-pool";
import type { NodeShape } from "./allocatable";

export const GPU_RESOURCE = "nvidia.com/gpu";
export const GPU_NODE_LABEL = { key: "nvidia.com/gpu.present", value: "true" } as const;
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" } as const;

/** The toleration a pod needs to run on GPU workers (matches GPU_TAINT exactly). */
export const GPU_TOLERATION = { key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect } as const;

/** The NVIDIA device plugin Helm chart, pinned (installed only when the cluster has GPU workers). */
export const DEVICE_PLUGIN_CHART = {
  chart: "nvidia-device-plugin",
  version: "0.17.1",
  repo: "https://nvidia.github.io/k8s-device-plugin",
  namespace: "nvidia-device-plugin",
} as const;

/** The device plugin's DaemonSet pod as the chart renders it by default (no requests). */
export const DEVICE_PLUGIN_POD: AddOnPod = {
  name: "nvidia-device-plugin",
  kind: "DaemonSet",
  replicas: 1,
  initContainers: [],
  containers: [{ name: "nvidia-device-plugin-ctr", cpuMilli: 0, memoryMiB: 0 }],
  source: "NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/values.yaml resources: {} (chart 0.17.x)",
};

/** kubeadm `nodeRegistration` additions for a GPU worker: the taint, and the label as a kubelet flag. */
export function gpuNodeRegistration(kubeadmApi: string): Record<string, unknown> {
  const labels = `${GPU_NODE_LABEL.key}=${GPU_NODE_LABEL.value}`;
  // v1beta4 lists extra args as {name, value}; v1beta3 as a map (kubeadm API docs of each version).
  const kubeletExtraArgs = kubeadmApi.endsWith("v1beta4") ? [{ name: "node-labels", value: labels }] : { "node-labels": labels };
  return { taints: [{ ...GPU_TAINT }], kubeletExtraArgs };
}

/** Helm values for the chart: the default affinity and tolerations are what the GPU nodes carry; nothing else changes. */
export function devicePluginValues(): Record<string, unknown> {
  return {};
}

/** A GPU node's shape for the pool: its VM size (and scratch disk) and the GPUs it advertises. */
export type GpuNodeShape = NodeShape & Pick<ClusterNode, "gpus">;

/**
 * The GPU workers' pool: their shape as workerPool decides it (the smallest decides), the GPU
 * DaemonSets' pods added to the DaemonSets' requests, and the GPUs each node advertises (the fewest
 * of any GPU node). The GPU DaemonSets are the back end's: the device plugin this stack installs on
 * kubeadm (the default), the NVIDIA GPU Operator's node pods on Tanzu (components/tanzu/gpu.ts).
 */
export function gpuWorkerPool(
  nodes: readonly GpuNodeShape[],
  settings: Pick<KubernetesSettings, "kubelet" | "workerDaemonSetRequests" | "kernelReservation" | "cni">,
  gpuDaemonSets: readonly AddOnPod[] = [DEVICE_PLUGIN_POD],
): Omit<WorkerPool, "gpuWorkers"> & { gpusPerNode: number } {
  const pool = workerPool(nodes, settings);
  const daemons = gpuDaemonSets.map(podRequests).reduce((a, r) => ({ cpuMilli: a.cpuMilli + r.cpuMilli, memoryMiB: a.memoryMiB + r.memoryMiB }), { cpuMilli: 0, memoryMiB: 0 });
  return {
    ...pool,
    // In millicores first, so binary fractions do not add up to a stray 0.30000000000000004.
    daemonSetRequests: { cpu: Math.round(pool.daemonSetRequests.cpu * 1000 + daemons.cpuMilli) / 1000, memoryMiB: pool.daemonSetRequests.memoryMiB + daemons.memoryMiB },
    gpusPerNode: Math.min(...nodes.map((n) => n.gpus ?? 0)),
  };
}
