/**
 * Node retirement's decisions (components/cluster/retire.ts): kubectl drain's filters and retry
 * rules, the budgets named when a drain times out, etcd's quorum arithmetic, and which VM deletions
 * retire a node. The real-systems lab runs them against real systems (test/lab/node-retirement.lab.ts).
 */
import * as assert from "node:assert/strict";
import {
  EtcdMember,
  PodInfo,
  budgetsFor,
  decideLeadershipHandoff,
  decideMemberRemoval,
  drainPlan,
  drainPolicy,
  drainTimeoutMessage,
  evictionOutcome,
  memberGone,
  quorum,
  retireDecision,
  selects,
} from "../../components/cluster/retire";
import { nodeOfHook } from "../../components/cluster/retire-hooks";

const pod = (name: string, extra: Partial<PodInfo["metadata"]> = {}, priority?: number, nodeName = "w1"): PodInfo => ({
  metadata: { name, namespace: "ns", uid: `${name}-uid`, labels: { app: name.split("-")[0] }, ...extra },
  spec: { nodeName, ...(priority !== undefined ? { priority } : {}) },
});

describe("node retirement: the drain plan (kubectl drain's filters)", () => {
  it("evicts all but DaemonSet and mirror pods, waits for terminating ones, lowest priority first", () => {
    const p = drainPlan(
      [
        pod("dns-1", {}, 2_000_000_000),
        pod("web-1"),
        pod("agent-x", { ownerReferences: [{ kind: "DaemonSet", name: "agent", controller: true }] }),
        pod("etcd-cp", { annotations: { "kubernetes.io/config.mirror": "abc" } }),
        pod("job-1", { deletionTimestamp: "2026-12-04T00:00:00Z" }),
        pod("api-1", { ownerReferences: [{ kind: "ReplicaSet", name: "api-5d", controller: true }] }),
        pod("other-1", {}, undefined, "w2"),
      ],
      "w1",
    );
    assert.deepEqual(p.evict.map((x) => x.metadata.name), ["api-1", "web-1", "dns-1"]);
    assert.deepEqual(p.skipped, [
      { pod: "ns/agent-x", why: "DaemonSet agent" },
      { pod: "ns/etcd-cp", why: "mirror pod (static pod of the node)" },
    ]);
    assert.deepEqual(p.terminating.map((x) => x.metadata.name), ["job-1"]);
  });

  it("eviction answers: 200/201 accepted, 404 gone, 429 retried (a budget), anything else fails with the API's message", () => {
    assert.deepEqual([200, 201, 404, 429].map((s) => evictionOutcome(s).kind), ["accepted", "accepted", "gone", "retry"]);
    const f = evictionOutcome(500, JSON.stringify({ message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." }));
    assert.deepEqual(f, { kind: "fail", why: "HTTP 500: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." });
    assert.deepEqual(drainPolicy(), { timeoutMs: 900_000, retryDelayMs: 5_000, pollMs: 1_000 });
    assert.equal(drainPolicy(2).timeoutMs, 120_000);
  });

  it("label selectors as metav1 reads them; a budget without a selector selects nothing", () => {
    const l = { app: "web", tier: "front" };
    assert.equal(selects({ matchLabels: { app: "web" } }, l), true);
    assert.equal(selects({ matchLabels: { app: "db" } }, l), false);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }, l), true);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, l), false);
    assert.equal(selects({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, l), true);
    assert.equal(selects({ matchExpressions: [{ key: "x", operator: "Exists" }] }, l), false);
    assert.equal(selects({}, l), true);
    assert.equal(selects(undefined, l), false);
  });

  it("a timed-out drain names the node, each pod left and the budget holding it; negative control: a pod no budget selects is said not to terminate", () => {
    const pdbs = [
      { metadata: { name: "web-pdb", namespace: "ns" }, spec: { selector: { matchLabels: { app: "web" } } }, status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 } },
      { metadata: { name: "web-pdb", namespace: "other" }, spec: { selector: { matchLabels: { app: "web" } } } },
    ];
    assert.equal(budgetsFor(pod("web-1"), pdbs).length, 1, "a budget of another namespace does not count");
    const m = drainTimeoutMessage("w1", 900_000, [pod("web-1"), pod("db-1")], pdbs);
    assert.match(m, /^draining node w1 timed out after 900 s: ns\/web-1 is held by PodDisruptionBudget ns\/web-pdb \(disruptionsAllowed 0, currentHealthy 2, desiredHealthy 2\); ns\/db-1 did not terminate\./);
    assert.match(m, /vsphere-spark:lifecycle\.drainTimeoutMinutes/);
    assert.match(m, /vsphere-spark:lifecycle\.preparedNodes/);
  });
});

describe("node retirement: etcd member removal keeps quorum", () => {
  const m = (i: number, learner = false): EtcdMember => ({ ID: String(100 + i), name: `cp-${i}`, peerURLs: [`https://10.0.0.${i}:2380`], clientURLs: [`https://10.0.0.${i}:2379`], ...(learner ? { isLearner: true } : {}) });
  const all = (n: number) => Array.from({ length: n }, (_, i) => m(i));
  const healthy = (...ids: number[]) => new Set(ids.map((i) => String(100 + i)));
  const leaving = (i: number) => ({ name: `cp-${i}`, peerUrl: `https://10.0.0.${i}:2380` });

  it("quorum of n voters is floor(n/2)+1", () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
  });

  // [members, healthy, leaving, expected kind, why]
  const table: [number, number[], number, string, RegExp][] = [
    [3, [0, 1, 2], 2, "remove", /2 voting members remain, 2 healthy, quorum 2/],
    [5, [0, 1, 2, 3, 4], 4, "remove", /4 voting members remain, 4 healthy, quorum 3/],
    [4, [0, 1, 2, 3], 3, "remove", /3 voting members remain, 3 healthy, quorum 2/],
    [3, [0, 1], 2, "remove", /2 healthy/], // the leaving one is already dead: removing it helps
    [3, [0, 2], 2, "refuse", /would leave 1 healthy of 2 voting members, 2 needed \(unhealthy: cp-1\)/],
    [3, [2], 2, "refuse", /no quorum now: 1 of 3 voting members healthy, 2 needed/],
    [5, [0, 1, 4], 4, "refuse", /would leave 2 healthy of 4 voting members, 3 needed/],
    [2, [0, 1], 1, "remove", /1 voting members remain, 1 healthy, quorum 1/],
    [1, [0], 0, "refuse", /last voting etcd member/],
  ];
  for (const [n, h, l, kind, why] of table) {
    it(`${n} members, healthy ${h.join(",")}, cp-${l} leaves: ${kind}`, () => {
      const d = decideMemberRemoval(all(n), healthy(...h), leaving(l));
      assert.equal(d.kind, kind, JSON.stringify(d));
      assert.match(d.why, why);
    });
  }

  it("a learner goes whatever the health; an absent member is nothing to do; matched by name when the address is unknown", () => {
    const members = [...all(3), m(3, true)];
    assert.deepEqual(decideMemberRemoval(members, healthy(0), leaving(3)), { kind: "remove", ids: ["103"], why: "cp-3 is a learner: it does not count towards quorum" });
    assert.equal(decideMemberRemoval(all(3), healthy(0, 1, 2), leaving(7)).kind, "absent");
    assert.deepEqual((decideMemberRemoval(all(3), healthy(0, 1, 2), { name: "cp-2" }) as { ids: string[] }).ids, ["102"]);
    // Two members for one peer URL (a blind reset's leftover): both go.
    const dup = [...all(3), { ID: "999", peerURLs: ["https://10.0.0.2:2380"] }];
    assert.deepEqual((decideMemberRemoval(dup, healthy(0, 1, 2), leaving(2)) as { ids: string[] }).ids, ["102", "999"]);
    assert.equal(memberGone(all(2), leaving(2)), true);
    assert.equal(memberGone(all(3), leaving(2)), false);
  });

  // A leaving leader hands over first (etcd's MoveLeader: the transferee is a voting member,
  // server/etcdserver/server.go ErrBadLeaderTransferee). [members, learners, healthy, leaving, leader, expected]
  const handoffs: [number, number[], number[], number[], number | "0" | undefined, string][] = [
    [3, [], [0, 1, 2], [2], 2, "move cp-2 → cp-0"],
    [3, [], [0, 1, 2], [2], 0, "none: the leader is cp-0, which stays"],
    [3, [], [1, 2], [0], 0, "move cp-0 → cp-1"], // cp-0 unhealthy as seen from here, yet it leads: to the first healthy voter
    [5, [], [0, 1, 2, 3, 4], [4], 4, "move cp-4 → cp-0"],
    [4, [0], [0, 1, 2, 3], [3], 3, "move cp-3 → cp-1"], // a learner cannot lead
    [3, [], [0, 1, 2], [2], "0", "none: no leader reported"],
    [3, [], [0, 1, 2], [2], undefined, "none: no leader reported"],
    [2, [], [1], [1], 1, "none: the leaving member cp-1 leads and no healthy voter remains"],
    [3, [], [0, 1, 2], [2], 7, "none: the leader is 107, which stays"],
  ];
  it("one update retiring two control planes: the leadership goes to a member the program keeps, not to the other leaving one; negative control: without `keeps`, to the first healthy voter (the other leaving one)", () => {
    // 5 → 3 in one update: cp-0 and cp-4 leave, cp-4 leads and is removed first (the hooks run one at a time).
    const members = Array.from({ length: 5 }, (_, i) => m(i));
    const keeps = (x: EtcdMember) => ["cp-1", "cp-2", "cp-3"].includes(x.name ?? "");
    const d = decideLeadershipHandoff(members, healthy(0, 1, 2, 3, 4), ["104"], "104", keeps);
    assert.equal(d.kind === "move" ? `${d.from.name} → ${d.to.name}` : d.why, "cp-4 → cp-1");
    const naive = decideLeadershipHandoff(members, healthy(0, 1, 2, 3, 4), ["104"], "104");
    assert.equal(naive.kind === "move" ? `${naive.from.name} → ${naive.to.name}` : naive.why, "cp-4 → cp-0", "without keeps the other leaving member would lead next");
    // No kept member healthy: any healthy voter rather than no handoff.
    const fallback = decideLeadershipHandoff(members, healthy(0, 4), ["104"], "104", keeps);
    assert.equal(fallback.kind === "move" ? `${fallback.from.name} → ${fallback.to.name}` : fallback.why, "cp-4 → cp-0");
  });

  for (const [n, learners, h, ids, leader, expected] of handoffs) {
    it(`leadership before removal: ${n} members, leader ${leader}, cp-${ids.join(",")} leaves: ${expected}`, () => {
      const members = Array.from({ length: n }, (_, i) => m(i, learners.includes(i)));
      const d = decideLeadershipHandoff(members, healthy(...h), ids.map((i) => String(100 + i)), leader === undefined || leader === "0" ? leader : String(100 + leader));
      const got = d.kind === "move" ? `move ${d.from.name} → ${d.to.name}` : `none: ${d.why}`;
      assert.ok(got.startsWith(expected), `${got} (expected ${expected})`);
    });
  }

  it("negative control: removing without the check (any member, any time) would lose quorum where the check refuses", () => {
    // cp-1 is down; the naive removal of healthy cp-2 leaves {cp-0 healthy, cp-1 dead}: 1 of 2, no quorum.
    const after = all(3).filter((x) => x.name !== "cp-2");
    const healthyAfter = after.filter((x) => healthy(0, 2).has(x.ID)).length;
    assert.ok(healthyAfter < quorum(after.length), "the naive removal loses quorum");
    assert.equal(decideMemberRemoval(all(3), healthy(0, 2), leaving(2)).kind, "refuse");
  });
});

describe("node retirement: which VM deletion retires a node", () => {
  const program = { nodes: new Set(["w1", "cp-1"]), prepared: new Set(["w9"]), previousAddresses: new Map([["cp-3", "10.0.0.3"]]) };
  it("a node gone from the program is retired; one still in it (replacement, `pulumi destroy`) or prepared by hand is not", () => {
    assert.deepEqual(retireDecision("w2", "worker", program), { kind: "retire", role: "worker" });
    assert.deepEqual(retireDecision("cp-3", "control-plane", program), { kind: "retire", role: "control-plane", address: "10.0.0.3" });
    assert.match((retireDecision("w1", "worker", program) as { why: string }).why, /still in the program/);
    assert.match((retireDecision("w9", "worker", program) as { why: string }).why, /preparedNodes: prepared by hand/);
  });
  it("the node of a hook call: the VM's name input, else the resource name's tail", () => {
    const base = { urn: "u", id: "i", type: "vsphere:index/virtualMachine:VirtualMachine" };
    assert.equal(nodeOfHook({ ...base, name: "spark-esxi-01-worker-4", oldInputs: { name: "esxi-01-worker-4" } }, "spark"), "esxi-01-worker-4");
    assert.equal(nodeOfHook({ ...base, name: "standin-vm-w3", oldInputs: { metadata: {} } }, "standin-vm"), "w3");
  });
});
