/**
 * The boot lab's OCI image archives (oci.ts): the layout the OCI image spec gives (v1.1.1:
 * image-layout.md, manifest.md, config.md): every blob under its sha256, the config's diff_id equal
 * to the uncompressed layer's digest, the name as containerd's `io.containerd.image.name`
 * annotation; reproducible bytes. Then real containerd (`ctr images import`, when containerd is
 * installed and we are root, as in CI) imports it under that name and unpacks it; negative control:
 * one flipped byte in the layer and the import refuses it.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tagOf, writeOciArchive } from "./oci";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("boot lab: OCI image archives without a registry (oci.ts)", function () {
  this.timeout(60_000);
  let dir: string;
  let archive: string;
  const REF = "registry.k8s.io/etcd:3.6.5-0";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "oci-"));
    const bin = path.join(dir, "tool");
    fs.writeFileSync(bin, "#!/bin/sh\necho lab\n");
    archive = path.join(dir, "a.tar");
    writeOciArchive({ ref: REF, files: [{ src: bin, dest: "/usr/local/bin/tool" }], labels: { note: "test" } }, archive);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("tags: the part after the last colon that follows the last slash", () => {
    for (const [ref, tag] of [
      ["registry.k8s.io/pause:3.10.1", "3.10.1"],
      ["registry.k8s.io/coredns/coredns:v1.12.1", "v1.12.1"],
      ["localhost:5000/etcd:3.6.5-0", "3.6.5-0"],
    ]) assert.equal(tagOf(ref), tag);
    assert.throws(() => tagOf("localhost:5000/etcd"), /no tag/);
  });

  it("the layout: blobs under their digests, diff_id = the layer's digest, the name annotation; the same bytes twice", () => {
    const x = path.join(dir, "x");
    fs.mkdirSync(x);
    execFileSync("tar", ["-xf", archive, "-C", x]);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(x, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(fs.readFileSync(path.join(x, "index.json"), "utf8"));
    const blob = (d: string) => fs.readFileSync(path.join(x, "blobs/sha256", d.replace(/^sha256:/, "")));
    for (const f of fs.readdirSync(path.join(x, "blobs/sha256"))) assert.equal(sha(blob(f)), f, `blob ${f} is stored under its digest`);
    const [m] = index.manifests;
    assert.equal(index.manifests.length, 1);
    assert.deepEqual(m.annotations, { "io.containerd.image.name": REF, "org.opencontainers.image.ref.name": "3.6.5-0" });
    assert.deepEqual(m.platform, { architecture: "amd64", os: "linux" });
    const manifest = JSON.parse(blob(m.digest).toString());
    assert.equal(blob(m.digest).length, m.size);
    assert.equal(manifest.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar");
    const config = JSON.parse(blob(manifest.config.digest).toString());
    assert.deepEqual(config.rootfs.diff_ids, [manifest.layers[0].digest], "uncompressed: the diff_id is the layer's digest");
    assert.deepEqual(config.config.Labels, { note: "test" });
    const listing = execFileSync("tar", ["-tvf", path.join(x, "blobs/sha256", manifest.layers[0].digest.slice(7))], { encoding: "utf8" });
    assert.match(listing, /^-rwxr-xr-x 0\/0 .* \.\/usr\/local\/bin\/tool$/m);
    assert.match(listing, /^drwxrwxrwt 0\/0 .* \.\/tmp\/$/m);
    const again = path.join(dir, "b.tar");
    writeOciArchive({ ref: REF, files: [{ src: path.join(dir, "tool"), dest: "/usr/local/bin/tool" }], labels: { note: "test" } }, again);
    assert.equal(sha(fs.readFileSync(again)), sha(fs.readFileSync(archive)), "reproducible");
  });

  describe("real containerd imports it (ctr images import)", function () {
    let sock: string;
    let daemon: ReturnType<typeof spawn> | undefined;
    before(async function () {
      if (!has("containerd") || !has("ctr") || process.getuid?.() !== 0) {
        console.log("      NOT RUN: needs containerd, ctr and root");
        this.skip();
      }
      const d = path.join(dir, "containerd");
      sock = path.join(d, "sock");
      daemon = spawn("containerd", ["--root", path.join(d, "root"), "--state", path.join(d, "state"), "--address", sock, "-c", "/dev/null"], { stdio: "ignore" });
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    });
    after(() => daemon?.kill());
    const ctr = (...a: string[]) => execFileSync("ctr", ["--address", sock, "-n", "k8s.io", ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

    it("under the name, unpacked", () => {
      assert.match(ctr("images", "import", archive), new RegExp(`unpacking ${REF.replace(/\./g, "\\.")} \\(sha256:[0-9a-f]{64}\\)\\.\\.\\.done`));
      assert.match(ctr("images", "ls", "-q"), new RegExp(`^${REF.replace(/\./g, "\\.")}$`, "m"));
    });

    it("negative control: a flipped byte in the layer and the import fails", () => {
      // Another image (content the store has not seen: a blob it holds already is not read again).
      const src = path.join(dir, "other");
      fs.writeFileSync(src, "#!/bin/sh\necho other\n");
      const good = path.join(dir, "other.tar");
      writeOciArchive({ ref: "registry.k8s.io/other:1", files: [{ src, dest: "/usr/local/bin/other" }] }, good);
      const x = path.join(dir, "bad");
      fs.mkdirSync(x);
      execFileSync("tar", ["-xf", good, "-C", x]);
      const blobs = path.join(x, "blobs/sha256");
      const layer = fs.readdirSync(blobs).map((f) => path.join(blobs, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
      const b = fs.readFileSync(layer);
      b[b.indexOf("other\n")] ^= 1; // inside the file's content
      fs.writeFileSync(layer, b);
      const bad = path.join(dir, "bad.tar");
      execFileSync("tar", ["-cf", bad, "-C", x, "."]);
      assert.throws(() => ctr("images", "import", bad), /digest/);
    });
  });
});
