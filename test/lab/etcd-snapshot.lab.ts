/**
 * Credentials and data over time, against real systems (part of `npm run lab`):
 *
 * - etcd snapshots: the control planes' snapshot script (components/cluster/etcd-backup.ts,
 *   ETCD_SNAPSHOT_SCRIPT, the exact text rendered into user-data) run with python3 against each member
 *   of a real 3-member etcd (v3.6.16, kubeadm's TLS), then checked with the real `etcdutl snapshot
 *   status`, restored with the real `etcdutl snapshot restore` into a fresh data directory, and that
 *   directory served by a real etcd: the keys written before the snapshot come back. Retention keeps
 *   the newest N in both places. Negative controls: a truncated and a corrupted snapshot are refused by
 *   the script's `verify` (and by etcdutl's restore, which agrees); a member without a leader and an
 *   unreachable member produce no snapshot.
 * - certificate renewal: the renewal script (components/cluster/cert-renewal.ts, CERT_RENEWAL_SCRIPT,
 *   verbatim) decides from real certificates (openssl, kubeadm's file layout, a kubeconfig with an
 *   embedded client certificate) near and far from expiry. Stand-ins: kubeadm itself (`kubeadm certs
 *   renew all`) and the static Pods' restart (crictl, the kubelet) do not run here; the deferral guard
 *   runs against an address where no API server answers.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ETCD_SNAPSHOT_EXIT, ETCD_SNAPSHOT_SCRIPT } from "../../components/cluster/etcd-backup";
import { CERT_RENEWAL_EXIT, CERT_RENEWAL_SCRIPT, KUBEADM_LEAF_CERTIFICATES } from "../../components/cluster/cert-renewal";
import { etcdClientUrl } from "../../components/cluster/etcd-member";
import { EtcdLab, addresses, makeEtcdPki } from "./etcd-cluster";
import { waitFor } from "./control-plane";
import { Parts, Tool, resolveTools } from "./tools";

const log = (s: string) => console.log(`      ${s}`);
const b64 = (s: string) => Buffer.from(s).toString("base64");
const KEYS = 200;

describe("real-systems lab: etcd snapshots and certificate renewal decisions, on a real 3-member etcd and real certificates", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-etcd-snapshot-lab-"));
  let tools: Record<string, Tool> = {};
  const parts = new Parts(() => tools, log);
  const addrs = addresses(8);
  const [a0, a1, a2] = addrs;
  /** Where a restored snapshot is served (its own address, its own certificate). */
  const [r0] = addresses(9);
  let lab: EtcdLab | undefined;
  const restored: EtcdLab[] = [];
  const t0 = Date.now();
  const pki = (f: string) => path.join(dir, "pki", f);
  const local = path.join(dir, "local");
  const nfs = path.join(dir, "nfs");

  function snapshotScript(...args: string[]): { status: number; stderr: string; stdout: string } {
    const r = spawnSync("python3", [path.join(dir, "vsphere-spark-etcd-snapshot"), ...args], { encoding: "utf8" });
    return { status: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
  }
  const snapshotOf = (a: string, node: string, retain = 2) =>
    snapshotScript("snapshot", "--endpoint", etcdClientUrl(a), "--node", node, "--dir", local, "--retain", String(retain), "--copy-dir", nfs,
      "--cacert", pki("ca.crt"), "--cert", pki("client.crt"), "--key", pki("client.key"), "--timeout", "30");
  const snapshots = (d: string, node: string) => (fs.existsSync(path.join(d, node)) ? fs.readdirSync(path.join(d, node)).filter((f) => f.endsWith(".db")).sort() : []);

  before(function () {
    tools = resolveTools(["etcd", "etcdutl"]);
    fs.mkdirSync(path.join(dir, "pki"), { recursive: true });
    makeEtcdPki(path.join(dir, "pki"), [...addrs, r0]);
    fs.writeFileSync(path.join(dir, "vsphere-spark-etcd-snapshot"), ETCD_SNAPSHOT_SCRIPT, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "vsphere-spark-cert-renewal"), CERT_RENEWAL_SCRIPT, { mode: 0o755 });
  });
  after(() => {
    lab?.down();
    for (const r of restored) r.down();
    parts.summary("etcd snapshot lab");
    log(`etcd snapshot lab: ${((Date.now() - t0) / 1000).toFixed(1)} s; files in ${dir}`);
  });

  it("each member's snapshot: taken, verified, copied; etcdutl snapshot status agrees; restored into a fresh data dir it serves every key written before", async function () {
    const bin = parts.need(this, "etcd snapshot and restore", ["etcd", "etcdutl"]);
    const l = new EtcdLab(dir, bin.etcd, addrs);
    lab = l;
    for (const a of addrs) l.wipe(a);
    for (const a of addrs) l.start(a, "new", addrs);
    await waitFor("3 members healthy", async () => ((await Promise.all(addrs.map((a) => l.healthy(a)))).every(Boolean) ? true : undefined), 60_000, 200);
    for (let i = 0; i < KEYS; i++) await l.call(a0, "/v3/kv/put", { key: b64(`lab/key-${String(i).padStart(4, "0")}`), value: b64(`value-${i}`) });
    const t = Date.now();
    for (const [i, a] of addrs.entries()) {
      const r = snapshotOf(a, `cp-${i}`);
      assert.equal(r.status, ETCD_SNAPSHOT_EXIT.ok, r.stderr);
      log(r.stderr.trim().split("\n").filter((x) => /verified/.test(x)).join("\n      "));
    }
    log(`3 snapshots in ${Date.now() - t} ms`);
    for (const i of [0, 1, 2]) {
      const [f] = snapshots(local, `cp-${i}`);
      assert.ok(f, `cp-${i}: a snapshot in the local directory`);
      assert.deepEqual(snapshots(nfs, `cp-${i}`), [f], `cp-${i}: the same snapshot in the copy directory`);
      const file = path.join(local, `cp-${i}`, f);
      assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(nfs, `cp-${i}`, f)));
      const meta = JSON.parse(fs.readFileSync(file.replace(/\.db$/, ".json"), "utf8"));
      assert.ok(meta.revision > KEYS, `revision ${meta.revision} covers the ${KEYS} puts`);
      assert.notEqual(meta.leader, "0");
      const st = spawnSync(bin.etcdutl, ["snapshot", "status", file, "-w", "json"], { encoding: "utf8" });
      assert.equal(st.status, 0, st.stderr);
      const status = JSON.parse(st.stdout);
      log(`cp-${i}: ${f}: etcdutl snapshot status ${st.stdout.trim()}`);
      assert.equal(status.revision, meta.revision, "etcdutl reads the revision the member reported");
      assert.ok(status.totalKey >= KEYS, `etcdutl counts ${status.totalKey} keys`);
    }
    // Restore cp-1's snapshot into a fresh data directory and serve it.
    const [f1] = snapshots(local, "cp-1");
    const data = path.join(dir, `data-${r0}`);
    fs.rmSync(data, { recursive: true, force: true });
    const restore = spawnSync(bin.etcdutl, ["snapshot", "restore", path.join(local, "cp-1", f1), "--data-dir", data, "--name", "cp-0",
      "--initial-cluster", `cp-0=https://${r0}:2380`, "--initial-advertise-peer-urls", `https://${r0}:2380`], { encoding: "utf8" });
    assert.equal(restore.status, 0, restore.stderr);
    const rl = new EtcdLab(dir, bin.etcd, [r0]);
    restored.push(rl);
    rl.start(r0, "existing", [r0]);
    await waitFor("the restored member healthy", async () => ((await rl.healthy(r0).catch(() => false)) ? true : undefined), 60_000, 200).catch(async (e) => {
      throw new Error(`${e}: ${fs.readFileSync(path.join(dir, `etcd-${r0}.log`), "utf8").slice(-2000)}`);
    });
    const range = await rl.call(r0, "/v3/kv/range", { key: b64("lab/"), range_end: b64("lab0") });
    const kvs = (range.kvs ?? []) as Array<{ key: string; value: string }>;
    assert.equal(kvs.length, KEYS, "every key written before the snapshot");
    for (const kv of kvs) {
      const k = Buffer.from(kv.key, "base64").toString();
      const n = Number(k.slice("lab/key-".length));
      assert.equal(Buffer.from(kv.value, "base64").toString(), `value-${n}`);
    }
    log(`restored ${f1} with etcdutl into a fresh data dir: ${kvs.length} keys back`);
  });

  it("retention: the newest N stay, in the local directory and in the copy", async function () {
    parts.need(this, "retention", ["etcd"]);
    assert.ok(lab);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // names carry the second
      const r = snapshotOf(a0, "cp-0", 2);
      assert.equal(r.status, ETCD_SNAPSHOT_EXIT.ok, r.stderr);
    }
    const kept = snapshots(local, "cp-0");
    assert.equal(kept.length, 2, kept.join(", "));
    assert.deepEqual(snapshots(nfs, "cp-0"), kept);
    const jsons = fs.readdirSync(path.join(local, "cp-0")).filter((f) => f.endsWith(".json")).sort();
    assert.deepEqual(jsons, kept.map((f) => f.replace(/\.db$/, ".json")), "each kept snapshot keeps its status, the pruned ones' are gone");
    assert.deepEqual(snapshots(local, "cp-1").length, 1, "another node's snapshots are not touched");
  });

  it("negative controls: a truncated and a corrupted snapshot are refused by verify (etcdutl's restore agrees); a member without a leader or out of reach gives no snapshot", async function () {
    const bin = parts.need(this, "snapshot negative controls", ["etcd", "etcdutl"]);
    assert.ok(lab);
    const [good] = snapshots(local, "cp-2");
    const goodPath = path.join(local, "cp-2", good);
    const ok = snapshotScript("verify", goodPath);
    assert.equal(ok.status, ETCD_SNAPSHOT_EXIT.ok, ok.stderr);
    const bytes = fs.readFileSync(goodPath);
    const bad = {
      truncated: bytes.subarray(0, bytes.length - 4096),
      "truncated to a 512-byte boundary + 32": bytes.subarray(0, bytes.length - 512),
      corrupted: Buffer.from(bytes).fill(0x5a, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 16),
      "not a snapshot": Buffer.alloc(bytes.length, 1),
    };
    for (const [what, content] of Object.entries(bad)) {
      const f = path.join(dir, `bad-${what.replace(/\W+/g, "-")}.db`);
      fs.writeFileSync(f, content);
      const r = snapshotScript("verify", f);
      assert.equal(r.status, ETCD_SNAPSHOT_EXIT.invalid, `${what}: ${r.stdout}${r.stderr}`);
      const restore = spawnSync(bin.etcdutl, ["snapshot", "restore", f, "--data-dir", path.join(dir, `restore-${what.replace(/\W+/g, "-")}`)], { encoding: "utf8" });
      assert.notEqual(restore.status, 0, `${what}: etcdutl snapshot restore refuses it too`);
      log(`${what}: verify: ${r.stderr.trim()}; etcdutl: ${restore.stderr.trim().split("\n").pop()}`);
    }
    // Out of reach: nothing taken.
    const before = snapshots(local, "cp-9");
    const unreachable = snapshotScript("snapshot", "--endpoint", `https://${addresses(10)[0]}:2379`, "--node", "cp-9", "--dir", local, "--retain", "2",
      "--cacert", pki("ca.crt"), "--cert", pki("client.crt"), "--key", pki("client.key"), "--timeout", "3");
    assert.equal(unreachable.status, ETCD_SNAPSHOT_EXIT.unreachable, unreachable.stderr);
    // Two members gone: the third has no leader, and its possibly stale data is not snapshotted.
    await lab.stop(a0);
    await lab.stop(a1);
    await waitFor("cp-2 without a leader", async () => {
      const st = await lab!.call(a2, "/v3/maintenance/status", {}).catch(() => undefined);
      return st && String(st.leader ?? "0") === "0" ? true : undefined;
    }, 30_000, 300);
    const count = snapshots(local, "cp-2").length;
    const noLeader = snapshotOf(a2, "cp-2");
    assert.equal(noLeader.status, ETCD_SNAPSHOT_EXIT.noLeader, noLeader.stderr);
    assert.equal(snapshots(local, "cp-2").length, count, "no snapshot taken without a leader");
    assert.deepEqual(snapshots(local, "cp-9"), before);
  });

  describe("certificate renewal decisions on real certificates (openssl; kubeadm and the static Pods' restart are stand-ins not run here)", () => {
    const k = path.join(dir, "k8s");
    const ca = path.join(dir, "renewal-ca");
    const openssl = (...args: string[]) => {
      const r = spawnSync("openssl", args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    };
    /** A leaf signed by the lab CA, valid `days` from now, at `rel` under the Kubernetes dir. */
    function leaf(rel: string, days: number): string {
      const out = path.join(k, rel);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${out}.key`, "-out", `${out}.csr`, "-subj", `/CN=${path.basename(rel)}`);
      openssl("x509", "-req", "-in", `${out}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", out, "-days", String(days));
      return out;
    }
    function kubeconfig(name: string, days: number): void {
      const pem = fs.readFileSync(leaf(`tmp/${name}.crt`, days));
      fs.writeFileSync(path.join(k, name), ["apiVersion: v1", "kind: Config", "users:", "- name: kubernetes-admin", "  user:", `    client-certificate-data: ${pem.toString("base64")}`, `    client-key-data: ${b64("key")}`, ""].join("\n"));
    }
    function decide(window: number, ...extra: string[]): { status: number; stdout: string; stderr: string } {
      const r = spawnSync("bash", [path.join(dir, "vsphere-spark-cert-renewal"), "--window-days", String(window), "--kubernetes-dir", k, ...extra], { encoding: "utf8" });
      return { status: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr };
    }
    function fresh(days: number): void {
      fs.rmSync(k, { recursive: true, force: true });
      for (const rel of KUBEADM_LEAF_CERTIFICATES) leaf(rel, days);
      for (const c of ["admin.conf", "controller-manager.conf", "scheduler.conf"]) kubeconfig(c, days);
    }

    before(() => {
      openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "3650", "-subj", "/CN=kubernetes");
    });

    it("far from expiry: not due; one leaf 10 days from expiry: due, naming it; an embedded kubeconfig certificate counts too", function () {
      parts.need(this, "renewal decisions", []);
      fresh(365);
      const far = decide(30, "--check-only");
      assert.equal(far.status, CERT_RENEWAL_EXIT.ok, far.stderr);
      assert.match(far.stdout, /^decision=not-due earliest=\S+ days=36[45]$/);
      leaf("pki/etcd/peer.crt", 10);
      const near = decide(30, "--check-only");
      assert.equal(near.status, CERT_RENEWAL_EXIT.due, near.stderr);
      assert.match(near.stdout, /^decision=due earliest=pki\/etcd\/peer\.crt days=(9|10)$/);
      fresh(365);
      kubeconfig("admin.conf", 20);
      const admin = decide(30, "--check-only");
      assert.equal(admin.status, CERT_RENEWAL_EXIT.due, admin.stderr);
      assert.match(admin.stdout, /earliest=admin\.conf /);
      log(`far: ${far.stdout}; near: ${near.stdout}; kubeconfig: ${admin.stdout}`);
    });

    it("the window decides (45 days left: not due with 30, due with 60); no certificate: exit 3; an unreadable one: exit 1", function () {
      parts.need(this, "renewal window", []);
      fresh(45);
      assert.equal(decide(30, "--check-only").status, CERT_RENEWAL_EXIT.ok);
      assert.equal(decide(60, "--check-only").status, CERT_RENEWAL_EXIT.due);
      fs.writeFileSync(path.join(k, "pki/apiserver.crt"), "not a certificate\n");
      assert.equal(decide(30, "--check-only").status, CERT_RENEWAL_EXIT.failed);
      fs.rmSync(k, { recursive: true, force: true });
      fs.mkdirSync(k);
      assert.equal(decide(30, "--check-only").status, CERT_RENEWAL_EXIT.none);
      assert.equal(decide(Number.NaN).status, CERT_RENEWAL_EXIT.usage);
    });

    it("due, but another control plane's API does not answer: deferred, kubeadm never runs", function () {
      parts.need(this, "renewal deferral", []);
      fresh(10);
      const bin = path.join(dir, "stand-in-bin");
      fs.mkdirSync(bin, { recursive: true });
      const marker = path.join(dir, "kubeadm-ran");
      fs.writeFileSync(path.join(bin, "kubeadm"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
      const r = spawnSync("bash", [path.join(dir, "vsphere-spark-cert-renewal"), "--window-days", "30", "--kubernetes-dir", k, "--other-api", `${addresses(11)[0]}:6443`],
        { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(r.status, CERT_RENEWAL_EXIT.deferred, r.stderr);
      assert.match(r.stdout, /^decision=deferred /);
      assert.equal(fs.existsSync(marker), false, "kubeadm certs renew did not run");
    });
  });
});
