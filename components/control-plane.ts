/**
 * The control plane's seam, shared by the vSphere layer (which places the control-plane and
 * load-balancer VMs) and the cluster layer (which bootstraps them): the etcd quorum rule and the API
 * endpoint (HAProxy VM, kube-vip virtual IP, or an external load balancer), each validated here and
 * nowhere else. Pure.
 */
import { Cidr, cidrContains, isIPv4, parseIpv4 } from "./net";
import { isDnsSubdomain } from "./validation";

/** How the API endpoint is served. */
export type EndpointKind = "haproxy" | "kube-vip" | "external";
export const ENDPOINT_KINDS: readonly EndpointKind[] = ["haproxy", "kube-vip", "external"];

export interface EndpointSpec {
  kind: EndpointKind;
  /** haproxy: the load-balancer VM's address; kube-vip: the VIP; external: the user's load balancer. */
  address: string;
  /** Usually 6443. */
  port: number;
}

/** Port every kube-apiserver binds on its own node (kubeadm's default). */
export const APISERVER_PORT = 6443;

/** The quorum rule: etcd needs an odd number of members (1, 3, 5, ...). A message, or undefined. */
export function quorumProblem(controlPlanes: number): string | undefined {
  return controlPlanes >= 1 && controlPlanes % 2 === 1
    ? undefined
    : `the control plane needs an odd number of VMs (1, 3, 5, ...) for an etcd quorum; got ${controlPlanes}`;
}

/** What the endpoint is checked against. */
export interface EndpointContext {
  /** Every node's address, by node name. */
  nodes: { name: string; address: string; role: string }[];
  /** The node network (when known): a VIP must be inside it; nothing else may be its network address. */
  nodeNetwork?: Cidr;
  gateway?: string;
  /** Pod and service networks: the endpoint may not be inside them. */
  clusterCidrs?: { name: string; cidr: Cidr }[];
  /**
   * Address ranges that belong to something else, e.g. each host's address block: a VIP or an
   * external address inside one would be handed to a VM when workers are added.
   */
  reservedRanges?: { name: string; first: number; last: number }[];
}

/**
 * Every problem with an endpoint, keyed by its field (`kind`, `address`, `port`). The one place
 * where the three kinds' rules live; the vSphere settings and the cluster specification both call it.
 */
export function endpointProblems(endpoint: EndpointSpec, ctx: EndpointContext): { field: "kind" | "address" | "port"; message: string }[] {
  const out: { field: "kind" | "address" | "port"; message: string }[] = [];
  const err = (field: "kind" | "address" | "port", message: string) => out.push({ field, message });
  if (!ENDPOINT_KINDS.includes(endpoint.kind)) {
    err("kind", `must be one of ${ENDPOINT_KINDS.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(endpoint.kind)}`);
    return out;
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) err("port", `must be a TCP port, got ${JSON.stringify(endpoint.port)}`);
  const a = endpoint.address;
  const ip = isIPv4(a) ? parseIpv4(a) : undefined;
  const dnsName = typeof a === "string" && isDnsSubdomain(a) && /[a-z]/.test(a);
  if (ip === undefined && !(endpoint.kind === "external" && dnsName)) {
    err("address", `must be an IPv4 address${endpoint.kind === "external" ? " or a DNS name" : ""}, got ${JSON.stringify(a)}`);
    return out;
  }
  const lbs = ctx.nodes.filter((n) => n.role === "load-balancer");
  if (endpoint.kind === "haproxy") {
    if (lbs.length !== 1) err("kind", `"haproxy" needs exactly one load-balancer VM, got ${lbs.length}`);
    else if (lbs[0].address !== a) err("address", `must be the load-balancer VM's address ${lbs[0].address}, got ${a}`);
  } else if (lbs.length > 0) {
    err("kind", `load-balancer VMs are only used with kind "haproxy" (kind is "${endpoint.kind}")`);
  }
  if (endpoint.kind === "kube-vip" && endpoint.port !== APISERVER_PORT) {
    err("port", `kube-vip forwards nothing: the VIP's port must be the API server port ${APISERVER_PORT}, got ${endpoint.port}`);
  }
  if (ip === undefined || endpoint.kind === "haproxy") return out;
  // A VIP or an external load balancer: its own address, not a node's or anything reserved.
  const what = endpoint.kind === "kube-vip" ? "the kube-vip virtual IP" : "the external load balancer's address";
  const node = ctx.nodes.find((n) => n.address === a);
  if (node) err("address", `${what} ${a} is also the address of VM ${node.name}`);
  if (ctx.gateway === a) err("address", `${what} ${a} is the network's gateway`);
  if (endpoint.kind === "kube-vip" && ctx.nodeNetwork && !cidrContains(ctx.nodeNetwork, ip)) {
    err("address", `${what} ${a} must be inside the node network ${ctx.nodeNetwork.text} (it is announced by ARP)`);
  }
  if (ctx.nodeNetwork && cidrContains(ctx.nodeNetwork, ip) && ctx.nodeNetwork.prefixLength < 31) {
    const broadcast = ctx.nodeNetwork.network + 2 ** (32 - ctx.nodeNetwork.prefixLength) - 1;
    if (ip === ctx.nodeNetwork.network || ip === broadcast) err("address", `${what} ${a} is the node network's network or broadcast address`);
  }
  for (const c of ctx.clusterCidrs ?? []) {
    if (cidrContains(c.cidr, ip)) err("address", `${what} ${a} lies inside the ${c.name} ${c.cidr.text}`);
  }
  for (const r of ctx.reservedRanges ?? []) {
    if (ip >= r.first && ip <= r.last && !node) {
      err("address", `${what} ${a} lies inside ${r.name}: adding VMs there would hand it to a VM; pick an address outside every host's block`);
    }
  }
  return out;
}
