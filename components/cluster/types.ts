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
  /**
   * The static MAC of the VM's first NIC (VMware's manual range 00:50:56:00:00:00–3F:FF:FF). The
   * network config matches the NIC by it and names it; without it only a template whose NIC is
   * already called `ens192` gets an address.
   */
  macAddress?: string;
}

export interface NodeNetwork {
  /** Prefix length of the node subnet, e.g. 24. */
  prefixLength: number;
  /** Default gateway (IPv4, inside the node subnet). */
  gateway: string;
  dnsServers: string[];
  searchDomains: string[];
  /**
   * Name of the NIC to configure. Default: match the first vmxnet3 NIC by driver and name it
   * `ens192` (what Ubuntu/Debian call it on vSphere anyway), so kube-vip knows the interface.
   */
  interfaceName?: string;
}

/** The API endpoint's seam is shared with the vSphere layer and validated in one place. */
export type { EndpointKind, EndpointSpec } from "../control-plane";
export { APISERVER_PORT } from "../control-plane";
