/**
 * The cluster layer's input contract: what the lead's topology code hands to the Kubernetes
 * bootstrap (plain values: they decide how many resources exist and what they are called).
 */

export type NodeRole = "control-plane" | "worker" | "load-balancer";

export interface ClusterNode {
  /** DNS label; also the VM's host name and the Kubernetes node name. */
  name: string;
  role: NodeRole;
  /** Static IPv4 address of the node's first NIC. */
  address: string;
  /**
   * Static MAC of the node's first NIC (lower-case, colon-separated), known before the VM exists,
   * so the guest's network configuration can match the NIC by it (on vSphere: `assignMacAddresses`).
   */
  macAddress: string;
  cpus: number;
  memoryMiB: number;
  /** GiB of a second disk the node formats and mounts at /var/lib/kubelet (emptyDirs: executor scratch space); absent: none. */
  scratchDiskGiB?: number;
  /** GPUs the node advertises as `nvidia.com/gpu` (a GPU worker: labelled and tainted, components/cluster/gpu.ts); absent: none. */
  gpus?: number;
  /**
   * The node's failure domain: the kubelet labels its Node `topology.kubernetes.io/zone` and
   * `topology.kubernetes.io/region` with these at registration (kubeadm.ts). Absent: no zone labels.
   */
  topology?: { zone: string; region: string };
  /** The node's own subnet when it differs from the cluster's `NodeNetwork` (a zone's network). */
  subnet?: { prefixLength: number; gateway: string };
}

export interface NodeNetwork {
  /** Prefix length of the node subnet, e.g. 24. */
  prefixLength: number;
  /** Default gateway (IPv4, inside the node subnet). */
  gateway: string;
  dnsServers: string[];
  searchDomains: string[];
  /**
   * Name cloud-init gives the NIC it finds by the node's MAC. Default `ens192` (what Ubuntu/Debian
   * call a vmxnet3 NIC on vSphere anyway), so kube-vip knows the interface.
   */
  interfaceName?: string;
}

/** The API endpoint's seam is shared with the vSphere layer and validated in one place. */
export type { EndpointKind, EndpointSpec } from "../control-plane";
export { APISERVER_PORT } from "../control-plane";

/**
 * Where the node's kubeadm configuration is written (re-exported by kubeadm.ts). Defined in this leaf
 * module: kubeadm.ts → settings.ts → cert-renewal.ts → cloud-init.ts is an import cycle, and
 * cloud-init.ts reads it at load time (its failure hints), which gave `--config undefined` whenever
 * kubeadm.ts was the first of them to be loaded.
 */
export const KUBEADM_CONFIG_PATH = "/etc/kubernetes/vsphere-spark/kubeadm.yaml";
/**
 * The bootstrap's state directory and its `bootstrap.done` marker (components/cluster/cloud-init.ts
 * writes them; the renewal and snapshot units wait for the marker). Here, in a leaf module, because
 * cert-renewal.ts → cloud-init.ts → settings.ts → cert-renewal.ts would be a cycle: loaded first,
 * cert-renewal.ts would leave settings.ts with undefined defaults.
 */
export const BOOTSTRAP_STATE_DIR = "/var/lib/vsphere-spark";
export const BOOTSTRAP_DONE_PATH = `${BOOTSTRAP_STATE_DIR}/bootstrap.done`;
