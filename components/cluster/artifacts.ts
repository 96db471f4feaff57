/**
 * Review copies of everything this layer renders, with secrets replaced by placeholders: the same
 * renderers the component runs inside `Output.apply`, fed with placeholder strings.
 */
import type { Artifact } from "../artifacts";
import { SECRET_PLACEHOLDER } from "../artifacts";
import type { SharedPki } from "./pki";
import type { ClusterSpec } from "./topology";
import { haproxyConfigFor, renderNode } from "./topology";

export const TOKEN_PLACEHOLDER = SECRET_PLACEHOLDER;
/** kubeadm's certificate key (hex of 32 random bytes), a secret. */
export const CERTIFICATE_KEY_PLACEHOLDER = `${SECRET_PLACEHOLDER} (kubeadm certificate key)`;
/** Not secret, but only known once the cluster CA exists. */
export const CA_HASH_PLACEHOLDER = "sha256:<hash of the cluster CA, known after pulumi up creates it>";

const key = (what: string) => `${SECRET_PLACEHOLDER} (${what})\n`;
const cert = (what: string) => `<${what}, created by pulumi up>\n`;

export const PLACEHOLDER_PKI: SharedPki = {
  caCert: cert("cluster CA certificate"),
  caKey: key("cluster CA private key"),
  frontProxyCaCert: cert("front-proxy CA certificate"),
  frontProxyCaKey: key("front-proxy CA private key"),
  etcdCaCert: cert("etcd CA certificate"),
  etcdCaKey: key("etcd CA private key"),
  saKey: key("service-account signing key"),
  saPub: cert("service-account public key"),
};

export function clusterArtifacts(spec: ClusterSpec): Artifact[] {
  const out: Artifact[] = [];
  for (const node of spec.nodes) {
    const r = renderNode(spec, node, { token: TOKEN_PLACEHOLDER, caCertHash: CA_HASH_PLACEHOLDER, pki: PLACEHOLDER_PKI, certificateKey: CERTIFICATE_KEY_PLACEHOLDER });
    out.push({ path: `cloud-init/${node.name}.yaml`, kind: "cloud-init", content: r.userData });
    if (r.kubeadmConfig !== undefined) out.push({ path: `kubeadm/${node.name}.yaml`, kind: "kubeadm", content: r.kubeadmConfig });
  }
  if (spec.endpoint.kind === "haproxy") out.push({ path: "haproxy/haproxy.cfg", kind: "haproxy", content: haproxyConfigFor(spec) });
  return out;
}
