/**
 * The cluster back end seam, as in Cluster API Provider vSphere (`pkg/services/interfaces.go`):
 * given its decided spec, a back end produces a cluster and hands out exactly what the layers above
 * need: a `k8s.Provider`, the API endpoint, the worker pool shape and its outputs. kubeadm on vSphere
 * VMs is one implementation, vSphere with Tanzu another; the Spark layer and the offline plan never
 * branch on which back end made the cluster.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Artifact } from "../artifacts";
import type { FieldError } from "../validation";

/**
 * The worker nodes executors run on, as the cluster layer decides them (plain values: they are
 * known before anything exists, so the plan and the Spark sizing can use them).
 */
export interface WorkerPool {
  /** Worker nodes that may run executors. */
  count: number;
  /** The worker VM's configured size. */
  vm: { cpus: number; memoryMiB: number };
  /** What the kubelet reports as allocatable on each worker (after the kernel's share and reservations). */
  allocatable: { cpu: number; memoryMiB: number };
  /** CPU and memory requested on each worker by DaemonSets (CNI, kube-proxy, CSI, agents). */
  daemonSetRequests: { cpu: number; memoryMiB: number };
  /**
   * CPU and memory of the cluster add-ons' other pods (CoreDNS, the CNI's controller: Deployments
   * whose replicas may be scheduled on any worker), summed: what one worker may have to hold
   * besides the DaemonSets. Absent: none.
   */
  addOnPods?: { cpu: number; memoryMiB: number };
  /**
   * A disk of each worker mounted at the kubelet's root directory (/var/lib/kubelet), where emptyDir
   * volumes live: the executors' scratch space. `allocatableMiB` is the node's ephemeral-storage
   * allocatable on it (components/cluster/scratch.ts). Absent: emptyDirs are on the boot disk.
   */
  scratchDisk?: { capacityGiB: number; allocatableMiB: number };
  /**
   * The GPU workers (tainted: only GPU executors run there), with the GPUs each advertises as
   * `nvidia.com/gpu` (components/cluster/gpu.ts, components/tanzu/gpu.ts for a vGPU node pool,
   * components/spark/gpu.ts). Absent: none.
   */
  gpuWorkers?: Omit<WorkerPool, "gpuWorkers" | "gpuWorkersKey"> & { gpusPerNode: number };
  /**
   * The configuration key that gives this back end GPU workers (kubeadm:
   * `vsphere-spark:hosts[i].gpuWorkers`; Tanzu: a node pool of a class with `vgpuDevices`), so a
   * layer above that needs them names the key of the stack's own back end. Absent: not known.
   */
  gpuWorkersKey?: string;
  /**
   * The failure domains the workers are spread over: each zone's `topology.kubernetes.io/zone` value,
   * its region and how many of the workers carry it. Absent: the cluster has no zones.
   */
  zones?: { name: string; region: string; workers: number }[];
}

/** The API endpoint users and nodes talk to. */
export interface ApiEndpoint {
  /** How it is served, e.g. `haproxy`, `kube-vip`, `external`, `supervisor-lb`. */
  kind: string;
  /** Host name or address (known before anything exists; for Tanzu the load balancer's, when set). */
  address: string;
  port: number;
}

/** What a created cluster hands to the layers above. */
export interface ClusterHandle {
  /** The cluster's Kubernetes provider; every resource above is created through it. */
  readonly provider: k8s.Provider;
  /** `host:port` of the Kubernetes API. */
  readonly apiEndpoint: pulumi.Output<string>;
  readonly workerPool: WorkerPool;
  /**
   * What the layers above must wait for (a `dependsOn`): the CNI release, and for kubeadm every node
   * Ready (an Output that resolves once the gate has passed).
   */
  readonly readyFor: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  /** Stack outputs this back end contributes (secrets stay secrets). */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
}

/** One host's allocation in the plan (back ends that place VMs on hosts report them). */
export interface PlannedVm {
  name: string;
  role: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** The second disk mounted at /var/lib/kubelet (absent: none). */
  scratchDiskGiB?: number;
  address: string;
}
export interface PlannedHost {
  id: string;
  name: string;
  cpuThreads: number;
  memoryMiB: number;
  allocated: { cpus: number; memoryMiB: number };
  vms: PlannedVm[];
  /** The host's failure domain and compute cluster (vSphere HA restarts VMs inside one compute cluster); absent without zones. */
  zone?: string;
  computeCluster?: string;
}

/** A back end's decisions as the offline plan shows them (pure; no resource exists). */
export interface BackendPlan {
  /** The back end's name, e.g. `kubeadm` or `tanzu`. */
  backend: string;
  endpoint: ApiEndpoint;
  workerPool: WorkerPool;
  /** Hosts and the VMs placed on them (empty when the back end does not place VMs itself). */
  hosts: PlannedHost[];
  /** Review copies of everything the back end renders (secrets replaced by placeholders). */
  artifacts: Artifact[];
  /** Further plan sections by name (JSON), e.g. `tanzu` with the namespace, classes and node pools. */
  sections: Record<string, unknown>;
  /** Lines of the plan's text output for those sections. */
  text: string[];
}

/** What a back end that checks changes to a running cluster offers (kubeadm: components/cluster/lifecycle.ts). */
export interface BackendLifecycle {
  /** The stack output that carries the applied state (read back by the next run). */
  readonly output: string;
  /** The state this update applies, without its creation date (plain JSON). */
  readonly state: unknown;
  /** Refusals (config key + steps) and notes for going from `previous` (the output's last value) to this state. */
  check(previous: unknown, now?: Date): { refusals: FieldError[]; notes: string[] };
}

/** What only a running program knows when it creates the cluster. */
export interface CreateContext {
  /** The last applied lifecycle state (the stack output `BackendLifecycle.output`), when the back end has one. */
  previous?: unknown;
  /** Now (absent in the offline plan). */
  now?: Date;
}

/**
 * A back end with its spec decided: what the plan shows and what `pulumi up` creates, bound
 * together so that nothing above has to know which back end it is.
 */
export interface DecidedCluster {
  /** The back end's name, e.g. `kubeadm` or `tanzu`. */
  readonly backend: string;
  readonly endpoint: ApiEndpoint;
  readonly workerPool: WorkerPool;
  /** The back end's decisions as the offline plan shows them. */
  plan(): BackendPlan;
  /** The change rules for a running cluster, when the back end has them. */
  readonly lifecycle?: BackendLifecycle;
  /**
   * What the back end checks against the live infrastructure before anything is registered, each
   * problem naming its stack key (kubeadm on vSphere: every vCenter object the stack names exists,
   * components/vsphere/inventory-check.ts). Not called by the offline plan.
   */
  checkInfrastructure?(): Promise<FieldError[]>;
  /** Creates the cluster (a component named `name`) and hands out its seam. */
  create(name: string, opts?: pulumi.ComponentResourceOptions, context?: CreateContext): ClusterHandle;
}

/**
 * The cluster providers' Secret and ConfigMap mutability. pulumi-kubernetes replaces a Secret whose
 * `data` or `stringData` changes, and a ConfigMap whose `data` or `binaryData` changes, unless
 * `enableSecretMutable` / `enableConfigMapMutable` is set (provider/pkg/provider/diff.go,
 * forceNewProperties, at the 4.25.0 build the lab runs); an object of a fixed name is replaced
 * delete-first. Measured in the whole-stack lab (test/lab/whole-stack.lab.ts): every `pulumi up` of
 * an unchanged stack deleted the workers' join-token Secret and created it again (its expiration is
 * renewed on every update), and 4 → 3 workers per host did the same to Spark's `spark-defaults`
 * ConfigMap (the executor count in it): a moment with neither, and none at all if the create failed.
 * With both set, such a change is an in-place update (an object marked `immutable` is still replaced).
 */
export const DATA_MUTABLE = { enableSecretMutable: true, enableConfigMapMutable: true } as const;
