/**
 * The cluster as plain values: validation of the bootstrap arguments (all problems at once), who is
 * the init node, and the one place that turns a node + its secrets into rendered documents.
 */
import type { FieldError } from "../validation";
import { isDnsLabel, isDnsSubdomain } from "../validation";
import type { ClusterNode, EndpointSpec, NodeNetwork } from "./types";
import { APISERVER_PORT } from "./types";
import { endpointProblems, quorumProblem } from "../control-plane";
import type { KubernetesSettings } from "./settings";
import { Cidr, addressProblems, cidrsOverlap, isIPv4, networkOf, parseIpv4, parseCidr } from "../net";
import { nodeAllocatable } from "./allocatable";
import { nodeMemoryCapacityMiB } from "./node-capacity";
import { renderHaproxyConfig } from "./haproxy";
import { renderControlPlaneJoinConfig, renderInitConfig, renderWorkerJoinConfig } from "./kubeadm";
import type { NodeBootstrap } from "./cloud-init";
import { renderMetaData, renderUserData } from "./cloud-init";
import type { SharedPki } from "./pki";

export interface ClusterSpec {
  clusterName: string;
  nodes: ClusterNode[];
  network: NodeNetwork;
  endpoint: EndpointSpec;
  settings: KubernetesSettings;
}

/** kubeadm's preflight minimum for control planes. */
export const CONTROL_PLANE_MIN_CPUS = 2;
export const CONTROL_PLANE_MIN_MEMORY_MIB = 1700;

export function controlPlaneNodes(spec: Pick<ClusterSpec, "nodes">): ClusterNode[] {
  return spec.nodes.filter((n) => n.role === "control-plane");
}
export function workerNodes(spec: Pick<ClusterSpec, "nodes">): ClusterNode[] {
  return spec.nodes.filter((n) => n.role === "worker");
}
export function loadBalancerNodes(spec: Pick<ClusterSpec, "nodes">): ClusterNode[] {
  return spec.nodes.filter((n) => n.role === "load-balancer");
}

const ROLES = ["control-plane", "worker", "load-balancer"];
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Every problem with the arguments, each with a path relative to `path` (e.g. `args.nodes[3].address`). */
export function validateClusterSpec(spec: ClusterSpec, path = "args"): FieldError[] {
  const errors: FieldError[] = [];
  const err = (p: string, message: string) => errors.push({ path: `${path}.${p}`, message });
  const { nodes, network, endpoint, settings } = spec;

  if (typeof spec.clusterName !== "string" || !isDnsLabel(spec.clusterName))
    err("clusterName", `must be a DNS label (lower-case letters, digits, "-"), got ${JSON.stringify(spec.clusterName)}`);

  // Network.
  const prefixOk = Number.isInteger(network?.prefixLength) && network.prefixLength >= 8 && network.prefixLength <= 30;
  if (!prefixOk) err("network.prefixLength", `must be an integer in [8, 30], got ${JSON.stringify(network?.prefixLength)}`);
  if (!isIPv4(network?.gateway)) err("network.gateway", `must be an IPv4 address, got ${JSON.stringify(network?.gateway)}`);
  if (!Array.isArray(network?.dnsServers) || network.dnsServers.length === 0)
    err("network.dnsServers", "must list at least one DNS server");
  else network.dnsServers.forEach((d, i) => !isIPv4(d) && err(`network.dnsServers[${i}]`, `must be an IPv4 address, got ${JSON.stringify(d)}`));
  if (!Array.isArray(network?.searchDomains)) err("network.searchDomains", "must be a list (may be empty)");
  else network.searchDomains.forEach((d, i) => (typeof d !== "string" || !isDnsSubdomain(d)) && err(`network.searchDomains[${i}]`, `is not a DNS domain: ${JSON.stringify(d)}`));
  if (network?.interfaceName !== undefined && (typeof network.interfaceName !== "string" || !IFNAME.test(network.interfaceName)))
    err("network.interfaceName", `must be a Linux interface name (1-15 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(network.interfaceName)}`);
  const subnet = prefixOk && isIPv4(network.gateway) ? parseCidr(`${formatNet(network.gateway, network.prefixLength)}/${network.prefixLength}`) : undefined;
  const pod = parseCidr(settings.podCidr);
  const svc = parseCidr(settings.serviceCidr);
  const clusterCidrs = [
    ...(pod ? [{ name: "pod network (podCidr)", cidr: pod }] : []),
    ...(svc ? [{ name: "service network (serviceCidr)", cidr: svc }] : []),
  ];
  if (subnet) {
    if (pod && cidrsOverlap(pod, subnet)) err("settings.podCidr", `${settings.podCidr} overlaps the node network`);
    if (svc && cidrsOverlap(svc, subnet)) err("settings.serviceCidr", `${settings.serviceCidr} overlaps the node network`);
  }

  // Nodes.
  if (!Array.isArray(nodes)) {
    err("nodes", "must be a list");
    return errors;
  }
  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  nodes.forEach((n, i) => {
    const p = `nodes[${i}]`;
    if (typeof n?.name !== "string" || !isDnsLabel(n.name)) err(`${p}.name`, `must be a DNS label, got ${JSON.stringify(n?.name)}`);
    else if (names.has(n.name)) err(`${p}.name`, `duplicates nodes[${names.get(n.name)}].name "${n.name}"`);
    else names.set(n.name, i);
    if (!ROLES.includes(n?.role)) err(`${p}.role`, `must be one of ${ROLES.join(", ")}, got ${JSON.stringify(n?.role)}`);
    if (!isIPv4(n?.address)) err(`${p}.address`, `must be an IPv4 address, got ${JSON.stringify(n?.address)}`);
    else {
      if (addrs.has(n.address)) err(`${p}.address`, `duplicates nodes[${addrs.get(n.address)}].address ${n.address}`);
      else addrs.set(n.address, i);
      // A node in a zone with its own subnet is checked against that one.
      const own = ownSubnet(n);
      if (own === null) err(`${p}.subnet`, `must be {prefixLength (8-30), gateway (IPv4)}, got ${JSON.stringify(n.subnet)}`);
      else if (own) {
        for (const m of addressProblems(parseIpv4(n.address)!, n.name, { network: own, gateway: parseIpv4(n.subnet!.gateway), clusterCidrs })) err(`${p}.address`, m);
      } else if (subnet) {
        for (const m of addressProblems(parseIpv4(n.address)!, n.name, { network: subnet, gateway: parseIpv4(network.gateway), clusterCidrs })) err(`${p}.address`, m);
      }
    }
    if (!Number.isInteger(n?.cpus) || n.cpus < 1) err(`${p}.cpus`, `must be a positive integer, got ${JSON.stringify(n?.cpus)}`);
    if (!Number.isInteger(n?.memoryMiB) || n.memoryMiB < 512) err(`${p}.memoryMiB`, `must be an integer ≥ 512, got ${JSON.stringify(n?.memoryMiB)}`);
    if (n?.role === "control-plane") {
      if (Number.isInteger(n.cpus) && n.cpus < CONTROL_PLANE_MIN_CPUS) err(`${p}.cpus`, `a control plane needs at least ${CONTROL_PLANE_MIN_CPUS} CPUs (kubeadm preflight)`);
      if (Number.isInteger(n.memoryMiB) && n.memoryMiB < CONTROL_PLANE_MIN_MEMORY_MIB) err(`${p}.memoryMiB`, `a control plane needs at least ${CONTROL_PLANE_MIN_MEMORY_MIB} MiB (kubeadm preflight)`);
    }
    if (n?.role === "worker" || n?.role === "control-plane") {
      if (Number.isInteger(n.cpus) && n.cpus >= 1 && Number.isInteger(n.memoryMiB) && n.memoryMiB >= 512) {
        try {
          const a = nodeAllocatable({ cpus: n.cpus, memoryMiB: nodeMemoryCapacityMiB(n.memoryMiB, settings.kernelReservation) }, settings.kubelet);
          if (a.cpu <= 0) err(`${p}.cpus`, `kubeReserved + systemReserved CPU leaves nothing allocatable on ${n.cpus} CPUs`);
          if (a.memoryMiB <= 0) err(`${p}.memoryMiB`, `reservations and evictionHard memory leave nothing allocatable on ${n.memoryMiB} MiB`);
        } catch (e) {
          err("settings.kubelet", (e as Error).message);
        }
      }
    }
  });

  const cps = controlPlaneNodes(spec);
  const quorum = quorumProblem(cps.length);
  if (quorum) err("nodes", quorum);
  if (workerNodes(spec).length === 0) err("nodes", "needs at least one worker node");

  // Endpoint: the one place its rules live (components/control-plane.ts).
  const firstCp = cps[0] ? ownSubnet(cps[0]) : undefined;
  const epNetwork = firstCp ? { nodeNetwork: firstCp, gateway: cps[0].subnet!.gateway } : { nodeNetwork: subnet, gateway: network?.gateway };
  for (const e of endpointProblems(endpoint, { nodes, ...epNetwork, clusterCidrs })) {
    err(e.field === "kind" && e.message.includes("load-balancer") ? "nodes" : `endpoint.${e.field}`, e.message);
  }
  return errors;
}

/** A node's own subnet (a zone's network), `undefined` when it has none, `null` when it is malformed. */
function ownSubnet(n: ClusterNode): Cidr | undefined | null {
  if (n.subnet === undefined) return undefined;
  const { prefixLength, gateway } = n.subnet;
  if (!Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30 || !isIPv4(gateway)) return null;
  return parseCidr(`${formatNet(gateway, prefixLength)}/${prefixLength}`) ?? null;
}

function formatNet(gateway: string, prefixLength: number): string {
  const n = networkOf(parseIpv4(gateway)!, prefixLength);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface JoinSecrets {
  token: string;
  caCertHash: string;
}

export interface RenderedNode {
  userData: string;
  metaData: string;
  /** The kubeadm configuration on Kubernetes nodes. */
  kubeadmConfig?: string;
  /** haproxy.cfg on the load-balancer node. */
  haproxyConfig?: string;
}

export function haproxyConfigFor(spec: ClusterSpec): string {
  return renderHaproxyConfig({
    port: spec.endpoint.port,
    backends: controlPlaneNodes(spec).map((n) => ({ name: n.name, address: n.address, port: APISERVER_PORT })),
  });
}

function finish(spec: ClusterSpec, node: ClusterNode, bootstrap: NodeBootstrap): RenderedNode {
  const userData = renderUserData({ node, network: spec.network, endpoint: spec.endpoint, settings: spec.settings, bootstrap });
  const out: RenderedNode = { userData, metaData: renderMetaData(node, spec.network) };
  if (bootstrap.kind === "load-balancer") out.haproxyConfig = bootstrap.haproxyConfig;
  else out.kubeadmConfig = bootstrap.kubeadmConfig;
  return out;
}

export function renderLoadBalancerNode(spec: ClusterSpec, node: ClusterNode): RenderedNode {
  return finish(spec, node, { kind: "load-balancer", haproxyConfig: haproxyConfigFor(spec) });
}

/** What the control planes need besides the join secrets. */
export interface ControlPlaneSecrets extends JoinSecrets {
  /**
   * The shared CA files: on the init node, and (once the cluster exists) on every joining control
   * plane (kubeadm's manual certificate distribution).
   */
  pki: SharedPki;
  /** Encrypts them into kube-system/kubeadm-certs at init; the joining control planes of the first `pulumi up` decrypt them with it. */
  certificateKey: string;
  /**
   * The workers' rotating join token (its Secret is kept in kube-system by KubeadmClusterAccess):
   * control planes joining a running cluster join with it, not with the init token (`token`), whose
   * TTL has passed. Needed once the cluster exists.
   */
  joinToken?: string;
}

export interface ControlPlaneRenderOptions {
  /**
   * The cluster exists (an earlier `pulumi up` applied it: its `clusterLifecycle` output was read
   * back, components/cluster/lifecycle.ts): nothing runs `kubeadm init` again, a (replaced) first
   * control plane joins like the others, and every joining control plane carries the shared CA
   * files and joins with the join token.
   */
  clusterExists?: boolean;
  /**
   * Once the cluster exists: the control planes the applied state records (already etcd members).
   * A joining control plane waits for the nearest joining one before it in the order, so the new
   * members join one after the other even when running ones sit between them. Absent: the one
   * before it in the order, whoever it is.
   */
  runningControlPlanes?: readonly string[];
}

/**
 * The first `pulumi up`: the first control plane writes the shared CA files and runs `kubeadm init
 * --upload-certs`; the others join one after the other and download those files from
 * kube-system/kubeadm-certs with the certificate key (kubeadm deletes that Secret 2 h after the
 * init), with the init token (valid `bootstrapTokenTtl`).
 *
 * Once the cluster exists, every control plane is rendered as a join (the first one too: a running
 * VM keeps the documents it booted with, since `extraConfig` is ignoreChanges, so only a new or
 * replaced one gets them, and it joins the running cluster instead of starting a second one with the
 * same CA; its bootstrap also refuses an init where another control plane already serves the API:
 * see cloud-init.ts). Such a join must not depend on the init's short-lived material, so it uses
 * kubeadm's manual certificate distribution (kubernetes/website content/en/docs/setup/
 * production-environment/tools/kubeadm/high-availability.md, "Manual certificate distribution"; what
 * Cluster API's KubeadmControlPlane does too: its JoinConfiguration has no certificateKey):
 * - the eight shared files (SHARED_PKI_FILES: the cluster, front-proxy and etcd CAs and the
 *   service-account key pair) come in its guestinfo and are written to /etc/kubernetes/pki before
 *   kubeadm runs;
 * - its JoinConfiguration has no `controlPlane.certificateKey`, so kubeadm skips download-certs
 *   (kubernetes/kubernetes cmd/kubeadm/app/cmd/phases/join/controlplaneprepare.go @
 *   04791b4906602ffda5ccf9bc4c84d3329f1d7080) and its preflight instead checks that the shared
 *   certificates are on disk (cmd/kubeadm/app/cmd/phases/join/preflight.go @
 *   0ccffebcbcb82780138e4c43d9295ea3de40fde1, checkIfReadyForAdditionalControlPlane:
 *   `if !hasCertificateKey { certs.SharedCertificateExists(…) }`; cmd/kubeadm/app/phases/certs/certs.go
 *   @ 03a145de8ad282764828f43821433001974718e9, SharedCertificateExists: ca, sa, front-proxy-ca and,
 *   with stacked etcd, etcd/ca; newer revisions of that function only warn about a missing CA key,
 *   "assuming external key", so the render tests, not kubeadm, are what catches an omitted key:
 *   test/cluster/cp-join.test.ts); the CA certificate being there already is fine for a control-plane
 *   join (cmd/kubeadm/app/preflight/checks.go @ 00b6a4c7afdbd95d9ef5b5f3cada04ac15b0c135,
 *   JoinNodeChecks: the `FileAvailableCheck` of caCertPath only when `cfg.ControlPlane == nil`);
 * - it joins with the workers' rotating join token, which every `pulumi up` renews (access.ts).
 */
export function renderControlPlaneNode(spec: ClusterSpec, node: ClusterNode, secrets: ControlPlaneSecrets, opts: ControlPlaneRenderOptions = {}): RenderedNode {
  const cps = controlPlaneNodes(spec);
  const i = cps.findIndex((n) => n.name === node.name);
  if (i < 0) throw new Error(`${node.name} is not a control-plane node`);
  const otherControlPlanes = cps.filter((n) => n.name !== node.name).map((n) => n.address);
  if (!opts.clusterExists) {
    const base = { settings: spec.settings, endpoint: spec.endpoint, node, token: secrets.token, certificateKey: secrets.certificateKey };
    if (i === 0) {
      return finish(spec, node, { kind: "init", kubeadmConfig: renderInitConfig({ ...base, clusterName: spec.clusterName }), pki: secrets.pki, otherControlPlanes, controlPlaneIndex: i });
    }
    return finish(spec, node, {
      kind: "join-control-plane",
      kubeadmConfig: renderControlPlaneJoinConfig({ ...base, caCertHash: secrets.caCertHash }),
      previousControlPlane: cps[i - 1].address,
      otherControlPlanes,
      controlPlaneIndex: i,
    });
  }
  if (secrets.joinToken === undefined) throw new Error(`${node.name}: a control plane joining a running cluster needs the join token`);
  const previous = previousJoiningControlPlane(cps, i, opts.runningControlPlanes);
  return finish(spec, node, {
    kind: "join-control-plane",
    kubeadmConfig: renderControlPlaneJoinConfig({ settings: spec.settings, endpoint: spec.endpoint, node, token: secrets.joinToken, caCertHash: secrets.caCertHash }),
    pki: secrets.pki,
    ...(previous ? { previousControlPlane: previous.address } : {}),
    otherControlPlanes,
    controlPlaneIndex: i,
  });
}

/**
 * Who the control plane at `i` waits for before it joins a running cluster: the nearest one before
 * it that is joining too (not among `running`), so new etcd members join one after the other
 * (kubeadm adds each as a learner and promotes it; the next one starts once the previous one's API
 * serves /readyz, i.e. its etcd member serves). Without `running`: the one before it.
 */
export function previousJoiningControlPlane(cps: ClusterNode[], i: number, running?: readonly string[]): ClusterNode | undefined {
  if (!running) return i > 0 ? cps[i - 1] : undefined;
  for (let j = i - 1; j >= 0; j--) if (!running.includes(cps[j].name)) return cps[j];
  return undefined;
}

/** A worker's documents depend on the endpoint, the token and the CA hash only. */
export function renderWorkerNode(spec: Omit<ClusterSpec, "nodes">, node: ClusterNode, secrets: JoinSecrets): RenderedNode {
  const kubeadmConfig = renderWorkerJoinConfig({ settings: spec.settings, endpoint: spec.endpoint, node, ...secrets });
  const userData = renderUserData({ node, network: spec.network, endpoint: spec.endpoint, settings: spec.settings, bootstrap: { kind: "join-worker", kubeadmConfig } });
  return { userData, metaData: renderMetaData(node, spec.network), kubeadmConfig };
}

export function renderNode(spec: ClusterSpec, node: ClusterNode, secrets: ControlPlaneSecrets, opts: ControlPlaneRenderOptions = {}): RenderedNode {
  switch (node.role) {
    case "load-balancer":
      return renderLoadBalancerNode(spec, node);
    case "control-plane":
      return renderControlPlaneNode(spec, node, secrets, opts);
    case "worker":
      return renderWorkerNode(spec, node, { token: secrets.token, caCertHash: secrets.caCertHash });
  }
}
