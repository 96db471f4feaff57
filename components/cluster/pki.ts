/**
 * Cluster PKI facts that need no engine: the kubeadm CA pin, the bootstrap token format, the
 * certificate key, and the eight files every control plane shares (written on the init node only;
 * `kubeadm init --upload-certs` hands them to the joining control planes).
 */
import { X509Certificate, createHash } from "node:crypto";

/** `sha256:<hex>` of the certificate's DER SubjectPublicKeyInfo (kubeadm's `caCertHashes`). */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

export const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
export const CA_CERT_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * Bytes of kubeadm's certificate key, an AES-256 key given as hex (kubeadm decodes it with
 * hex.DecodeString and encrypts the kubeadm-certs Secret's values with AES-GCM;
 * cmd/kubeadm/app/phases/copycerts).
 */
export const CERTIFICATE_KEY_BYTES = 32;

export function isBootstrapToken(s: string): boolean {
  return BOOTSTRAP_TOKEN.test(s);
}

/** Lengths of the two RandomStrings that form a token (`<id>.<secret>`). */
export const TOKEN_ID_LENGTH = 6;
export const TOKEN_SECRET_LENGTH = 16;

/** The key and certificate material shared by all control planes (PEM text). */
export interface SharedPki {
  caCert: string;
  caKey: string;
  frontProxyCaCert: string;
  frontProxyCaKey: string;
  etcdCaCert: string;
  etcdCaKey: string;
  saKey: string;
  saPub: string;
}

/** Where each shared file goes, with its mode (keys 0600, certificates and sa.pub 0644). */
export const SHARED_PKI_FILES: ReadonlyArray<{ field: keyof SharedPki; path: string; secret: boolean }> = [
  { field: "caCert", path: "/etc/kubernetes/pki/ca.crt", secret: false },
  { field: "caKey", path: "/etc/kubernetes/pki/ca.key", secret: true },
  { field: "frontProxyCaCert", path: "/etc/kubernetes/pki/front-proxy-ca.crt", secret: false },
  { field: "frontProxyCaKey", path: "/etc/kubernetes/pki/front-proxy-ca.key", secret: true },
  { field: "etcdCaCert", path: "/etc/kubernetes/pki/etcd/ca.crt", secret: false },
  { field: "etcdCaKey", path: "/etc/kubernetes/pki/etcd/ca.key", secret: true },
  { field: "saKey", path: "/etc/kubernetes/pki/sa.key", secret: true },
  { field: "saPub", path: "/etc/kubernetes/pki/sa.pub", secret: false },
];

/**
 * The admin client certificate's group. kubeadm 1.29+ binds `kubeadm:cluster-admins` to
 * cluster-admin at init (a binding that can be removed to revoke the certificate), and keeps
 * `system:masters` (which no RBAC change can revoke) for super-admin.conf only (kubernetes/kubernetes
 * cmd/kubeadm/app/constants/constants.go `ClusterAdminsGroupAndClusterRoleBinding`, v1.29.0).
 */
export function adminGroup(kubernetesVersion: string): string {
  const [major, minor] = kubernetesVersion.split(".").map(Number);
  return major > 1 || minor >= 29 ? "kubeadm:cluster-admins" : "system:masters";
}

/** Seconds in a Go duration such as `24h`, `1h30m`, `90s`, `0s` (the settings validate the form). */
export function durationSeconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as "h" | "m" | "s" | "ms"];
  return total;
}

/** The Secret kubeadm would create for a bootstrap token (kube-system, type bootstrap.kubernetes.io/token). */
export interface BootstrapTokenSecret {
  apiVersion: "v1";
  kind: "Secret";
  type: "bootstrap.kubernetes.io/token";
  metadata: { name: string; namespace: "kube-system" };
  stringData: Record<string, string>;
}

/**
 * A join token as a Secret (k8s.io/cluster-bootstrap token/api: `token-id`, `token-secret`,
 * `expiration` RFC 3339, `usage-bootstrap-authentication`, `usage-bootstrap-signing` so the
 * bootstrap signer signs cluster-info with it, and kubeadm's node group in `auth-extra-groups`).
 * `ttl` `0s` means no expiration.
 */
export function bootstrapTokenSecret(token: string, ttl: string, now: Date, description: string): BootstrapTokenSecret {
  if (!isBootstrapToken(token)) throw new Error("bootstrapTokenSecret: not a bootstrap token");
  const [id, secret] = token.split(".");
  const data: Record<string, string> = {
    description,
    "token-id": id,
    "token-secret": secret,
    "usage-bootstrap-authentication": "true",
    "usage-bootstrap-signing": "true",
    "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
  };
  const seconds = durationSeconds(ttl);
  if (seconds > 0) data.expiration = new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { apiVersion: "v1", kind: "Secret", type: "bootstrap.kubernetes.io/token", metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" }, stringData: data };
}
