/** A rendered file meant for review: what `npm run plan -- --out DIR` writes. */
export type ArtifactKind =
  | "cloud-init"
  | "haproxy"
  | "kubeadm"
  | "spark-defaults"
  | "spark-submit"
  | "manifest";

export interface Artifact {
  /** Path relative to the output directory, with forward slashes, e.g. `cloud-init/esxi-01-worker-1.yaml`. */
  path: string;
  kind: ArtifactKind;
  content: string;
}

/** What review artifacts put where a private key, token or password would be. */
export const SECRET_PLACEHOLDER = "<redacted: secret>";
