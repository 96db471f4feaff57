/**
 * kubeadm configuration documents (pure). Token and CA hash are plain string arguments, so the same
 * renderer runs inside `Output.apply` with real values and with placeholders for review.
 */
import { stringify } from "yaml";
import type { ClusterNode, EndpointSpec } from "./types";
import { APISERVER_PORT } from "./types";
import type { KubernetesSettings } from "./settings";
import { kubeadmApiVersion } from "./settings";
import { gpuNodeRegistration } from "./gpu";


/** Where kubeadm pulls the control-plane images and the pause image from (ClusterConfiguration.imageRepository). */
export const IMAGE_REPOSITORY = "registry.k8s.io";
export const KUBELET_CONFIG_API = "kubelet.config.k8s.io/v1beta1";
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";

/** Where the node's kubeadm configuration is written (defined in types.ts, a leaf: see there). */
export { KUBEADM_CONFIG_PATH } from "./types";

/** `host:port` of the control-plane endpoint. */
export function endpointHostPort(e: EndpointSpec): string {
  return `${e.address}:${e.port}`;
}

export interface InitConfigInput {
  clusterName: string;
  settings: KubernetesSettings;
  endpoint: EndpointSpec;
  /** The first control plane. */
  node: ClusterNode;
  token: string;
  /**
   * Hex of 32 random bytes: `kubeadm init --upload-certs` encrypts the shared CA files with it into
   * the kube-system/kubeadm-certs Secret, which the joining control planes decrypt with the same key.
   */
  certificateKey: string;
}

export interface JoinConfigInput {
  settings: KubernetesSettings;
  endpoint: EndpointSpec;
  node: ClusterNode;
  token: string;
  caCertHash: string;
}

export interface ControlPlaneJoinConfigInput extends JoinConfigInput {
  /**
   * The init's certificate key: kubeadm downloads the shared CA files with it (no keys in guestinfo).
   * Absent: the shared CA files are already on disk (kubeadm's manual certificate distribution; a
   * control plane joining a running cluster, components/cluster/topology.ts) and the JoinConfiguration
   * carries no `controlPlane.certificateKey` (optional in kubeadm's API: kubernetes/kubernetes
   * cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go @ 1329935739c3aa007d23cb9a4dadfee9d59ff79b,
   * `JoinControlPlane.CertificateKey` `+optional`), so kubeadm's download-certs phase is skipped.
   */
  certificateKey?: string;
}

type Doc = Record<string, unknown>;

/** The zone labels a node registers with (components/vsphere/zones.ts decides the values). */
export const TOPOLOGY_ZONE_LABEL = "topology.kubernetes.io/zone";
export const TOPOLOGY_REGION_LABEL = "topology.kubernetes.io/region";

/**
 * The labels a kubelet may set on its own Node, from k8s.io/kubelet @ v0.34.4 pkg/apis/
 * well_known_labels.go (`kubeletLabels`, `kubeletLabelNamespaces`, `IsKubeletLabel`). The kubelet
 * refuses to start with any other `kubernetes.io`/`k8s.io` label in `--node-labels`
 * (kubernetes/kubernetes @ v1.34.4 cmd/kubelet/app/options/options.go, ValidateKubeletFlags:
 * "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels"), and the NodeRestriction
 * admission plugin refuses them on the kubelet's own Node (plugin/pkg/admission/noderestriction/
 * admission.go, `getForbiddenLabels`). The topology labels are in the set: a node can carry its zone
 * from its first registration, before anything else could label it.
 */
export const KUBELET_SETTABLE_LABELS = [
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
] as const;
export const KUBELET_SETTABLE_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"] as const;

/** Whether a kubelet may set `key` on its own Node (IsKubeletLabel, and labels outside kubernetes.io / k8s.io). */
export function isKubeletSettableLabel(key: string): boolean {
  const ns = key.includes("/") ? key.split("/")[0] : "";
  const kubernetesNs = ns === "kubernetes.io" || ns.endsWith(".kubernetes.io") || ns === "k8s.io" || ns.endsWith(".k8s.io");
  if (!kubernetesNs) return true;
  if ((KUBELET_SETTABLE_LABELS as readonly string[]).includes(key)) return true;
  return KUBELET_SETTABLE_NAMESPACES.some((a) => ns === a || ns.endsWith(`.${a}`));
}

/** The labels a node registers with: its zone and region, when it has them. */
export function nodeLabels(node: ClusterNode): Record<string, string> {
  return node.topology ? { [TOPOLOGY_ZONE_LABEL]: node.topology.zone, [TOPOLOGY_REGION_LABEL]: node.topology.region } : {};
}

function nodeRegistration(node: ClusterNode, api: string): Doc {
  // taints left unset: kubeadm puts node-role.kubernetes.io/control-plane:NoSchedule on control
  // planes, and nothing on workers, so Spark executors land on workers only. GPU workers carry
  // the GPU taint and label from registration on (components/cluster/gpu.ts).
  const reg: Doc = { name: node.name, criSocket: CRI_SOCKET, imagePullPolicy: "IfNotPresent", ...(node.gpus ? gpuNodeRegistration(api) : {}) };
  const labels = nodeLabels(node);
  if (Object.keys(labels).length > 0) {
    for (const k of Object.keys(labels)) if (!isKubeletSettableLabel(k)) throw new Error(`a kubelet may not set the label ${k} on its own Node`);
    // kubelet --node-labels: comma-separated key=value. kubeadm v1beta4 takes extra args as a list of
    // {name, value} (cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go, `KubeletExtraArgs []Arg`), v1beta3 as a map.
    // One node-labels flag: a GPU worker's label first, then the zone's.
    const gpu = reg.kubeletExtraArgs as { name: string; value: string }[] | Record<string, string> | undefined;
    const before = Array.isArray(gpu) ? gpu.find((x) => x.name === "node-labels")?.value : gpu?.["node-labels"];
    const value = [before, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(",");
    reg.kubeletExtraArgs = api.endsWith("v1beta4") ? [{ name: "node-labels", value }] : { "node-labels": value };
  }
  return reg;
}

/** The KubeletConfiguration shared by every node (kubeadm stores it in the kubelet-config ConfigMap). */
export function kubeletConfiguration(settings: KubernetesSettings): Doc {
  return {
    apiVersion: KUBELET_CONFIG_API,
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    kubeReserved: { ...settings.kubelet.kubeReserved },
    systemReserved: { ...settings.kubelet.systemReserved },
    evictionHard: { ...settings.kubelet.evictionHard },
    enforceNodeAllocatable: ["pods"],
  };
}

/** InitConfiguration + ClusterConfiguration + KubeletConfiguration for the first control plane. */
export function initConfigDocuments(input: InitConfigInput): Doc[] {
  const { settings, endpoint, node } = input;
  const api = kubeadmApiVersion(settings.version);
  const init: Doc = {
    apiVersion: api,
    kind: "InitConfiguration",
    bootstrapTokens: [
      {
        token: input.token,
        description: `vsphere-spark join token for ${input.clusterName}`,
        ttl: settings.bootstrapTokenTtl,
        usages: ["signing", "authentication"],
        groups: ["system:bootstrappers:kubeadm:default-node-token"],
      },
    ],
    localAPIEndpoint: { advertiseAddress: node.address, bindPort: APISERVER_PORT },
    nodeRegistration: nodeRegistration(node, api),
    certificateKey: input.certificateKey,
  };
  const sans = [endpoint.address, node.address].filter((v, i, a) => a.indexOf(v) === i);
  const cluster: Doc = {
    apiVersion: api,
    kind: "ClusterConfiguration",
    clusterName: input.clusterName,
    kubernetesVersion: `v${settings.version}`,
    controlPlaneEndpoint: endpointHostPort(endpoint),
    certificatesDir: "/etc/kubernetes/pki",
    imageRepository: IMAGE_REPOSITORY,
    networking: { podSubnet: settings.podCidr, serviceSubnet: settings.serviceCidr, dnsDomain: settings.dnsDomain },
    etcd: { local: { dataDir: "/var/lib/etcd" } },
    apiServer: { certSANs: sans },
  };
  return [init, cluster, kubeletConfiguration(settings)];
}

/**
 * kubeadm's own waits a control-plane join makes longer than its defaults (v1beta4 `timeouts`,
 * JoinConfiguration only: nothing kubeadm writes to disk depends on these two, only how long
 * `kubeadm join` itself waits). Read in kubernetes/kubernetes @ v1.34.4, cmd/kubeadm/app:
 * - `etcdAPICall` (default 2m, constants.EtcdAPICallTimeout): the bound of each retry loop of the
 *   etcd client in util/etcd/etcd.go, and so of `etcd-join` (phases/etcd/local.go,
 *   CreateStackedEtcdStaticPodManifestFile): AddMemberAsLearner's retries, then MemberPromote's wait
 *   for the new learner to start (its name published), then its promotion retries (etcd refuses to
 *   promote a learner that has not caught up with the leader), then each endpoint's status in
 *   WaitForClusterAvailable. On a slow or loaded host (and in the boot lab's emulated guests) the
 *   learner's start and catch-up can take minutes.
 * - `tlsBootstrap` (default 5m, constants.TLSBootstrapTimeout): the wait for the kubelet's TLS
 *   bootstrap (cmd/phases/join/kubelet.go, runKubeletWaitBootstrapPhase: in `kubelet-start`, or, with
 *   the ControlPlaneKubeletLocalMode feature gate on (features/features.go: beta, on by default in
 *   v1.34.4), in `kubelet-wait-bootstrap` after `etcd-join`, where the kubelet bootstraps through this
 *   node's own API server, still starting). In the boot lab's emulated joins the kubelet's health
 *   check and TLS bootstrap took 248 s (first-up, run 1) and 342 s (day-two, run 5: past the default)
 *   (test/boot/README.md, "A real `kubeadm join --control-plane`").
 * What these do not reach: kubeadm's fixed 2 s per etcd call and per blocking client dial
 * (util/etcd/etcd.go `etcdTimeout`), which GetMemberID (one attempt: its poll stops at the first
 * error) and the dial before MemberPromote's promotion loop do not retry; no setting changes those.
 * v1beta4 only (kubeadm ≥ 1.31, `kubeadmApiVersion`); v1beta3 has no `timeouts`.
 */
export const CONTROL_PLANE_JOIN_TIMEOUTS = { etcdAPICall: "10m0s", tlsBootstrap: "10m0s" } as const;

function joinDocument(input: JoinConfigInput, controlPlane?: { certificateKey?: string }): Doc {
  const api = kubeadmApiVersion(input.settings.version);
  const doc: Doc = {
    apiVersion: api,
    kind: "JoinConfiguration",
    caCertPath: "/etc/kubernetes/pki/ca.crt",
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: endpointHostPort(input.endpoint),
        token: input.token,
        caCertHashes: [input.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(input.node, api),
  };
  if (controlPlane) {
    doc.controlPlane = {
      localAPIEndpoint: { advertiseAddress: input.node.address, bindPort: APISERVER_PORT },
      ...(controlPlane.certificateKey !== undefined ? { certificateKey: controlPlane.certificateKey } : {}),
    };
    if (api.endsWith("v1beta4")) doc.timeouts = { ...CONTROL_PLANE_JOIN_TIMEOUTS };
  }
  return doc;
}

/**
 * JoinConfiguration for the 2nd, 3rd… control plane. With `certificateKey` (the first `pulumi up`),
 * kubeadm's download-certs phase fetches the shared CA files from kube-system/kubeadm-certs and
 * decrypts them with it. Without it (a control plane joining a running cluster) the phase is skipped
 * (kubernetes/kubernetes cmd/kubeadm/app/cmd/phases/join/controlplaneprepare.go @
 * 04791b4906602ffda5ccf9bc4c84d3329f1d7080, runControlPlanePrepareDownloadCertsPhaseLocal:
 * `if data.Cfg().ControlPlane == nil || len(data.CertificateKey()) == 0 { … Skipping certs download }`)
 * and the files must already be on disk.
 */
export function controlPlaneJoinDocuments(input: ControlPlaneJoinConfigInput): Doc[] {
  return [joinDocument(input, input.certificateKey !== undefined ? { certificateKey: input.certificateKey } : {})];
}

export function workerJoinDocuments(input: JoinConfigInput): Doc[] {
  return [joinDocument(input)];
}

/** Multi-document YAML, YAML 1.1-safe (strings such as "0s" or "on" are quoted where needed). */
export function toYamlDocuments(docs: Doc[]): string {
  return docs.map((d) => stringify(d, { version: "1.1", lineWidth: 0 })).join("---\n");
}

export function renderInitConfig(input: InitConfigInput): string {
  return toYamlDocuments(initConfigDocuments(input));
}
export function renderControlPlaneJoinConfig(input: ControlPlaneJoinConfigInput): string {
  return toYamlDocuments(controlPlaneJoinDocuments(input));
}
export function renderWorkerJoinConfig(input: JoinConfigInput): string {
  return toYamlDocuments(workerJoinDocuments(input));
}
