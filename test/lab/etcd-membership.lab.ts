/**
 * The control-plane join's etcd membership logic against a real etcd cluster (part of `npm run lab`).
 *
 * Three real etcd members on loopback, each on its own address with kubeadm's ports and TLS as
 * kubeadm sets it up (https peer URL `https://<address>:2380`, client URL `:2379`, client
 * certificates required), and the bootstrap's membership script (components/cluster/etcd-member.ts)
 * written out and run verbatim with python3, as the control planes run it. While the scenarios run,
 * a sampler reads `/health` (a linearizable read: quorum) from the members that stay up, every
 * 100 ms: quorum must never be lost.
 *
 * Scenarios (what a control-plane join does to etcd, kubeadm's phases/etcd/local.go):
 * - a join that announced its member (as a voter, and as a learner) then failed: the retry path
 *   (`leave`, then the reset empties the data directory, then the member is announced again) ends
 *   with one member per peer URL, all healthy, and the cluster still survives one member's loss;
 * - negative control: a blind reset (data emptied, member left in place) and the same rejoin: the
 *   cluster is not whole (a member that never comes back healthy, or a second member for the
 *   peer URL), and losing one more member loses quorum;
 * - refusals: `leave` with no other member answering says "unknown" (3) and with a cluster
 *   without quorum refuses (4); the bootstrap resets in neither case.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ETCD_MEMBER_EXIT, ETCD_MEMBER_SCRIPT, etcdPeerUrl } from "../../components/cluster/etcd-member";
import { EtcdLab, addresses, leaderSampler, makeEtcdPki, sampler } from "./etcd-cluster";
import { Parts, Tool, resolveTools } from "./tools";
import { waitFor } from "./control-plane";

const log = (s: string) => console.log(`      ${s}`);

describe("real-systems lab: the control-plane join's etcd membership, on a real 3-member etcd", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-etcd-lab-"));
  let tools: Record<string, Tool> = {};
  const parts = new Parts(() => tools, log);
  const [a0, a1, a2] = addresses();
  let lab: EtcdLab | undefined;
  const t0 = Date.now();

  before(function () {
    tools = resolveTools(["etcd"]);
  });
  after(() => {
    lab?.down();
    parts.summary("etcd membership lab");
    log(`etcd membership lab: ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${dir}`);
  });

  /** A fresh cluster of cp-0 and cp-1 (healthy), and cp-2 about to join. */
  async function twoMembers(): Promise<EtcdLab> {
    lab?.down();
    const l = await new EtcdLab(dir, tools.etcd.path!, [a0, a1, a2]).startCluster([a0, a1]);
    lab = l;
    return l;
  }

  /** cp-2 joins as kubeadm's control-plane-join phase does: announce, then start with state `existing`. */
  async function join(l: EtcdLab, learner: boolean): Promise<void> {
    await l.add(a0, a2, learner);
    l.start(a2, "existing", [a0, a1, a2]);
    await waitFor("cp-2 healthy", async () => ((await l.healthy(a2)) ? true : undefined), 60_000, 200);
    if (learner) {
      const id = (await l.members(a0)).find((m) => m.peerURLs?.includes(etcdPeerUrl(a2)))!.ID;
      // A learner is promoted once it caught up (etcd refuses before); kubeadm retries the same way.
      await waitFor("cp-2 promoted", async () => (await l.call(a0, "/v3/cluster/member/promote", { ID: id }).then(() => true, () => undefined)), 60_000, 300);
    }
  }

  before(function () {
    fs.mkdirSync(path.join(dir, "pki"), { recursive: true });
    makeEtcdPki(path.join(dir, "pki"), [a0, a1, a2]);
    fs.writeFileSync(path.join(dir, "vsphere-spark-etcd-member"), ETCD_MEMBER_SCRIPT, { mode: 0o755 });
  });

  for (const learner of [false, true]) {
    it(`a join that announced its member (${learner ? "learner" : "voter"}) and failed: leave, reset, rejoin; quorum never lost, the cluster whole and fault tolerant`, async function () {
      parts.need(this, `failed join as a ${learner ? "learner" : "voter"}, retried`, ["etcd"]);
      const l = await twoMembers();
      const s = sampler(l, () => [a0, a1]);
      // The failed attempt: the member is announced and its etcd started (it synced), then the
      // join fails and the node loses power (its etcd stops).
      await l.add(a0, a2, learner);
      l.start(a2, "existing", [a0, a1, a2]);
      await waitFor("cp-2 serving", async () => ((await l.healthy(a2)) ? true : undefined), 60_000, 200);
      await l.stop(a2);
      const before = await l.members(a0);
      assert.equal(before.length, 3, JSON.stringify(before));
      // The retry path: the script removes this node's member through the others, then the reset.
      const leave = l.script("leave", a2, [a0, a1]);
      log(`leave: exit ${leave.status}; ${leave.stderr.trim().split("\n").join(" | ")}`);
      assert.equal(leave.status, ETCD_MEMBER_EXIT.ok, leave.stderr);
      assert.deepEqual((await l.members(a0)).map((m) => m.name).sort(), ["cp-0", "cp-1"], "only cp-2's member was removed");
      assert.equal(l.script("leave", a2, [a0, a1]).status, ETCD_MEMBER_EXIT.ok, "a second leave finds nothing to remove");
      l.wipe(a2);
      await join(l, learner);
      await s.stop();
      log(`sampler: ${s.samples} samples, quorum lost ${s.lost.length} times`);
      assert.deepEqual(s.lost, [], "quorum was never lost");
      const w = await l.whole(a0);
      assert.ok(w.ok, w.why);
      assert.equal((await l.members(a0)).length, 3);
      // Whole means fault tolerant again: one member may go.
      await l.stop(a1);
      await waitFor("quorum with cp-1 down", async () => ((await l.healthy(a0)) ? true : undefined), 15_000, 200);
    });
  }

  it("a joined control plane that leads and leaves (its bootstrap gave up after the join): `leave` hands leadership over first; the others never lack a live leader", async function () {
    parts.need(this, "a leading member leaves", ["etcd"]);
    const l = await twoMembers();
    await join(l, false);
    const ms = await l.members(a0);
    const id = (a: string) => ms.find((m) => m.peerURLs?.includes(etcdPeerUrl(a)))!.ID;
    // Make cp-2 the leader, with etcd's own MoveLeader (sent to the current leader).
    const leader = await l.leader(a0);
    const current = [a0, a1, a2].find((a) => id(a) === leader)!;
    if (current !== a2) await waitFor("cp-2 leads", () => l.call(current, "/v3/maintenance/transfer-leadership", { targetID: id(a2) }), 30_000, 500);
    assert.equal(String((await l.call(a0, "/v3/maintenance/status", {})).leader), id(a2), "cp-2 leads");
    let removed = false;
    const stays = new Set([id(a0), id(a1)]);
    const s = sampler(l, () => [a0, a1]);
    const ls = leaderSampler(l, () => [a0, a1], () => stays, () => removed);
    const leave = await l.scriptAsync("leave", a2, [a0, a1], (line) => {
      if (/removed member \d+ through /.test(line)) removed = true;
    });
    await new Promise((r) => setTimeout(r, 2500));
    await s.stop();
    await ls.stop();
    log(`leave: exit ${leave.status}; ${leave.stderr.trim().split("\n").join(" | ")}`);
    log(`samplers: quorum lost ${s.lost.length} times in ${s.samples} samples; no live leader ${ls.leaderless.length} times in ${ls.samples} status samples`);
    assert.equal(leave.status, ETCD_MEMBER_EXIT.ok, leave.stderr);
    assert.match(leave.stderr, /this node's member led: leadership moved to \d+ before its removal/);
    assert.ok(removed, "the removal was seen");
    assert.deepEqual(s.lost, []);
    assert.deepEqual(ls.leaderless, [], "the others always had a live leader (without the handoff they name the removed leader for about a second: node-retirement.lab.ts's negative control)");
    assert.deepEqual((await l.members(a0)).map((m) => m.name).sort(), ["cp-0", "cp-1"]);
  });

  it("negative control: a blind reset after the member joined (data emptied, member left) breaks the cluster", async function () {
    parts.need(this, "blind reset (negative control)", ["etcd"]);
    const l = await twoMembers();
    await join(l, false);
    assert.ok((await l.whole(a0)).ok);
    // The old bootstrap: the join "fails", `kubeadm reset -f` cannot remove the member (it warns)
    // and empties /var/lib/etcd; the retried join's etcd starts again on an empty data directory.
    await l.stop(a2);
    l.wipe(a2);
    l.start(a2, "existing", [a0, a1, a2]);
    await new Promise((r) => setTimeout(r, 8000));
    const w = await l.whole(a0);
    log(`after the blind reset: ${w.why}; cp-2 process ${l.procs.get(a2)?.exitCode === null ? "running" : `exited ${l.procs.get(a2)?.exitCode}`}`);
    assert.equal(w.ok, false, "the check catches the blind reset");
    // And the cluster no longer survives a member's loss.
    await l.stop(a1);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await l.healthy(a0), false, "quorum lost with one more member down");
  });

  it("refusals: no other member answering is 'unknown'; a cluster without quorum refuses the removal; neither resets", async function () {
    parts.need(this, "refusals", ["etcd"]);
    const l = await twoMembers();
    await l.add(a0, a2, false);
    // Nothing answers where the others should be.
    const unknown = l.script("leave", a2, [a2]);
    assert.equal(unknown.status, ETCD_MEMBER_EXIT.unknown, unknown.stderr);
    // cp-2 announced as a voter and never started, and cp-1 gone: 1 of 3 started, no quorum.
    await l.stop(a1);
    await waitFor("cp-0 without quorum", async () => ((await l.healthy(a0)) ? undefined : true), 15_000, 200);
    const refused = l.script("leave", a2, [a0, a1]);
    log(`leave without quorum: exit ${refused.status}; ${refused.stderr.trim().split("\n").join(" | ")}`);
    assert.equal(refused.status, ETCD_MEMBER_EXIT.refused, refused.stderr);
    l.start(a1, "existing", [a0, a1, a2]);
    await waitFor("quorum back", async () => ((await l.healthy(a0)) ? true : undefined), 30_000, 200);
    assert.ok((await l.members(a0)).some((m) => m.peerURLs?.includes(etcdPeerUrl(a2))), "cp-2's member is still there (nothing was removed blindly)");
    // `others` (what the first control plane asks before it resets a partial init).
    assert.equal(l.script("others", a0, [a0]).status, 0);
  });
});
