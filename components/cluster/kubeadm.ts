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

export const KUBELET_CONFIG_API = "kubelet.config.k8s.io/v1beta1";
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";

/** Where the node's kubeadm configuration is written. */
export const KUBEADM_CONFIG_PATH = "/etc/kubernetes/vsphere-spark/kubeadm.yaml";

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
  /** The init's certificate key: kubeadm downloads the shared CA files with it (no keys in guestinfo). */
  certificateKey: string;
}

type Doc = Record<string, unknown>;

function nodeRegistration(node: ClusterNode, api: string): Doc {
  // taints left unset: kubeadm puts node-role.kubernetes.io/control-plane:NoSchedule on control
  // planes, and nothing on workers, so Spark executors land on workers only. GPU workers carry
  // the GPU taint and label from registration on (components/cluster/gpu.ts).
  return { name: node.name, criSocket: CRI_SOCKET, imagePullPolicy: "IfNotPresent", ...(node.gpus ? gpuNodeRegistration(api) : {}) };
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
    imageRepository: "registry.k8s.io",
    networking: { podSubnet: settings.podCidr, serviceSubnet: settings.serviceCidr, dnsDomain: settings.dnsDomain },
    etcd: { local: { dataDir: "/var/lib/etcd" } },
    apiServer: { certSANs: sans },
  };
  return [init, cluster, kubeletConfiguration(settings)];
}

function joinDocument(input: JoinConfigInput, controlPlane?: { certificateKey: string }): Doc {
  const doc: Doc = {
    apiVersion: kubeadmApiVersion(input.settings.version),
    kind: "JoinConfiguration",
    caCertPath: "/etc/kubernetes/pki/ca.crt",
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: endpointHostPort(input.endpoint),
        token: input.token,
        caCertHashes: [input.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(input.node, kubeadmApiVersion(input.settings.version)),
  };
  if (controlPlane) {
    doc.controlPlane = {
      localAPIEndpoint: { advertiseAddress: input.node.address, bindPort: APISERVER_PORT },
      certificateKey: controlPlane.certificateKey,
    };
  }
  return doc;
}

/**
 * JoinConfiguration for the 2nd, 3rd… control plane: kubeadm's download-certs phase fetches the
 * shared CA files from kube-system/kubeadm-certs and decrypts them with `certificateKey`.
 */
export function controlPlaneJoinDocuments(input: ControlPlaneJoinConfigInput): Doc[] {
  return [joinDocument(input, { certificateKey: input.certificateKey })];
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
