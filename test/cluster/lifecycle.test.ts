/**
 * The change rules for a running kubeadm cluster (components/cluster/lifecycle.ts, docs/lifecycle.md),
 * on states made from the reference stack's real decisions: each refused change is refused with its
 * config key (negative controls: the same change acknowledged, or no change, passes).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import {
  ClusterLifecycleState,
  LifecycleSettings,
  checkClusterChange,
  durationMs,
  haproxyBackendsNote,
  joinTokenGeneration,
  parseClusterLifecycleState,
  readinessTargets,
  resolveLifecycleSettings,
  stateFromVmsOutput,
} from "../../components/cluster/lifecycle";
import { keptNodeWarnings } from "../../components/cluster/readiness";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { kubeadmLifecycleRule, planChanges, renderPlanChanges } from "../../src/plan/lifecycle";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>;

/** The applied state the reference stack (Pulumi.dev.yaml), edited, would export. */
function stateOf(edit: (c: Cfg) => void = () => {}, stack = "dev"): ClusterLifecycleState {
  const cfg = readStackFile(path.join(ROOT, `Pulumi.${stack}.yaml`)) as Cfg;
  edit(cfg);
  const d = decideStack(flatten(cfg).values);
  assert.ok(d.decisions, JSON.stringify(d.errors));
  return structuredClone(d.decisions.cluster.lifecycle!.state) as ClusterLifecycleState;
}

const K = "vsphere-spark:kubernetes";
const ack = (a: Partial<LifecycleSettings>): LifecycleSettings => ({ preparedNodes: [], allowSingleControlPlane: false, ...a });
const paths = (c: { refusals: { path: string }[] }) => c.refusals.map((r) => r.path);
/** Five hosts, so five control planes fit (the reference stack has four). */
const fiveHosts = (c: Cfg) => {
  c["vsphere-spark:hosts"].push({ name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
};

describe("changes to a running cluster", () => {
  const base = stateOf();

  it("a new stack (no previous state) and an unchanged one: nothing refused, nothing to note", () => {
    assert.deepEqual(checkClusterChange(undefined, base), { refusals: [], notes: [] });
    assert.deepEqual(checkClusterChange(base, stateOf()), { refusals: [], notes: [] });
  });

  it("the state is plain JSON with every node, control planes first in their order", () => {
    assert.equal(base.nodes.length, 20);
    assert.deepEqual(base.nodes.slice(0, 3).map((n) => n.name), ["esxi-01-control-plane", "esxi-02-control-plane", "esxi-03-control-plane"]);
    assert.deepEqual(JSON.parse(JSON.stringify(base)), base);
    assert.deepEqual(parseClusterLifecycleState(JSON.parse(JSON.stringify(base))).state, base);
  });

  it("scratch disk added to running workers: refused (mounted at first boot only; Spark would size executors from a disk that is not there); new workers alone, or an older state, pass", () => {
    assert.ok(base.nodes.filter((n) => n.role === "worker").every((n) => n.scratchDiskGiB === 400), "the reference workers carry the 400 GiB scratch disk");
    const none = stateOf((x) => (x["vsphere-spark:vmProfiles"].worker.scratchDiskGiB = 0));
    const add = checkClusterChange(none, base);
    assert.deepEqual(paths(add), ["vsphere-spark:vmProfiles.worker.scratchDiskGiB"]);
    assert.match(add.refusals[0].message, /changes the scratch disk of 16 running worker\(s\) .*0 → 400 GiB.*stay Pending/s);
    const remove = checkClusterChange(base, none);
    assert.deepEqual(paths(remove), ["vsphere-spark:vmProfiles.worker.scratchDiskGiB"]);
    assert.match(remove.refusals[0].message, /400 → 0 GiB.*mounted \/var\/lib\/kubelet/s);
    // Negative controls: unchanged passes; a state that does not record the disk (older) is not compared.
    assert.deepEqual(paths(checkClusterChange(base, stateOf())), []);
    const older = structuredClone(none);
    for (const n of older.nodes) delete n.scratchDiskGiB;
    assert.deepEqual(paths(checkClusterChange(older, base)), []);
  });

  it("a running node moved to another zone: refused naming vsphere-spark:zones (a replacement); prepared nodes: a note; no zone change, or a state without zones on both sides: nothing", () => {
    const withZone = (n: ClusterLifecycleState["nodes"][number], zone: string) => ({ ...n, zone });
    const prev = stateOf();
    const zoneA = { ...prev, nodes: prev.nodes.map((n) => withZone(n, n.name.startsWith("esxi-04") ? "zone-b" : "zone-a")) };
    const next = { ...prev, nodes: prev.nodes.map((n) => withZone(n, n.name.startsWith("esxi-03") || n.name.startsWith("esxi-04") ? "zone-b" : "zone-a")) };
    const c = checkClusterChange(zoneA, next);
    assert.deepEqual(paths(c), ["vsphere-spark:zones"]);
    assert.match(c.refusals[0].message, /moves 5 running node\(s\) to another zone \(esxi-03-control-plane: zone zone-a → zone zone-b.*pulumi up --replace/s);
    // Zones added to a running stack: every kept node changes from no zone.
    assert.match(checkClusterChange(prev, zoneA).refusals[0]?.message ?? "", /moves 20 running node\(s\).*no zone → zone zone-a/s);
    const moved = next.nodes.filter((n, i) => n.zone !== zoneA.nodes[i].zone).map((n) => n.name);
    const ok = checkClusterChange(zoneA, next, { lifecycle: ack({ preparedNodes: moved }) });
    assert.deepEqual(ok.refusals, []);
    assert.ok(ok.notes.some((n) => /prepared.*pulumi up --replace/.test(n)));
    assert.deepEqual(checkClusterChange(zoneA, zoneA).refusals, []);
    assert.deepEqual(checkClusterChange(prev, prev).refusals, []);
    assert.equal(parseClusterLifecycleState({ ...zoneA, nodes: [{ ...zoneA.nodes[0], zone: 3 }] }).problem !== undefined, true);
  });

  it("template change with running VMs: refused (every VM would be replaced at once)", () => {
    const c = checkClusterChange(base, stateOf((x) => (x["vsphere-spark:inventory"].template = "ubuntu-2404-kube-template-v2")));
    assert.deepEqual(paths(c), ["vsphere-spark:inventory.template"]);
    assert.match(c.refusals[0].message, /20 running VMs.*clone\.\* is ForceNew.*each deleted before its replacement is cloned.*share a name, a MAC and an address.*quorum lost/s);
    assert.match(c.refusals[0].message, /keep inventory.template: ubuntu-2404-kube-template/);
  });

  describe("Kubernetes version", () => {
    const v = (version: string, installMode = "packages") => stateOf((x) => Object.assign(x[K], { version, installMode }));
    it("a patch or minor upgrade is refused with the kubeadm upgrade steps (control planes first, first control plane `upgrade apply`)", () => {
      for (const to of ["1.31.5", "1.32.0"]) {
        const c = checkClusterChange(base, v(to));
        assert.deepEqual(paths(c), [`${K}.version`], to);
        const m = c.refusals[0].message;
        assert.match(m, /kubelet must not be newer than kube-apiserver/);
        assert.match(m, new RegExp(`on esxi-01-control-plane.*kubeadm upgrade apply v${to.replace(/\./g, "\\.")}`));
        assert.match(m, /each other control plane in turn \(esxi-02-control-plane, esxi-03-control-plane\).*kubeadm upgrade node/);
        assert.ok(m.indexOf("each control plane in turn") < m.indexOf("each worker in turn"), "control planes before workers");
      }
      assert.match(checkClusterChange(base, v("1.32.0")).refusals[0].message, /core:\/stable:\/v1\.32\/deb/);
      assert.doesNotMatch(checkClusterChange(base, v("1.31.5")).refusals[0].message, /sources\.list/);
    });
    it("skipping a minor version: the steps go through the next minor first", () => {
      const m = checkClusterChange(base, v("1.33.1")).refusals[0].message;
      assert.match(m, /one minor version at a time, so go through 1\.32 first/);
      assert.match(m, /kubeadm upgrade apply v1\.32\.<latest patch>/);
    });
    it("a downgrade is refused (kubeadm does not downgrade)", () => {
      assert.match(checkClusterChange(base, v("1.31.3")).refusals[0].message, /downgrades Kubernetes/);
      assert.match(checkClusterChange(base, v("1.30.9")).refusals[0].message, /downgrades Kubernetes/);
    });
    it("acknowledged by upgradedKubernetesVersion (nodes upgraded by hand): a note; another version is still refused", () => {
      const c = checkClusterChange(base, v("1.32.0"), { lifecycle: ack({ upgradedKubernetesVersion: "1.32.0" }) });
      assert.deepEqual(c.refusals, []);
      assert.match(c.notes.join("\n"), /nodes created from now on install 1\.32\.0/);
      assert.deepEqual(paths(checkClusterChange(base, v("1.32.1"), { lifecycle: ack({ upgradedKubernetesVersion: "1.32.0" }) })), [`${K}.version`]);
    });
    it("with installMode preinstalled: refused even when acknowledged (new nodes run the template's kubelet)", () => {
      const prev = v("1.31.4", "preinstalled");
      const c = checkClusterChange(prev, v("1.32.0", "preinstalled"), { lifecycle: ack({ upgradedKubernetesVersion: "1.32.0" }) });
      assert.match(c.refusals[0].message, /installMode preinstalled/);
    });
  });

  describe("workers", () => {
    const perHost = (n: number) => stateOf((x) => (x["vsphere-spark:workersPerHost"] = n));
    it("scale-in removes the highest slots first; each removed worker is drained and removed before deletion (automated, no acknowledgement)", () => {
      const c = checkClusterChange(base, perHost(3));
      assert.deepEqual(c.refusals, []);
      const notes = c.notes.join("\n");
      assert.match(notes, /workers esxi-01-worker-4, esxi-02-worker-4, esxi-03-worker-4, esxi-04-worker-4 are drained and removed before deletion/);
      assert.match(notes, /PodDisruptionBudgets honoured; after 15 min \(vsphere-spark:lifecycle\.drainTimeoutMinutes\)/);
      assert.match(notes, /4 worker\(s\) removed.*executor count/);
      // Prepared by hand: left alone by the hook, and not announced as drained.
      const three = checkClusterChange(base, perHost(3), { lifecycle: ack({ preparedNodes: ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4"], drainTimeoutMinutes: 40 }) });
      assert.deepEqual(three.refusals, []);
      assert.match(three.notes.join("\n"), /worker esxi-04-worker-4 is drained and removed before deletion.*after 40 min/);
    });
    it("scale-out is automated: no refusal, a note", () => {
      const c = checkClusterChange(perHost(3), base);
      assert.deepEqual(c.refusals, []);
      assert.match(c.notes.join("\n"), /worker\(s\) added \(esxi-01-worker-4, esxi-02-worker-4, esxi-03-worker-4, esxi-04-worker-4\)/);
    });
  });

  describe("control planes", () => {
    const five = stateOf((x) => {
      fiveHosts(x);
      x["vsphere-spark:controlPlane"] = { hosts: ["esxi-01", "esxi-02", "esxi-03", "esxi-05", "esxi-04"].slice(0, 5) };
      x["vsphere-spark:endpoint"].host = "esxi-04";
    });
    const three = stateOf((x) => {
      fiveHosts(x);
      x["vsphere-spark:controlPlane"] = { hosts: ["esxi-01", "esxi-02", "esxi-03"] };
      x["vsphere-spark:endpoint"].host = "esxi-04";
    });
    // The load balancer stays on esxi-04 (by default it would move to the first host without a control plane).
    const one = stateOf((x) => {
      x["vsphere-spark:controlPlane"] = { count: 1 };
      x["vsphere-spark:endpoint"].host = "esxi-04";
    });

    it("3 → 1 still needs allowSingleControlPlane; the two leaving members are removed from etcd before their VMs go (automated)", () => {
      const c = checkClusterChange(base, one);
      assert.deepEqual(paths(c), ["vsphere-spark:controlPlane.count"]);
      const ok = checkClusterChange(base, one, { lifecycle: ack({ allowSingleControlPlane: true }) });
      assert.deepEqual(ok.refusals, []);
      assert.match(ok.notes.join("\n"), /control planes esxi-02-control-plane, esxi-03-control-plane are drained and removed before deletion: drained, its etcd member removed/);
    });

    it("3 → 5: automated (a note, not a refusal): the new control planes join one after the other with the shared CA files and the join token; HAProxy's backends are noted honestly", () => {
      const c = checkClusterChange(three, five);
      assert.deepEqual(c.refusals, []);
      const notes = c.notes.join("\n");
      assert.match(notes, /control planes esxi-04-control-plane, esxi-05-control-plane join the running cluster one after the other \(each waits until the one before it serves the API\)/);
      assert.match(notes, /shared CA files in their guestinfo \(kubeadm's manual certificate distribution: no certificate key, no kube-system\/kubeadm-certs\) and joins with the workers' join token/);
      assert.match(notes, /\(3 → 5 members\)/);
      // HAProxy: written at first boot; the API stays reachable through the old three; what to add, where.
      const lb = c.membershipNotes!.find((n) => /^HAProxy's backends are written at the load balancer's first boot/.test(n))!;
      assert.ok(lb, notes);
      assert.match(lb, /esxi-04-load-balancer keeps sending the API to the control planes it booted with \(esxi-01-control-plane 192\.168\.1\.\d+, esxi-02-control-plane [\d.]+, esxi-03-control-plane [\d.]+\)\. The API stays reachable through them/);
      assert.match(lb, /add a line `server <name> <address>:6443 check verify none` per new control plane \(esxi-04-control-plane [\d.]+, esxi-05-control-plane [\d.]+\)/);
      assert.match(lb, /sudo haproxy -c -f \/etc\/haproxy\/haproxy\.cfg && sudo systemctl reload haproxy/);
      assert.deepEqual(c.membershipNotes!.length, 2, "the join note and the HAProxy note");
      // One at a time: the state is this version's (it records sharedPkiJoins).
      assert.equal(three.sharedPkiJoins, true);
    });

    it("3 → 5 on a state an older version wrote (no sharedPkiJoins), or rebuilt from `vms`: refused with the steps (one `pulumi up` first); listed in preparedNodes it passes", () => {
      const { sharedPkiJoins: _none, ...older } = three;
      const c = checkClusterChange(older, five);
      assert.deepEqual(paths(c), ["vsphere-spark:controlPlane"]);
      assert.match(c.refusals[0].message, /adds control planes esxi-04-control-plane, esxi-05-control-plane to a running cluster whose applied state was written by an earlier version/);
      assert.match(c.refusals[0].message, /keep the control planes as they are \(3\) and `pulumi up` once: it renews the join token's Secret and records it/);
      assert.match(c.refusals[0].message, /then add esxi-04-control-plane, esxi-05-control-plane and `pulumi up`/);
      assert.doesNotMatch(c.refusals.map((r) => r.message).join("\n"), /kubeadm init phase upload-certs/, "nothing to upload by hand any more");
      assert.deepEqual(checkClusterChange(older, five, { lifecycle: ack({ preparedNodes: ["esxi-04-control-plane", "esxi-05-control-plane"] }) }).refusals, []);
      // Negative control: the flag set to false is not the flag.
      assert.deepEqual(paths(checkClusterChange({ ...three, sharedPkiJoins: false }, five)), ["vsphere-spark:controlPlane"]);
      // A state rebuilt from the vms output (legacy) never carries it.
      const vms = Object.fromEntries(three.nodes.map((n) => [n.name, { role: n.role, cpus: n.cpus, memoryMiB: n.memoryMiB, ipAddress: n.address, macAddress: n.macAddress }]));
      const legacy = stateFromVmsOutput(vms, five)!;
      assert.equal(legacy.sharedPkiJoins, undefined);
      assert.match(checkClusterChange(legacy, five).refusals.map((r) => r.message).join("\n"), /comes from its `vms` output/);
    });

    it("3 → 5 → 3 is consistent: each step automated, each noted, HAProxy's note in both directions", () => {
      const up = checkClusterChange(three, five);
      const down = checkClusterChange(five, three);
      assert.deepEqual([up.refusals, down.refusals], [[], []]);
      assert.match(down.membershipNotes!.join("\n"), /remove the `server` lines of esxi-04-control-plane [\d.]+, esxi-05-control-plane [\d.]+/);
      assert.match(down.membershipNotes!.join("\n"), /The removed ones fail its \/readyz check and are marked down, so the API stays reachable through the others/);
      assert.doesNotMatch(down.notes.join("\n"), /join the running cluster/);
      assert.doesNotMatch(up.notes.join("\n"), /drained and removed before deletion/);
    });

    it("adding and removing control planes in one update: refused (one direction of etcd membership change per update); negative controls: each direction alone, or the removal done by hand (preparedNodes), passes", () => {
      // esxi-03's control plane moves to esxi-05: one member added, one removed.
      const swapped = stateOf((x) => {
        fiveHosts(x);
        x["vsphere-spark:controlPlane"] = { hosts: ["esxi-01", "esxi-02", "esxi-05"] };
        x["vsphere-spark:endpoint"].host = "esxi-04";
      });
      const c = checkClusterChange(three, swapped);
      assert.deepEqual(paths(c), ["vsphere-spark:controlPlane"]);
      assert.match(c.refusals[0].message, /adds control plane esxi-05-control-plane and removes esxi-03-control-plane in one update/);
      assert.match(c.refusals[0].message, /first add only: keep esxi-03-control-plane/);
      assert.deepEqual(checkClusterChange(three, swapped, { lifecycle: ack({ preparedNodes: ["esxi-03-control-plane"] }) }).refusals, []);
      assert.deepEqual(checkClusterChange(three, five).refusals, []);
      assert.deepEqual(checkClusterChange(five, three).refusals, []);
    });

    it("the HAProxy note: nothing when the set of control planes is the same (order alone does not matter to round robin)", () => {
      const a = [{ name: "a", address: "10.0.0.1" }, { name: "b", address: "10.0.0.2" }];
      assert.equal(haproxyBackendsNote(a, [...a].reverse()), undefined);
      assert.match(haproxyBackendsNote(a, [...a, { name: "c", address: "10.0.0.3" }], "lb")!, /^HAProxy's backends .*lb keeps sending the API to the control planes it booted with \(a 10\.0\.0\.1, b 10\.0\.0\.2\)/);
    });

    it("a different first control plane: a note, not a refusal (once the cluster exists every control plane renders as a join); its removal follows the removal rules", () => {
      const moved = stateOf((x) => {
        fiveHosts(x);
        x["vsphere-spark:controlPlane"] = { hosts: ["esxi-02", "esxi-03", "esxi-05"] };
        x["vsphere-spark:endpoint"].host = "esxi-04";
      });
      // Adding esxi-05's and removing esxi-01's in one update: refused by the one-direction rule, not as a second init.
      const both = checkClusterChange(three, moved);
      assert.deepEqual(paths(both), ["vsphere-spark:controlPlane"]);
      assert.match(both.refusals[0].message, /adds control plane esxi-05-control-plane and removes esxi-01-control-plane in one update/);
      assert.doesNotMatch(both.refusals[0].message, /second cluster/);
      // In two updates: 3 → 5 (add), then 5 → 3 without the first: automated, with the note.
      assert.deepEqual(checkClusterChange(three, five).refusals, []);
      const second = checkClusterChange(five, moved);
      assert.deepEqual(second.refusals, []);
      assert.match(second.notes.join("\n"), /esxi-02-control-plane is now first in the control-plane order instead of esxi-01-control-plane: nothing re-runs `kubeadm init`.*esxi-01-control-plane, which ran `kubeadm init`, is removed as any other control plane/);
      assert.match(second.notes.join("\n"), /control planes esxi-01-control-plane, esxi-04-control-plane are drained and removed before deletion/);
    });
  });

  it("endpoint changes (haproxy → kube-vip) are refused on a running cluster", () => {
    const vip = stateOf((x) => {
      x["vsphere-spark:endpoint"] = { kind: "kube-vip", address: "192.168.1.5" };
      delete x["vsphere-spark:network"].addresses;
    });
    const c = checkClusterChange(base, vip);
    assert.ok(paths(c).includes("vsphere-spark:endpoint"), JSON.stringify(paths(c)));
    assert.match(c.refusals.find((r) => r.path === "vsphere-spark:endpoint")!.message, /haproxy 192\.168\.1\.2:6443 → kube-vip 192\.168\.1\.5:6443.*first boot only/);
  });

  it("pod and service network changes are refused", () => {
    const c = checkClusterChange(base, stateOf((x) => Object.assign(x[K], { podCidr: "10.200.0.0/16", serviceCidr: "10.97.0.0/16" })));
    assert.deepEqual(paths(c), [`${K}.podCidr`, `${K}.serviceCidr`]);
  });

  it("a running node's address or MAC change is refused with the pin to set", () => {
    const moved = stateOf((x) => (x["vsphere-spark:network"].addresses["esxi-01-worker-1"] = "192.168.1.99"));
    const c = checkClusterChange(base, moved);
    assert.deepEqual(paths(c), ["vsphere-spark:network.addresses.esxi-01-worker-1"]);
    assert.match(c.refusals[0].message, /pin it: vsphere-spark:network\.addresses\.esxi-01-worker-1: 192\.168\.1\.12/);
    const mac = stateOf((x) => (x["vsphere-spark:network"].macAddresses = { "esxi-01-worker-1": "00:50:56:00:00:01" }));
    assert.deepEqual(paths(checkClusterChange(base, mac)), ["vsphere-spark:network.macAddresses.esxi-01-worker-1"]);
  });

  describe("vCPU and memory (a power cycle each: no hot-add)", () => {
    const bigger = stateOf((x) => (x["vsphere-spark:vmProfiles"].worker.memoryGiB = 128));
    it("all workers: rolled one node at a time (a note: drained, powered off and on, back, uncordoned); prepared (resized by hand): nothing", () => {
      const c = checkClusterChange(base, bigger);
      assert.deepEqual(c.refusals, []);
      const note = c.notes.find((n) => /nodes are resized/.test(n)) ?? "";
      assert.match(note, /^16 nodes are resized \(122880 → 131072 MiB: esxi-01-worker-1, esxi-01-worker-2, .*esxi-04-worker-4\): the vSphere provider powers each off and on \(no hot-add\), rolled one node at a time: each drained by its VM's beforeUpdate hook first/);
      assert.match(note, /PodDisruptionBudgets honoured, up to 15 min\), then back \(Ready with a new boot ID, within 15 min, vsphere-spark:lifecycle.rebootTimeoutMinutes\) and uncordoned by its afterUpdate hook before the next; a failure stops the roll/);
      assert.doesNotMatch(note, /etcd|control planes and workers/);
      // Only what changes (the vCPU count stays), and once for the 16 workers that share it.
      assert.doesNotMatch(note, /\d+ → \d+ vCPU/);
      assert.equal(note.match(/122880 → 131072 MiB/g)?.length, 1);
      // Two different changes: one group each.
      const mixed = structuredClone(base);
      for (const n of mixed.nodes.filter((x) => x.role === "worker")) n.cpus += n.name.startsWith("esxi-01") ? 4 : 0;
      mixed.nodes.find((n) => n.name === "esxi-02-worker-1")!.memoryMiB = 131072;
      assert.match(
        checkClusterChange(base, mixed).notes.join("\n"),
        /5 nodes are resized \(16 → 20 vCPU: esxi-01-worker-1, esxi-01-worker-2, esxi-01-worker-3, esxi-01-worker-4; 122880 → 131072 MiB: esxi-02-worker-1\)/,
      );
      const all = base.nodes.filter((n) => n.role === "worker").map((n) => n.name);
      const prepared = checkClusterChange(base, bigger, { lifecycle: ack({ preparedNodes: all }) });
      assert.deepEqual(prepared.refusals, []);
      assert.ok(!prepared.notes.some((n) => /resized/.test(n)), prepared.notes.join("\n"));
      // The timeouts the note names are the user's.
      assert.match(checkClusterChange(base, bigger, { lifecycle: ack({ drainTimeoutMinutes: 30, rebootTimeoutMinutes: 40 }) }).notes.join("\n"), /up to 30 min\).*within 40 min/);
    });
    it("three control planes: rolled (etcd keeps its quorum with one down), with the workers in the same roll; the only control plane, or one of two: refused", () => {
      const c = checkClusterChange(base, stateOf((x) => (x["vsphere-spark:vmProfiles"].small.cpus = 4)));
      assert.deepEqual(c.refusals, []);
      assert.match(c.notes.join("\n"), /^3 nodes are resized \(8 → 4 vCPU: esxi-01-control-plane, esxi-02-control-plane, esxi-03-control-plane\): .*rolled one node at a time: .*a control plane only while the other etcd members keep the quorum, its leadership handed over.*serving \/readyz with every etcd member healthy.*port 2379/m);
      assert.match(c.notes.join("\n"), /esxi-04-load-balancer is resized.*API endpoint is down/);
      const next = structuredClone(base);
      next.nodes[0].cpus = 4;
      next.nodes.find((n) => n.name === "esxi-02-worker-3")!.memoryMiB = 131072;
      const mixed = checkClusterChange(base, next);
      assert.deepEqual(mixed.refusals, []);
      assert.match(mixed.notes.join("\n"), /2 nodes are resized \(8 → 4 vCPU: esxi-01-control-plane; 122880 → 131072 MiB: esxi-02-worker-3\): .*\(control planes and workers alike\)/);
      const one = structuredClone(base);
      one.nodes[0].cpus = 4;
      assert.match(checkClusterChange(base, one).notes.join("\n"), /esxi-01-control-plane is resized \(esxi-01-control-plane 8 → 4 vCPU\): .*after its VM's beforeUpdate hook drained it/);
      // The only control plane: refused (no quorum to keep), at its profile's key, with the steps.
      const single = stateOf((x) => {
        x["vsphere-spark:controlPlane"] = { count: 1 };
        x["vsphere-spark:endpoint"].host = "esxi-04";
      });
      const smaller = structuredClone(single);
      smaller.nodes[0].memoryMiB = 32768;
      const refused = checkClusterChange(single, smaller);
      assert.deepEqual(paths(refused), ["vsphere-spark:vmProfiles.small"]);
      assert.match(refused.refusals[0].message, /resizes the only control plane .*API and etcd are down.*add control planes first/s);
      // Negative control: resized by hand and listed: nothing refused.
      assert.deepEqual(checkClusterChange(single, smaller, { lifecycle: ack({ preparedNodes: [smaller.nodes[0].name] }) }).refusals, []);
    });
  });

  describe("GPU workers' passthrough devices (a pci_device_id change powers the VM off and on; the MMIO window is extraConfig, ignoreChanges)", () => {
    /** The applied state of the GPU example stack (Pulumi.gpu.yaml), edited. */
    const gpuStateOf = (edit: (c: Cfg) => void = () => {}) => stateOf(edit, "gpu");
    const gpuBase = gpuStateOf();
    const gpuWorkers = gpuBase.nodes.filter((n) => n.gpu).map((n) => n.name);
    const swapOn = (host: number) => (c: Cfg) => c["vsphere-spark:hosts"][host].gpus.reverse();

    it("the state records each GPU worker's PCI ids and MMIO window, and no devices on the other nodes", () => {
      assert.deepEqual(gpuWorkers, ["esxi-03-gpu-worker-1", "esxi-03-gpu-worker-2", "esxi-04-gpu-worker-1", "esxi-04-gpu-worker-2"]);
      assert.deepEqual(gpuBase.nodes.find((n) => n.name === "esxi-03-gpu-worker-2")!.gpu, { pciDeviceIds: ["0000:af:00.0"], mmioSizeGiB: 256 });
      assert.deepEqual(parseClusterLifecycleState(JSON.parse(JSON.stringify(gpuBase))).state, gpuBase);
      assert.deepEqual(checkClusterChange(gpuBase, gpuStateOf()), { refusals: [], notes: [] });
      assert.match(parseClusterLifecycleState({ ...gpuBase, nodes: [{ ...gpuBase.nodes[0], gpu: { pciDeviceIds: "0000:3b:00.0" } }] }).problem ?? "", /node/);
    });

    const rows: { name: string; edit: (c: Cfg) => void; refused: string[]; note?: RegExp; message?: RegExp }[] = [
      {
        name: "one GPU worker gets another device: a note (powered off and on, like one resized worker)",
        edit: (c) => (c["vsphere-spark:hosts"][2].gpus[0].pciId = "0000:d8:00.0"),
        refused: [],
        note: /esxi-03-gpu-worker-1 is changed \(esxi-03-gpu-worker-1 passthrough GPUs \[0000:3b:00.0\] → \[0000:d8:00.0\]\).*not hot-pluggable.*advertises 1 nvidia.com\/gpu/,
      },
      {
        name: "two GPU workers' devices swapped in one update: rolled, one at a time",
        edit: swapOn(2),
        refused: [],
        note: /2 nodes are resized \(passthrough GPUs \[0000:3b:00.0\] → \[0000:af:00.0\]: esxi-03-gpu-worker-1; passthrough GPUs \[0000:af:00.0\] → \[0000:3b:00.0\]: esxi-03-gpu-worker-2\): .*passthrough devices are not hot-pluggable.*rolled one node at a time.*after each boot the device plugin advertises/,
      },
      {
        name: "the MMIO window of running GPU workers: refused (extraConfig is ignoreChanges: pulumi would never write it)",
        edit: (c) => (c["vsphere-spark:vmProfiles"].gpu.mmioSizeGiB = 512),
        refused: ["vsphere-spark:vmProfiles.gpu.mmioSizeGiB"],
        message: /4 running GPU worker\(s\) \(esxi-03-gpu-worker-1 256 → 512 GiB.*ignoreChanges/s,
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const next = gpuStateOf(r.edit);
        const c = checkClusterChange(gpuBase, next);
        assert.deepEqual(paths(c), r.refused, c.refusals.map((x) => x.message).join("\n"));
        if (r.message) assert.match(c.refusals.map((x) => x.message).join("\n"), r.message);
        if (r.note) assert.match(c.notes.join("\n"), r.note);
        // Negative control: the nodes changed by hand and listed as prepared: nothing refused.
        const all = next.nodes.map((n) => n.name);
        assert.deepEqual(checkClusterChange(gpuBase, next, { lifecycle: ack({ preparedNodes: all }) }).refusals, []);
      });
    }

    it("one GPU worker's devices and one CPU worker's memory in one update: rolled one after the other, each alone: a note", () => {
      const gpuOnly = gpuStateOf((c) => (c["vsphere-spark:hosts"][2].gpus[0].pciId = "0000:d8:00.0"));
      const both = structuredClone(gpuOnly);
      both.nodes.find((n) => n.name === "esxi-01-worker-1")!.memoryMiB += 1024;
      const c = checkClusterChange(gpuBase, both);
      assert.deepEqual(c.refusals, []);
      assert.match(c.notes.join("\n"), /2 nodes are resized \(\d+ → \d+ MiB: esxi-01-worker-1; passthrough GPUs \[.*\] → \[.*\]: esxi-03-gpu-worker-1\).*no hot-add; passthrough devices are not hot-pluggable.*rolled one node at a time/s);
      assert.deepEqual(checkClusterChange(gpuBase, gpuOnly).refusals, []);
      const cpuOnly = structuredClone(gpuBase);
      cpuOnly.nodes.find((n) => n.name === "esxi-01-worker-1")!.memoryMiB += 1024;
      assert.deepEqual(checkClusterChange(gpuBase, cpuOnly).refusals, []);
    });

    it("GPU workers removed from VMs without the retirement hook are refused at hosts[i].gpuWorkers (their count), CPU workers at workersPerHost", () => {
      const unhooked = structuredClone(gpuBase);
      delete (unhooked as Partial<ClusterLifecycleState>).retireHooks;
      const fewerGpu = gpuStateOf((c) => (c["vsphere-spark:hosts"][2].gpuWorkers = 1));
      assert.deepEqual(paths(checkClusterChange(unhooked, fewerGpu)), ["vsphere-spark:hosts[i].gpuWorkers"]);
      const fewerCpu = gpuStateOf((c) => (c["vsphere-spark:workersPerHost"] = 3));
      assert.deepEqual(paths(checkClusterChange(unhooked, fewerCpu)), ["vsphere-spark:workersPerHost"]);
      // With the hooks bound, both are drained (a note, no refusal).
      assert.deepEqual(checkClusterChange(gpuBase, fewerGpu).refusals, []);
    });

    it("negative controls: a state written before devices were recorded compares none; new GPU workers alone change nothing running", () => {
      const older = structuredClone(gpuBase);
      for (const n of older.nodes) delete n.gpu;
      const c = checkClusterChange(older, gpuStateOf(swapOn(2)));
      assert.deepEqual(c, { refusals: [], notes: [] });
      const more = gpuStateOf((x) => {
        x["vsphere-spark:hosts"][0].gpus = [{ pciId: "0000:3b:00.0", model: "A100-80GB", memoryGiB: 80 }];
        x["vsphere-spark:hosts"][0].gpuWorkers = 1;
      });
      assert.deepEqual(paths(checkClusterChange(gpuBase, more)), []);
    });
  });

  it("key order of a state read back does not count as a change", () => {
    const prev = structuredClone(base);
    prev.firstBoot["kubernetes.evictionHard"] = Object.fromEntries(Object.entries(prev.firstBoot["kubernetes.evictionHard"] as object).reverse());
    assert.deepEqual(checkClusterChange(prev, base), { refusals: [], notes: [] });
  });

  it("first-boot settings are notes: running nodes keep the old value", () => {
    const c = checkClusterChange(
      base,
      stateOf((x) => {
        x["vsphere-spark:network"].dnsServers = ["192.168.1.253"];
        x[K].bootstrapTokenTtl = "12h";
        x[K].sshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJr5oB3c2TfKfYZMfvDtvqgg0vdH5O0n4ZbXJ0x1Y5w ops"];
      }),
    );
    assert.deepEqual(c.refusals, []);
    const notes = c.notes.join("\n");
    for (const k of ["network.dnsServers", "kubernetes.bootstrapTokenTtl", "kubernetes.sshAuthorizedKeys"])
      assert.match(notes, new RegExp(`vsphere-spark:${k.replace(".", "\\.")} changed: running nodes keep the old value`));
  });

  it("a cluster rename is refused (the MACs derive from it)", () => {
    const c = checkClusterChange(base, stateOf((x) => (x["vsphere-spark:clusterName"] = "spark2")));
    assert.equal(paths(c)[0], "vsphere-spark:clusterName");
    assert.ok(paths(c).some((p) => p.startsWith("vsphere-spark:network.macAddresses.")));
  });

  it("leaf certificates: the plan says when they expire (one year after the init)", () => {
    const prev = { ...base, createdAt: "2026-01-10T08:00:00.000Z" };
    const c = checkClusterChange(prev, stateOf(), { now: new Date("2026-12-04T00:00:00Z") });
    assert.match(c.notes.join("\n"), /issued at the init on 2026-01-10 expire around 2027-01-10 \(in 37 days\).*kubeadm certs renew all/);
    assert.deepEqual(checkClusterChange(prev, stateOf()).notes, [], "no clock, no note");
  });

  it("a previous output this program does not understand is a problem, not a new cluster", () => {
    assert.deepEqual(parseClusterLifecycleState(undefined), {});
    for (const bad of [{ ...base, format: 2 }, { ...base, nodes: [{ name: "x" }] }, "text", { ...base, endpoint: null }]) assert.ok(parseClusterLifecycleState(bad).problem, JSON.stringify(bad).slice(0, 60));
  });

  it("a stack deployed before the output existed: its nodes are checked against the vms output; the rest is noted as unchecked", () => {
    const vms = Object.fromEntries(
      base.nodes.map((n) => [n.name, { name: n.name, role: n.role, host: "h", cpus: n.cpus, memoryMiB: n.memoryMiB, ipAddress: n.address, macAddress: n.macAddress }]),
    );
    const next = stateOf((x) => (x["vsphere-spark:workersPerHost"] = 3));
    const prev = stateFromVmsOutput(vms, next)!;
    assert.equal(prev.legacy, true);
    assert.equal(prev.nodes.length, 20);
    const c = checkClusterChange(prev, next);
    assert.deepEqual(paths(c), ["vsphere-spark:workersPerHost"]);
    assert.match(c.notes[0], /no clusterLifecycle output yet.*not checked in this update/);
    // Control planes removed: refused whatever is prepared (the init node is not recorded).
    const one = stateOf((x) => {
      x["vsphere-spark:controlPlane"] = { count: 1 };
      x["vsphere-spark:endpoint"].host = "esxi-04";
    });
    const r = checkClusterChange(stateFromVmsOutput(vms, one)!, one, { lifecycle: ack({ preparedNodes: ["esxi-02-control-plane", "esxi-03-control-plane"], allowSingleControlPlane: true }) });
    assert.match(r.refusals.map((x) => x.message).join("\n"), /deployed before the clusterLifecycle output existed: which control plane ran `kubeadm init` is not recorded/);
    assert.equal(stateFromVmsOutput({ a: { role: "worker" } }, next), undefined);
    assert.equal(stateFromVmsOutput({}, next), undefined);
  });

  it("readiness gate: creating waits for every Kubernetes node; updating only for the added ones", () => {
    const created = readinessTargets(undefined, base);
    assert.equal(created.waitFor.length, 19);
    assert.deepEqual(created.reportOnly, []);
    const grown = readinessTargets(stateOf((x) => (x["vsphere-spark:workersPerHost"] = 3)), base);
    assert.deepEqual(grown.waitFor, ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4", "esxi-04-worker-4"]);
    assert.equal(grown.reportOnly.length, 15);
    assert.deepEqual(readinessTargets(base, base).waitFor, []);
    const w = keptNodeWarnings({ ready: ["a"], notReady: [{ name: "b", reason: "Ready=False (KubeletNotReady)" }], missing: ["c"] });
    assert.equal(w.length, 2);
    assert.match(w[0], /running node b is not Ready \(Ready=False \(KubeletNotReady\)\).*the update goes on/);
    assert.match(keptNodeWarnings("HTTP 503")[0], /could not read the node list/);
  });

  it("the workers' join token rotates once per bootstrapTokenTtl window; never without a clock or with 0s", () => {
    const day = (iso: string) => joinTokenGeneration(new Date(iso), "24h");
    assert.equal(day("2026-12-04T00:00:00Z"), day("2026-12-04T23:59:59Z"));
    assert.equal(Number(day("2026-12-05T00:00:00Z")), Number(day("2026-12-04T12:00:00Z")) + 1);
    assert.equal(joinTokenGeneration(new Date("2026-12-04T01:00:00Z"), "1h30m"), String(Math.floor(Date.parse("2026-12-04T01:00:00Z") / 5_400_000)));
    assert.equal(joinTokenGeneration(new Date(), "0s"), undefined);
    assert.equal(joinTokenGeneration(undefined, "24h"), undefined);
    assert.deepEqual(["24h", "1h30m", "90m", "0s", "2d", ""].map(durationMs), [86_400_000, 5_400_000, 5_400_000, 0, undefined, undefined]);
  });

  it("vsphere-spark:lifecycle: defaults, and every problem with its key", () => {
    assert.deepEqual(resolveLifecycleSettings(undefined).settings, { preparedNodes: [], allowSingleControlPlane: false });
    const r = resolveLifecycleSettings({ preparedNodes: "x", allowSingleControlPlane: "yes", upgradedKubernetesVersion: "v1.32", extra: 1 });
    assert.deepEqual(r.errors.map((e) => e.path).sort(), [
      "vsphere-spark:lifecycle.allowSingleControlPlane",
      "vsphere-spark:lifecycle.extra",
      "vsphere-spark:lifecycle.preparedNodes",
      "vsphere-spark:lifecycle.upgradedKubernetesVersion",
    ]);
  });
});

describe("plan --compare: the rules on a (base plan, head plan) pair", () => {
  const side = (edit: (c: Cfg) => void = () => {}) => {
    const cfg = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
    edit(cfg);
    return { outputs: { clusterLifecycle: stateOf(edit) }, config: flatten(cfg).values };
  };
  it("the base's clusterLifecycle output is the previous state, the head's is the next; the head's lifecycle key acknowledges", () => {
    const scaleIn = (c: Cfg) => (c["vsphere-spark:workersPerHost"] = 3);
    // VMs bound their retirement hook (this version's state): automated, and the plan says so.
    const hooked = planChanges(side(), side(scaleIn))!;
    assert.deepEqual(hooked.refusals, []);
    assert.match(renderPlanChanges(hooked), /esxi-04-worker-4 are drained and removed before deletion/);
    // VMs an older version registered (no retireHooks in the base's state): refused as before.
    const older = () => {
      const b = side();
      delete (b.outputs.clusterLifecycle as Partial<ClusterLifecycleState>).retireHooks;
      return b;
    };
    const c = planChanges(older(), side(scaleIn))!;
    assert.deepEqual(c.refusals.map((r) => r.path), ["vsphere-spark:workersPerHost"]);
    assert.match(renderPlanChanges(c), /^Refused on a running cluster \(1\)/);
    assert.match(c.refusals[0].message, /keep the workers for one `pulumi up` \(this version binds every VM its retirement hook\)/);
    assert.deepEqual(kubeadmLifecycleRule(older(), side(scaleIn)).map((r) => [r.path, r.enforcedByProgram]), [["vsphere-spark:workersPerHost", true]]);
    const acked = side((x) => {
      scaleIn(x);
      x["vsphere-spark:lifecycle"] = { preparedNodes: ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4", "esxi-04-worker-4"] };
    });
    assert.deepEqual(planChanges(older(), acked)!.refusals, []);
    assert.deepEqual(planChanges(side(), side()), { refusals: [], notes: [] });
  });
  it("nothing to check without the output on both sides (a new stack, Tanzu, an older plan JSON)", () => {
    assert.equal(planChanges({ outputs: {} }, side()), undefined);
    assert.equal(planChanges(side(), { outputs: {} }), undefined);
    assert.match(planChanges({ outputs: { clusterLifecycle: { format: 7 } } }, side())!.refusals[0].message, /base plan: the stack output clusterLifecycle is not a state/);
  });
});
