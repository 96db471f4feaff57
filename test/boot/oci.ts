/**
 * OCI image archives without a registry or Docker, for the boot lab's real `kubeadm init`
 * (real-k8s.ts): one uncompressed layer (a tar GNU tar writes reproducibly: sorted, owner 0, mtime 0),
 * its config, a manifest and an image layout (`oci-layout`, `index.json`, `blobs/sha256/…`), as the
 * OCI image spec lays them out (github.com/opencontainers/image-spec v1.1.1: image-layout.md,
 * manifest.md, config.md). `ctr images import` reads it; the image's name is the index annotation
 * `io.containerd.image.name` (containerd's images.AnnotationImageName), its tag also as
 * `org.opencontainers.image.ref.name`, as `docker save` writes them.
 *
 * The layer is uncompressed on purpose: the guest is emulated (TCG), and gunzip there is slow.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface OciFile {
  /** The file on this machine. */
  src: string;
  /** Its path in the image (absolute). */
  dest: string;
  mode?: number;
}

export interface OciImage {
  /** The full reference, e.g. `registry.k8s.io/pause:3.10.1`. */
  ref: string;
  files: OciFile[];
  entrypoint?: string[];
  user?: string;
  labels?: Record<string, string>;
}

/** The digest and size of a blob written into `blobs`. */
function blob(blobs: string, content: Buffer | string): { digest: string; size: number } {
  const hex = createHash("sha256").update(content).digest("hex");
  fs.writeFileSync(path.join(blobs, hex), content);
  return { digest: `sha256:${hex}`, size: Buffer.byteLength(content) };
}

function fileDigest(file: string): string {
  const h = createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

/** The tag of a reference (after the last `:` that follows the last `/`). */
export function tagOf(ref: string): string {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon <= slash) throw new Error(`${ref}: no tag`);
  return ref.slice(colon + 1);
}

/** Writes `image` as an OCI layout tar at `out` (via `out.tmp`, renamed when complete). */
export function writeOciArchive(image: OciImage, out: string): void {
  const work = `${out}.d`;
  fs.rmSync(work, { recursive: true, force: true });
  const root = path.join(work, "root");
  const layout = path.join(work, "layout");
  const blobs = path.join(layout, "blobs", "sha256");
  fs.mkdirSync(blobs, { recursive: true });
  fs.mkdirSync(path.join(root, "tmp"), { recursive: true });
  fs.chmodSync(path.join(root, "tmp"), 0o1777);
  for (const f of image.files) {
    const dest = path.join(root, f.dest);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(f.src, dest);
    fs.chmodSync(dest, f.mode ?? 0o755);
  }
  const layerTar = path.join(work, "layer.tar");
  execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--format=gnu", "-cf", layerTar, "-C", root, "."]);
  const layerHex = fileDigest(layerTar);
  const layerSize = fs.statSync(layerTar).size;
  fs.renameSync(layerTar, path.join(blobs, layerHex));

  const config = blob(
    blobs,
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(image.entrypoint ? { Entrypoint: image.entrypoint } : {}),
        ...(image.user ? { User: image.user } : {}),
        ...(image.labels ? { Labels: image.labels } : {}),
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${layerHex}`] },
      history: [{ created_by: "vsphere-spark boot lab (test/boot/oci.ts)" }],
    }),
  );
  const manifest = blob(
    blobs,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layerHex}`, size: layerSize }],
    }),
  );
  fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  fs.writeFileSync(
    path.join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          platform: { architecture: "amd64", os: "linux" },
          annotations: { "io.containerd.image.name": image.ref, "org.opencontainers.image.ref.name": tagOf(image.ref) },
        },
      ],
    }),
  );
  execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--format=gnu", "-cf", `${out}.tmp`, "-C", layout, "."]);
  fs.renameSync(`${out}.tmp`, out);
  fs.rmSync(work, { recursive: true, force: true });
}
