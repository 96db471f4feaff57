/**
 * The lab's nodes, shaped as the stack decides them: what a kubelet would register for each VM of
 * the plan (capacity from the VM's vCPUs and MemTotal, allocatable as the kubelet computes it under
 * the rendered KubeletConfiguration, labels and taints as kubeadm sets them), and the DaemonSets
 * that run on every node. kwok (the stand-in for kubelets) keeps these Node objects Ready.
 */
import { kubeletConfiguration } from "../../components/cluster/kubeadm";
import { nodeMemoryCapacityMiB } from "../../components/cluster/node-capacity";
import type { KubernetesSettings } from "../../components/cluster/settings";
import { parseThreshold, requireQuantity } from "../../components/quantity";
import { AddOnPod, ContainerRequests, clusterAddOns } from "../../components/cluster/add-ons";
import { ext4CapacityMiB } from "../../components/cluster/scratch";
import type { StackDecisions } from "../../src/config/decisions";

/**
 * The kubelet's ephemeral-storage allocatable on its nodefs: capacity − kubeReserved − systemReserved
 * − the nodefs.available hard eviction threshold (node_container_manager_linux.go,
 * hardEvictionReservation: SignalNodeFsAvailable → ResourceEphemeralStorage), from the rendered
 * KubeletConfiguration. `capacityBytes`: the filesystem's size (statfs), here ext4's on the disk.
 */
export function kubeletEphemeralAllocatable(capacityBytes: number, kubeletConfig: Record<string, any>): number {
  const q = (v: unknown, what: string) => (v === undefined ? 0 : requireQuantity(String(v), what));
  let reserved = q(kubeletConfig.kubeReserved?.["ephemeral-storage"], "kubeReserved.ephemeral-storage") + q(kubeletConfig.systemReserved?.["ephemeral-storage"], "systemReserved.ephemeral-storage");
  const hard = kubeletConfig.evictionHard?.["nodefs.available"];
  if (hard !== undefined) {
    const t = parseThreshold(String(hard));
    if (!t) throw new Error(`evictionHard nodefs.available ${hard}`);
    reserved += t.kind === "percent" ? Math.trunc((capacityBytes * t.value) / 100) : t.value;
  }
  return Math.max(0, capacityBytes - reserved);
}

/** The VMs of a stack's plan that become nodes (workers and control planes). */
export function labVms(d: StackDecisions): LabVm[] {
  return d.cluster
    .plan()
    .hosts.flatMap((h) => h.vms)
    .filter((v) => v.role === "worker" || v.role === "control-plane")
    .map((v) => ({ name: v.name, role: v.role as LabVm["role"], cpus: v.cpus, memoryMiB: v.memoryMiB, ...(v.scratchDiskGiB ? { scratchDiskGiB: v.scratchDiskGiB } : {}) }));
}

export interface LabVm {
  name: string;
  role: "worker" | "control-plane";
  cpus: number;
  memoryMiB: number;
  /** A disk at /var/lib/kubelet: the kubelet's nodefs, so the node's ephemeral-storage. */
  scratchDiskGiB?: number;
}

type Doc = Record<string, any>;

/**
 * The kubelet's allocatable, from the KubeletConfiguration document the stack renders (not from the
 * plan's model): capacity − (kubeReserved + systemReserved + the hard eviction threshold), per
 * resource, never below zero. kubernetes pkg/kubelet/cm/node_container_manager_linux.go
 * (GetNodeAllocatableReservation: kube + system reserved + hard eviction for memory, a percentage of
 * capacity via evictionapi.GetThresholdQuantity) and pkg/kubelet/nodestatus/setters.go (MachineInfo:
 * allocatable = capacity − reservation, clamped at 0).
 */
export function kubeletAllocatable(capacity: { cpuMilli: number; memoryBytes: number }, kubeletConfig: Doc): { cpuMilli: number; memoryBytes: number } {
  const q = (v: unknown, what: string) => (v === undefined ? 0 : requireQuantity(String(v), what));
  const cpuReserved = q(kubeletConfig.kubeReserved?.cpu, "kubeReserved.cpu") + q(kubeletConfig.systemReserved?.cpu, "systemReserved.cpu");
  let memReserved = q(kubeletConfig.kubeReserved?.memory, "kubeReserved.memory") + q(kubeletConfig.systemReserved?.memory, "systemReserved.memory");
  const hard = kubeletConfig.evictionHard?.["memory.available"];
  if (hard !== undefined) {
    const t = parseThreshold(String(hard));
    if (!t) throw new Error(`evictionHard memory.available ${hard}`);
    // GetThresholdQuantity: int64(float64(capacity.Value()) * float64(percentage))
    memReserved += t.kind === "percent" ? Math.trunc((capacity.memoryBytes * t.value) / 100) : t.value;
  }
  return {
    cpuMilli: Math.max(0, capacity.cpuMilli - Math.round(cpuReserved * 1000)),
    memoryBytes: Math.max(0, capacity.memoryBytes - memReserved),
  };
}

/** The Node object a kubelet registers for `vm` (status included, as the kubelet's POST does). */
export function nodeObject(vm: LabVm, settings: KubernetesSettings, opts: { allocatableMemoryDeltaBytes?: number } = {}): Doc {
  // The kubelet's memory capacity is the guest's MemTotal: the VM's RAM less the kernel's share
  // (the model the boot lab measured; components/cluster/node-capacity.ts).
  const memoryBytes = nodeMemoryCapacityMiB(vm.memoryMiB, settings.kernelReservation) * 2 ** 20;
  const capacity = { cpuMilli: vm.cpus * 1000, memoryBytes };
  const alloc = kubeletAllocatable(capacity, kubeletConfiguration(settings));
  const allocMem = alloc.memoryBytes + (opts.allocatableMemoryDeltaBytes ?? 0);
  // nodefs: the scratch disk when /var/lib/kubelet is on it, else a 100 GiB boot disk.
  const fsBytes = (vm.scratchDiskGiB ? ext4CapacityMiB(vm.scratchDiskGiB) : 100 * 1024) * 2 ** 20;
  const ephemeral = { capacity: `${Math.floor(fsBytes / 1024)}Ki`, allocatable: `${Math.floor(kubeletEphemeralAllocatable(fsBytes, kubeletConfiguration(settings)) / 1024)}Ki` };
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": vm.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": "amd64",
  };
  const taints: Doc[] = [];
  if (vm.role === "control-plane") {
    // kubeadm's mark-control-plane phase.
    labels["node-role.kubernetes.io/control-plane"] = "";
    labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
    taints.push({ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" });
  }
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: vm.name, labels, annotations: { "vsphere-spark.lab/stand-in": "kwok plays this node's kubelet and containers" } },
    spec: { taints },
    status: {
      capacity: { cpu: `${capacity.cpuMilli}m`, memory: `${memoryBytes / 1024}Ki`, pods: "110", "ephemeral-storage": ephemeral.capacity },
      allocatable: { cpu: `${alloc.cpuMilli}m`, memory: `${Math.floor(allocMem / 1024)}Ki`, pods: "110", "ephemeral-storage": ephemeral.allocatable },
      nodeInfo: { kubeletVersion: "v1.34.4 (kwok stand-in)", architecture: "amd64", operatingSystem: "linux" },
    },
  };
}

/**
 * The DaemonSets on every node. kube-proxy as kubeadm deploys it (no requests). The CNI's chart
 * cannot be fetched here: one stand-in DaemonSet requests exactly what the stack budgets for the
 * CNI's and the other agents' pods on each worker (`kubernetes.workerDaemonSetRequests`), so the
 * scheduler sees the room the plan assumes they take.
 */
export function daemonSets(settings: KubernetesSettings): Doc[] {
  const ds = (name: string, requests: Record<string, string> | undefined, note: string): Doc => ({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "kube-system", annotations: { "vsphere-spark.lab/note": note } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          tolerations: [{ operator: "Exists" }],
          priorityClassName: "system-node-critical",
          containers: [{ name, image: `lab.invalid/${name}:stand-in`, ...(requests ? { resources: { requests } } : {}) }],
        },
      },
    },
  });
  return [
    ds("kube-proxy", undefined, "as kubeadm deploys it: no requests; its pods run under kwok"),
    ds("lab-daemonset-budget", { ...settings.workerDaemonSetRequests }, "stand-in for the CNI's and the agents' pods: requests the stack's kubernetes.workerDaemonSetRequests"),
  ];
}

/**
 * The add-ons the stack installs, as workloads with their real per-container requests (the table
 * read from the charts, components/cluster/add-ons.ts): the CNI's DaemonSet (init containers
 * included: the scheduler takes max(init, sum of containers)), kube-proxy, and the Deployments
 * (CoreDNS, the CNI's controller) with the control-plane toleration their manifests carry, so the
 * real scheduler places them on workers or control planes as it would.
 */
export function addOnWorkloads(settings: KubernetesSettings, extra: readonly AddOnPod[] = []): Doc[] {
  const res = (c: ContainerRequests) => {
    const requests: Record<string, string> = {};
    if (c.cpuMilli > 0) requests.cpu = `${c.cpuMilli}m`;
    if (c.memoryMiB > 0) requests.memory = `${c.memoryMiB}Mi`;
    return { name: c.name, image: `lab.invalid/${c.name}:stand-in`, ...(Object.keys(requests).length ? { resources: { requests } } : {}) };
  };
  return [...clusterAddOns(settings.cni.kind, settings.cni.version).pods, ...extra].map((p) => {
    const labels = { app: p.name };
    const daemon = p.kind === "DaemonSet";
    return {
      apiVersion: "apps/v1",
      kind: p.kind,
      metadata: { name: p.name, namespace: "kube-system", annotations: { "vsphere-spark.lab/source": p.source } },
      spec: {
        ...(daemon ? {} : { replicas: p.replicas }),
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            tolerations: daemon ? [{ operator: "Exists" }] : [{ key: "CriticalAddonsOnly", operator: "Exists" }, { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
            priorityClassName: daemon ? "system-node-critical" : "system-cluster-critical",
            ...(p.initContainers.length ? { initContainers: p.initContainers.map(res) } : {}),
            containers: p.containers.map(res),
          },
        },
      },
    };
  });
}
