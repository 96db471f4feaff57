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
 * What a bootstrap token Secret needs so that a node (a control plane too: it joins with the workers'
 * token once the cluster exists) can discover the cluster and TLS-bootstrap its kubelet with it:
 * - `usage-bootstrap-authentication: "true"`: the API server's bootstrap token authenticator accepts
 *   no other (kubernetes/kubernetes plugin/pkg/auth/authenticator/token/bootstrap/bootstrap.go @
 *   11004393201d5c166c115161a6f740f750319bcb, AuthenticateToken: "not marked
 *   usage-bootstrap-authentication=true" → not authenticated);
 * - `usage-bootstrap-signing: "true"`: the bootstrap signer signs kube-public/cluster-info (the JWS
 *   kubeadm's token discovery verifies) only for such tokens (pkg/controller/bootstrap/util.go @
 *   025f2834a128798cef30018a5e6a6ae82b5ad885, validateSecretForSigning);
 * - `auth-extra-groups` with kubeadm's node group `system:bootstrappers:kubeadm:default-node-token`
 *   (cmd/kubeadm/app/constants/constants.go `NodeBootstrapTokenAuthGroup`): kubeadm binds to that
 *   group the right to post CSRs and their auto-approval (cmd/kubeadm/app/phases/bootstraptoken/node/
 *   tlsbootstrap.go @ 0553521df1be9f2be248577fdd77f787acba353d, AllowBootstrapTokensToPostCSRs,
 *   AutoApproveNodeBootstrapTokens) and reading kube-system/kubeadm-config, which a joining control
 *   plane reads with the token before it has any other credential (cmd/kubeadm/app/phases/uploadconfig/
 *   uploadconfig.go, Role `kubeadm:nodes-kubeadm-config`).
 */
export const KUBEADM_NODE_GROUP = "system:bootstrappers:kubeadm:default-node-token";
export const JOIN_TOKEN_NEEDS: ReadonlyArray<{ key: string; value: string; why: string }> = [
  { key: "usage-bootstrap-authentication", value: "true", why: "the API server authenticates only tokens marked for authentication" },
  { key: "usage-bootstrap-signing", value: "true", why: "the bootstrap signer signs cluster-info (token discovery) only with tokens marked for signing" },
  { key: "auth-extra-groups", value: KUBEADM_NODE_GROUP, why: "kubeadm's RBAC (CSR posting and approval, kubeadm-config) is bound to this group" },
];

/** What a token Secret's data lacks for a kubeadm join (`JOIN_TOKEN_NEEDS`); empty when nothing. */
export function joinTokenSecretProblems(data: Record<string, string>): string[] {
  const out: string[] = [];
  for (const n of JOIN_TOKEN_NEEDS) {
    const v = data[n.key];
    const ok = n.key === "auth-extra-groups" ? (v ?? "").split(",").map((g) => g.trim()).includes(n.value) : v === n.value;
    if (!ok) out.push(`${n.key} must ${n.key === "auth-extra-groups" ? "include" : "be"} "${n.value}": ${n.why}`);
  }
  return out;
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
    "auth-extra-groups": KUBEADM_NODE_GROUP,
  };
  const seconds = durationSeconds(ttl);
  if (seconds > 0) data.expiration = new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const problems = joinTokenSecretProblems(data);
  if (problems.length > 0) throw new Error(`bootstrapTokenSecret: ${problems.join("; ")}`);
  return { apiVersion: "v1", kind: "Secret", type: "bootstrap.kubernetes.io/token", metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" }, stringData: data };
}
