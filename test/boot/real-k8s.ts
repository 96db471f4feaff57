/**
 * What the boot lab's real-kubeadm image carries instead of the stand-ins (real-kubeadm.boot.ts):
 * the real kubeadm, kubelet and kubectl, and the control plane's images as OCI archives, for a
 * registry that is not there (guest-kubeadm/lab-registry imports them into containerd at boot).
 *
 * Built from the real-systems lab's tools (`lab/build-tools.sh`: kubeadm, kubelet and kube-proxy from
 * the `kubeadm` tool; kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from
 * `kubernetes`; etcd from `etcd`; crictl from `crictl`, cri-tools v1.34.0, which kubeadm's package
 * depends on and the certificate renewal uses), each image named exactly as `kubeadm config images list` names it
 * for the version. Two are not what the registry serves:
 * - etcd: the lab's etcd build (its version, printed by `etcd --version`, is recorded in the image's
 *   labels and in the payload) under kubeadm's tag for etcd (`3.6.5-0` for v1.34.4): the lab builds
 *   one etcd for everything, and kubeadm only names the image.
 * - coredns: NOT built here; a stand-in image (the pause binary, labelled as a stand-in) under the
 *   name kubeadm gives it, so that preflight finds every image. CoreDNS's pods wait for a pod network
 *   (no CNI in the lab) and never run it.
 * pause is built from the k8s.io/kubernetes module's own source (build/pause/linux/pause.c, `gcc
 * -static`, as build/pause/Makefile does), for the tag kubeadm names.
 *
 * Every Go binary is copied stripped (`strip`: no symbol table, no DWARF), as Kubernetes' release
 * builds link them (hack/lib/golang.sh: `-s -w` unless DBG=1): about 30% smaller, which the guest
 * imports and unpacks under emulation (the import was 112 s of a 307 s boot unstripped).
 *
 * Output: `$VSPHERE_SPARK_BOOT_CACHE/k8s-<key>` (default test/boot/.cache), keyed by every input (the
 * binaries' digests, pause.c, gcc's and strip's versions, the image list, this file and oci.ts), never in the clone's
 * tracked files.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveTools } from "../lab/tools";
import { OciImage, writeOciArchive } from "./oci";

const ROOT = path.resolve(__dirname, "../../..");
const HERE = path.join(ROOT, "test/boot");

export interface K8sPayload {
  /** bin/{kubeadm,kubelet,kubectl,crictl} and images/*.tar. */
  dir: string;
  /** The image references, as kubeadm lists them. */
  images: string[];
  /** `etcd --version`'s first line (the binary under kubeadm's etcd tag). */
  etcdVersion: string;
  /** Seconds spent here (0 when cached). */
  seconds: number;
}

const TOOL_BINARIES = ["kubeadm", "kubelet", "kube-proxy", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "crictl"];

function digest(file: string): string {
  return execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0];
}

/**
 * The payload for `version` (e.g. `v1.34.4`), built when not cached; `missing` names the tools
 * `lab/build-tools.sh` did not provide (not built before `VSPHERE_SPARK_LAB_DEADLINE`).
 */
export function k8sPayload(version: string): { payload?: K8sPayload; missing?: string[] } {
  const t0 = Date.now();
  const tools = resolveTools(["kubeadm", "kubernetes", "etcd", "crictl"]);
  const failed = TOOL_BINARIES.filter((b) => tools[b]?.source === "failed");
  if (failed.length) throw new Error(`building ${failed.join(", ")} failed (lab/build-tools.sh printed the log's tail above)`);
  const missing = TOOL_BINARIES.filter((b) => !tools[b]?.path);
  if (missing.length) return { missing };
  const bin = (b: string) => tools[b].path!;

  const images = execFileSync(bin("kubeadm"), ["config", "images", "list", "--kubernetes-version", version], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  const etcdVersion = execFileSync(bin("etcd"), ["--version"], { encoding: "utf8" }).split("\n")[0];
  // pause.c from the module kubeadm was built from (its wrapper module pins k8s.io/kubernetes).
  const modDir = execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"], { cwd: path.join(ROOT, "lab/tools/kubeadm"), encoding: "utf8" }).trim();
  const pauseC = path.join(modDir, "build/pause/linux/pause.c");
  const gcc = execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  const strip = execFileSync("strip", ["--version"], { encoding: "utf8" }).split("\n")[0];

  const key = createHash("sha256")
    .update([version, ...images, etcdVersion, gcc, strip, digest(pauseC), ...TOOL_BINARIES.map((b) => `${b} ${digest(bin(b))}`)].join("\n"))
    .update(fs.readFileSync(__filename))
    .update(fs.readFileSync(path.join(__dirname, "oci.js")))
    .digest("hex")
    .slice(0, 16);
  const cache = process.env.VSPHERE_SPARK_BOOT_CACHE ?? path.join(HERE, ".cache");
  const dir = path.join(cache, `k8s-${key}`);
  const result = (seconds: number): K8sPayload => ({ dir, images, etcdVersion, seconds });
  if (fs.existsSync(path.join(dir, ".complete"))) return { payload: result(0) };

  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, "bin"), { recursive: true });
  fs.mkdirSync(path.join(tmp, "images"), { recursive: true });
  // Stripped copies of every binary (see above), in the payload only.
  const stripped = (b: string) => path.join(tmp, "stripped", b);
  fs.mkdirSync(path.join(tmp, "stripped"));
  for (const b of TOOL_BINARIES) execFileSync("strip", ["-o", stripped(b), bin(b)]);
  for (const b of ["kubeadm", "kubelet", "kubectl", "crictl"]) fs.copyFileSync(stripped(b), path.join(tmp, "bin", b));
  const pause = path.join(tmp, "pause");
  const pauseTag = images.find((i) => /\/pause:/.test(i))?.split(":").pop();
  if (!pauseTag) throw new Error(`kubeadm ${version} names no pause image: ${images.join(", ")}`);
  // build/pause/Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)
  execFileSync("gcc", ["-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${pauseTag}-vsphere-spark-lab`, "-o", pause, pauseC]);

  const label = (note: string) => ({ "vsphere-spark.lab/note": note });
  for (const ref of images) {
    const name = ref.split("/").pop()!.split(":")[0];
    let image: OciImage;
    if (name === "pause") {
      // build/pause/Dockerfile: ADD pause /pause, USER 65535:65535, ENTRYPOINT ["/pause"]
      image = { ref, files: [{ src: pause, dest: "/pause" }], entrypoint: ["/pause"], user: "65535:65535", labels: label(`pause built from k8s.io/kubernetes ${version} build/pause/linux/pause.c by the boot lab`) };
    } else if (name === "coredns") {
      image = { ref, files: [{ src: pause, dest: "/pause" }], entrypoint: ["/pause"], labels: label("STAND-IN: CoreDNS is not built by the boot lab; the pause binary under CoreDNS's name, so that kubeadm's preflight finds every image (CoreDNS waits for a pod network the lab does not have)") };
    } else if (name === "etcd") {
      image = { ref, files: [{ src: stripped("etcd"), dest: "/usr/local/bin/etcd" }], labels: label(`the lab's etcd build (${etcdVersion}) under kubeadm's tag for ${version}: the binary's version differs from the tag`) };
    } else if (tools[name]?.path) {
      image = { ref, files: [{ src: stripped(name), dest: `/usr/local/bin/${name}` }], labels: label(`${name} ${version}, the real-systems lab's build (lab/build-tools.sh)`) };
    } else {
      throw new Error(`no binary for kubeadm's image ${ref}`);
    }
    writeOciArchive(image, path.join(tmp, "images", `${name}.tar`));
  }
  fs.rmSync(pause);
  fs.rmSync(path.join(tmp, "stripped"), { recursive: true });
  fs.writeFileSync(path.join(tmp, "images.txt"), images.join("\n") + "\n");
  fs.writeFileSync(path.join(tmp, "etcd-version.txt"), etcdVersion + "\n");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  fs.writeFileSync(path.join(dir, ".complete"), "");
  return { payload: result(Math.round((Date.now() - t0) / 1000)) };
}
