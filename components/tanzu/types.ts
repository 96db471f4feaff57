/**
 * The Tanzu back end's types: what `resolveTanzuSettings` (settings.ts) returns and the other
 * modules (capacity, render, the component) read. A leaf module: it imports nothing, so settings,
 * capacity and render can share the types without importing each other.
 */

/** Which Kubernetes API requests the workload cluster. */
export type TanzuClusterApi = "cluster" | "tkc";
/**
 * The two incompatible generations of the Supervisor ClusterClass variables:
 * `flat` (`tanzukubernetescluster`, `builtin-generic-v3.1.0` and older: `vmClass`, `storageClass`,
 * `nodePoolVolumes`, `nodePoolLabels`, `proxy`, `trust`...) and `nested` (`builtin-generic-v3.2.0`
 * and later: `vmClass`, `storageClass`, `volumes`, `node`, `osConfiguration`, `kubernetes`...).
 * Source: vsphere-tmm/vsphere-supervisor `cluster-clusterclass-examples.md` (commit 04ac4cab).
 */
export type VariablesGeneration = "flat" | "nested";
export type SupervisorAccess = "kubeconfig" | "sso";
export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

/**
 * A VM class as the user sizes it; its vCenter name is derived from the namespace, key and size
 * (see `vmClassName`), or it is an existing class adopted by name (`existing`).
 */
export interface VmClassSpec {
  cpus: number;
  memoryMiB: number;
  /**
   * The vCenter name of a class that already exists (made by an administrator, or shared): it is
   * bound to the namespace but neither created nor deleted by this stack. `cpus`/`memoryMiB` must
   * describe it (the plan and the Spark sizing use them).
   */
  existing?: string;
  /** Percent of the CPU reserved (0-100). */
  cpuReservation?: number;
  /** Percent of the memory reserved (0-100). */
  memoryReservation?: number;
  /** NVIDIA vGPU profiles of each VM of the class (`vgpuDevices`; components/tanzu/gpu.ts). */
  vgpuDevices?: string[];
}

/** The node OS image, chosen by the `run.tanzu.vmware.com/resolve-os-image` annotation. */
export interface NodeOs {
  name: "ubuntu" | "photon";
  /** e.g. `24.04`; unset = the release's default version of that OS. */
  version?: string;
}

export interface NodeVolume {
  name: string;
  mountPath: string;
  capacityGiB: number;
  /** Kubernetes StorageClass; default: the cluster's `storageClass`. */
  storageClass?: string;
}

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** A node pool the Cluster Autoscaler sizes: its bounds (Cluster API's autoscaler annotations). */
export interface AutoscaleBounds {
  min: number;
  max: number;
}

export interface NodePoolSettings {
  name: string;
  /**
   * The replicas the pool is given; for an autoscaled pool the minimum, which is what Cluster API
   * creates it with (the MachineDeployment webhook defaults unset replicas to the min-size
   * annotation) and so what the Spark sizing can count on.
   */
  replicas: number;
  /** Set: the Cluster Autoscaler owns the replicas between these bounds (`api: cluster` only). */
  autoscale?: AutoscaleBounds;
  /** A key of `vmClasses`. */
  vmClass: string;
  volumes: NodeVolume[];
  labels: Record<string, string>;
  taints: Taint[];
}

/** vSphere Namespace limits (vCenter REST `resource_spec` / `storage_specs`); unset = unlimited. */
export interface NamespaceLimits {
  cpuMHz?: number;
  memoryMiB?: number;
  storageMiB?: number;
  /**
   * The clock one vCPU counts for when the CPU limit is held against the VM classes. Default 2400:
   * the reference hosts' Xeon Platinum 8260 base clock.
   */
  vcpuMHz: number;
}

/** One subject's role on the namespace (vSphere Automation API `Namespaces.Access`). */
export interface NamespaceGrant {
  /** SSO domain, e.g. `vsphere.local`. */
  domain: string;
  /** User or group name within the domain. */
  subject: string;
  type: "USER" | "GROUP";
  role: "OWNER" | "EDIT" | "VIEW";
}

export interface TrustedCa {
  /** Name of the certificate (a DNS label). */
  name: string;
  /** PEM text (public). */
  pem: string;
}

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string[];
}

export interface TanzuSettings {
  supervisor: {
    /** The Supervisor's identifier in vCenter (not managed here: the provider cannot import it). */
    id: string;
    /** Host name or address of the Supervisor's control-plane API (the load balancer's VIP). */
    address: string;
    /**
     * The Supervisor's networks the stack knows (management, workload, ingress/egress CIDRs): the
     * workload cluster's pod and service networks must not overlap them, nor contain `address`.
     */
    networks: string[];
    /**
     * The content library of Kubernetes releases, as the administrator configured it in the TKG
     * Service settings (Supervisor-wide, not per namespace): shown in the plan, never attached here.
     */
    releaseLibrary?: string;
    /** Port of the Supervisor's Kubernetes API (6443). */
    port: number;
    /**
     * `sso`: log in with the vCenter SSO user through `POST https://<address>/wcp/login` on every run;
     * `kubeconfig`: a kubeconfig for the Supervisor is provided as a secret.
     */
    access: SupervisorAccess;
    /** vCenter SSO user for `sso` access. */
    user?: string;
    /** PEM of the CA that signed the Supervisor's API certificate; unset = the system trust store. */
    caPem?: string;
    /** Skip TLS verification towards the Supervisor (labs with self-signed certificates only). */
    insecureSkipTlsVerify: boolean;
  };
  namespace: {
    /** Set explicitly: a rename replaces the namespace (and everything in it). */
    name: string;
    /** Storage policy names (looked up to their ids); the first one backs `cluster.storageClass` by default. */
    storagePolicies: string[];
    /**
     * VM Service content library names (VM images for VM Service VMs in the namespace; looked up to
     * their ids). Not the Kubernetes release library: see `supervisor.releaseLibrary`.
     */
    contentLibraries: string[];
    limits?: NamespaceLimits;
    /**
     * Who may use the namespace besides SSO administrators, granted through vCenter's namespace
     * access API (vcenter-namespace.ts): a developer needs EDIT (or OWNER) to create the cluster and
     * read its kubeconfig Secret.
     */
    access: NamespaceGrant[];
  };
  /** VM classes by key; the names created in vCenter are derived from key and size. */
  vmClasses: Record<string, VmClassSpec>;
  cluster: {
    name: string;
    api: TanzuClusterApi;
    /** ClusterClass for `api: cluster`. */
    clusterClass: string;
    /** Namespace the ClusterClass lives in (VKS 3.4 `vmware-system-vks-public`); unset = the vSphere Namespace. */
    classNamespace?: string;
    variables: VariablesGeneration;
    /** Kubernetes release name, e.g. `v1.31.4---vmware.1-fips-vkr.3` (`kubectl get kr`). */
    release: string;
    controlPlane: { replicas: 1 | 3; vmClass: string; volumes: NodeVolume[] };
    nodePools: NodePoolSettings[];
    /** The node pool executors run on (its VM class gives the Spark worker shape). */
    sparkPool: string;
    /** Kubernetes StorageClass of the node disks (the vSphere Namespace's storage policy, as a class). */
    storageClass: string;
    podCidr: string;
    serviceCidr: string;
    serviceDomain: string;
    /** CNI for `api: tkc` (the ClusterClass picks Antrea for `api: cluster`). */
    cni: "antrea" | "calico";
    trustedCas: TrustedCa[];
    proxy?: ProxySettings;
    /** NTP servers of the nodes (host names or addresses); empty = the ClusterClass's default. */
    ntpServers: string[];
    /** The nodes' OS image; unset = the release's default OS. */
    os?: NodeOs;
    /** How long `pulumi up` waits for the cluster to become Ready. */
    readyTimeoutMinutes: number;
  };
}

export interface TanzuContext {
  /** The cluster's hosts, when the stack lists them: the capacity checks hold the VMs against them. */
  hosts?: { id: string; cpuThreads: number; memoryMiB: number }[];
}
