/**
 * `plan --compare` on pairs of real stacks (the reference Pulumi.dev.yaml and variants of it):
 * what is created, updated, replaced or deleted, the warnings, hosts, Spark and configuration keys.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PlanDiff, diffPlans } from "../../src/plan/compare/diff";
import { PlanFileError, asPlan } from "../../src/plan/compare/read-plan";
import { renderDiffText } from "../../src/plan/compare/render";
import { PLAN_FORMAT_VERSION, Plan } from "../../src/plan/plan";
import { ROOT, planOf, variant } from "./compare/stacks";

const CLI = path.join(ROOT, "dist/src/plan/cli.js");
const VM = "vsphere:index/virtualMachine:VirtualMachine";
/** The Spark objects sized from the worker count (executor instances, quota). */
const SIZED_BY_WORKERS = ["spark-spark-defaults", "spark-resource-quota"];

const byAction = (d: PlanDiff, action: string) => d.resources.filter((r) => r.action === action);
/** VMs by their vCenter name (as the plan's hosts list them); other resources by name. */
const names = (xs: { name: string; vm?: string }[]) => xs.map((x) => x.vm ?? x.name).sort();

describe("plan --compare: pairs of stacks", function () {
  let ref: Plan;
  before(async () => {
    ref = await planOf();
  });

  it("a second plan of the same configuration: no changes, no warnings", async () => {
    const again = await planOf(["vsphere-spark:workersPerHost=4"]); // same value as the file: a distinct run
    const d = diffPlans(ref, again);
    assert.equal(d.noChanges, true, renderDiffText(d));
    assert.deepEqual(d.warnings, []);
    assert.deepEqual({ ...d.counts, unchanged: 0 }, { create: 0, update: 0, replace: 0, delete: 0, unchanged: 0, reboot: 0 });
    assert.equal(d.counts.unchanged, ref.resources.length);
    assert.match(d.verdict, /^No changes/);
    assert.ok(d.config && d.config.length === 0);
  });

  it("scale-out 3 → 4 workers per host: the vSphere side only creates; Spark follows the worker count", async () => {
    const d = diffPlans(await planOf(["vsphere-spark:workersPerHost=3"]), ref);
    assert.equal(d.counts.delete, 0);
    // Nothing replaced: the spark-defaults ConfigMap is updated in place (the providers' DATA_MUTABLE).
    assert.equal(d.counts.replace, 0);
    for (const r of d.resources.filter((x) => x.type.startsWith("vsphere:"))) assert.equal(r.action, "create", `${r.type} ${r.name}`);
    for (const r of d.resources.filter((x) => x.action !== "create")) assert.ok(SIZED_BY_WORKERS.includes(r.name), `${r.action} ${r.name}`);
    assert.deepEqual(names(byAction(d, "create").filter((r) => r.type === VM)), ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4", "esxi-04-worker-4"]);
    // Nothing is lost, but the fifth VM per host uses the memory a failed host's VMs restart into.
    assert.deepEqual(d.warnings, [
      "N+1 lost: if any of esxi-01, esxi-02, esxi-03, esxi-04 fails, up to 1 of its 5 VMs cannot restart (esxi-01-worker-4, esxi-02-worker-4, esxi-03-worker-4, esxi-04-worker-4)",
    ]);
    assert.deepEqual([d.survivability.before.nPlusOne, d.survivability.after.nPlusOne, d.breach.capacity], [true, false, true]);
    assert.deepEqual(d.spark!.rows.find((r) => r.name === "executors"), { name: "executors", before: "12", after: "16", changed: true });
    assert.deepEqual(d.config, [{ path: "vsphere-spark:workersPerHost", before: 3, after: 4 }]);
    const h = d.hosts.find((x) => x.id === "esxi-01")!;
    assert.deepEqual([h.before!.cpus, h.after!.cpus, h.before!.vms, h.after!.vms], [56, 72, 4, 5]);
    // spark-submit follows: the executor count line changes.
    const client = d.spark!.submit.find((s) => s.output === "sparkSubmitClient")!;
    assert.ok(client.added.some((l) => l.includes("spark.executor.instances=16")), client.added.join("\n"));
  });

  it("scale-in 4 → 3: the fourth worker of each host is deleted, with a data-loss warning", async () => {
    const d = diffPlans(ref, await planOf(["vsphere-spark:workersPerHost=3"]));
    assert.deepEqual(names(byAction(d, "delete").filter((r) => r.type === VM)), ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4", "esxi-04-worker-4"]);
    assert.equal(d.counts.create, 0);
    // The VMs carry their retirement hook (beforeDelete): drained and removed before deletion.
    assert.deepEqual(d.refusals, []);
    assert.match(d.warnings.join("\n"), /^4 nodes drained and removed before deletion \(their VMs' beforeDelete hook: pods evicted through the eviction API.*Nodes deleted\), then their VMs deleted: esxi-01-worker-4, esxi-02-worker-4, esxi-03-worker-4, esxi-04-worker-4$/m);
    assert.ok(!d.warnings.some((w) => /^4 VMs deleted/.test(w)), d.warnings.join("\n"));
    assert.equal(d.vms.filter((v) => v.status === "removed").length, 4);
  });

  it("template change: every VM replaced (clone.templateUuid is ForceNew), control plane and load balancer flagged", async () => {
    const file = variant((c) => (c["vsphere-spark:inventory"].template = "ubuntu-2604-kube-template"));
    const d = diffPlans(ref, await planOf([], file));
    const replaced = byAction(d, "replace").filter((r) => r.type === VM);
    assert.equal(replaced.length, 20);
    for (const r of replaced) assert.deepEqual(r.replaceBecause, ["clone.templateUuid"]);
    assert.equal(d.counts.create + d.counts.delete, 0);
    // The replaced VMs' new ids reach their DRS VM groups and the control planes' anti-affinity rule:
    // updated in the same `pulumi up`, not replaced. Measured: pulumi-resource-vsphere 4.17.0's preview
    // of this change on the dev stack's VM layer (lab/README.md, "The vSphere parts") shows exactly
    // these 21 updates, on virtualMachineIds.
    const updated = byAction(d, "update");
    assert.equal(d.counts.update, 21);
    assert.deepEqual(
      [...new Set(updated.map((r) => r.type))].sort(),
      ["vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule", "vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup"],
    );
    const apart = updated.find((r) => r.name === "spark-control-plane-apart")!;
    assert.deepEqual(apart.changes.map((c) => [c.path, c.note]), [0, 1, 2].map((i) => [`virtualMachineIds[${i}]`, `the id of spark-esxi-0${i + 1}-control-plane, replaced`]));
    assert.ok(d.warnings.some((w) => /^20 VMs replaced .*data on them is lost.*clone\.templateUuid/.test(w)), d.warnings.join("\n"));
    // All three members re-cloned at once: none keeps its data, quorum is gone for good.
    // pulumi up refuses the template change on a running cluster (components/cluster/lifecycle.ts); the
    // preview says so first, then what the change would do if applied.
    assert.match(d.warnings[0], /^refused: `vsphere-spark:inventory\.template` changes the template .* of 20 running VMs/);
    assert.match(d.warnings[1], /^control plane: .*3-control-plane replaced .*quorum lost for good: 0 of 3 registered members keep their data, quorum needs 2/);
    assert.ok(d.warnings.some((w) => /^load-balancer VM replaced/.test(w)));
    assert.ok(d.vms.every((v) => v.status === "replaced"));
    assert.ok(d.config!.some((c) => c.path === "vsphere-spark:inventory.template" && c.after === "ubuntu-2604-kube-template"));
  });

  it("worker profile change: workers updated in place (numCpus, memory), Spark resized; a smaller disk is refused", async () => {
    const file = variant((c) => Object.assign(c["vsphere-spark:vmProfiles"].worker, { cpus: 12, memoryGiB: 96 }));
    const d = diffPlans(ref, await planOf([], file));
    const vmUpdates = byAction(d, "update").filter((r) => r.type === VM);
    assert.equal(vmUpdates.length, 16);
    // Negative control of the template change's DRS updates: VMs updated in place keep their ids.
    assert.deepEqual(d.resources.filter((r) => r.type.includes("computeCluster")), []);
    for (const r of vmUpdates) {
      assert.deepEqual(r.changes.map((c) => c.path).sort(), ["memory", "numCpus"], r.name);
      assert.equal(r.replaceBecause.length, 0);
    }
    assert.equal(byAction(d, "replace").filter((r) => r.type === VM).length, 0);
    const cores = d.spark!.rows.find((r) => r.name === "executor cores")!;
    assert.ok(cores.changed && cores.before === "15" && Number(cores.after) < 15, JSON.stringify(cores));
    assert.ok(d.spark!.rows.find((r) => r.name === "executor heap")!.changed);
    // Shrinking memory always reboots (terraform-provider-vsphere expandMemorySizeConfig): 16 reboots.
    assert.equal(d.vms.filter((v) => v.status === "rebooted").length, 16);
    assert.equal(d.counts.reboot, 16);

    const shrink = variant((c) => (c["vsphere-spark:vmProfiles"].worker.diskGiB = 80));
    const s = diffPlans(ref, await planOf([], shrink));
    assert.ok(
      s.warnings.some((w) => /^refused: the provider refuses this change on 16 resources \(disks\[\*\]\.size: virtual disks cannot be shrunk\); pulumi up would fail: esxi-01-worker-1/.test(w)),
      s.warnings.join("\n"),
    );
    assert.ok(s.breach.reasons.includes("refused change"));
  });

  it("endpoint kind haproxy → kube-vip: the load-balancer VM is deleted and the endpoint change flagged", async () => {
    const file = variant((c) => {
      c["vsphere-spark:endpoint"] = { kind: "kube-vip", port: 6443, address: "192.168.1.2" };
      delete c["vsphere-spark:network"].addresses;
    });
    const d = diffPlans(ref, await planOf([], file));
    assert.deepEqual(names(byAction(d, "delete").filter((r) => r.type === VM)), ["esxi-04-load-balancer"]);
    assert.equal(d.endpoint.changed, true);
    const w = d.warnings.find((x) => x.startsWith("API endpoint changes"))!;
    assert.match(w, /haproxy 192\.168\.1\.2:6443 → kube-vip 192\.168\.1\.2:6443/);
    assert.match(w, /3 existing control-plane VMs keep their first-boot configuration \(extraConfig is ignoreChanges\)/);
    assert.ok(d.warnings.some((x) => /^load-balancer VM deleted/.test(x)));
    // Before, the single HAProxy VM was called out; after, there is none.
    assert.ok(d.survivability.before.notes.some((n) => /single load-balancer VM esxi-04-load-balancer/.test(n)));
    assert.ok(!d.survivability.after.notes.some((n) => /load-balancer/.test(n)));
  });

  it("a host inserted in the middle of the list: address moves of existing VMs are flagged", async () => {
    const file = variant((c) => {
      c["vsphere-spark:hosts"].splice(1, 0, { name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
      c["vsphere-spark:network"].addresses = { "esxi-03-load-balancer": "192.168.1.2" };
    });
    const d = diffPlans(ref, await planOf([], file));
    const moved = d.vms.filter((v) => v.before && v.after && v.before.address !== v.after.address);
    assert.ok(moved.length >= 8, `${moved.length} moved`);
    assert.ok(moved.some((v) => v.name === "esxi-02-worker-1"));
    const w = d.warnings.find((x) => /existing VMs change static address/.test(x))!;
    assert.ok(w, d.warnings.join("\n"));
    assert.match(w, /first-boot only \(ignoreChanges\)/);
    assert.deepEqual(d.hosts.map((h) => h.id), ["esxi-01", "esxi-05", "esxi-02", "esxi-03", "esxi-04"]);
    assert.equal(d.hosts[1].before, undefined);
    // The control plane moves from esxi-03 to the new host 2: a member is deleted.
    assert.ok(d.warnings.some((x) => /^1 node drained and removed before deletion .*etcd members of esxi-03-control-plane removed one at a time, quorum checked \(3 → 2 members\)/.test(x)), d.warnings.join("\n"));
  });

  it("a Spark-only change: no VM or vSphere resource changes, the Spark rows and spark-submit say what", async () => {
    const d = diffPlans(ref, await planOf(["vsphere-spark:spark={deployMode: client, executor: {heapGranularityGiB: 10, cores: 8}}"]));
    assert.equal(d.resources.filter((r) => !r.type.startsWith("kubernetes:")).length, 0, d.resources.map((r) => r.name).join(", "));
    assert.ok(d.vms.every((v) => v.status === "unchanged"));
    assert.deepEqual(d.warnings, []);
    const cores = d.spark!.rows.find((r) => r.name === "executor cores")!;
    assert.deepEqual([cores.before, cores.after], ["15", "8"]);
    assert.ok(d.spark!.submit.some((s) => s.added.some((l) => l.includes("spark.executor.cores=8"))));
    // The configuration key named by its leaf.
    assert.deepEqual(d.config!.map((c) => [c.path, c.after]), [["vsphere-spark:spark.executor.cores", 8]]);
  });

  it("the Spark namespace renamed: the Namespace and every object in it replaced (metadata.name is immutable), flagged", async () => {
    const d = diffPlans(ref, await planOf(["vsphere-spark:spark={deployMode: client, namespace: spark-jobs}"]));
    const ns = d.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    assert.equal(ns.action, "replace");
    assert.deepEqual(ns.replaceBecause, ["metadata.name"]);
    assert.ok(d.warnings.some((w) => /^Namespace spark-namespace replaced: everything in it is deleted with it/.test(w)), d.warnings.join("\n"));
    const rb = d.resources.find((r) => r.type.endsWith(":RoleBinding"))!;
    assert.equal(rb.action, "replace");
    assert.ok(rb.replaceBecause.includes("metadata.namespace"));
  });
});

describe("plan --compare: secrets and unknown sections", function () {
  it("a secret input is reported only as changed (secret); the other side's value never appears", async () => {
    const ref = await planOf();
    const head = JSON.parse(JSON.stringify(ref)) as Plan;
    const isLb = (r: Plan["resources"][number]) => r.type === VM && (r.inputs as any).name === "esxi-04-load-balancer";
    const lb = head.resources.find(isLb)!;
    const base = JSON.parse(JSON.stringify(ref)) as Plan;
    (base.resources.find(isLb)!.inputs as any).annotation = "hunter2-in-clear";
    (lb.inputs as any).annotation = "[secret]";
    head.config = { ...head.config, "vsphere:password": "[secret]" };
    base.config = { ...base.config, "vsphere:password": "old-password-in-clear" };
    const d = diffPlans(base, head);
    const r = d.resources.find((x) => x.vm === "esxi-04-load-balancer")!;
    assert.deepEqual(r.changes, [{ path: "annotation", secret: true }]);
    assert.deepEqual(d.config, [{ path: "vsphere:password", secret: true }]);
    const text = renderDiffText(d);
    assert.ok(!text.includes("hunter2") && !text.includes("old-password"), text);
    assert.match(text, /annotation: changed \(secret\)/);
  });

  it("a back end's own section (e.g. tanzu) is diffed as changed keys, without special code", async () => {
    const ref = await planOf();
    const base = { ...ref, backend: "tanzu", tanzu: { namespace: "spark", vmClasses: ["best-effort-large"] } } as Plan;
    const head = { ...ref, backend: "tanzu", tanzu: { namespace: "spark", vmClasses: ["best-effort-xlarge"] } } as Plan;
    const d = diffPlans(base, head);
    assert.deepEqual(d.sections, [{ section: "tanzu", changes: [{ path: "vmClasses[0]", before: "best-effort-large", after: "best-effort-xlarge" }] }]);
    assert.equal(d.noChanges, false);
  });

  it("a Tanzu-shaped plan (no hosts, a back end section, VM classes as Kubernetes objects) diffs without branching", () => {
    const mk = (vmClass: string, cpus: number): Plan => ({
      formatVersion: 1,
      stack: "tanzu",
      configFile: "Pulumi.tanzu.yaml",
      simulated: "",
      backend: "tanzu",
      endpoint: { kind: "supervisor", address: "10.0.0.10", port: 6443 },
      counts: {},
      resources: [
        { type: "kubernetes:vmoperator.vmware.com/v1alpha2:VirtualMachineClass", name: "spark-worker-class", parent: "spark", inputs: { metadata: { name: vmClass }, spec: { hardware: { cpus } } } },
        { type: "vsphere:index/supervisor:Supervisor", name: "spark-supervisor", parent: "spark", inputs: { namespaces: [{ name: "spark", contentLibraries: [] }] } },
      ],
      hosts: [],
      artifacts: [],
      outputs: {},
      tanzu: { namespace: "spark", vmClass },
    });
    const same = diffPlans(mk("best-effort-large", 16), mk("best-effort-large", 16));
    assert.equal(same.noChanges, true);
    const resized = diffPlans(mk("best-effort-large", 16), mk("best-effort-large", 24));
    assert.deepEqual([resized.counts.update, resized.counts.replace, resized.warnings], [1, 0, []]);
    const renamed = diffPlans(mk("best-effort-large", 16), mk("best-effort-xlarge", 16));
    assert.equal(renamed.counts.replace, 1);
    assert.ok(renamed.warnings.some((w) => /^VM class spark-worker-class replaced by a new class \(its name carries the size: metadata\.name\): the nodes using it are rolled/.test(w)), renamed.warnings.join("\n"));
    assert.deepEqual(renamed.sections.find((x) => x.section === "tanzu")!.changes, [{ path: "vmClass", before: "best-effort-large", after: "best-effort-xlarge" }]);
    assert.equal(renamed.survivability.after.nPlusOne, true, "no hosts: nothing to restart");
  });

  it("the Tanzu stack (Pulumi.tanzu.yaml): a second plan is no changes; a smaller worker class resizes the class and Spark", async () => {
    const ref = await planOf([], undefined, "tanzu");
    assert.equal(ref.backend, "tanzu");
    const again = diffPlans(ref, await planOf([], path.join(ROOT, "Pulumi.tanzu.yaml"), "tanzu"));
    assert.equal(again.noChanges, true, renderDiffText(again));
    const file = variant((c) => Object.assign(c["vsphere-spark:tanzu"].vmClasses.worker, { cpus: 12, memoryGiB: 96 }), "tanzu");
    const d = diffPlans(ref, await planOf([], file, "tanzu"));
    const cls = d.resources.find((r) => r.type === "vsphere:index/virtualMachineClass:VirtualMachineClass")!;
    assert.ok(cls && cls.action !== "delete", JSON.stringify(d.resources.map((r) => [r.action, r.name])));
    assert.ok(d.spark!.rows.find((r) => r.name === "executor cores")!.changed);
    assert.ok(d.sections.some((x) => x.section === "tanzu"), "the back end's own section is diffed");
    assert.ok(d.config!.some((c) => c.path.startsWith("vsphere-spark:tanzu.vmClasses.worker.")), JSON.stringify(d.config));
    // No host table or diagram without hosts; the Spark table stays.
    const text = renderDiffText(d);
    assert.match(text, /No VM placement in these plans/);
    assert.doesNotMatch(text, /N\+1/);
  });

  it("the Tanzu stack: a namespace rename replaces the vSphere Namespace because of the program's replaceOnChanges", async () => {
    const ref = await planOf([], undefined, "tanzu");
    const file = variant((c) => (c["vsphere-spark:tanzu"].namespace.name = "spark-two"), "tanzu");
    const head = await planOf([], file, "tanzu");
    const nsOf = (d: PlanDiff) => d.resources.find((r) => r.type === "vsphere:index/namespace:Namespace")!;
    const ns = nsOf(diffPlans(ref, head));
    // The provider updates a namespace in place (no ForceNew); the rename is a replace only because
    // the component says replaceOnChanges: ["name"], which the plan records.
    assert.equal(ns.action, "replace", JSON.stringify(ns));
    assert.deepEqual(ns.replaceBecause, ["name"]);
    assert.match(ns.source!, /resource option replaceOnChanges/);
    // Negative control: the same pair without the recorded option shows an update.
    const stripped = { ...head, resources: head.resources.map(({ replaceOnChanges: _r, ...r }) => r) };
    assert.equal(nsOf(diffPlans(ref, stripped)).action, "update");
  });

  it("the plan a compare reads names its formatVersion; the plan JSON carries config with secrets redacted", async () => {
    const ref = await planOf();
    assert.equal(ref.formatVersion, PLAN_FORMAT_VERSION);
    assert.equal(ref.config!["vsphere-spark:workersPerHost"], "4");
    const f = variant((c) => (c["vsphere:password"] = { secure: "v1:abc" }));
    const p = await planOf([], f);
    assert.equal(p.config!["vsphere:password"], "[secret]");
  });
});

describe("plan --compare: the versioned reader", function () {
  it("reads a plan without formatVersion as version 0 and refuses a newer one by name", async () => {
    const ref = await planOf();
    const { formatVersion: _v, config: _c, ...v0 } = ref;
    assert.equal(asPlan(JSON.parse(JSON.stringify(v0)), "old.json").formatVersion, 0);
    // A version-0 base has no config: the diff still works and says nothing about keys.
    assert.equal(diffPlans(asPlan(JSON.parse(JSON.stringify(v0)), "old.json"), ref).config, undefined);
    assert.throws(() => asPlan({ ...ref, formatVersion: PLAN_FORMAT_VERSION + 1 }, "new.json"), (e: Error) => e instanceof PlanFileError && /formatVersion 2 is newer than this release reads \(1\)/.test(e.message));
    assert.throws(() => asPlan({ stack: 1, resources: {} }, "junk.json"), /"stack" must be a string[\s\S]*"resources" must be an array[\s\S]*"hosts" must be an array/);
    assert.throws(() => asPlan([], "x.json"), /not a plan/);
  });
});

describe("plan --compare: the command line", function () {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });

  it("against a git revision of the stack file, planned in the same run; json, markdown and text", () => {
    const j = run(["--compare", "HEAD", "--format", "json", "--set", "vsphere-spark:workersPerHost=3"]);
    assert.equal(j.status, 0, j.stderr);
    const d = JSON.parse(j.stdout) as PlanDiff & { formatVersion: number };
    assert.equal(d.formatVersion, 1);
    assert.equal(d.base.configFile, "HEAD:Pulumi.dev.yaml");
    assert.equal(d.counts.delete, 12);
    const m = run(["--compare", "HEAD", "--format", "markdown"]);
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stdout, /^<!-- vsphere-spark-plan-diff:dev -->\n### Plan diff: stack `dev`\n\n\*\*No changes/);
    const t = run(["--compare", "HEAD"]);
    assert.match(t.stdout, /No changes: the head plans the same resources/);
  });

  it("against a plan JSON file; a newer formatVersion, a bad revision and a bad --format are clear errors", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-cli-"));
    const base = path.join(dir, "base.json");
    const plan = await planOf(["vsphere-spark:workersPerHost=3"]);
    fs.writeFileSync(base, JSON.stringify(plan));
    const ok = run(["--compare", base]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /12 to create, 2 to update, 0 to replace, 0 to delete/);

    fs.writeFileSync(base, JSON.stringify({ ...plan, formatVersion: 99 }));
    const newer = run(["--compare", base]);
    assert.equal(newer.status, 1);
    assert.match(newer.stderr, /plan formatVersion 99 is newer than this release reads \(1\)/);
    assert.doesNotMatch(newer.stderr, /at .*\.js:\d+/);

    const rev = run(["--compare", "no-such-revision"]);
    assert.equal(rev.status, 1);
    assert.match(rev.stderr, /--compare no-such-revision: neither a plan JSON file nor a git revision of Pulumi\.dev\.yaml/);

    const fmt = run(["--compare", "HEAD", "--format", "html"]);
    assert.equal(fmt.status, 2);
    assert.match(fmt.stderr, /--format must be text, markdown or json, got "html"/);
    const bad = run(["--compare", "HEAD", "--format", "markdown", "--set", "vsphere-spark:workersPerHost=0", "--set", "vsphere-spark:spark={deployMode: client, executor: {memory: 200g}}"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid head stack configuration[\s\S]*vsphere-spark:workersPerHost/);
    // The pull-request comment gets the problems too, each naming its key, and the Spark refusal flagged.
    assert.match(bad.stdout, /^<!-- vsphere-spark-plan-diff:dev -->\n[\s\S]*\*\*The head configuration is invalid \(\d+ problems?\)/);
    assert.match(bad.stdout, /- `vsphere-spark:workersPerHost`: /);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("--fail-on-breach: exit 3 after the output when the head loses N+1; 0 without the option", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-breach-"));
    const base = path.join(dir, "base.json");
    fs.writeFileSync(base, JSON.stringify(await planOf(["vsphere-spark:workersPerHost=3"])));
    const failing = run(["--compare", base, "--fail-on-breach", "--format", "markdown"]);
    assert.equal(failing.status, 3, failing.stderr);
    assert.match(failing.stdout, /N\+1 lost/);
    const plain = run(["--compare", base, "--format", "markdown"]);
    assert.equal(plain.status, 0, plain.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
