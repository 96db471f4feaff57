/**
 * The Tanzu back end's decisions for the offline plan and the Spark layer, pure: the worker pool
 * handed through the seam and the `BackendPlan` (namespace, classes, node pools, capacity, the
 * rendered cluster manifest).
 */
import { stringify } from "yaml";
import type { ApiEndpoint, BackendPlan, WorkerPool } from "../cluster/backend";
import { workerPool } from "../cluster/worker-pool";
import { KUBELET_ROOT } from "../cluster/scratch";
import { DEFAULT_KUBERNETES_SETTINGS, type KubernetesSettings } from "../cluster/settings";
import { throwIfErrors } from "../validation";
import type { TanzuContext, TanzuSettings } from "./types";
import { namespaceSpec, renderWorkloadCluster } from "./render";
import { classNameOf, vmClassArgs } from "./vm-classes";
import { tanzuCapacity } from "./capacity";
import { checkRollout, rolloutState, type TanzuRolloutState } from "./rollout";
import { GPU_OPERATOR_NFD_WORKER, TANZU_GPU_PREREQUISITE, tanzuGpuWorkers, tanzuGpuWorkersKey, vgpuPools } from "./gpu";
import { podRequests } from "../cluster/add-ons";
import { releaseMinor } from "./settings";

/**
 * The workers executors run on: the Spark pool's replicas (an autoscaled pool's minimum, what always
 * exists) and VM class, through the cluster layer's
 * `workerPool` (the same allocatable model and DaemonSet requests as the kubeadm back end), so the
 * same worker shape gives the same sizing. The vGPU pools' nodes are the GPU workers (gpu.ts,
 * `tanzuGpuWorkers`), sized the same way; `gpuWorkersKey` names the Tanzu keys that add them.
 */
export function tanzuWorkerPool(settings: TanzuSettings, kubernetes: KubernetesSettings = DEFAULT_KUBERNETES_SETTINGS): WorkerPool {
  const pool = settings.cluster.nodePools.find((p) => p.name === settings.cluster.sparkPool);
  if (!pool) throw new Error(`no node pool "${settings.cluster.sparkPool}"`);
  const spec = settings.vmClasses[pool.vmClass];
  if (!spec) throw new Error(`no VM class "${pool.vmClass}"`);
  // A node-pool volume at /var/lib/kubelet holds the emptyDirs: the executors' scratch space.
  const kubeletVolume = pool.volumes.find((v) => v.mountPath === KUBELET_ROOT);
  const cpu = workerPool(Array.from({ length: pool.replicas }, () => ({ cpus: spec.cpus, memoryMiB: spec.memoryMiB, scratchDiskGiB: kubeletVolume?.capacityGiB })), kubernetes);
  // With a vGPU pool the GPU Operator runs (a prerequisite, gpu.ts): its NFD worker is on every node, the CPU workers too.
  const nfd = vgpuPools(settings).length > 0 ? podRequests(GPU_OPERATOR_NFD_WORKER) : { cpuMilli: 0, memoryMiB: 0 };
  const gpuWorkers = tanzuGpuWorkers(settings, kubernetes);
  return {
    ...cpu,
    daemonSetRequests: { cpu: Math.round(cpu.daemonSetRequests.cpu * 1000 + nfd.cpuMilli) / 1000, memoryMiB: cpu.daemonSetRequests.memoryMiB + nfd.memoryMiB },
    ...(gpuWorkers ? { gpuWorkers } : {}),
    gpuWorkersKey: tanzuGpuWorkersKey(),
  };
}

/**
 * What NVIDIA validated the GPU Operator on for VKS (NVIDIA/cloud-native-docs
 * `gpu-operator/platform-support.rst` at e8832910, "Bare Metal / Virtual Machines with GPU
 * Passthrough and NVIDIA vGPU", column "VMware vSphere Kubernetes Service (VKS)"): Ubuntu 22.04,
 * 24.04 and 26.04 nodes, Kubernetes 1.33 to 1.36; no Photon row.
 */
export const GPU_OPERATOR_VKS_SUPPORT = { os: "ubuntu", minMinor: 33, maxMinor: 36 } as const;

/** Warnings for a cluster with vGPU pools outside what the GPU Operator (the prerequisite, gpu.ts) is validated on. */
export function vgpuNodeWarnings(settings: TanzuSettings): string[] {
  if (vgpuPools(settings).length === 0) return [];
  const c = settings.cluster;
  const out: string[] = [];
  const v = GPU_OPERATOR_VKS_SUPPORT;
  if (c.os?.name !== v.os)
    out.push(`the NVIDIA GPU Operator is validated on VKS with Ubuntu nodes only (no Photon): set tanzu.cluster.os.name: ubuntu (the nodes now boot ${c.os ? c.os.name : "the release's default OS"})`);
  const minor = releaseMinor(c.release);
  if (minor !== undefined && (minor < v.minMinor || minor > v.maxMinor))
    out.push(`the current NVIDIA GPU Operator (v26.7.0) is validated on VKS for Kubernetes 1.${v.minMinor} to 1.${v.maxMinor}, and the release is 1.${minor}: use an operator version NVIDIA lists for 1.${minor}, or a newer release`);
  return out;
}

/**
 * How far the plan's allocatable per worker is VKS's own, by the API in use. Only the nested
 * ClusterClass variables have a kubelet reservation (`resourceConfiguration.systemReserved`,
 * schemas/tanzu/clusterclass-variables-nested.json, from VMware's published examples); the flat
 * generation's variables and the TanzuKubernetesCluster have none (neither schema has a reserved or
 * kubelet field), so their nodes keep the ClusterClass's own reservations. In no generation are
 * VKS's eviction thresholds and system DaemonSets public: the DaemonSet and eviction share is the
 * Kubernetes layer's model everywhere.
 */
export function allocatableBasis(settings: TanzuSettings): { reservationsApplied: boolean; note: string } {
  const c = settings.cluster;
  if (c.api === "cluster" && c.variables === "nested")
    return {
      reservationsApplied: true,
      note: "the nodes reserve what the model subtracts (resourceConfiguration.systemReserved, automatic: false); VKS's eviction thresholds and DaemonSets are not public, so the rest is the model's: compare `kubectl describe node` on one worker",
    };
  const what = c.api === "tkc" ? "a TanzuKubernetesCluster" : "the flat ClusterClass variables";
  return {
    reservationsApplied: false,
    note: `the allocatable is an ESTIMATE: ${what} cannot set the kubelet's reservations, so the nodes keep the ClusterClass's own; compare \`kubectl describe node\` on one worker and set spark.nodeAllocatable when they differ`,
  };
}

/**
 * Broadcom KB 311962 (https://knowledge.broadcom.com/external/article?articleNumber=311962), "a known
 * bug introduced by the Image Registry Service feature starting in vCenter 8.0u2", "fixed in the
 * vCenter 8.0.2 MP1 release"; the fix is in the Image Registry Operator on the Supervisor, so the
 * Supervisor must be upgraded to get it. The condition: "when the same local content library is
 * associated with multiple namespaces, deleting any of those namespaces or unlinking the local
 * content library from one of the namespaces will lead to the deletion of all templates from that
 * local content library"; without them the Supervisor cannot list VM images or Kubernetes releases,
 * so no node can be created (new clusters, scaling, rolling updates).
 *
 * What the stack can know: which libraries this namespace links (`namespace.contentLibraries`) and,
 * given the previous state, whether this update unlinks one or deletes the namespace (a
 * `namespace.name` change deletes and re-creates it). What it cannot know, so it can only warn:
 * whether a library is LOCAL (the vSphere provider's `getContentLibrary` returns only `id` and
 * `name`, schemas/vsphere `vsphere:index/getContentLibrary:getContentLibrary`), whether other
 * namespaces link it (they are not this stack's), and the vCenter/Supervisor version.
 */
export const CONTENT_LIBRARY_8U2_WARNING =
  "namespace.contentLibraries: if one of these is a LOCAL content library that other vSphere Namespaces link too, then on vCenter 8.0 Update 2 whose Supervisor lacks the 8.0.2 MP1 fix, " +
  "unlinking it from this namespace (removing it from the list) or deleting this namespace (a namespace.name change, or pulumi destroy) deletes ALL the library's templates, for every namespace, " +
  "and the Supervisor then lists no VM images or Kubernetes releases from it (Broadcom KB 311962). The stack cannot see whether a library is local or who else links it: " +
  "use a subscribed library, or upgrade vCenter and the Supervisor to 8.0.2 MP1 or later first";

/** What the previous update applied to the namespace, as far as the KB 311962 warning needs it. */
export interface NamespaceLinkState {
  namespace?: string;
  contentLibraries?: string[];
}

/**
 * The KB 311962 warnings of an update, pure: none when no library is or was linked; the general
 * warning while libraries are linked; and, when the previous state is known, one naming what this
 * update does that triggers the bug (libraries unlinked, or the namespace deleted by a rename).
 */
export function contentLibraryWarnings(settings: TanzuSettings, previous?: NamespaceLinkState): string[] {
  const now = settings.namespace.contentLibraries;
  const out: string[] = [];
  const before = previous?.contentLibraries;
  const renamed = previous?.namespace !== undefined && previous.namespace !== settings.namespace.name;
  if (before && before.length > 0) {
    const kb = "if it is a LOCAL library other namespaces link too and vCenter 8.0 Update 2's Supervisor lacks the 8.0.2 MP1 fix, all its templates are deleted, for every namespace (Broadcom KB 311962)";
    if (renamed)
      out.push(`this update deletes vSphere Namespace ${previous!.namespace} (namespace.name is now ${settings.namespace.name}), which links ${before.join(", ")}: ${kb}`);
    else {
      const unlinked = before.filter((l) => !now.includes(l));
      if (unlinked.length > 0) out.push(`this update unlinks ${unlinked.join(", ")} from vSphere Namespace ${settings.namespace.name} (removed from namespace.contentLibraries): ${kb}`);
    }
  }
  if (now.length > 0) out.push(CONTENT_LIBRARY_8U2_WARNING);
  return out;
}

/**
 * `api: tkc`: the TanzuKubernetesCluster API is deprecated since TKG Service 3.2 (VMware's TKG
 * Service 3.2 release notes; the Cluster API `Cluster` on a ClusterClass is its successor).
 */
export const TKC_DEPRECATION_WARNING =
  "api: tkc (TanzuKubernetesCluster) is deprecated since TKG Service 3.2: use api: cluster (a Cluster API Cluster on the builtin-generic ClusterClass)";

/** The workload cluster's API: its address is assigned by the Supervisor's load balancer at creation. */
export const TANZU_ENDPOINT: ApiEndpoint = { kind: "supervisor-lb", address: "(assigned by the Supervisor)", port: 6443 };

/** The rendered workload cluster as one multi-document YAML (what `--out` writes, kind `manifest`). */
export function workloadClusterYaml(settings: TanzuSettings, kubernetes: KubernetesSettings = DEFAULT_KUBERNETES_SETTINGS): string {
  return renderWorkloadCluster(settings, kubernetes.kubelet).map((m) => stringify(m, { lineWidth: 0 })).join("---\n");
}

/**
 * The plan of the Tanzu back end. `previous` is the last applied rollout state when known: the plan
 * then refuses a release change together with a replica change (see rollout.ts).
 */
export function planTanzu(
  settings: TanzuSettings,
  kubernetes: KubernetesSettings = DEFAULT_KUBERNETES_SETTINGS,
  options: { previous?: TanzuRolloutState; context?: TanzuContext; path?: string } = {},
): BackendPlan {
  throwIfErrors(checkRollout(options.previous, rolloutState(settings), options.path));
  const c = settings.cluster;
  const workerPool = tanzuWorkerPool(settings, kubernetes);
  const capacity = tanzuCapacity(settings, options.context);
  const ns = namespaceSpec(settings);
  const classes = Object.entries(settings.vmClasses).map(([key, spec]) => ({ key, ...vmClassArgs(settings.namespace.name, key, spec), ...(spec.existing ? { existing: true } : {}) }));
  const pools = c.nodePools.map((p) => ({ ...p, vmClassName: classNameOf(settings, p.vmClass) }));
  const request = c.api === "tkc" ? "TanzuKubernetesCluster run.tanzu.vmware.com/v1alpha3" : `Cluster cluster.x-k8s.io/v1beta1, class ${c.clusterClass}${c.classNamespace ? ` (in ${c.classNamespace})` : ""}, ${c.variables} variables`;
  const gib = (mib: number) => `${+(mib / 1024).toFixed(1)} GiB`;
  const basis = allocatableBasis(settings);
  const sparkAuto = c.nodePools.find((p) => p.name === c.sparkPool)?.autoscale;
  // The vGPU pools: where GPU executors (spark.gpu) run, and what must run there first.
  const gpuPools = vgpuPools(settings);
  const gw = workerPool.gpuWorkers;
  const gpu = gpuPools.length > 0
    ? {
        pools: gpuPools.map((p) => ({ name: p.name, replicas: p.replicas, ...(p.autoscale ? { autoscale: p.autoscale } : {}), vmClass: classNameOf(settings, p.vmClass), vgpuDevices: [...settings.vmClasses[p.vmClass].vgpuDevices!] })),
        ...(gw ? { workers: gw.count, gpusPerNode: gw.gpusPerNode } : {}),
        prerequisite: TANZU_GPU_PREREQUISITE,
        warnings: vgpuNodeWarnings(settings),
      }
    : undefined;
  const gpuText = gpu
    ? [
        `  GPU workers (spark.gpu): pool${gpuPools.length > 1 ? "s" : ""} ${gpuPools.map((p) => `${p.name} (${p.autoscale ? `the autoscaler's minimum ${p.autoscale.min} of ${p.autoscale.min}..${p.autoscale.max}` : p.replicas} × vGPU ${settings.vmClasses[p.vmClass].vgpuDevices!.join(" + ")})`).join(", ")}: ` +
          (gw ? `${gw.count} × allocatable ${gw.allocatable.cpu} CPU, ${gw.allocatable.memoryMiB} MiB, ${gw.gpusPerNode} × nvidia.com/gpu; tainted nvidia.com/gpu=present:NoSchedule` : "no replicas, so no GPU workers"),
        `    PREREQUISITE: ${TANZU_GPU_PREREQUISITE}`,
        ...vgpuNodeWarnings(settings).map((w) => `    WARNING: ${w}`),
      ]
    : [];
  const text = [
    `Tanzu: Supervisor ${settings.supervisor.id} at ${settings.supervisor.address}:${settings.supervisor.port} (${settings.supervisor.access} access)`,
    `  vSphere Namespace ${ns.name}: storage policies ${ns.storagePolicies.join(", ")}; VM Service content libraries ${ns.contentLibraries.join(", ") || "(none)"}`,
    `  Kubernetes releases: ${settings.supervisor.releaseLibrary ? `library "${settings.supervisor.releaseLibrary}"` : "the library"} set in the Supervisor's TKG Service settings (not per namespace; \`kubectl get kr\` lists what it offers)`,
    ...contentLibraryWarnings(settings, options.previous).map((w) => `  WARNING: ${w}`),
    ...(c.api === "tkc" ? [`  WARNING: ${TKC_DEPRECATION_WARNING}`] : []),
    ...(capacity.limits
      ? [`  limits: cpu ${capacity.limits.cpuMHz ?? "unlimited"} MHz, memory ${capacity.limits.memoryMiB === undefined ? "unlimited" : gib(capacity.limits.memoryMiB)}, storage ${capacity.limits.storageMiB === undefined ? "unlimited" : gib(capacity.limits.storageMiB)}`]
      : []),
    `  access: ${ns.access.length === 0 ? "SSO administrators only (namespace.access grants none)" : ns.access.map((g) => `${g.type.toLowerCase()} ${g.subject}@${g.domain} ${g.role}`).join(", ")}`,
    `  VM classes: ${classes.map((k) => `${k.name} (${k.cpus} vCPU, ${gib(k.memory)}${k.existing ? ", existing: adopted, never created or deleted here" : ""})`).join(", ")}`,
    `  cluster ${c.name}: ${request}, release ${c.release}`,
    ...capacity.rows.map((r) => {
      const auto = c.nodePools.find((p) => p.name === r.pool)?.autoscale;
      return `    ${r.pool}: ${auto ? `${auto.min}..${auto.max} (Cluster Autoscaler; capacity counts ${auto.max})` : r.replicas} × ${r.vmClass}${r.volumeGiB ? ` + ${r.volumeGiB} GiB volumes` : ""}`;
    }),
    ...(c.ntpServers.length > 0 || c.os ? [`  nodes: ${[c.os ? `OS ${c.os.name}${c.os.version ? ` ${c.os.version}` : ""}` : "", c.ntpServers.length > 0 ? `NTP ${c.ntpServers.join(", ")}` : ""].filter(Boolean).join("; ")}`] : []),
    `  total: ${capacity.total.vms} VMs, ${capacity.total.cpus} vCPU, ${gib(capacity.total.memoryMiB)}` +
      (capacity.hosts ? ` of ${capacity.hosts.cpuThreads} threads, ${gib(capacity.hosts.memoryMiB)} on ${capacity.hosts.count} hosts` : ""),
    `  rolling update peak (maxSurge 1 per pool and control plane, what limits and hosts are held to): ${capacity.peak.vms} VMs, ${capacity.peak.cpus} vCPU, ${gib(capacity.peak.memoryMiB)}, ${capacity.peak.volumeGiB} GiB node volumes`,
    `  Spark runs on pool ${c.sparkPool}: ${workerPool.count} × allocatable ${workerPool.allocatable.cpu} CPU, ${workerPool.allocatable.memoryMiB} MiB` +
      (sparkAuto ? ` (the autoscaler's minimum, what executors can count on; it may add up to ${sparkAuto.max - sparkAuto.min} more)` : ""),
    `    ${basis.note}`,
    ...gpuText,
  ];
  return {
    backend: "tanzu",
    endpoint: { ...TANZU_ENDPOINT },
    workerPool,
    hosts: [],
    artifacts: [{ path: `tanzu/${c.name}.yaml`, kind: "manifest", content: workloadClusterYaml(settings, kubernetes) }],
    sections: {
      tanzu: {
        supervisor: { id: settings.supervisor.id, address: settings.supervisor.address, port: settings.supervisor.port, access: settings.supervisor.access },
        namespace: ns,
        limits: capacity.limits,
        classes,
        cluster: { name: c.name, api: c.api, clusterClass: c.clusterClass, classNamespace: c.classNamespace, variables: c.variables, release: c.release },
        controlPlane: c.controlPlane,
        nodePools: pools,
        sparkPool: c.sparkPool,
        ...(gpu ? { gpu } : {}),
        allocatable: basis,
        capacity,
        rollout: rolloutState(settings),
      },
    },
    text,
  };
}
