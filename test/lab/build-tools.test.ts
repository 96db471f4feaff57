/**
 * `lab/build-tools.sh --prune`: removes the cache entries of older keys and unfinished builds, keeps
 * the current key, an entry whose lock is held, and every other tool's entries (`pulumi-*` must not
 * match `pulumi-kubernetes-*`). Runs the real script on a throwaway cache folder.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "../../../lab/build-tools.sh");

function run(cache: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", env: { ...process.env, VSPHERE_SPARK_LAB_CACHE: cache } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("lab/build-tools.sh --prune", function () {
  this.timeout(60_000);
  let cache: string;
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "lab-cache-"));
  });
  afterEach(() => fs.rmSync(cache, { recursive: true, force: true }));

  function entry(name: string, complete = true): void {
    fs.mkdirSync(path.join(cache, name), { recursive: true });
    if (complete) fs.writeFileSync(path.join(cache, name, ".complete"), "");
    fs.writeFileSync(path.join(cache, name.replace(/\.tmp$/, "") + ".lock"), "");
  }
  const ls = () => fs.readdirSync(cache).sort();

  it("keeps the current key and other tools, removes older keys and unfinished builds", () => {
    const keys = run(cache, "--key", "pulumi", "pulumi-kubernetes");
    assert.equal(keys.status, 0, keys.stderr);
    const [pulumi, pulumiK8s] = keys.stdout.trim().split("\n");
    assert.match(pulumi, /^pulumi-[0-9a-f]{16}$/);
    assert.match(pulumiK8s, /^pulumi-kubernetes-[0-9a-f]{16}$/);
    entry(pulumi);
    entry(`${pulumi}.tmp`, false); // a crashed build of the current key
    entry("pulumi-0123456789abcdef"); // an older recipe
    entry(pulumiK8s);
    entry("pulumi-kubernetes-0123456789abcdef");
    fs.writeFileSync(path.join(cache, "pulumi-notakey"), "");

    const r = run(cache, "--prune", "pulumi");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ls(), [
      pulumi,
      `${pulumi}.lock`,
      "pulumi-kubernetes-0123456789abcdef",
      "pulumi-kubernetes-0123456789abcdef.lock",
      pulumiK8s,
      `${pulumiK8s}.lock`,
      "pulumi-notakey",
    ].sort());
    assert.match(r.stderr, /prune pulumi-0123456789abcdef/);
    assert.match(r.stderr, new RegExp(`prune ${pulumi}\\.tmp \\(unfinished\\)`));
  });

  it("keeps an older entry whose lock another caller holds (negative control: pruned once released)", async () => {
    entry("etcd-0123456789abcdef");
    const lock = path.join(cache, "etcd-0123456789abcdef.lock");
    // --no-fork: the lock dies with the process we kill (a forked sleep would keep holding it)
    const holder = spawn("flock", ["--no-fork", lock, "sleep", "30"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const held = run(cache, "--prune", "etcd");
      assert.equal(held.status, 0, held.stderr);
      assert.match(held.stderr, /keep etcd-0123456789abcdef \(in use\)/);
      assert.ok(fs.existsSync(path.join(cache, "etcd-0123456789abcdef")));
    } finally {
      holder.kill();
      await new Promise((r) => holder.once("exit", r));
    }
    const released = run(cache, "--prune", "etcd");
    assert.equal(released.status, 0, released.stderr);
    assert.deepEqual(ls(), []);
  });

  it("kubeadm (kubeadm, kubelet, kube-proxy) is a tool of its own: its own key, asked for by name, never in the default list", () => {
    const all = run(cache, "--key");
    assert.equal(all.status, 0, all.stderr);
    assert.doesNotMatch(all.stdout, /^kubeadm-/m, "the default list (every spec of the real-systems lab) leaves it out");
    assert.match(all.stdout, /^kubernetes-[0-9a-f]{16}$/m);
    const k = run(cache, "--key", "kubeadm");
    assert.equal(k.status, 0, k.stderr);
    assert.match(k.stdout.trim(), /^kubeadm-[0-9a-f]{16}$/);
    // Pruning kubeadm leaves the kubernetes tool's entries (and the other way round).
    entry(k.stdout.trim());
    entry("kubeadm-0123456789abcdef");
    entry("kubernetes-0123456789abcdef");
    const r = run(cache, "--prune", "kubeadm");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ls(), [k.stdout.trim(), `${k.stdout.trim()}.lock`, "kubernetes-0123456789abcdef", "kubernetes-0123456789abcdef.lock"].sort());
  });

  it("crictl (cri-tools, for the real-kubeadm image) is a tool of its own: its own key, never in the default list; the version it stamps is the one its wrapper module pins", () => {
    const all = run(cache, "--key");
    assert.doesNotMatch(all.stdout, /^crictl-/m, "the default list leaves it out");
    const k = run(cache, "--key", "crictl", "kubeadm");
    assert.equal(k.status, 0, k.stderr);
    const [crictl, kubeadm] = k.stdout.trim().split("\n");
    assert.match(crictl, /^crictl-[0-9a-f]{16}$/);
    assert.match(kubeadm, /^kubeadm-[0-9a-f]{16}$/);
    // Pruning crictl leaves kubeadm's entries.
    entry(crictl);
    entry("crictl-0123456789abcdef");
    entry(kubeadm);
    assert.equal(run(cache, "--prune", "crictl").status, 0);
    assert.deepEqual(ls(), [crictl, `${crictl}.lock`, kubeadm, `${kubeadm}.lock`].sort());
    // The recipe's version stamp (cri-tools' Makefile: -X .../pkg/version.Version, without the v) and
    // lab/tools/crictl/go.mod's requirement name the same release.
    const script = fs.readFileSync(SCRIPT, "utf8");
    const stamped = /recipe_crictl\(\) \{[^}]*version=([0-9.]+)/.exec(script)?.[1];
    const pinned = /^require sigs\.k8s\.io\/cri-tools v(\S+)$/m.exec(fs.readFileSync(path.join(path.dirname(SCRIPT), "tools/crictl/go.mod"), "utf8"))?.[1];
    assert.equal(stamped, "1.34.0");
    assert.equal(pinned, stamped);
  });

  it("refuses an unknown tool", () => {
    const r = run(cache, "--prune", "kubelet");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown tool kubelet/);
  });
});
