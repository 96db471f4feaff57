/**
 * The rolling power cycle's decisions (components/cluster/power-cycle.ts): which updates roll a node,
 * when a control plane may go down (etcd's quorum with the member down), and when a node is back.
 * The real-systems lab runs the hooks through the real engine (test/lab/node-retirement.lab.ts (e)).
 */
import * as assert from "node:assert/strict";
import { EtcdMember } from "../../components/cluster/retire";
import { decidePowerCycleQuorum, nodeBack, notBackMessage, powerCycleDecision } from "../../components/cluster/power-cycle";
import { rebootReasons } from "../../components/vsphere/reboot";

const m = (i: number, learner = false): EtcdMember => ({ ID: `id${i}`, name: `cp-${i}`, peerURLs: [`https://10.0.0.${i}:2380`], clientURLs: [`https://10.0.0.${i}:2379`], ...(learner ? { isLearner: true } : {}) });
const healthy = (...ids: number[]) => new Set(ids.map((i) => `id${i}`));

describe("rolling power cycle: which update rolls a node", () => {
  const program = { nodes: new Set(["cp-1", "w-1", "w-2"]), controlPlanes: new Map([["cp-1", "10.0.0.1"]]), prepared: new Set(["w-2"]) };
  const vm = (cpus: number, memory: number, extra: Record<string, unknown> = {}) => ({ name: "w-1", numCpus: cpus, memory, ...extra });
  const rows: { name: string; node: string; before: Record<string, unknown>; after: Record<string, unknown>; want: string }[] = [
    { name: "more memory without hot-add: a worker rolls", node: "w-1", before: vm(16, 1024), after: vm(16, 2048), want: "roll worker" },
    { name: "fewer vCPU: a control plane rolls, with its address", node: "cp-1", before: vm(8, 1024), after: vm(4, 1024), want: "roll control-plane 10.0.0.1" },
    { name: "more memory with memory hot-add on before: in place", node: "w-1", before: vm(16, 1024, { memoryHotAddEnabled: true }), after: vm(16, 2048, { memoryHotAddEnabled: true }), want: "skip" },
    { name: "a tag or annotation change: in place", node: "w-1", before: vm(16, 1024, { annotation: "a" }), after: vm(16, 1024, { annotation: "b" }), want: "skip" },
    { name: "extraConfig (ignoreChanges on these VMs): never sent, in place", node: "w-1", before: vm(16, 1024, { extraConfig: { a: "1" } }), after: vm(16, 1024, { extraConfig: { a: "2" } }), want: "skip" },
    { name: "another passthrough GPU: rolls", node: "w-1", before: vm(16, 1024, { pciDeviceIds: ["0000:3b:00.0"] }), after: vm(16, 1024, { pciDeviceIds: ["0000:d8:00.0"] }), want: "roll worker" },
    { name: "prepared by hand: left alone", node: "w-2", before: vm(16, 1024), after: vm(16, 2048), want: "skip" },
    { name: "not a node of the cluster (the load balancer): left alone", node: "lb", before: vm(2, 1024), after: vm(4, 1024), want: "skip" },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const d = powerCycleDecision(r.node, rebootReasons(r.before, r.after, ["extraConfig"]), program);
      assert.equal(d.kind === "roll" ? `roll ${d.role}${d.address ? ` ${d.address}` : ""}` : "skip", r.want, JSON.stringify(d));
    });
  }
});

describe("rolling power cycle: a control plane goes down only while the others keep etcd's quorum", () => {
  const rows: { name: string; members: EtcdMember[]; healthy: Set<string>; node: string; want: "go" | "refuse"; why?: RegExp }[] = [
    { name: "3 healthy: one may go (2 of 3 left)", members: [m(1), m(2), m(3)], healthy: healthy(1, 2, 3), node: "cp-1", want: "go", why: /2 of the other 2 voting members healthy, quorum 2 of 3/ },
    { name: "3, another one down: refused (1 of 3 left)", members: [m(1), m(2), m(3)], healthy: healthy(1, 2), node: "cp-1", want: "refuse", why: /powering cp-1 off would leave 1 healthy of 3 voting members, 2 needed \(unhealthy: cp-3\)/ },
    { name: "2 members: refused (quorum 2)", members: [m(1), m(2)], healthy: healthy(1, 2), node: "cp-2", want: "refuse", why: /1 healthy of 2/ },
    { name: "5, one other down: one more may go (3 of 5 left)", members: [m(1), m(2), m(3), m(4), m(5)], healthy: healthy(1, 2, 3, 4), node: "cp-1", want: "go" },
    { name: "5, two others down: refused", members: [m(1), m(2), m(3), m(4), m(5)], healthy: healthy(1, 2, 3), node: "cp-1", want: "refuse" },
    { name: "no quorum now: refused", members: [m(1), m(2), m(3)], healthy: healthy(1), node: "cp-1", want: "refuse", why: /no quorum now: 1 of 3/ },
    { name: "a learner still joining does not count; the node itself a learner: go", members: [m(1), m(2), m(3), m(4, true)], healthy: healthy(1, 2, 3), node: "cp-4", want: "go", why: /learner/ },
    { name: "a learner does not make up for a down voter", members: [m(1), m(2), m(3), m(4, true)], healthy: healthy(1, 2, 4), node: "cp-1", want: "refuse" },
    { name: "not a member: nothing to keep", members: [m(1), m(2), m(3)], healthy: healthy(1, 2, 3), node: "cp-9", want: "go", why: /not an etcd member/ },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const d = decidePowerCycleQuorum(r.members, r.healthy, { name: r.node });
      assert.equal(d.kind, r.want, d.why);
      if (r.why) assert.match(d.why, r.why);
    });
  }
  it("matches the member by its peer URL when its name differs", () => {
    const d = decidePowerCycleQuorum([m(1), m(2), m(3)], healthy(1, 2), { name: "esxi-03-control-plane", peerUrl: "https://10.0.0.1:2380" });
    assert.equal(d.kind, "refuse");
  });
});

describe("rolling power cycle: when a node is back", () => {
  const node = (bootID: string | undefined, ready: string) => ({ status: { nodeInfo: bootID ? { bootID } : {}, conditions: [{ type: "Ready", status: ready }] } });
  it("Ready with the old boot ID is not back (not rebooted yet, or a stale status)", () => {
    assert.deepEqual(nodeBack("b1", node("b1", "True")), { back: false, why: "boot ID still b1 (not rebooted yet)" });
  });
  it("a new boot ID, not Ready yet: not back; Ready: back", () => {
    assert.equal(nodeBack("b1", node("b2", "False")).back, false);
    assert.equal(nodeBack("b1", node("b2", "Unknown")).back, false);
    assert.deepEqual(nodeBack("b1", node("b2", "True")), { back: true, why: "Ready, boot ID b1 → b2" });
  });
  it("no boot ID before: Ready alone; no Node: not back", () => {
    assert.equal(nodeBack(undefined, node(undefined, "True")).back, true);
    assert.equal(nodeBack("b1", undefined).back, false);
  });
  it("the timeout's message names the node, what was last seen, and the key", () => {
    assert.match(notBackMessage("w-1", 15 * 60_000, "not Ready"), /w-1 was powered off and on .* within 15 min \(not Ready\); it stays cordoned.*kubectl uncordon w-1.*vsphere-spark:lifecycle.rebootTimeoutMinutes/);
  });
});
