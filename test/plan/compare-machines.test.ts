/**
 * Issue 18's table: what `plan --compare` says a change does to running machines, one row per edit
 * of Pulumi.dev.yaml / Pulumi.tanzu.yaml, each with the truthful report and the source it rests on
 * (cited in components/vsphere/reboot.ts, provider.ts, diff.ts, program-rules.ts, first-boot.ts).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { PlanDiff, diffPlans, quorumCheck, survivability } from "../../src/plan/compare/diff";
import { renderDiffMarkdown, renderDiffText } from "../../src/plan/compare/render";
import { Plan } from "../../src/plan/plan";
import { ROOT, contentsOf, planOf, variant } from "./compare/stacks";
import { runProgramRules, versionSkewRule } from "../../src/plan/compare/program-rules";

const VM = "vsphere:index/virtualMachine:VirtualMachine";
const show = (d: PlanDiff) => `${d.verdict}\n${d.warnings.join("\n")}`;
const has = (d: PlanDiff, re: RegExp) => assert.ok(d.warnings.some((w) => re.test(w)), `${re}\n---\n${show(d)}`);
const hasNot = (d: PlanDiff, re: RegExp) => assert.ok(!d.warnings.some((w) => re.test(w)), `${re}\n---\n${show(d)}`);
const clone = (p: Plan): Plan => JSON.parse(JSON.stringify(p)) as Plan;

describe("plan --compare: what a change does to running machines (issue 18's table)", function () {
  this.timeout(300000);
  let ref: Plan;
  before(async () => {
    ref = await planOf();
  });

  it("worker vCPU 16 → 20: every worker powered off and on (no CPU hot-add), rolled one at a time by the VMs' beforeUpdate hook: counted and warned; negative control: VMs without the hook reboot together", async () => {
    const head = await planOf([], variant((c) => (c["vsphere-spark:vmProfiles"].worker.cpus = 20)));
    const d = diffPlans(ref, head);
    assert.equal(d.counts.reboot, 16);
    assert.equal(d.counts.update >= 16, true);
    assert.deepEqual(d.reboots[0].because, ["vCPU 16 → 20 without CPU hot-add"]);
    assert.match(d.verdict, /16 of them reboot a VM/);
    has(d, /^16 VMs powered off and on by the provider/);
    has(d, /^16 nodes rolled one at a time by their VMs' beforeUpdate hook: each drained first .* uncordoned before the next: esxi-01-worker-1/);
    assert.ok(!d.warnings.some((w) => /reboot together/.test(w)), d.warnings.join("\n"));
    // Negative control: the same change, the VMs registered without the rolling hook (an older program).
    const bare = clone(head);
    for (const r of bare.resources) delete r.beforeUpdate;
    const together = diffPlans(ref, bare);
    assert.ok(together.warnings.some((w) => /^16 of 16 workers reboot together, more than one host's share \(4\)/.test(w)), together.warnings.join("\n"));
    assert.ok(!together.warnings.some((w) => /rolled one at a time/.test(w)));
    assert.doesNotMatch(d.verdict, /No warnings/);
    assert.ok(d.vms.filter((v) => v.status === "rebooted").length === 16);
    assert.match(renderDiffText(d), /Reboots \(in-place updates that power the VM off and on/);
  });

  it("worker memory 120 → 128 GiB: reboots too (no memory hot-add)", async () => {
    const d = diffPlans(ref, await planOf([], variant((c) => (c["vsphere-spark:vmProfiles"].worker.memoryGiB = 128))));
    assert.equal(d.counts.reboot, 16);
    assert.deepEqual(d.reboots[0].because, ["memory 122880 → 131072 MiB without memory hot-add"]);
  });

  it("small-profile memory 64 → 48 GiB: all three control planes and the load balancer reboot (shrinking memory always does): the control planes one at a time, quorum kept; negative control: without the rolling hook, quorum lost while they do", async () => {
    const head = await planOf([], variant((c) => (c["vsphere-spark:vmProfiles"].small.memoryGiB = 48)));
    const d = diffPlans(ref, head);
    assert.deepEqual(d.reboots.map((r) => r.role).sort(), ["control-plane", "control-plane", "control-plane", "load-balancer"]);
    assert.match(d.reboots[0].because[0], /removing memory always reboots/);
    has(d, /^control plane: esxi-01-control-plane, esxi-02-control-plane, esxi-03-control-plane rebooted one at a time \(each only while the other members keep the quorum\): 2 of 3 members stay up \(quorum 2 holds\)/);
    has(d, /^load balancer rebooted \(esxi-04-load-balancer\): the API endpoint is down/);
    assert.ok(!d.breach.reasons.includes("etcd quorum at risk"), d.breach.reasons.join(", "));
    const bare = clone(head);
    for (const r of bare.resources) delete r.beforeUpdate;
    const together = diffPlans(ref, bare);
    has(together, /^control plane: .* rebooted together: quorum lost while the change runs: 0 of 3 members up, quorum needs 2/);
    assert.ok(together.breach.reasons.includes("etcd quorum at risk"));
    assert.equal(together.quorum!.quorumAfter, true, "reboots do not lose data");
  });

  it("load-balancer address .2 → .3: the kubeconfig's server changes; the stable clusterIdentifier keeps the provider (an update), nothing Kubernetes is replaced", async () => {
    const head = await planOf([], variant((c) => (c["vsphere-spark:network"].addresses["esxi-04-load-balancer"] = "192.168.1.3")));
    const d = diffPlans(ref, head);
    const p = d.providers.find((x) => x.name === "spark-k8s")!;
    assert.equal(p.action, "update");
    assert.deepEqual(p.server, { before: "192.168.1.2:6443", after: "192.168.1.3:6443" });
    assert.equal(p.identifier, "unchanged");
    assert.ok(p.because.some((b) => /clusterIdentifier unchanged: DiffConfig drops the replacement/.test(b)));
    assert.equal(d.resources.filter((r) => r.type.startsWith("kubernetes:") && r.action === "replace").length, 0);
    // The provider resource records the identifier input (its value waits for the CA).
    assert.ok((ref.resources.find((r) => r.name === "spark-k8s")!.inputs as Record<string, unknown>).clusterIdentifier !== undefined);
  });

  it("a Secret's or ConfigMap's data changes in place: every workload-cluster provider of the dev and tanzu stacks sets enableSecretMutable and enableConfigMapMutable, which the replacement table assumes (measured in the whole-stack lab: without them, the join-token Secret was replaced delete-first on every up, and Spark's spark-defaults ConfigMap on 4 → 3 workers per host)", async () => {
    const providers = [...ref.resources, ...(await planOf([], undefined, "tanzu")).resources].filter((r) => r.type === "pulumi:providers:kubernetes" && !/supervisor/.test(r.name));
    assert.ok(providers.length >= 2, providers.map((r) => r.name).join(", "));
    // (A provider's inputs are recorded as the engine hands them to it: strings.)
    for (const p of providers) {
      for (const flag of ["enableSecretMutable", "enableConfigMapMutable"]) assert.equal(String((p.inputs as Record<string, unknown>)[flag]), "true", `${p.name}: ${flag}`);
    }
    // 4 → 3 workers per host: Spark's defaults (the executor count) change in place.
    const fewer = diffPlans(ref, await planOf(["vsphere-spark:workersPerHost=3"]));
    assert.deepEqual(fewer.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap").map((r) => [r.name, r.action]), [["spark-spark-defaults", "update"]]);
    // The join-token Secret's renewal (a new expiration) compares as an update, not a replacement.
    // (The plan holds its stringData as one secret: the two sides are given plain values here.)
    const [base, head] = [clone(ref), clone(ref)];
    const secretOf = (p: Plan) => p.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && /join-token$/.test(r.name))!;
    const secret = secretOf(base);
    (secret.inputs as Record<string, unknown>).stringData = { "token-id": "abcdef", expiration: "2026-12-01T00:00:00Z" };
    (secretOf(head).inputs as Record<string, unknown>).stringData = { "token-id": "abcdef", expiration: "2026-12-02T00:00:00Z" };
    const d = diffPlans(base, head);
    assert.deepEqual(d.resources.filter((r) => r.name === secret.name).map((r) => r.action), ["update"]);
  });

  it("negative control: without a clusterIdentifier the same edit replaces the provider and every Kubernetes resource it manages", async () => {
    const strip = (p: Plan) => {
      const q = clone(p);
      delete (q.resources.find((r) => r.name === "spark-k8s")!.inputs as Record<string, unknown>).clusterIdentifier;
      return q;
    };
    const head = await planOf([], variant((c) => (c["vsphere-spark:network"].addresses["esxi-04-load-balancer"] = "192.168.1.3")));
    const d = diffPlans(strip(ref), strip(head));
    const p = d.providers.find((x) => x.name === "spark-k8s")!;
    assert.equal(p.action, "replace");
    assert.deepEqual(p.because, ["API server 192.168.1.2:6443 → 192.168.1.3:6443"]);
    const k8s = ref.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.equal(p.manages.length, k8s.length);
    for (const r of k8s) assert.equal(d.resources.find((x) => x.name === r.name && x.type === r.type)?.action, "replace", r.name);
    assert.ok(d.resources.find((x) => x.name === "spark-join-token")!.replaceBecause.some((b) => /^provider spark-k8s replaced/.test(b)));
    has(d, /^Kubernetes provider spark-k8s replaced \(API server 192\.168\.1\.2:6443 → 192\.168\.1\.3:6443\): the engine replaces all \d+ resources/);
  });

  it("a new CA (a new cluster) changes the identifier: provider and Kubernetes resources replaced", async () => {
    const head = await planOf([], variant((c) => (c["vsphere-spark:clusterName"] = "spark2")));
    const base = clone(ref);
    // Same resource names on both sides, only the CA replaced: the identifier follows the CA.
    const d = diffPlans(base, head);
    // clusterName renames every resource; the identifier-driven case is asserted on the pure model:
    assert.ok(d.counts.create > 0);
    const ca = clone(ref);
    const headCa = clone(ref);
    const cert = headCa.resources.find((r) => r.name === "spark-ca")!;
    (cert.inputs as Record<string, unknown>).validityPeriodHours = 1;
    const e = diffPlans(ca, headCa);
    assert.equal(e.resources.find((r) => r.name === "spark-ca")!.action, "replace");
    const p = e.providers.find((x) => x.name === "spark-k8s")!;
    assert.equal(p.identifier, "changed");
    assert.equal(p.action, "replace");
  });

  it("scale-out: the kubeconfig waits for the new VMs (unknown in a preview), but the unchanged identifier means no replacement", async () => {
    const d = diffPlans(await planOf(["vsphere-spark:workersPerHost=3"]), ref);
    assert.deepEqual(d.providers, []);
    hasNot(d, /Kubernetes provider/);
  });

  it("negative control: a stack deployed before the identifier existed sees the scale-out as a replacement in pulumi preview (kubeconfig unknown), and is told so", async () => {
    const strip = (p: Plan) => {
      const q = clone(p);
      delete (q.resources.find((r) => r.name === "spark-k8s")!.inputs as Record<string, unknown>).clusterIdentifier;
      return q;
    };
    const d = diffPlans(strip(await planOf(["vsphere-spark:workersPerHost=3"])), strip(ref));
    const p = d.providers.find((x) => x.name === "spark-k8s")!;
    assert.equal(p.action, "preview-replace");
    assert.equal(p.unknownInPreview, true);
    has(d, /^Kubernetes provider spark-k8s: kubeconfig unknown until the new VMs exist: pulumi preview shows every Kubernetes resource replaced; pulumi up replaces nothing if the server and CA stay the same/);
    // Adding the identifier to such a stack (no scale-out) is an update of the provider, not a replacement (DiffConfig: added, not changed).
    const adopt = diffPlans(strip(ref), ref);
    assert.deepEqual(adopt.providers.map((x) => [x.action, x.identifier]), [["update", "added"]]);
  });

  it("control planes 3 → 1: the two members removed before their VMs go (retirement hook); negative control: an older base (no hook) loses quorum for good, a breach", async () => {
    const d = diffPlans(
      ref,
      await planOf([], variant((c) => {
        c["vsphere-spark:controlPlane"].count = 1;
        c["vsphere-spark:network"].addresses = { "esxi-02-load-balancer": "192.168.1.2" }; // the load balancer follows the control plane
      })),
    );
    // The base's VMs carry the retirement hook: the two members are removed before their VMs go.
    assert.deepEqual(d.quorum?.deleted ?? [], []);
    has(d, /^2 nodes drained and removed before deletion .*etcd members of esxi-02-control-plane, esxi-03-control-plane removed one at a time, quorum checked \(3 → 1 members\)/);
    assert.equal(d.breach.quorum, false);
    // Negative control: a base written by an older version (no hooks): deleted without removal, quorum lost for good.
    const older = structuredClone(ref);
    for (const r of older.resources) delete r.beforeDelete;
    const o = diffPlans(
      older,
      await planOf([], variant((c) => {
        c["vsphere-spark:controlPlane"].count = 1;
        c["vsphere-spark:network"].addresses = { "esxi-02-load-balancer": "192.168.1.2" };
      })),
    );
    assert.deepEqual(o.quorum!.deleted.sort(), ["esxi-02-control-plane", "esxi-03-control-plane"]);
    has(o, /^control plane: esxi-02-control-plane, esxi-03-control-plane deleted \(still registered etcd members.*quorum lost for good: 1 of 3 registered members keep their data, quorum needs 2/);
    assert.ok(o.breach.quorum && o.breach.reasons.includes("etcd quorum at risk"));
    assert.match(o.verdict, /^BREACH \(.*etcd quorum at risk/);
  });

  it("control planes 3 → 5 → 3: the joins and the retirements are automated, the program's notes (joins one after the other, HAProxy's backends) are shown; negative control: a base state an older version wrote is refused", async () => {
    // A fifth host, the load balancer kept on esxi-04 (control planes on 3 or 5 hosts).
    const hosts = (cps: number) =>
      variant((c) => {
        c["vsphere-spark:hosts"].push({ name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
        c["vsphere-spark:controlPlane"] = { hosts: ["esxi-01", "esxi-02", "esxi-03", "esxi-05", "esxi-04"].slice(0, cps) };
        c["vsphere-spark:endpoint"].host = "esxi-04";
      });
    const three = await planOf([], hosts(3));
    const five = await planOf([], hosts(5));
    const up = diffPlans(three, five);
    assert.deepEqual(up.refusals, []);
    assert.equal(up.breach.refused, false);
    assert.equal(up.programNotes.length, 2, up.programNotes.map((n) => n.message).join("\n"));
    has(up, /^control planes esxi-04-control-plane, esxi-05-control-plane join the running cluster one after the other .*shared CA files .*join token.*\(3 → 5 members\).*\(components\/cluster\/lifecycle\.ts \(checkClusterChange\); pulumi up notes it\)$/);
    has(up, /^HAProxy's backends are written at the load balancer's first boot: esxi-04-load-balancer keeps sending the API to the control planes it booted with .*The API stays reachable through them/);
    assert.equal(up.breach.quorum, false);
    const down = diffPlans(five, three);
    assert.deepEqual(down.refusals, []);
    has(down, /^2 nodes drained and removed before deletion .*etcd members of (esxi-05-control-plane, esxi-04-control-plane|esxi-04-control-plane, esxi-05-control-plane) removed one at a time, quorum checked \(5 → 3 members\)/);
    has(down, /^HAProxy's backends .*remove the `server` lines of esxi-04-control-plane [\d.]+, esxi-05-control-plane [\d.]+/);
    hasNot(down, /join the running cluster/);
    // Negative control: the base's state written by an older version (no sharedPkiJoins): refused, as pulumi up refuses it; no join note.
    const older = clone(three);
    delete (older.outputs!.clusterLifecycle as Record<string, unknown>).sharedPkiJoins;
    const o = diffPlans(older, five);
    assert.deepEqual(o.refusals.map((r) => [r.path, r.enforcedByProgram]), [["vsphere-spark:controlPlane", true]]);
    has(o, /^refused: `vsphere-spark:controlPlane` adds control planes .* written by an earlier version/);
    assert.deepEqual(o.programNotes, []);
    assert.ok(o.breach.refused);
  });

  it("quorum table (etcd: a cluster of N tolerates (N-1)/2 failures), with its negative controls", () => {
    const n = (xs: number) => Array.from({ length: xs }, (_, i) => `cp${i}`);
    const rows: [members: number, deleted: number, replaced: number, rebooted: number, during: boolean, after: boolean][] = [
      [3, 0, 0, 1, true, true],
      [3, 0, 0, 2, false, true],
      [3, 1, 0, 0, true, true],
      [3, 2, 0, 0, false, false],
      [3, 0, 3, 0, false, false],
      [5, 2, 0, 0, true, true],
      [5, 3, 0, 0, false, false],
      [1, 0, 0, 1, false, true],
    ];
    for (const [m, del, rep, reb, during, after] of rows) {
      const q = quorumCheck(m, n(del), n(rep), n(reb));
      assert.deepEqual([q.quorumDuring, q.quorumAfter], [during, after], JSON.stringify([m, del, rep, reb]));
    }
  });

  it("DRS rules mandatory: true: vSphere HA does not restart VMs in violation of required rules, so N+1 is not met", async () => {
    const must = await planOf(["vsphere-spark:drs={enabled: true, mandatory: true}"]);
    const d = diffPlans(ref, must);
    assert.equal(d.survivability.after.nPlusOne, false);
    const f = d.survivability.after.failures.find((x) => x.host === "esxi-01")!;
    assert.deepEqual(f.unplaced.sort(), f.vms.sort(), "every VM of the failed host is pinned to it");
    assert.deepEqual(f.heldByRule!.sort(), f.vms.sort());
    has(d, /required \(mandatory\) DRS rules keep VMs from restarting elsewhere/);
    // Negative control: "should" rules (the reference) let HA restart them: only the memory shortfall remains.
    const should = d.survivability.before.failures.find((x) => x.host === "esxi-01")!;
    assert.equal(should.heldByRule, undefined);
    assert.ok(should.unplaced.length < should.vms.length);
  });

  it("overcommit.cpu: 2 with 24-vCPU workers: no false capacity breach; negative control without overcommit", async () => {
    const cpu24 = "vsphere-spark:vmProfiles={worker: {cpus: 24, memoryGiB: 120, diskGiB: 100}, small: {cpus: 8, memoryGiB: 64, diskGiB: 60}}";
    const d = diffPlans(ref, await planOf([cpu24, "vsphere-spark:overcommit={cpu: 2}"]));
    hasNot(d, /over capacity/);
    assert.equal(d.breach.reasons.includes("host over capacity"), false);
    // Without the overcommit the program itself refuses the stack (placement checks capacity), so
    // the negative control is the pure check on the same head plan read without its overcommit key.
    const head = clone(await planOf([cpu24, "vsphere-spark:overcommit={cpu: 2}"]));
    delete head.config!["vsphere-spark:overcommit"];
    const e = diffPlans(ref, head);
    has(e, /^4 hosts over capacity .*vCPU 10\d of 96 logical cores/);
    assert.ok(e.breach.reasons.includes("host over capacity"));
  });

  it("5 workers per host: 5 of 6 VMs per host cannot restart, said in the N+1 section; the gate fails when the stack declares N+1", async () => {
    const five = await planOf(["vsphere-spark:workersPerHost=5"]);
    const fiveSpark = await planOf(["vsphere-spark:workersPerHost=5", "vsphere-spark:spark={deployMode: client, executor: {heapGranularityGiB: 10}, namespace: spark-jobs}"]);
    const d = diffPlans(five, fiveSpark);
    const f = d.survivability.after.failures.find((x) => x.host === "esxi-01")!;
    assert.deepEqual([f.unplaced.length, f.vms.length], [5, 6]);
    assert.match(renderDiffText(d), /esxi-01 fails: 5 of its 6 VMs cannot restart/);
    assert.match(d.verdict, /N\+1 not met/);
    assert.equal(d.breach.reasons.length, 0, "not declared: reported, not a breach");
    const declared = diffPlans(
      await planOf(["vsphere-spark:workersPerHost=5", "vsphere-spark:ha={hostFailuresToTolerate: 1}"]),
      await planOf(["vsphere-spark:workersPerHost=5", "vsphere-spark:ha={hostFailuresToTolerate: 1}", "vsphere-spark:spark={deployMode: client, executor: {heapGranularityGiB: 10}, namespace: spark-jobs}"]),
    );
    assert.ok(declared.breach.reasons.some((r) => /N\+1 not met on a stack that declares it/.test(r)), declared.breach.reasons.join());
    has(declared, /^N\+1 not met \(as in the base\) on a stack that declares vsphere-spark:ha\.hostFailuresToTolerate: 1: .*up to 5 of its 6 VMs cannot restart/);
  });

  it("Kubernetes 1.31 → 1.32 together with a new host: refused as pulumi up refuses it; the skew rule alone says why the new nodes would break the policy", async () => {
    const head = await planOf(
      ["vsphere-spark:kubernetes={version: 1.32.0, installMode: packages, cni: {kind: antrea, version: 2.2.0}}"],
      variant((c) => c["vsphere-spark:hosts"].push({ name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 })),
    );
    const d = diffPlans(ref, head);
    // The program's own check (components/cluster/lifecycle.ts) refuses the version change on a running
    // cluster; the version-skew fact about the same key is then left out (one refusal per key).
    assert.deepEqual(d.refusals.map((r) => [r.path, r.rule, r.enforcedByProgram]), [["vsphere-spark:kubernetes.version", "components/cluster/lifecycle.ts (checkClusterChange)", true]]);
    has(d, /^refused: `vsphere-spark:kubernetes\.version` changes the Kubernetes version of a running cluster[\s\S]*kubeadm upgrade[\s\S]*pulumi up refuses it\)$/);
    assert.ok(d.breach.reasons.includes("refused change"));
    // The skew rule on its own: the new nodes would install 1.32 beside API servers at 1.31.
    const newVms = d.resources.filter((c) => c.type === VM && c.action === "create").map((c) => ({ name: c.vm ?? c.name, role: "worker" }));
    assert.equal(newVms.length, 4);
    const skew = runProgramRules(ref, head, { newVms }, [versionSkewRule]);
    assert.deepEqual(skew.map((r) => [r.path, r.rule]), [["vsphere-spark:kubernetes.version", "Kubernetes version-skew policy"]]);
    assert.match(skew[0].message, /changes the version 1\.31\.4 → 1\.32\.0 in the same update that adds 4 node\(s\)/);
    // Negative control: the version change alone adds no node: no skew refusal (the program still refuses the upgrade itself).
    const aloneHead = await planOf(["vsphere-spark:kubernetes={version: 1.32.0, installMode: packages, cni: {kind: antrea, version: 2.2.0}}"]);
    assert.deepEqual(runProgramRules(ref, aloneHead, { newVms: [] }, [versionSkewRule]), []);
    assert.deepEqual(diffPlans(ref, aloneHead).refusals.map((r) => r.rule), ["components/cluster/lifecycle.ts (checkClusterChange)"]);
    // And once the nodes were upgraded by hand (acknowledged), pulumi up accepts the version: no refusal.
    const acked = await planOf([
      "vsphere-spark:kubernetes={version: 1.32.0, installMode: packages, cni: {kind: antrea, version: 2.2.0}}",
      "vsphere-spark:lifecycle={upgradedKubernetesVersion: 1.32.0}",
    ]);
    assert.deepEqual(diffPlans(ref, acked).refusals, []);
  });

  it("workers per host 4 → 3: the kubeadm change rules run on the pair; automated (drained and removed before deletion) where the base's VMs carry the retirement hook, refused where they do not", async () => {
    const head = await planOf(["vsphere-spark:workersPerHost=3"]);
    const d = diffPlans(ref, head);
    assert.deepEqual(d.refusals.filter((r) => r.rule.startsWith("components/cluster/lifecycle.ts")), [], show(d));
    assert.ok(d.warnings.some((w) => /^4 nodes drained and removed before deletion/.test(w)), show(d));
    // Negative control: a base written by an older version (no hooks on its VMs, no retireHooks in its state).
    const older = structuredClone(ref);
    for (const r of older.resources) delete r.beforeDelete;
    delete (older.outputs.clusterLifecycle as { retireHooks?: boolean }).retireHooks;
    const o = diffPlans(older, head);
    const refusal = o.refusals.find((r) => r.rule === "components/cluster/lifecycle.ts (checkClusterChange)");
    assert.ok(refusal, show(o));
    assert.equal(refusal.enforcedByProgram, true);
    assert.match(refusal.message, /worker-4/);
    assert.ok(o.breach.reasons.includes("refused change"));
    assert.ok(o.warnings.some((w) => /^4 VMs deleted \(data on them is lost\)/.test(w)), show(o));
    const removed = ["esxi-01", "esxi-02", "esxi-03", "esxi-04"].map((h) => `${h}-worker-4`);
    const acked = diffPlans(older, await planOf(["vsphere-spark:workersPerHost=3", `vsphere-spark:lifecycle={preparedNodes: [${removed.join(", ")}]}`]));
    assert.deepEqual(acked.refusals.filter((r) => r.rule.startsWith("components/cluster/lifecycle.ts")), []);
  });

  it("first-boot only: a version change reaches no running node, and the report shows the user-data lines", async () => {
    const sets = ["vsphere-spark:kubernetes={version: 1.31.5, installMode: packages, cni: {kind: antrea, version: 2.2.0}}"];
    const d = diffPlans(ref, await planOf(sets), { contents: { base: await contentsOf(), head: await contentsOf(sets) } });
    assert.ok(d.firstBoot.length > 0);
    const all = new Set(d.firstBoot.flatMap((f) => f.existing));
    assert.equal(all.size, 19, "every Kubernetes node's user-data carries it (not the load balancer's); none sees it");
    assert.ok(d.firstBoot.some((f) => f.added.some((l) => l.includes("1.31.5")) && f.removed.some((l) => l.includes("1.31.4"))), JSON.stringify(d.firstBoot, null, 1));
    has(d, /^first-boot only: .* changed in the user-data of 19 running VMs, which never see it/);
    assert.match(renderDiffMarkdown(d).markdown, /First-boot only changes/);
    // Negative control: nothing first-boot changes in a Spark-only edit.
    const spark = ["vsphere-spark:spark={deployMode: client, executor: {heapGranularityGiB: 10}, namespace: spark-jobs}"];
    assert.deepEqual(diffPlans(ref, await planOf(spark), { contents: { base: await contentsOf(), head: await contentsOf(spark) } }).firstBoot, []);
  });

  it("a datastore change: Storage vMotion of every VM, said; DRS rules disabled: anti-affinity gone, said", async () => {
    const ds = diffPlans(ref, await planOf([], variant((c) => (c["vsphere-spark:inventory"].datastore = "ssdDatastore"))));
    has(ds, /^20 VMs move to another datastore \(Storage vMotion/);
    assert.equal(ds.counts.reboot, 0, "a datastore move is no reboot");
    const off = diffPlans(ref, await planOf(["vsphere-spark:drs={enabled: false}"]));
    has(off, /DRS rules deleted \(including spark-control-plane-apart: control planes may then share a host/);
  });

  describe("Tanzu", function () {
    let tz: Plan;
    before(async () => {
      tz = await planOf([], undefined, "tanzu");
    });

    it("cluster rename: the whole workload cluster destroyed and re-created, and the Spark layer's provider with it", async () => {
      const d = diffPlans(tz, await planOf([], variant((c) => (c["vsphere-spark:tanzu"].cluster.name = "spark2"), "tanzu"), "tanzu"));
      has(d, /^workload cluster spark-cluster replaced \(because of metadata\.name\): the whole Tanzu Kubernetes cluster is destroyed/);
      const p = d.providers.find((x) => x.name === "spark-k8s")!;
      assert.equal(p.action, "replace");
      assert.doesNotMatch(d.verdict, /No warnings/);
    });

    it("release and pool replicas in one change: refused, as pulumi up refuses it (components/tanzu/rollout.ts)", async () => {
      const d = diffPlans(
        tz,
        await planOf(
          [],
          variant((c) => {
            c["vsphere-spark:tanzu"].cluster.release = "v1.32.0---vmware.1-fips-vkr.1";
            c["vsphere-spark:tanzu"].cluster.nodePools[0].replicas = 12;
          }, "tanzu"),
          "tanzu",
        ),
      );
      assert.deepEqual(d.refusals.map((r) => [r.path, r.enforcedByProgram]), [["vsphere-spark:tanzu.cluster.release", true]]);
      has(d, /^refused: `vsphere-spark:tanzu\.cluster\.release` changes the release .* pulumi up refuses it/);
    });

    it("release alone: every node rolls (control plane, then pools); VM class resize: a new class and a roll, worded as such", async () => {
      const rel = diffPlans(tz, await planOf([], variant((c) => (c["vsphere-spark:tanzu"].cluster.release = "v1.32.0---vmware.1-fips-vkr.1"), "tanzu"), "tanzu"));
      assert.deepEqual(rel.refusals, []);
      has(rel, /^workload cluster spark-cluster: spec\.topology\.version changed: Cluster API rolls the control plane and then every node pool/);
      const cls = diffPlans(tz, await planOf([], variant((c) => (c["vsphere-spark:tanzu"].vmClasses.worker.memoryGiB = 128), "tanzu"), "tanzu"));
      has(cls, /^VM class spark-class-worker replaced by a new class \(its name carries the size: name\): the nodes using it are rolled/);
      has(cls, /^workload cluster spark-cluster: .*machineDeployments.* changed: Cluster API rolls/);
      // Negative control: replicas only scale, no roll.
      const rep = diffPlans(tz, await planOf([], variant((c) => (c["vsphere-spark:tanzu"].cluster.nodePools[0].replicas = 12), "tanzu"), "tanzu"));
      hasNot(rep, /Cluster API rolls/);
    });
  });

  it("GPU workers (Pulumi.gpu.yaml): a changed passthrough device is a reboot (pci_device_id); two are rolled as two resizes are; the MMIO window (extraConfig, ignoreChanges) is refused, not silently dropped", async () => {
    const gref = await planOf([], undefined, "gpu");
    const lifecycle = (d: PlanDiff) => d.refusals.filter((r) => r.rule === "components/cluster/lifecycle.ts (checkClusterChange)");
    // One worker's device: one reboot, said with the provider's reason; no refusal (one node at a time).
    const one = diffPlans(gref, await planOf([], variant((c) => (c["vsphere-spark:hosts"][2].gpus[0].pciId = "0000:d8:00.0"), "gpu"), "gpu"));
    assert.equal(one.counts.reboot, 1);
    assert.deepEqual(one.reboots[0].because, ["pciDeviceIds changed (pci_device_id)"]);
    assert.deepEqual(lifecycle(one), []);
    // Both of a host's devices swapped: two GPU workers powered off, rolled one at a time: no refusal.
    const two = diffPlans(gref, await planOf([], variant((c) => c["vsphere-spark:hosts"][2].gpus.reverse(), "gpu"), "gpu"));
    assert.equal(two.counts.reboot, 2);
    assert.deepEqual(lifecycle(two), []);
    assert.ok(two.warnings.some((w) => /^2 nodes rolled one at a time .*esxi-03-gpu-worker-1, esxi-03-gpu-worker-2$/.test(w)), two.warnings.join("\n"));
    // The MMIO window: no resource change reaches the provider (ignoreChanges), so the rule says so.
    const mmio = diffPlans(gref, await planOf([], variant((c) => (c["vsphere-spark:vmProfiles"].gpu.mmioSizeGiB = 512), "gpu"), "gpu"));
    assert.equal(mmio.counts.update, 0);
    assert.deepEqual(lifecycle(mmio).map((r) => r.path), ["vsphere-spark:vmProfiles.gpu.mmioSizeGiB"]);
    // Negative control: the same pair with nothing changed: no reboot, no refusal.
    const same = diffPlans(gref, await planOf([], variant(() => {}, "gpu"), "gpu"));
    assert.equal(same.counts.reboot, 0);
    assert.deepEqual(lifecycle(same), []);
  });

  it("a VM with CPU hot-add already on grows without a reboot (the pre-update flag decides): the rule's negative control", () => {
    const base = clone(ref);
    const head = clone(ref);
    const b = base.resources.find((r) => r.type === VM && r.name === "spark-esxi-01-worker-1")!.inputs as Record<string, unknown>;
    const h = head.resources.find((r) => r.type === VM && r.name === "spark-esxi-01-worker-1")!.inputs as Record<string, unknown>;
    Object.assign(b, { cpuHotAddEnabled: true, memoryHotAddEnabled: true });
    Object.assign(h, { cpuHotAddEnabled: true, memoryHotAddEnabled: true, numCpus: 20, memory: 131072 });
    assert.equal(diffPlans(base, head).counts.reboot, 0);
    h.memory = 65536;
    assert.equal(diffPlans(base, head).counts.reboot, 1, "shrinking memory reboots even with hot-add");
  });

  it("GPU workers (PCI passthrough) are bound to their host: a failed host's GPU workers stay down, named, and do not decide N+1 (Pulumi.gpu.yaml); negative control: the same plan without pciDeviceIds restarts them on other hosts", async () => {
    const p = await planOf([], path.join(ROOT, "Pulumi.gpu.yaml"));
    const f = survivability(p).failures.find((x) => x.host === "esxi-03")!;
    assert.deepEqual(f.boundToHost, ["esxi-03-gpu-worker-1", "esxi-03-gpu-worker-2"]);
    assert.ok(!f.unplaced.some((n) => /gpu/.test(n)), f.unplaced.join(", "));
    assert.ok(survivability(p).notes.some((n) => /4 GPU workers have PCI passthrough devices, bound to their hosts/.test(n)));
    assert.match(renderDiffText(diffPlans(p, p)), /esxi-03 fails: .*2 GPU workers down with it \(PCI passthrough binds them to the host/);
    // Negative control: without passthrough devices the same VMs are placed on the survivors like any other.
    const q = JSON.parse(JSON.stringify(p)) as Plan;
    for (const r of q.resources) delete (r.inputs as { pciDeviceIds?: unknown }).pciDeviceIds;
    const g = survivability(q).failures.find((x) => x.host === "esxi-03")!;
    assert.equal(g.boundToHost, undefined);
    assert.ok(!g.unplaced.some((n) => /gpu/.test(n)), `restarted on the survivors: ${g.unplaced.join(", ")}`);
  });
});
