/**
 * Node retirement against real systems (part of `npm run lab`; components/cluster/retire.ts decides,
 * components/cluster/retire-hooks.ts runs it):
 *
 * (a) the drain, against the real kube-apiserver, controller manager (its disruption controller keeps
 *     the PodDisruptionBudgets' status) and scheduler, with kwok nodes and pods: a budget that allows
 *     no disruption holds the drain until its timeout, which fails naming the node, the pods and the
 *     budget; a budget that allows one lets the drain through with the budget kept at every sample.
 *     Negative control: the pods killed with their node at once (no drain) break the same budget.
 * (b) member removal against a real etcd (3 members; 5 → 3), health sampled every 100 ms: quorum
 *     never lost; a removal that would lose quorum is refused and removes nothing. Negative control:
 *     5 → 3 by deleting the VMs only (members left) leaves a cluster that loses quorum with one more
 *     member down, where the retired one keeps it.
 * (c) the engine's order, for real: `pulumi up` through the real Pulumi engine (Automation API, file
 *     backend, the lab's pulumi-resource-kubernetes); a stand-in for a worker VM (a ConfigMap named
 *     `standin-vm-<node>`: the vSphere provider cannot be built in this lab) carries the program's
 *     retire-worker hook as `beforeDelete`; removed from the program, the engine runs the hook (drain,
 *     Node deleted) before it deletes the stand-in. Negative control: a hook that fails (a blocking
 *     budget) leaves the stand-in, the Node and its pods in place, and the update fails with the
 *     hook's message.
 * (d) the real engine deleting two control planes in one update (5 → 3): a real 5-member etcd, five
 *     kwok Nodes cp-0..cp-4, and five stand-in control-plane VMs (a Pulumi dynamic resource
 *     `standin-cp-vm-<node>` whose delete SIGKILLs that node's etcd member, as deleting the VM stops
 *     it), each with the program's retire-control-plane hook as `beforeDelete`. One `pulumi up` with
 *     three control planes: the engine runs the two hooks at once, the program's lock makes the
 *     removals one at a time; quorum, the leader and the membership are sampled throughout. A leaving
 *     member is the etcd leader (it hands over to a member that stays). Negative controls: the same
 *     update with stand-ins carrying no hooks (the old scale-in) leaves two members behind, and one
 *     more member down loses quorum; with the same removal (removeEtcdMember) in hooks without the
 *     program's lock, both removals survey 5 members at once.
 * (e) a resize's rolling power cycle through the real engine (components/cluster/power-cycle-hooks.ts):
 *     three stand-in control-plane VMs on a real 3-member etcd and two stand-in workers (a dynamic
 *     resource `standin-vm-<node>` whose update asks the lab to power-cycle its node: its etcd member
 *     stopped and started again, what still runs on it killed, a new boot ID), each with the
 *     program's beforeUpdate, afterUpdate and onError hooks. One `pulumi up` resizes all five: one
 *     node at a time, each cordoned and empty when it goes down, etcd's quorum and a
 *     PodDisruptionBudget held, the leader handed over, each back and uncordoned before the next.
 *     Then an injected provider failure on the node that goes first (a lab hook orders it first):
 *     the update fails, the other four are refused without being touched. Negative control: the same
 *     resize with stand-ins carrying no hooks goes down together (quorum lost).
 * Simulated, and named so: kubelets and containers (kwok), the VMs (a ConfigMap or dynamic-resource
 * stand-in). The vSphere provider's VM deletion and power cycle under these hooks run in the whole
 * stack (test/lab/whole-stack.lab.ts, against vcsim).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { etcdClientUrl, etcdPeerUrl } from "../../components/cluster/etcd-member";
import { DrainPolicy } from "../../components/cluster/retire";
import { EtcdApi, KubeApi, cordon as cordonNode, createRetireHooks, deleteNode, drainNode, removeEtcdMember } from "../../components/cluster/retire-hooks";
import { createPowerCycleHooks } from "../../components/cluster/power-cycle-hooks";
import { rebootReasons } from "../../components/vsphere/reboot";
import { ControlPlane, kubeconfig, waitFor } from "./control-plane";
import { Engine, inlineStack, makeEngine, npmVersion } from "./engine";
import { EtcdLab, addresses, leaderSampler, makeEtcdPki, sampler } from "./etcd-cluster";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";

const PROVIDER_VERSION = npmVersion("@pulumi/kubernetes", ROOT);
const log = (s: string) => console.log(`      ${s}`);
const NS = "retire-lab";
/** The lab's drain policy: kubectl's rules, shorter delays. */
const FAST: DrainPolicy = { timeoutMs: 60_000, retryDelayMs: 1_000, pollMs: 250 };

type Doc = Record<string, any>;

/** What a stand-in control-plane VM holds: its node's name and the pid of that node's etcd member. */
interface StandinCpInputs {
  name: string;
  address: string;
  etcdPid: number;
  /** A file the stand-in's deletion is written to (one JSON line: node, time, what happened to its etcd). */
  deletions: string;
  standIn: string;
}

/**
 * The provider of a stand-in control-plane VM (in place of vsphere.VirtualMachine, which this lab
 * cannot build): deleting it SIGKILLs its node's etcd member, as deleting the VM stops the member
 * (a member removed first has stopped itself already: etcd exits once it learns of its removal).
 * Serialized into the engine's dynamic-provider process: it captures nothing but plain data, and
 * kills the pid only while its command line is that member's etcd (`--name=<node>`).
 */
const standinCpProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: StandinCpInputs) {
    return { id: `standin-cp-vm-${inputs.name}`, outs: inputs };
  },
  async diff() {
    return { changes: false };
  },
  async delete(_id: string, olds: StandinCpInputs) {
    const fs = require("node:fs");
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${olds.etcdPid}/cmdline`, "utf8");
    } catch {
      // No such process.
    }
    let etcd = "had exited already";
    if (cmdline.split("\0").includes(`--name=${olds.name}`)) {
      process.kill(olds.etcdPid, "SIGKILL");
      etcd = "SIGKILL";
    }
    fs.appendFileSync(olds.deletions, `${JSON.stringify({ node: olds.name, at: Date.now(), etcd })}\n`);
  },
};

class StandinCpVm extends pulumi.dynamic.Resource {
  constructor(name: string, args: StandinCpInputs, opts?: pulumi.CustomResourceOptions) {
    super(standinCpProvider, name, args, opts, "StandinControlPlaneVm");
  }
}

function node(name: string, labels: Record<string, string> = {}, unschedulable = false): Doc {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", ...labels }, annotations: { "vsphere-spark.lab/stand-in": "kwok plays this node's kubelet" } },
    spec: { unschedulable },
    status: { capacity: { cpu: "8", memory: "16Gi", pods: "110" }, allocatable: { cpu: "8", memory: "16Gi", pods: "110" } },
  };
}

const pause = [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "100m", memory: "64Mi" } } }];

function deployment(name: string, replicas: number, nodeSelector: Record<string, string>): Doc {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { nodeSelector, containers: pause } } },
  };
}

function pdb(name: string, app: string, minAvailable: number): Doc {
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: NS }, spec: { minAvailable, selector: { matchLabels: { app } } } };
}

/** Pods of `app` that serve: Ready and not terminating. */
async function serving(api: KubeApi, app: string): Promise<Doc[]> {
  const pods = (await api.json<{ items: Doc[] }>("GET", `/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`)).items;
  return pods.filter((p) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: Doc) => c.type === "Ready" && c.status === "True"));
}

async function onNode(api: KubeApi, nodeName: string, app?: string): Promise<Doc[]> {
  const q = `fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}${app ? `&labelSelector=app%3D${app}` : ""}`;
  return (await api.json<{ items: Doc[] }>("GET", `/api/v1/namespaces/${NS}/pods?${q}`)).items.filter((p) => !p.metadata.deletionTimestamp);
}

/** Samples the count of serving pods of `app` every 100 ms: the lowest seen. */
function budgetSampler(api: KubeApi, app: string) {
  let min = Number.POSITIVE_INFINITY;
  let samples = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      const n = (await serving(api, app).catch(() => undefined))?.length;
      if (n !== undefined) {
        min = Math.min(min, n);
        samples++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return { min, samples };
    },
  };
}

async function pdbSettled(api: KubeApi, name: string, allowed: number): Promise<void> {
  await waitFor(`PodDisruptionBudget ${name} disruptionsAllowed ${allowed}`, async () => {
    const b = await api.json<Doc>("GET", `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/${name}`);
    return b.status?.observedGeneration === b.metadata.generation && b.status?.disruptionsAllowed === allowed ? true : undefined;
  }, 60_000, 200);
}

async function apply(api: KubeApi, doc: Doc): Promise<void> {
  const plural: Record<string, string> = { Node: "/api/v1/nodes", Namespace: "/api/v1/namespaces", Deployment: `/apis/apps/v1/namespaces/${NS}/deployments`, DaemonSet: `/apis/apps/v1/namespaces/${NS}/daemonsets`, PodDisruptionBudget: `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets` };
  await api.json("POST", plural[doc.kind], doc);
}

/** What a stand-in VM for the rolling resize holds: its shape, and the folder it talks to the lab through. */
interface StandinVmInputs {
  name: string;
  numCpus: number;
  memory: number;
  /** The lab's folder: the update writes `<name>.req` and waits for `<name>.done` (the lab power-cycles the node meanwhile). */
  dir: string;
  /** The update fails as vCenter refusing the reconfiguration would (the onError path). */
  fail: boolean;
  standIn: string;
}

/**
 * The provider of a stand-in VM whose update powers it off and on (in place of vsphere.VirtualMachine,
 * which this lab cannot build; the vSphere provider powers a VM off and on for a vCPU or memory change
 * without hot-add). Its update asks the lab to power-cycle the node (stop its etcd member, kill what
 * still runs on it, start the member again, a new boot ID) and returns when the lab says it is on
 * again, as the provider's Update returns once the VM is powered on.
 */
const standinVmProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: StandinVmInputs) {
    return { id: `standin-vm-${inputs.name}`, outs: inputs };
  },
  async diff(_id: string, olds: StandinVmInputs, news: StandinVmInputs) {
    return { changes: olds.numCpus !== news.numCpus || olds.memory !== news.memory || olds.fail !== news.fail };
  },
  async update(_id: string, olds: StandinVmInputs, news: StandinVmInputs) {
    const fs = require("node:fs");
    const path = require("node:path");
    if (news.fail) throw new Error(`stand-in: vCenter refused to reconfigure ${news.name} (the lab's injected failure)`);
    const done = path.join(news.dir, `${news.name}.done`);
    fs.writeFileSync(path.join(news.dir, `${news.name}.req`), JSON.stringify({ from: [olds.numCpus, olds.memory], to: [news.numCpus, news.memory] }));
    for (const end = Date.now() + 120_000; !fs.existsSync(done); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > end) throw new Error(`stand-in: the lab did not power-cycle ${news.name} within 120 s`);
    }
    fs.rmSync(done);
    return { outs: news };
  },
};

class StandinVm extends pulumi.dynamic.Resource {
  constructor(name: string, args: StandinVmInputs, opts?: pulumi.CustomResourceOptions) {
    super(standinVmProvider, name, args, opts, "StandinVm");
  }
}

describe("real-systems lab: node retirement and rolling power cycles (drain, etcd member removal, the engine's beforeDelete and beforeUpdate hooks)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-retire-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let api: KubeApi;
  let creds: { ca: string; cert: string; key: string };
  const parts = new Parts(() => tools, log);
  const t0 = Date.now();

  before(async function () {
    tools = resolveTools([]);
    const { paths, missing } = pick(tools, ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    if (missing.length) return;
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    const pki = path.join(cp.dir, "pki");
    creds = { ca: cp.ca, cert: fs.readFileSync(path.join(pki, "admin.crt"), "utf8"), key: fs.readFileSync(path.join(pki, "admin.key"), "utf8") };
    api = new KubeApi(cp.server, { caPem: creds.ca, certPem: creds.cert, keyPem: creds.key });
    await apply(api, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // A DaemonSet on every node (the CNI's agent, say): the drain leaves its pods.
    await apply(api, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: NS },
      spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: pause } } },
    });
  });
  after(() => {
    cp?.stop();
    parts.summary("node retirement lab");
    log(`node retirement lab: ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${dir}`);
  });

  it("(a) drain through the eviction API: a blocking PodDisruptionBudget holds it until a timeout naming node and budget; an allowing one lets it through, the budget kept; negative control: pods killed with the node break it", async function () {
    parts.need(this, "(a) drain against the real API server", ["kube-apiserver", "kube-controller-manager", "kwok"], { up: cp !== undefined, name: "the control plane" });
    await apply(api, node("w1", { pool: "a" }));
    await apply(api, deployment("web", 2, { pool: "a" }));
    await waitFor("web on w1", async () => ((await serving(api, "web")).length === 2 ? true : undefined), 120_000, 250);
    await waitFor("agent on w1", async () => ((await onNode(api, "w1", "agent")).length === 1 ? true : undefined), 60_000, 250);
    await apply(api, node("w2", { pool: "a" }));
    await apply(api, pdb("web-pdb", "web", 2));
    await pdbSettled(api, "web-pdb", 0);

    // Blocking: minAvailable 2 of 2.
    const blocked = Date.now();
    const err = await drainNode(api, "w1", { timeoutMs: 6_000, retryDelayMs: 1_000, pollMs: 250 }, log).then(
      () => undefined,
      (e: Error) => e,
    );
    log(`blocked drain failed after ${((Date.now() - blocked) / 1000).toFixed(1)} s: ${err?.message}`);
    assert.ok(err, "the drain must fail while the budget allows no disruption");
    assert.match(err.message, /^draining node w1 timed out after 6 s: /);
    assert.match(err.message, /retire-lab\/web-[a-z0-9-]+ is held by PodDisruptionBudget retire-lab\/web-pdb \(disruptionsAllowed 0, currentHealthy 2, desiredHealthy 2\)/);
    assert.match(err.message, /Its VM was not deleted/);
    assert.equal((await onNode(api, "w1", "web")).length, 2, "nothing was evicted");
    assert.equal((await api.json<Doc>("GET", "/api/v1/nodes/w1")).spec.unschedulable, true, "w1 is cordoned");

    // Allowing: minAvailable 1 of 2. The budget is sampled throughout.
    await api.json("PATCH", `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/web-pdb`, { spec: { minAvailable: 1 } }, "application/merge-patch+json");
    await pdbSettled(api, "web-pdb", 1);
    const s = budgetSampler(api, "web");
    const r = await drainNode(api, "w1", FAST, log);
    await waitFor("web serving on w2", async () => ((await serving(api, "web")).length === 2 ? true : undefined), 60_000, 250);
    const seen = await s.stop();
    log(`allowed drain: ${r.evicted.length} evicted, ${r.retries} eviction(s) answered 429 and retried, ${r.seconds.toFixed(1)} s; serving web pods never below ${seen.min} (${seen.samples} samples)`);
    assert.equal(r.evicted.length, 2);
    assert.ok(r.retries >= 1, "the second eviction waits until the first pod's replacement serves (429 while disruptionsAllowed is 0)");
    assert.deepEqual(r.skipped.map((x) => x.why), ["DaemonSet agent"]);
    assert.ok(seen.min >= 1, `the budget (minAvailable 1) was kept: lowest ${seen.min}`);
    assert.deepEqual((await onNode(api, "w1")).map((p) => p.metadata.labels.app), ["agent"], "only the DaemonSet's pod is left on w1");
    await deleteNode(api, "w1");
    assert.equal((await api.request("GET", "/api/v1/nodes/w1")).status, 404, "the Node is deleted");

    // Negative control: the same node emptied by deleting its pods instead of evicting them (what a
    // VM deleted without a drain does to them): the budget is not asked, and it breaks.
    await cordonNode(api, "w2");
    const n = budgetSampler(api, "web");
    await Promise.all((await onNode(api, "w2", "web")).map((p) => api.request("DELETE", `/api/v1/namespaces/${NS}/pods/${p.metadata.name}?gracePeriodSeconds=0`)));
    await new Promise((r) => setTimeout(r, 1500));
    await api.json("PATCH", "/api/v1/nodes/w2", { spec: { unschedulable: false } }, "application/merge-patch+json");
    await waitFor("web serving again", async () => ((await serving(api, "web")).length === 2 ? true : undefined), 60_000, 250);
    const broken = await n.stop();
    log(`negative control (pods deleted, not evicted): serving web pods went down to ${broken.min} (${broken.samples} samples)`);
    assert.ok(broken.min < 1, "without the eviction API the budget is broken: the sampler sees it");
  });

  it("(b) etcd member removal through the remaining members: 3-member and 5 → 3, never below quorum; a removal that would lose quorum is refused; negative control: VMs deleted with their members left", async function () {
    parts.need(this, "(b) etcd member removal against a real etcd", ["etcd"]);
    const addrs = addresses(12, 5);
    const edir = path.join(dir, "etcd");
    fs.mkdirSync(path.join(edir, "pki"), { recursive: true });
    makeEtcdPki(path.join(edir, "pki"), addrs);
    const start = (members: string[]) => new EtcdLab(edir, tools.etcd.path!, addrs).startCluster(members);
    const client = (l: EtcdLab) => new EtcdApi(l.client, 3000);
    const leaving = (l: EtcdLab, a: string) => ({ name: l.name(a), peerUrl: etcdPeerUrl(a) });
    type Seen = { removed: boolean; lines: string[] };
    const seenNew = (): Seen => ({ removed: false, lines: [] });
    /** Retires the control plane at `a` as the hook does, then deletes its "VM" (stops its etcd). */
    const retire = async (l: EtcdLab, a: string, rest: string[], seen: Seen = seenNew()) => {
      const msg = await removeEtcdMember(client(l), rest.map(etcdClientUrl), leaving(l, a), (x) => {
        log(x);
        seen.lines.push(x);
        if (/ removed through /.test(x)) seen.removed = true;
      });
      await l.stop(a);
      return msg;
    };
    /** The address of the member the one at `via` names its leader. */
    const leaderOf = async (l: EtcdLab, via: string): Promise<string> => {
      const id = await l.leader(via);
      const m = (await l.members(via)).find((x) => x.ID === id);
      return addrs.find((a) => (m?.peerURLs ?? []).includes(etcdPeerUrl(a)))!;
    };
    const idsOf = async (l: EtcdLab, via: string, as: string[]) => new Set((await l.members(via)).filter((m) => as.some((a) => (m.peerURLs ?? []).includes(etcdPeerUrl(a)))).map((m) => m.ID));
    const handedOver = (seen: Seen) => seen.lines.some((x) => /led; leadership moved to cp-\d before its removal/.test(x));
    let lab: EtcdLab | undefined;
    try {
      // Three members: the leader retired (its leadership is handed over first).
      const three = addrs.slice(0, 3);
      lab = await start(three);
      let out = await leaderOf(lab, three[0]);
      let keep = three.filter((a) => a !== out);
      let stays = await idsOf(lab, keep[0], keep);
      let seen = seenNew();
      let s = sampler(lab, () => keep);
      let ls = leaderSampler(lab, () => keep, () => stays, () => seen.removed);
      await retire(lab, out, keep, seen);
      let w = await lab.whole(keep[0]);
      await s.stop();
      await ls.stop();
      log(`3 → 2, the leader ${lab.name(out)} retired: ${w.why}; ${s.samples} samples, quorum lost ${s.lost.length} times; ${ls.samples} status samples, no live leader ${ls.leaderless.length} times`);
      assert.ok(handedOver(seen), `the leader's leadership is handed over before its removal:\n${seen.lines.join("\n")}`);
      assert.deepEqual(s.lost, []);
      assert.deepEqual(ls.leaderless, []);
      assert.ok(w.ok, w.why);
      assert.equal((await lab.members(keep[0])).length, 2);
      lab.down();

      // Five members → three, one at a time (the hooks' lock): the leader first, then another.
      lab = await start(addrs);
      const first = await leaderOf(lab, addrs[0]);
      const second = addrs.filter((a) => a !== first)[3];
      keep = addrs.filter((a) => a !== first && a !== second);
      stays = await idsOf(lab, keep[0], [...keep, second]);
      seen = seenNew();
      s = sampler(lab, () => keep);
      ls = leaderSampler(lab, () => keep, () => stays, () => seen.removed);
      // As the hooks do, the program's control planes are the endpoints: `second` leaves in the same
      // update, so the leadership goes to a member that stays (retire-hooks.ts, keeps).
      await retire(lab, first, keep, seen);
      assert.ok(handedOver(seen), `the leader's leadership is handed over before its removal:\n${seen.lines.join("\n")}`);
      stays = await idsOf(lab, keep[0], keep);
      seen = seenNew();
      await retire(lab, second, keep, seen);
      await s.stop();
      await ls.stop();
      w = await lab.whole(keep[0]);
      log(`5 → 3 (${lab.name(first)}, the leader, then ${lab.name(second)}): ${w.why}; ${s.samples} samples, quorum lost ${s.lost.length} times; ${ls.samples} status samples, no live leader ${ls.leaderless.length} times`);
      assert.deepEqual(s.lost, []);
      assert.deepEqual(ls.leaderless, []);
      assert.ok(w.ok, w.why);
      assert.deepEqual((await lab.members(keep[0])).map((m) => m.name).sort(), keep.map((a) => lab!.name(a)).sort());
      // Whole means fault tolerant: one more member may go.
      await lab.stop(keep[2]);
      await waitFor("quorum with one of three down", async () => ((await lab!.healthy(keep[0])) ? true : undefined), 15_000, 200);

      // Negative control of the handoff: the leader removed as the leader (etcd's API, no MoveLeader):
      // the rest keep naming it, a removed member, until their election timeout.
      lab.down();
      lab = await start(three);
      out = await leaderOf(lab, three[0]);
      keep = three.filter((a) => a !== out);
      stays = await idsOf(lab, keep[0], keep);
      const outId = [...(await idsOf(lab, keep[0], [out]))][0];
      let rawRemoved = false;
      ls = leaderSampler(lab, () => keep, () => stays, () => rawRemoved);
      await waitFor("the leader's removal", () => lab!.call(keep[0], "/v3/cluster/member/remove", { ID: outId }), 30_000, 500);
      rawRemoved = true;
      await waitFor("a new leader", async () => (stays.has(String((await lab!.call(keep[0], "/v3/maintenance/status", {})).leader)) ? true : undefined), 15_000, 100);
      await new Promise((r) => setTimeout(r, 500));
      await ls.stop();
      await lab.stop(out);
      log(`negative control: the leader ${lab.name(out)} removed without a handoff: no live leader in ${ls.leaderless.length} of ${ls.samples} status samples (first: ${ls.leaderless[0]})`);
      assert.ok(ls.leaderless.length > 0, "removed as the leader, the rest are left without a live leader for a while");

      // Refused: 3 members with cp-1 down; removing cp-2 would leave 1 healthy of 2.
      lab.down();
      lab = await start(three);
      await lab.stop(three[1]);
      // A new leader may be elected: wait until the two left serve (quorum 2 of 3).
      await waitFor("cp-0 and cp-2 healthy", async () => ((await lab!.healthy(three[0])) && (await lab!.healthy(three[2])) ? true : undefined), 15_000, 200);
      const refused = await removeEtcdMember(client(lab), [three[0], three[1]].map(etcdClientUrl), leaving(lab, three[2]), log).then(
        () => undefined,
        (e: Error) => e,
      );
      log(`refused: ${refused?.message}`);
      assert.ok(refused, "removal must be refused");
      assert.match(refused.message, /refusing to remove cp-2's etcd member: removing cp-2 would leave 1 healthy of 2 voting members, 2 needed \(unhealthy: cp-1\)/);
      assert.equal((await lab.members(three[0])).length, 3, "nothing was removed");
      assert.equal(await lab.healthy(three[0]), true, "quorum kept (cp-0 and cp-2)");

      // Negative control: 5 → 3 by deleting two VMs only (the old scale-in): the members stay,
      // and one more member down loses quorum (3 of 5 listed members gone).
      lab.down();
      lab = await start(addrs);
      await lab.stop(addrs[4]);
      await lab.stop(addrs[3]);
      w = await lab.whole(addrs[0]);
      assert.equal(w.ok, false, `the check sees the members left behind: ${w.why}`);
      s = sampler(lab, () => addrs.slice(0, 2));
      await lab.stop(addrs[2]);
      await waitFor("quorum lost", async () => ((await lab!.healthy(addrs[0])) ? undefined : true), 15_000, 200);
      await new Promise((r) => setTimeout(r, 1000));
      await s.stop();
      log(`negative control: VMs deleted without removing their members: ${w.why}; one more member down: quorum lost, the sampler saw it ${s.lost.length} times in ${s.samples} samples`);
      assert.ok(s.lost.length > 0, "the quorum sampler sees a lost quorum");
    } finally {
      lab?.down();
    }
  });

  it("(c) the real engine: a stand-in VM removed from the program; its beforeDelete hook drains the node and deletes its Node before the engine deletes the stand-in; negative control: a failing hook keeps it", async function () {
    parts.need(this, "(c) beforeDelete hook through the real engine", ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "kwok"], { up: cp !== undefined, name: "the control plane" });
    const engine: Engine = await makeEngine(path.join(dir, "engine"), tools.pulumi.path!, { kubernetes: { version: PROVIDER_VERSION, file: tools["pulumi-resource-kubernetes"].path! } });
    const probes: { node: string; nodeGone: boolean; podsLeft: number; standinThere: boolean }[] = [];

    /** The program: the retirement hooks (registered on every run) and, while present, the stand-in VM of `nodeName`. */
    const program = (nodeName: string, present: boolean, drain: DrainPolicy) => async () => {
      const provider = new k8s.Provider("lab-k8s", { kubeconfig: pulumi.secret(kubeconfig(cp!.server, creds)) });
      const retire = createRetireHooks("lab", "standin-vm", {
        credentials: pulumi.secret({ apiUrl: cp!.server, kube: { caPem: creds.ca, certPem: creds.cert, keyPem: creds.key } }),
        nodes: present ? [nodeName] : [],
        controlPlanes: [],
        previousAddresses: {},
        preparedNodes: [],
        drain,
      });
      // The lab's probe, after the retire hook: what the engine has and has not done yet.
      const probe = new pulumi.ResourceHook("lab-probe", async () => {
        const standin = await api.request("GET", `/api/v1/namespaces/${NS}/configmaps/standin-vm-${nodeName}`);
        probes.push({ node: nodeName, nodeGone: (await api.request("GET", `/api/v1/nodes/${nodeName}`)).status === 404, podsLeft: (await onNode(api, nodeName)).filter((p) => p.metadata.labels.app !== "agent").length, standinThere: standin.status === 200 });
      });
      if (present)
        new k8s.core.v1.ConfigMap(
          `standin-vm-${nodeName}`,
          { metadata: { name: `standin-vm-${nodeName}`, namespace: NS, annotations: { "vsphere-spark.lab/stand-in": "for a worker VM (vsphere.VirtualMachine)" } }, data: { node: nodeName } },
          { provider, hooks: { beforeDelete: [retire.worker, probe] } },
        );
      return {};
    };

    // The node and its workload: two pods on w3, room on w4, a budget allowing one disruption.
    await apply(api, node("w3", { pool: "c" }));
    await apply(api, node("w4", { pool: "c" }, true));
    await apply(api, deployment("svc", 2, { pool: "c" }));
    await waitFor("svc on w3", async () => ((await onNode(api, "w3", "svc")).length === 2 && (await serving(api, "svc")).length === 2 ? true : undefined), 120_000, 250);
    await api.json("PATCH", "/api/v1/nodes/w4", { spec: { unschedulable: false } }, "application/merge-patch+json");
    await apply(api, pdb("svc-pdb", "svc", 1));
    await pdbSettled(api, "svc-pdb", 1);

    const stack = await inlineStack(engine, "retire-lab", "hooks", program("w3", true, FAST));
    const up1 = await stack.up({ onOutput: () => {} });
    assert.equal(up1.summary.result, "succeeded");
    assert.equal((await api.request("GET", `/api/v1/namespaces/${NS}/configmaps/standin-vm-w3`)).status, 200);
    const s = budgetSampler(api, "svc");
    const removed = await inlineStack(engine, "retire-lab", "hooks", program("w3", false, FAST));
    const up2 = await removed.up({ onOutput: () => {} });
    const seen = await s.stop();
    log(`up without the stand-in: ${up2.summary.result}; probe ${JSON.stringify(probes)}; serving svc pods never below ${seen.min}`);
    assert.equal(up2.summary.result, "succeeded");
    assert.deepEqual(probes, [{ node: "w3", nodeGone: true, podsLeft: 0, standinThere: true }], "the hook ran before the delete: node drained and deleted, the stand-in still there");
    assert.equal((await api.request("GET", `/api/v1/namespaces/${NS}/configmaps/standin-vm-w3`)).status, 404, "then the engine deleted the stand-in");
    assert.ok(seen.min >= 1, "the budget was kept");

    // Negative control: a budget allowing nothing on w5; the hook fails, the engine keeps the stand-in.
    probes.length = 0;
    await apply(api, node("w5", { pool: "e" }));
    await apply(api, deployment("db", 2, { pool: "e" }));
    await apply(api, pdb("db-pdb", "db", 2));
    await waitFor("db on w5", async () => ((await serving(api, "db")).length === 2 ? true : undefined), 120_000, 250);
    await pdbSettled(api, "db-pdb", 0);
    const short: DrainPolicy = { timeoutMs: 5_000, retryDelayMs: 1_000, pollMs: 250 };
    const neg = await inlineStack(engine, "retire-lab", "blocked", program("w5", true, short));
    assert.equal((await neg.up({ onOutput: () => {} })).summary.result, "succeeded");
    const negRemoved = await inlineStack(engine, "retire-lab", "blocked", program("w5", false, short));
    const failed = await negRemoved.up({ onOutput: () => {} }).then(
      () => undefined,
      (e: Error) => e,
    );
    log(`negative control: ${String(failed?.message ?? "succeeded").split("\n").filter((l) => /draining node|error:/.test(l)).slice(0, 2).join(" | ")}`);
    assert.ok(failed, "the update fails when the hook fails");
    assert.match(failed.message, /draining node w5 timed out after 5 s: .*PodDisruptionBudget retire-lab\/db-pdb/s);
    assert.deepEqual(probes, [], "the probe after the failed hook never ran");
    assert.equal((await api.request("GET", `/api/v1/namespaces/${NS}/configmaps/standin-vm-w5`)).status, 200, "the stand-in VM was not deleted");
    assert.equal((await api.request("GET", "/api/v1/nodes/w5")).status, 200, "the Node is still there");
    assert.equal((await onNode(api, "w5", "db")).length, 2, "its pods are still there");
  });

  it("(d) the real engine deletes two control planes in one update (5 → 3): the beforeDelete hooks remove the etcd members one at a time, the leader's handed over, before each stand-in VM (and its etcd) goes; negative controls: stand-ins without hooks leave their members behind; without the lock both removals survey 5 members", async function () {
    parts.need(this, "(d) 5 → 3 control planes through the real engine", ["pulumi", "etcd", "kube-apiserver", "kwok"], { up: cp !== undefined, name: "the control plane" });
    const addrs = addresses(13, 5);
    const edir = path.join(dir, "etcd-engine");
    fs.mkdirSync(path.join(edir, "pki"), { recursive: true });
    makeEtcdPki(path.join(edir, "pki"), addrs);
    const engine: Engine = await makeEngine(path.join(dir, "engine-cp"), tools.pulumi.path!);
    const names = addrs.map((_, i) => `cp-${i}`);
    const addressOf = (n: string) => addrs[names.indexOf(n)];
    const start = () => new EtcdLab(edir, tools.etcd.path!, addrs).startCluster(addrs);
    const running = (l: EtcdLab, a: string) => {
      const p = l.procs.get(a);
      return p !== undefined && p.exitCode === null && p.signalCode === null;
    };
    /** The member list, sampled every 50 ms through the members that stay: its history, and every sample listing a member whose process is gone. */
    const membership = (l: EtcdLab, via: string[]) => {
      const history: string[][] = [];
      const orphaned: string[] = [];
      let ids = new Set<string>();
      let on = true;
      const loop = (async () => {
        while (on) {
          let ms: Awaited<ReturnType<EtcdLab["members"]>> | undefined;
          for (const a of via) {
            ms = await l.members(a).catch(() => undefined);
            if (ms) break;
          }
          if (ms) {
            ids = new Set(ms.map((m) => m.ID));
            const now = ms.map((m) => m.name ?? m.ID).sort();
            if (history.length === 0 || history[history.length - 1].join() !== now.join()) history.push(now);
            for (const m of ms) {
              const a = addrs.find((x) => (m.peerURLs ?? []).includes(etcdPeerUrl(x)));
              if (a && !running(l, a)) orphaned.push(`${new Date().toISOString()} ${m.name} listed, its etcd process gone`);
            }
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      return {
        history,
        orphaned,
        ids: () => ids,
        stop: async () => {
          on = false;
          await loop;
        },
      };
    };
    type Probe = { node: string; at: number; members: string[]; nodeGone: boolean; standinDeleted: boolean };
    const deletions = path.join(dir, "standin-cp-deletions.jsonl");
    const deleted = (): { node: string; at: number; etcd: string }[] => (fs.existsSync(deletions) ? fs.readFileSync(deletions, "utf8").trim().split("\n").filter(Boolean).map((x) => JSON.parse(x)) : []);
    const entered: { node: string; at: number }[] = [];
    const probes: Probe[] = [];
    const diagnostics: string[] = [];
    const surveys: { node: string; members: number }[] = [];
    /**
     * The hooks' log lines while `f` runs. The hooks log with pulumi.log.info; called back by the
     * engine outside the inline program's run (Automation API), the SDK finds no engine there and
     * prints them as `info: [runtime] <line>` (@pulumi/pulumi log/index.js), so they are taken from
     * both: the engine's diagnostic events and this process's console.
     */
    const hookLines = async <T>(f: (onEvent: (e: any) => void) => Promise<T>): Promise<T> => {
      const orig = console.log;
      console.log = (...a: unknown[]) => {
        const m = /^info: \[runtime\] (.*)$/s.exec(a.map(String).join(" "));
        if (m) diagnostics.push(m[1].trim());
        orig(...a);
      };
      try {
        return await f((e: any) => {
          const m = e?.diagnosticEvent?.message;
          if (typeof m === "string" && m.trim()) diagnostics.push(m.trim());
        });
      } finally {
        console.log = orig;
      }
    };

    /** The program: the retirement hooks, and a stand-in control-plane VM for each node in `present`. */
    /**
     * The program: the retirement hooks, and a stand-in control-plane VM for each node in `present`,
     * with `hooks`: the program's (retire-control-plane, between the lab's probes), none (the old
     * scale-in), or "unlocked": the same member removal (removeEtcdMember) without the program's
     * one-at-a-time lock (the negative control of the check that the removals were one at a time).
     */
    const program = (l: EtcdLab, present: string[], hooks: "program" | "none" | "unlocked") => async () => {
      const retire = createRetireHooks("lab-cp", "standin-cp-vm", {
        credentials: pulumi.secret({ apiUrl: cp!.server, kube: { caPem: creds.ca, certPem: creds.cert, keyPem: creds.key }, etcd: l.client }),
        nodes: present,
        controlPlanes: present.map((n) => ({ name: n, address: addressOf(n) })),
        previousAddresses: Object.fromEntries(names.map((n) => [n, addressOf(n)])),
        preparedNodes: [],
        drain: FAST,
      });
      // The lab's probes, around the retire hook: when the engine called it, and what was done when it returned.
      const enter = new pulumi.ResourceHook("lab-cp-enter", async (h) => void entered.push({ node: String(h.oldInputs?.name), at: Date.now() }));
      const probe = new pulumi.ResourceHook("lab-cp-probe", async (h) => {
        const n = String(h.oldInputs?.name);
        // Through the members that stay (a removed one may answer from its own stale view until it stops).
        let ms: Awaited<ReturnType<EtcdLab["members"]>> | undefined;
        for (const a of present.map(addressOf)) if ((ms = await l.members(a).catch(() => undefined))) break;
        if (!ms) throw new Error("probe: no staying member answered");
        probes.push({ node: n, at: Date.now(), members: ms.map((m) => m.name ?? m.ID).sort(), nodeGone: (await api.request("GET", `/api/v1/nodes/${n}`)).status === 404, standinDeleted: deleted().some((d) => d.node === n) });
      });
      // The engine calls both leaving stand-ins' hooks at once (1 to 30 ms apart when measured); the
      // unlocked hooks also wait for each other (up to 30 s), so that "at once" does not depend on how
      // busy the machine is.
      let arrived = 0;
      let bothArrived!: () => void;
      const both = new Promise<void>((r) => (bothArrived = r));
      const unlocked = new pulumi.ResourceHook("lab-cp-unlocked", async (h) => {
        const n = String(h.oldInputs?.name);
        if (++arrived === 2) bothArrived();
        await Promise.race([both, new Promise((r) => setTimeout(r, 30_000))]);
        const endpoints = present.map((x) => etcdClientUrl(addressOf(x)));
        // Its survey (the first member list it reads) is recorded.
        let first = true;
        const etcd = new EtcdApi(l.client);
        const members = etcd.members.bind(etcd);
        etcd.members = async (ep: string) => {
          const ms = await members(ep);
          if (first) surveys.push({ node: n, members: ms.length });
          first = false;
          return ms;
        };
        await removeEtcdMember(etcd, endpoints, { name: n, peerUrl: etcdPeerUrl(addressOf(n)) }, (x) => diagnostics.push(x));
      });
      for (const n of present) {
        const a = addressOf(n);
        new StandinCpVm(
          `standin-cp-vm-${n}`,
          { name: n, address: a, etcdPid: l.procs.get(a)!.pid!, deletions, standIn: "for a control-plane VM (vsphere.VirtualMachine): deleting it SIGKILLs its etcd member" },
          hooks === "program" ? { hooks: { beforeDelete: [enter, retire.controlPlane, probe] } } : hooks === "unlocked" ? { hooks: { beforeDelete: [unlocked] } } : {},
        );
      }
      return {};
    };

    for (const n of names) if ((await api.request("GET", `/api/v1/nodes/${n}`)).status === 404) await apply(api, node(n, { "node-role.kubernetes.io/control-plane": "" }));
    let lab: EtcdLab | undefined;
    try {
      lab = await start();
      const l = lab;
      // The leader leaves: with it among cp-3 and cp-4 those two go, else it and cp-4.
      const st = await l.leader(addrs[0]);
      const leaderName = (await l.members(addrs[0])).find((m) => m.ID === st)!.name!;
      const leaving = ["cp-3", "cp-4"].includes(leaderName) ? ["cp-3", "cp-4"] : [leaderName, "cp-4"];
      const keep = names.filter((n) => !leaving.includes(n));
      const keepAddrs = keep.map(addressOf);
      log(`(d) etcd leader ${leaderName}; leaving: ${leaving.join(", ")}; staying: ${keep.join(", ")}`);

      const stack = await inlineStack(engine, "retire-cp-lab", "hooks", program(l, names, "program"), { dynamicProviders: true });
      const up1 = await stack.up({ onOutput: () => {} });
      assert.equal(up1.summary.result, "succeeded");
      assert.equal(probes.length + entered.length, 0, "no hook on the first update");

      const mem = membership(l, keepAddrs);
      const s = sampler(l, () => keepAddrs);
      // A live leader is a listed member (a removed leader is not), once the list has been read.
      const ls = leaderSampler(l, () => keepAddrs, () => mem.ids(), () => mem.history.length > 0);
      const t1 = Date.now();
      const scaled = await inlineStack(engine, "retire-cp-lab", "hooks", program(l, keep, "program"), { dynamicProviders: true });
      const up2 = await hookLines((onEvent) => scaled.up({ onOutput: () => {}, onEvent }));
      const took = (Date.now() - t1) / 1000;
      await new Promise((r) => setTimeout(r, 500));
      await mem.stop();
      await s.stop();
      await ls.stop();
      const w = await l.whole(keepAddrs[0]);
      const retireLines = diagnostics.filter((x) => /^(etcd:|retired|draining|drained)/.test(x));
      log(`(d) up with ${keep.join(", ")}: ${up2.summary.result} in ${took.toFixed(1)} s; hooks entered ${entered.map((e) => `${e.node} +${e.at - t1} ms`).join(", ")}`);
      for (const x of retireLines) log(`(d)   ${x}`);
      log(`(d) probes: ${JSON.stringify(probes.map((p) => ({ ...p, at: `+${p.at - t1} ms` })))}`);
      log(`(d) stand-ins deleted: ${JSON.stringify(deleted().map((d) => ({ ...d, at: `+${d.at - t1} ms` })))}`);
      log(`(d) membership: ${mem.history.map((h) => `[${h.join(",")}]`).join(" → ")}; ${s.samples} health samples, quorum lost ${s.lost.length} times; ${ls.samples} status samples, no live leader ${ls.leaderless.length} times; ${w.why}`);
      assert.equal(up2.summary.result, "succeeded");
      assert.equal(up2.summary.resourceChanges?.delete, 2, `the engine deleted the two stand-ins in this one update: ${JSON.stringify(up2.summary.resourceChanges)}`);
      assert.deepEqual(entered.map((e) => e.node).sort(), [...leaving].sort(), "the engine ran the retire hook of each leaving stand-in");
      // Each member removed, and its Node deleted, before its stand-in (and so its etcd) was deleted.
      assert.deepEqual(probes.map((p) => p.node).sort(), [...leaving].sort());
      for (const p of probes) {
        assert.ok(!p.members.includes(p.node), `${p.node}'s member was removed before its stand-in was deleted: ${p.members.join(", ")}`);
        assert.equal(p.nodeGone, true, `${p.node}'s Node was deleted before its stand-in`);
        assert.equal(p.standinDeleted, false, `${p.node}'s stand-in was still there when its hooks finished`);
        const d = deleted().find((x) => x.node === p.node);
        assert.ok(d && d.at >= p.at, `then the engine deleted ${p.node}'s stand-in: ${JSON.stringify(d)}`);
      }
      // One at a time: the second removal surveyed 4 members (after the first), never 5 → 3 at once.
      const removals = diagnostics.filter((x) => /^etcd: removed cp-\d's member/.test(x));
      assert.equal(removals.length, 2, removals.join("\n"));
      assert.deepEqual(removals.map((x) => /\((\d) voting members remain/.exec(x)?.[1]).sort(), ["3", "4"], `the removals were one at a time:\n${removals.join("\n")}`);
      assert.deepEqual(mem.history.map((h) => h.length), [5, 4, 3], `membership went 5 → 4 → 3: ${JSON.stringify(mem.history)}`);
      assert.deepEqual(mem.orphaned, [], "no member was listed with its process gone");
      const handoff = diagnostics.map((x) => new RegExp(`^etcd: ${leaderName} led; leadership moved to (cp-\\d) before its removal`).exec(x)?.[1]).find(Boolean);
      assert.ok(handoff, `the leader ${leaderName} handed over its leadership:\n${retireLines.join("\n")}`);
      assert.ok(keep.includes(handoff), `to a member that stays (${keep.join(", ")}), not to the other leaving one: ${handoff}`);
      assert.deepEqual(s.lost, []);
      assert.deepEqual(ls.leaderless, []);
      assert.ok(w.ok, w.why);
      assert.deepEqual((await l.members(keepAddrs[0])).map((m) => m.name).sort(), keep);
      for (const n of leaving) {
        assert.equal((await api.request("GET", `/api/v1/nodes/${n}`)).status, 404, `Node ${n} deleted`);
        assert.equal(running(l, addressOf(n)), false, `${n}'s stand-in deleted: its etcd stopped`);
      }
      // Whole means fault tolerant: one more member may go.
      await l.stop(keepAddrs[2]);
      await waitFor("quorum with one of three down", async () => ((await l.healthy(keepAddrs[0])) ? true : undefined), 15_000, 200);

      // Negative control: the same 5 → 3 with stand-ins that carry no hook (the old scale-in).
      l.down();
      lab = await start();
      const n2 = lab;
      for (const n of names) if ((await api.request("GET", `/api/v1/nodes/${n}`)).status === 404) await apply(api, node(n, { "node-role.kubernetes.io/control-plane": "" }));
      fs.rmSync(deletions, { force: true });
      const old = await inlineStack(engine, "retire-cp-lab", "no-hooks", program(n2, names, "none"), { dynamicProviders: true });
      assert.equal((await old.up({ onOutput: () => {} })).summary.result, "succeeded");
      const memNeg = membership(n2, keepAddrs);
      const oldScaled = await inlineStack(engine, "retire-cp-lab", "no-hooks", program(n2, keep, "none"), { dynamicProviders: true });
      const up3 = await oldScaled.up({ onOutput: () => {} });
      await waitFor("the stand-ins' etcd stopped", async () => (leaving.every((n) => !running(n2, addressOf(n))) ? true : undefined), 10_000, 100);
      await new Promise((r) => setTimeout(r, 300));
      await memNeg.stop();
      const wn = await n2.whole(keepAddrs[0]);
      const listed = (await n2.members(keepAddrs[0])).length;
      const up = addrs.filter((a) => running(n2, a)).length;
      assert.equal(up3.summary.result, "succeeded");
      assert.deepEqual(deleted().map((d) => `${d.node} ${d.etcd}`).sort(), leaving.map((n) => `${n} SIGKILL`).sort(), "the engine deleted both stand-ins, killing their etcd");
      assert.equal(wn.ok, false, `the check sees the members left behind: ${wn.why}`);
      assert.equal(listed, 5);
      assert.equal(up, 3);
      assert.ok(memNeg.orphaned.length > 0, "the membership sampler sees members listed with their process gone");
      for (const n of leaving) assert.equal((await api.request("GET", `/api/v1/nodes/${n}`)).status, 200, `Node ${n} left behind`);
      const sn = sampler(n2, () => keepAddrs.slice(0, 2));
      await n2.stop(keepAddrs[2]);
      await waitFor("quorum lost", async () => ((await n2.healthy(keepAddrs[0])) ? undefined : true), 15_000, 200);
      await new Promise((r) => setTimeout(r, 1000));
      await sn.stop();
      log(`(d) negative control (no hooks): ${up3.summary.result}; ${listed} members listed, ${up} running (${wn.why}); sampled listed-with-process-gone ${memNeg.orphaned.length} times; one more down: quorum lost, seen ${sn.lost.length} times in ${sn.samples} samples`);
      assert.ok(sn.lost.length > 0, "the quorum sampler sees a lost quorum");

      // Negative control of "one at a time": the same removals without the program's lock. The engine
      // calls both hooks at once, both survey 5 members, and each says 4 remain.
      n2.down();
      lab = await start();
      const n3 = lab;
      diagnostics.length = 0;
      const raw = await inlineStack(engine, "retire-cp-lab", "unlocked", program(n3, names, "unlocked"), { dynamicProviders: true });
      assert.equal((await raw.up({ onOutput: () => {} })).summary.result, "succeeded");
      const rawScaled = await inlineStack(engine, "retire-cp-lab", "unlocked", program(n3, keep, "unlocked"), { dynamicProviders: true });
      const up4 = await rawScaled.up({ onOutput: () => {} }).then(
        (r) => r.summary.result as string,
        (e: Error) => `failed: ${String(e.message).split("\n").filter((x) => /error/i.test(x)).slice(0, 2).join(" | ")}`,
      );
      log(`(d) negative control (no lock): surveys ${JSON.stringify(surveys)}; the update ${up4}; ${diagnostics.filter((x) => /^etcd: removed /.test(x)).join(" | ")}`);
      // Both surveyed 5 members. Then the two removals race: both may pass (each says 4 remain), or
      // one fails the update (it verifies through, or hands the leadership to, the member the other
      // is removing). The lock is what makes this one at a time.
      assert.deepEqual(surveys.map((x) => x.members), [5, 5], `without the lock both removals surveyed 5 members:\n${diagnostics.join("\n")}`);
    } finally {
      lab?.down();
    }
  });
  it("(e) the real engine resizes three control planes and two workers in one update (no hot-add: each powered off and on): the beforeUpdate hook rolls them one node at a time, drained first (a PodDisruptionBudget in place), a control plane only with etcd's quorum kept, each back and uncordoned before the next; negative controls: stand-ins without the hooks go down together (quorum lost, budget broken); a failed update (onError) stops the roll", async function () {
    parts.need(this, "(e) rolling power cycles through the real engine", ["pulumi", "etcd", "kube-apiserver", "kwok"], { up: cp !== undefined, name: "the control plane" });
    const addrs = addresses(14, 3);
    const edir = path.join(dir, "etcd-roll");
    fs.mkdirSync(path.join(edir, "pki"), { recursive: true });
    makeEtcdPki(path.join(edir, "pki"), addrs);
    const rdir = path.join(dir, "roll-requests");
    fs.mkdirSync(rdir, { recursive: true });
    const engine: Engine = await makeEngine(path.join(dir, "engine-roll"), tools.pulumi.path!);
    const cps = addrs.map((_, i) => `rcp-${i}`);
    const workers = ["rw-0", "rw-1"];
    const addressOf = (n: string) => addrs[cps.indexOf(n)];
    const POOL = { pool: "roll" };
    for (const n of cps) await apply(api, { ...node(n, { "node-role.kubernetes.io/control-plane": "" }), status: { ...node(n).status, nodeInfo: { bootID: `${n}-boot-0` } } });
    for (const n of workers) await apply(api, { ...node(n, POOL), status: { ...node(n).status, nodeInfo: { bootID: `${n}-boot-0` } } });
    await apply(api, deployment("roll", 2, POOL));
    await apply(api, pdb("roll-pdb", "roll", 1));
    await waitFor("roll serving 2", async () => ((await serving(api, "roll")).length === 2 ? true : undefined), 120_000, 250);
    await pdbSettled(api, "roll-pdb", 1);

    /** The lab's side of a power cycle: what it saw when the stand-in asked, and when it was on again. */
    type Cycle = { node: string; off: number; on: number; cordoned: boolean; podsLeft: number; downWith: string[] };
    let lab!: EtcdLab;
    const cycles: Cycle[] = [];
    const down = new Set<string>();
    let boots = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const f of fs.readdirSync(rdir).filter((x) => x.endsWith(".req"))) {
          const n = f.slice(0, -4);
          fs.rmSync(path.join(rdir, f));
          void (async () => {
            const off = Date.now();
            const nd = await api.json<Doc>("GET", `/api/v1/nodes/${n}`);
            const left = (await onNode(api, n)).filter((p) => p.metadata.labels?.app !== "agent");
            const c: Cycle = { node: n, off, on: 0, cordoned: nd.spec?.unschedulable === true, podsLeft: left.length, downWith: [...down] };
            down.add(n);
            // Off: its etcd member stops, whatever still runs on it dies (kwok's pods deleted at once).
            if (cps.includes(n)) await lab.stop(addressOf(n));
            for (const p of left) await api.request("DELETE", `/api/v1/namespaces/${NS}/pods/${p.metadata.name}?gracePeriodSeconds=0`);
            await new Promise((r) => setTimeout(r, 2500));
            // On: the member starts on its data, the kubelet (kwok) reports a new boot ID.
            if (cps.includes(n)) lab.start(addressOf(n), "existing", addrs);
            await api.json("PATCH", `/api/v1/nodes/${n}/status`, { status: { nodeInfo: { bootID: `${n}-boot-${++boots}` } } }, "application/merge-patch+json");
            down.delete(n);
            c.on = Date.now();
            cycles.push(c);
            fs.writeFileSync(path.join(rdir, `${n}.done`), "");
          })();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const diagnostics: string[] = [];
    const program = (memoryMiB: number, hooks: boolean, failing: string[] = []) => async () => {
      // The lab's ordering hook, before the program's (the failure run only): the failing node reaches
      // the program's lock first, the others 3 s later, so that they queue behind the failure.
      const first = new pulumi.ResourceHook("lab-roll-order", async (h) => {
        if (failing.length > 0 && !failing.includes(String(h.newInputs?.name))) await new Promise((r) => setTimeout(r, 3000));
      });
      const credentials = pulumi.secret({ apiUrl: cp!.server, kube: { caPem: creds.ca, certPem: creds.cert, keyPem: creds.key }, etcd: lab.client });
      const roll = createPowerCycleHooks("lab-roll", {
        credentials,
        nodes: [...cps, ...workers],
        controlPlanes: cps.map((n) => ({ name: n, address: addressOf(n) })),
        preparedNodes: [],
        drain: FAST,
        rebootTimeoutMs: 60_000,
        pollMs: 250,
        reasons: (before, after) => rebootReasons(before, after, ["extraConfig"]),
        // Stand-in: the lab's one kube-apiserver answers /readyz for each control plane's own.
        apiServerOf: () => cp!.server,
      });
      for (const n of [...cps, ...workers])
        new StandinVm(
          `standin-vm-${n}`,
          { name: n, numCpus: 8, memory: memoryMiB, dir: rdir, fail: failing.includes(n), standIn: "for a node's VM (vsphere.VirtualMachine): its update powers it off and on" },
          hooks ? { hooks: { beforeUpdate: [first, roll.beforeUpdate], afterUpdate: [roll.afterUpdate], onError: [roll.onError] } } : {},
        );
      return {};
    };
    const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
      const orig = console.log;
      console.log = (...a: unknown[]) => {
        const m = /^info: \[runtime\] (.*)$/s.exec(a.map(String).join(" "));
        if (m) diagnostics.push(m[1].trim());
        else orig(...a);
      };
      try {
        return await f();
      } finally {
        console.log = orig;
      }
    };
    const overlaps = (cs: Cycle[]) => cs.filter((c) => c.downWith.length > 0).map((c) => `${c.node} went down while ${c.downWith.join(", ")} was down`);

    try {
      lab = await new EtcdLab(edir, tools.etcd.path!, addrs).startCluster(addrs);
      const l = lab;
      const stack = await inlineStack(engine, "roll-lab", "hooks", program(16384, true), { dynamicProviders: true });
      assert.equal((await stack.up({ onOutput: () => {} })).summary.result, "succeeded");
      assert.equal(cycles.length, 0, "creating the stand-ins power-cycles nothing");

      // One update: every node's memory 16 → 20 GiB.
      const leaderId = await l.leader(addrs[0]);
      const leaderName = (await l.members(addrs[0])).find((m) => m.ID === leaderId)!.name!;
      const s = sampler(l, () => addrs);
      const b = budgetSampler(api, "roll");
      const t1 = Date.now();
      const resized = await inlineStack(engine, "roll-lab", "hooks", program(20480, true), { dynamicProviders: true });
      const up = await quiet(() => resized.up({ onOutput: () => {} }));
      const took = (Date.now() - t1) / 1000;
      await s.stop();
      const seen = await b.stop();
      const w = await l.whole(addrs[0]);
      log(`(e) one update resizing ${cps.length + workers.length} nodes: ${up.summary.result} in ${took.toFixed(1)} s; ${JSON.stringify(up.summary.resourceChanges)}`);
      for (const c of [...cycles].sort((a, z) => a.off - z.off)) log(`(e)   ${c.node}: off +${((c.off - t1) / 1000).toFixed(1)} s, on +${((c.on - t1) / 1000).toFixed(1)} s; cordoned ${c.cordoned}, pods left ${c.podsLeft}, down with it: [${c.downWith.join(", ")}]`);
      for (const x of diagnostics.filter((d) => /^(power cycle|etcd:|drain)/.test(d))) log(`(e)   ${x}`);
      log(`(e) etcd: ${s.samples} health samples, quorum lost ${s.lost.length} times; ${w.why}; the budget's app serving never below ${seen.min} (${seen.samples} samples); leader before: ${leaderName}`);
      assert.equal(up.summary.result, "succeeded");
      assert.equal(up.summary.resourceChanges?.update, 5);
      assert.deepEqual(cycles.map((c) => c.node).sort(), [...cps, ...workers].sort(), "every node powered off and on once");
      assert.deepEqual(overlaps(cycles), [], "one node at a time");
      for (const c of cycles) {
        assert.equal(c.cordoned, true, `${c.node} was cordoned before it went down`);
        assert.equal(c.podsLeft, 0, `${c.node} was drained before it went down`);
      }
      assert.deepEqual(s.lost, [], "etcd's quorum held throughout");
      assert.ok(w.ok, w.why);
      assert.ok(seen.min >= 1, "the PodDisruptionBudget held throughout");
      assert.ok(diagnostics.some((d) => new RegExp(`^etcd: ${leaderName} led; leadership moved to cp-\\d before it goes down`).test(d)), `the leader ${leaderName} handed its leadership over before going down:\n${diagnostics.join("\n")}`);
      for (const n of [...cps, ...workers]) {
        const nd = await api.json<Doc>("GET", `/api/v1/nodes/${n}`);
        assert.notEqual(nd.spec?.unschedulable, true, `${n} uncordoned after`);
        assert.notEqual(nd.status?.nodeInfo?.bootID, `${n}-boot-0`, `${n} rebooted`);
      }
      assert.equal((await serving(api, "roll")).length, 2);
      const ordered = [...cycles].sort((a, z) => a.off - z.off);
      for (let i = 1; i < ordered.length; i++) assert.ok(ordered[i].off >= ordered[i - 1].on, `${ordered[i].node} went down after ${ordered[i - 1].node} was on again`);

      // Failure: the next resize, where vCenter refuses rw-0's reconfiguration. The update fails; the
      // lock is released by the onError hook (no hang), and no node goes down after the failure.
      cycles.length = 0;
      diagnostics.length = 0;
      const t2 = Date.now();
      const failing = await inlineStack(engine, "roll-lab", "hooks", program(24576, true, ["rw-0"]), { dynamicProviders: true });
      const failed = await quiet(() => failing.up({ onOutput: () => {} })).then(
        () => undefined,
        (e: Error) => e,
      );
      const failedAt = diagnostics.findIndex((d) => /power cycle rw-0: the vSphere provider's update failed/.test(d));
      log(`(e) injected failure (rw-0 first): ${failed ? "the update failed" : "succeeded"} in ${((Date.now() - t2) / 1000).toFixed(1)} s; ${diagnostics.filter((d) => /stays cordoned/.test(d)).join(" | ")}`);
      assert.ok(failed, "the update fails");
      assert.match(failed.message, /vCenter refused to reconfigure rw-0/);
      assert.ok(failedAt >= 0, `the onError hook ran:\n${diagnostics.join("\n")}`);
      assert.equal((await api.json<Doc>("GET", "/api/v1/nodes/rw-0")).spec?.unschedulable, true, "rw-0 stays cordoned (its state unknown)");
      // rw-0 went first (the lab's ordering hook); after its update failed nothing else went down: the
      // others, waiting for the lock, were refused without their VMs being touched.
      const refused = [...failed.message.matchAll(/not powering (\S+) off: the vSphere provider's update of rw-0 failed before it/g)].map((m) => m[1]);
      log(`(e)   after the failure: refused ${[...new Set(refused)].sort().join(", ") || "none"}; powered off: ${cycles.map((c) => c.node).join(", ") || "none"}`);
      assert.deepEqual(cycles.map((c) => c.node), [], "no node went down after rw-0's update failed (nor rw-0 itself)");
      assert.deepEqual([...new Set(refused)].sort(), ["rcp-0", "rcp-1", "rcp-2", "rw-1"], `each other node's hook refused:\n${failed.message}`);
      for (const n of ["rcp-0", "rcp-1", "rcp-2", "rw-1"]) assert.notEqual((await api.json<Doc>("GET", `/api/v1/nodes/${n}`)).spec?.unschedulable, true, `${n} was not even cordoned`);
      await api.json("PATCH", "/api/v1/nodes/rw-0", { spec: { unschedulable: false } }, "application/merge-patch+json");

      // Negative control: the same resize with stand-ins that carry no hooks (the engine's own order).
      cycles.length = 0;
      const plain = await inlineStack(engine, "roll-lab", "no-hooks", program(16384, false), { dynamicProviders: true });
      assert.equal((await plain.up({ onOutput: () => {} })).summary.result, "succeeded");
      await waitFor("roll serving 2", async () => ((await serving(api, "roll")).length === 2 ? true : undefined), 120_000, 250);
      const sn = sampler(l, () => addrs);
      const bn = budgetSampler(api, "roll");
      const plainResized = await inlineStack(engine, "roll-lab", "no-hooks", program(20480, false), { dynamicProviders: true });
      assert.equal((await plainResized.up({ onOutput: () => {} })).summary.result, "succeeded");
      await sn.stop();
      const seenNeg = await bn.stop();
      log(`(e) negative control (no hooks): ${overlaps(cycles).length} of ${cycles.length} went down while another was down; quorum lost ${sn.lost.length} times in ${sn.samples} samples; serving never below ${seenNeg.min}; cordoned before going down: ${cycles.filter((c) => c.cordoned).length}`);
      assert.ok(overlaps(cycles).length > 0, "without the hooks the engine updates them together");
      assert.ok(cycles.some((c) => !c.cordoned && c.podsLeft > 0) || seenNeg.min < 1, "without the hooks nodes go down undrained");
      assert.ok(sn.lost.length > 0 || cycles.filter((c) => cps.includes(c.node) && c.downWith.some((x) => cps.includes(x))).length > 0, "without the hooks control planes go down together");
    } finally {
      watching = false;
      await watcher;
      lab?.down();
    }
  });
});
