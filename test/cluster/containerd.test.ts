/**
 * The containerd configuration every node writes, as containerd itself reads it: Debian 12's
 * containerd (1.6.20, what the nodes install; the boot lab's guests run the same package)
 * `containerd --config <file> config dump` prints the effective configuration (the file merged over
 * the defaults), which must run runc with the systemd cgroup driver, as kubeadm configures the
 * kubelet (a mismatch leaves pods restarting: kubernetes/website content/en/docs/setup/
 * production-environment/container-runtimes.md, "Configuring the systemd cgroup driver").
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { renderNode } from "../../components/cluster/topology";
import { CONTAINERD_CONFIG_PATH, sandboxImagePinLines } from "../../components/cluster/cloud-init";
import { caCertHash } from "../../components/cluster/pki";
import type { InstallMode } from "../../components/cluster/settings";
import { containerdProblems, CRI_TABLE, RUNC_OPTIONS_TABLE, tomlTable } from "../support/containerd";
import { referenceSpec, requireTool, samplePki, tmpDir } from "./helpers";

function dump(configText: string, dir: string, name: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, configText);
  // Reads the file and prints the merged configuration; no daemon, no root needed.
  return execFileSync("containerd", ["--config", f, "config", "dump"], { encoding: "utf8" });
}

describe("containerd's effective configuration (real containerd config dump)", function () {
  before(function () {
    requireTool(this, "containerd", "containerd");
  });

  const pki = samplePki();
  const secrets = { token: "abcdef.0123456789abcdef", caCertHash: caCertHash(pki.caCert), pki, certificateKey: "fedcba9876543210".repeat(4) };

  for (const mode of ["packages", "preinstalled"] as InstallMode[]) {
    it(`every Kubernetes node's config.toml runs runc with SystemdCgroup = true (${mode})`, () => {
      const dir = tmpDir("containerd");
      const spec = referenceSpec("haproxy", mode, 1);
      const nodes = spec.nodes.filter((n) => n.role !== "load-balancer");
      assert.ok(nodes.some((n) => n.role === "control-plane") && nodes.some((n) => n.role === "worker"));
      for (const node of nodes) {
        const body = parse(renderNode(spec, node, secrets).userData, { version: "1.1" }) as { write_files: { path: string; content: string }[] };
        const file = body.write_files.find((f) => f.path === CONTAINERD_CONFIG_PATH);
        assert.ok(file, `${node.name} writes ${CONTAINERD_CONFIG_PATH}`);
        const out = dump(file.content, dir, `${node.name}.toml`);
        assert.deepEqual(containerdProblems(out), [], `${node.name}: ${out}`);
      }
    });
  }

  /** The rendered worker's config.toml after the bootstrap's pin lines ran with `kubeadm` answering `answer`. */
  function pinned(answer: string, runs = 1): { dump: string; log: string } {
    const dir = tmpDir("containerd-pin");
    const spec = referenceSpec("haproxy", "packages", 1);
    const body = parse(renderNode(spec, spec.nodes.find((n) => n.role === "worker")!, secrets).userData, { version: "1.1" }) as { write_files: { path: string; content: string }[] };
    const cfg = path.join(dir, "config.toml");
    fs.writeFileSync(cfg, body.write_files.find((f) => f.path === CONTAINERD_CONFIG_PATH)!.content);
    // STAND-IN for kubeadm: prints `answer` for `kubeadm config images list` (what kubeadm v1.31.4 prints, see below).
    fs.writeFileSync(path.join(dir, "kubeadm"), `#!/bin/sh
[ "$1 $2 $3" = "config images list" ] && printf '%s' '${answer}'
`, { mode: 0o755 });
    const script = ['log() { echo "$*"; }', ...sandboxImagePinLines(spec.settings, cfg)].join("\n");
    let out = "";
    for (let i = 0; i < runs; i++) out += execFileSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    return { dump: dump(fs.readFileSync(cfg, "utf8"), dir, "effective.toml"), log: out };
  }

  // `kubeadm config images list --kubernetes-version v1.31.4` (kubeadm 1.31: constants.go PauseVersion "3.10").
  const KUBEADM_1_31_IMAGES = ["kube-apiserver:v1.31.4", "kube-controller-manager:v1.31.4", "kube-scheduler:v1.31.4", "kube-proxy:v1.31.4", "coredns/coredns:v1.11.3", "pause:3.10", "etcd:3.5.15-0"].map((i) => `registry.k8s.io/${i}\n`).join("");

  it("the bootstrap pins containerd's sandbox image to the pause image kubeadm names, once; containerd's effective configuration has it", () => {
    const r = pinned(KUBEADM_1_31_IMAGES, 2);
    assert.equal(tomlTable(r.dump, CRI_TABLE)?.sandbox_image, '"registry.k8s.io/pause:3.10"', r.dump);
    assert.deepEqual(containerdProblems(r.dump), []);
    assert.equal(r.log.trim(), "containerd's sandbox image: registry.k8s.io/pause:3.10 (kubeadm's)", "the second run finds the line set and does nothing");
  });

  it("negative control: when kubeadm names no pause image, containerd keeps its own default (pause:3.6, which kubeadm's preflight warns about), and the log says so", () => {
    const r = pinned("");
    assert.equal(tomlTable(r.dump, CRI_TABLE)?.sandbox_image, '"registry.k8s.io/pause:3.6"');
    assert.match(r.log, /kubeadm named no pause image/);
  });

  it("negative controls: a misspelled table keeps the text but loses the setting; the default is false", () => {
    const dir = tmpDir("containerd");
    const spec = referenceSpec("haproxy", "packages", 1);
    const body = parse(renderNode(spec, spec.nodes.find((n) => n.role === "worker")!, secrets).userData, { version: "1.1" }) as { write_files: { path: string; content: string }[] };
    const text = body.write_files.find((f) => f.path === CONTAINERD_CONFIG_PATH)!.content;
    const misspelled = text.replace("containerd.runtimes.runc.options]", "containerd.runtime.runc.options]");
    assert.notEqual(misspelled, text);
    assert.match(misspelled, /SystemdCgroup = true/, "the file's text still says it");
    const bad = dump(misspelled, dir, "misspelled.toml");
    assert.match(containerdProblems(bad).join("\n"), /SystemdCgroup is (absent|false)/);
    // containerd's own default (no file): runc without the systemd cgroup driver.
    const defaults = execFileSync("containerd", ["config", "default"], { encoding: "utf8" });
    assert.equal(tomlTable(defaults, RUNC_OPTIONS_TABLE)?.SystemdCgroup, "false");
    assert.match(containerdProblems(defaults).join("\n"), /SystemdCgroup is false/);
  });
});
