/**
 * A control plane joining a cluster that exists (issue 17, day two: 1 → 3 here, as 3 → 5 or a
 * replaced control plane), executed: the program's real guestinfo, rendered from a previous applied
 * state (`clusterLifecycle`) that lacks the second and third control planes, booted for the third.
 * It carries the eight shared CA/SA files, joins with the join token and no certificate key (kubeadm's
 * manual certificate distribution), and its first join fails after its control-plane-join phase
 * (the etcd member announced, as a learner): the next attempt removes that member through the other
 * control planes' etcd (the lab's etcd stand-in, which lists it until it is removed), resets, puts
 * the shared files back (kubeadm's reset empties /etc/kubernetes/pki) and joins. The kubeadm
 * stand-in's preflight refuses a control-plane join without a certificate key when a shared file is
 * missing, as kubeadm's does; the negative control removes the restore from the real bootstrap and
 * shows the retry fails there. Run with `npm run test:boot:cp-join` (or in `npm run test:boot`).
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { BootResult, CONTROL_PLANE, Chain, Image, Lab, LabNetwork, ProgramVm, boot, buildImage, programState, programVms, withDocuments } from "./lab";
import { assertControlPlanePreflight, fileModes, kubeadmCalls, phasesByCall } from "./checks";
import { SHARED_PKI_FILES } from "../../components/cluster/pki";
import { BOOTSTRAP_SCRIPT_PATH, KUBEADM_DONE_PATH, PKI_BACKUP_PATH } from "../../components/cluster/cloud-init";
import { KUBEADM_CONFIG_PATH } from "../../components/cluster/kubeadm";
import { csrPem, rsaKeyPair, signPem, tmpDir } from "../cluster/helpers";

const SETS = ["vsphere-spark:kubernetes={version: 1.31.4, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}", "vsphere-spark:workersPerHost=1"];
const ENDPOINT = "192.168.1.2";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const ERRORS = "/var/log/lab-k8s-errors.log";
const VERSION = "kubeadm version -o short";
const RESET = "kubeadm reset -f";
const JOIN = `kubeadm join --config ${KUBEADM_CONFIG_PATH}`;
const RESTORE = 'rm -rf /etc/kubernetes/pki; cp -a "$PKI_BACKUP" /etc/kubernetes/pki; ';

export const timings: Record<string, number> = {};

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
}
const writeFiles = (userData: string) => (parse(userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: WriteFile[] }).write_files;
const fileOf = (userData: string, p: string) => writeFiles(userData).find((f) => f.path === p)!;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The digests the report's `pki` section gives for the shared files under /etc/kubernetes/pki. */
function sharedDigests(r: BootResult): Record<string, string> {
  const have: Record<string, string> = {};
  for (const line of r.report.pki.split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m && SHARED_PKI_FILES.some((f) => f.path === m[2])) have[m[2]] = m[1];
  }
  return have;
}

/** The kubeadm configurations the stand-in was given, in call order. */
function standinConfigs(r: BootResult): Record<string, any>[] {
  return r.report["standin-configs"].split(/^--- .*$/m).filter((d) => d.trim()).map((d) => parse(d));
}

describe("boot lab: a control plane joining a running cluster (shared CA files, join token, no certificate key)", function () {
  this.timeout(0);
  let image: Image;
  let joiner: ProgramVm;
  const lab = new Lab(() => image);
  let t0 = 0;
  let good: Chain<BootResult>;
  let noRestore: Chain<BootResult>;
  let etcdLog = "";

  before(async function () {
    const tImage = Date.now();
    image = buildImage();
    timings.image = Math.round((Date.now() - tImage) / 1000);
    // The applied state of a cluster with only its first control plane: the program renders the
    // second and third as joins of a running cluster (clusterExists, runningControlPlanes = the first).
    const state = await programState(SETS);
    const previous = { ...state, nodes: (state.nodes as { name: string }[]).filter((n) => !/^esxi-0[23]-control-plane$/.test(n.name)) };
    const vms = await programVms(SETS, previous);
    joiner = Object.values(vms).find((v) => v.name.endsWith("esxi-03-control-plane"))!;
    assert.ok(joiner, "the third control plane");
    const script = fileOf(joiner.userData, BOOTSTRAP_SCRIPT_PATH).content;
    const prev = /previous control plane (\d+\.\d+\.\d+\.\d+)/.exec(script)![1];
    const etcdAddrs = [.../^OTHER_ETCD='([^']*)'$/m.exec(script)![1].matchAll(/https:\/\/([\d.]+):2379/g)].map((m) => m[1]);
    const self = /--self-peer-url (\S+)/.exec(script)![1];
    t0 = Date.now();

    // The other control planes' etcd: a server certificate from the program's etcd CA (in the guestinfo).
    const etcdCa = { cert: fileOf(joiner.userData, "/etc/kubernetes/pki/etcd/ca.crt").content, key: fileOf(joiner.userData, "/etc/kubernetes/pki/etcd/ca.key").content };
    const server = rsaKeyPair();
    const certPem = signPem(csrPem(server.privateKeyPem, "/CN=etcd-standin"), etcdCa.cert, etcdCa.key, `subjectAltName=${etcdAddrs.map((a) => `IP:${a}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
    // The running members, and this node's, announced by the failed join (kubeadm adds it as a learner).
    const members = [
      ...etcdAddrs.map((a, i) => ({ ID: String(1000 + i), name: `member-${a}`, peerURLs: [`https://${a}:2380`], clientURLs: [`https://${a}:2379`] })),
      { ID: "4242", name: joiner.name, peerURLs: [self], clientURLs: [], isLearner: true },
    ];

    const addresses = [...new Set([ENDPOINT, prev, ...etcdAddrs])];
    const one = (label: string, extraConfig: Record<string, string>, until: string, log: string) =>
      lab.chain(addresses, async (net: LabNetwork) => {
        net.serveEtcd(etcdAddrs, { caPem: etcdCa.cert, certPem, keyPem: server.privateKeyPem, members }, log);
        const t = Date.now();
        const r = await boot(image, net, {
          extraConfig,
          mac: joiner.macAddress!,
          ...CONTROL_PLANE,
          standin: ["version v1.31.4", "fail kubeadm join 1 control-plane-join"],
          until,
          timeoutSeconds: 1200,
          files: [...SHARED_PKI_FILES.map((f) => f.path), KUBEADM_DONE_PATH, DONE],
        });
        timings[label] = Math.round((Date.now() - t) / 1000);
        return r;
      }, { vcpus: CONTROL_PLANE.vcpus });

    etcdLog = path.join(tmpDir("etcd"), "requests.log");
    good = one("join fails after control-plane-join, member removed, reset, rejoin", joiner.extraConfig, `test -f ${DONE}`, etcdLog);

    // Negative control: the same render with the restore after kubeadm's reset removed.
    const ud = parse(joiner.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" });
    const f = ud.write_files.find((x: { path: string }) => x.path === BOOTSTRAP_SCRIPT_PATH);
    const patched = f.content.replace(RESTORE, "");
    assert.notEqual(patched, f.content);
    f.content = patched;
    const ec = withDocuments(joiner.extraConfig, `#cloud-config\n${stringify(ud, { version: "1.1", lineWidth: 0 })}`);
    noRestore = one("negative control: no restore after the reset", ec, `test -s ${ERRORS}`, path.join(tmpDir("etcd"), "requests.log"));
  });
  after(() => {
    lab.down();
    console.log(`      cp-join boot timings (s): ${JSON.stringify(timings)}; wall clock ${Math.round((Date.now() - t0) / 1000)} s at ${lab.pool.size} at a time`);
  });

  it("the render: eight shared files (keys 0600), the join token, no certificate key, the restore after each reset", () => {
    const cfg = fileOf(joiner.userData, KUBEADM_CONFIG_PATH).content;
    assert.match(cfg, /^controlPlane:/m);
    assert.doesNotMatch(cfg, /certificateKey/);
    for (const f of SHARED_PKI_FILES) assert.equal(fileOf(joiner.userData, f.path).permissions, f.secret ? "0600" : "0644", f.path);
    const script = fileOf(joiner.userData, BOOTSTRAP_SCRIPT_PATH).content;
    assert.ok(script.includes(`PKI_BACKUP=${PKI_BACKUP_PATH}`));
    assert.ok(script.includes(RESTORE));
  });

  it("first join fails after control-plane-join; the retry removes its etcd member, resets, restores the program's CA files and joins to control-plane-join", async () => {
    const r = await good.result;
    const why = `\n${r.report.standin}\n${r.report["cloud-init-output"]}\n${r.report.journal}`;
    assert.deepEqual(kubeadmCalls(r), [VERSION, JOIN, RESET, JOIN], why);
    assertControlPlanePreflight(r);
    const joins = phasesByCall(r).filter((c) => c.what === "kubeadm join");
    assert.deepEqual(joins.map((c) => c.phases), [
      ["preflight", "control-plane-prepare", "check-etcd", "kubelet-start", "control-plane-join"],
      ["preflight", "control-plane-prepare", "check-etcd", "kubelet-start", "control-plane-join"],
    ], r.report.phases);
    assert.equal(r.report["standin-errors"].trim(), "", "no preflight refused");
    // The files on disk after the retry: the program's bytes, keys 0600.
    const want = Object.fromEntries(SHARED_PKI_FILES.map((f) => [f.path, sha256(fileOf(joiner.userData, f.path).content)]));
    assert.deepEqual(sharedDigests(r), want, r.report.pki);
    const modes = fileModes(r);
    for (const f of SHARED_PKI_FILES) assert.equal(modes[f.path], `${f.secret ? "600" : "644"} root:root`, f.path);
    // What the stand-in was given: no certificate key, the join token.
    const token = parse(fileOf(joiner.userData, KUBEADM_CONFIG_PATH).content).discovery.bootstrapToken.token;
    const configs = standinConfigs(r);
    assert.equal(configs.length, 2);
    for (const c of configs) {
      assert.equal(c.kind, "JoinConfiguration");
      assert.ok(c.controlPlane, "a control-plane join");
      assert.equal(c.controlPlane.certificateKey, undefined, "no certificate key");
      assert.equal(c.discovery.bootstrapToken.token, token);
    }
    assert.doesNotMatch(r.report["standin-configs"], /certificateKey/);
    // The retry removed the failed join's etcd member through the other members, then reset.
    const log = r.report.journal + r.report["cloud-init-output"];
    assert.match(log, /removing this node's etcd member/, why);
    assert.match(log, /removed; members now/, why);
    assert.match(r.report.marks, /joined the cluster/);
    assert.match(r.report.marks, /kubeadm join finished/);
  });

  it("the etcd stand-in was asked with an etcd-CA client certificate and removed this node's member", async () => {
    await good.result;
    const fs = await import("node:fs");
    const requests = fs.readFileSync(etcdLog, "utf8");
    assert.match(requests, /POST \/v3\/cluster\/member\/list client=kube-etcd-healthcheck-client authorized=true/, requests);
    assert.match(requests, /POST \/v3\/cluster\/member\/remove client=kube-etcd-healthcheck-client authorized=true \{"ID": ?"4242"\}/, requests);
    assert.doesNotMatch(requests, /authorized=false/, requests);
  });

  it("negative control: without the restore, the retry's preflight fails for the missing shared files", async () => {
    const r = await noRestore.result;
    const calls = kubeadmCalls(r);
    assert.deepEqual(calls.slice(0, 4), [VERSION, JOIN, RESET, JOIN], r.report.standin);
    const errors = r.report["standin-errors"];
    assert.match(errors, /error execution phase preflight/);
    for (const f of SHARED_PKI_FILES) assert.ok(errors.includes(f.path), `${f.path} named:\n${errors}`);
    const joins = phasesByCall(r).filter((c) => c.what === "kubeadm join");
    assert.equal(joins.length, 1, `only the first join ran any phase:\n${r.report.phases}`);
    assert.doesNotMatch(r.report.marks, /joined the cluster/);
    assert.equal(Object.keys(sharedDigests(r)).length, 0, r.report.pki);
  });
});
