/**
 * The offline plan of the reference stack: the registered graph (counts, types, parents, inputs),
 * the placement, scaling by workersPerHost, and the command line.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Plan, plan } from "../../src/plan/plan";
import { deriveMacAddress } from "../../components/vsphere/mac";

const ROOT = path.resolve(__dirname, "../../..");
const CLI = path.join(ROOT, "dist/src/plan/cli.js");

const VM = "vsphere:index/virtualMachine:VirtualMachine";
/** Spark resources whose content is sized from the number of workers (executor instances, quota). */
const SIZED_BY_WORKER_COUNT = ["kubernetes:core/v1:ConfigMap::spark-spark-defaults", "kubernetes:core/v1:ResourceQuota::spark-resource-quota"];
const TOPOLOGY = "vsphere-spark:vsphere:VsphereTopology";

async function planOk(sets: string[] = [], configFile?: string): Promise<Plan> {
  const r = await plan({ stack: "dev", cwd: ROOT, sets, configFile });
  if (!r.ok) assert.fail(`plan failed:\n${JSON.stringify(r.errors, null, 2)}`);
  return r.plan;
}

const vsphereResources = (p: Plan) => p.resources.filter((r) => r.type.startsWith("vsphere:"));

describe("offline plan: the reference topology", function () {
  let ref: Plan;
  before(async () => {
    ref = await planOk();
  });

  it("creates 20 VMs: 16 workers, 3 control planes on hosts 1-3, the load balancer on host 4", () => {
    const vms = ref.resources.filter((r) => r.type === VM);
    assert.equal(vms.length, 20);
    const byRole = (role: string) => ref.hosts.flatMap((h) => h.vms.filter((v) => v.role === role).map(() => h.id));
    assert.equal(byRole("worker").length, 16);
    assert.deepEqual(byRole("control-plane"), ["esxi-01", "esxi-02", "esxi-03"]);
    assert.deepEqual(byRole("load-balancer"), ["esxi-04"]);
  });

  it("allocates 72 vCPU and 544 GiB on each host of 96 logical cores and 768 GiB", () => {
    assert.equal(ref.hosts.length, 4);
    for (const h of ref.hosts) {
      assert.deepEqual(h.allocated, { cpus: 72, memoryMiB: 544 * 1024 });
      assert.equal(h.cpuThreads, 96);
      assert.equal(h.memoryMiB, 768 * 1024);
    }
  });

  it("registers the expected vSphere graph, every resource parented to the topology component", () => {
    const counts = Object.fromEntries(Object.entries(ref.counts).filter(([t]) => t.startsWith("vsphere:")));
    assert.deepEqual(counts, {
      "vsphere:index/resourcePool:ResourcePool": 1,
      "vsphere:index/folder:Folder": 1,
      [VM]: 20,
      "vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup": 4,
      "vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup": 20,
      "vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule": 20,
      "vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule": 1,
    });
    const topo = ref.resources.filter((r) => r.type === TOPOLOGY);
    assert.equal(topo.length, 1);
    for (const r of vsphereResources(ref)) assert.equal(r.parent, topo[0].name, `${r.type} ${r.name}`);
  });

  it("clones each VM from the template with its slot's shape, on its host, datastore and network", () => {
    const w = ref.resources.find((r) => r.name === "spark-esxi-02-worker-3")!;
    const inputs = w.inputs as Record<string, any>;
    assert.equal(inputs.name, "esxi-02-worker-3");
    assert.equal(inputs.numCpus, 16);
    assert.equal(inputs.memory, 120 * 1024);
    assert.equal(inputs.disks[0].size, 100);
    assert.match(inputs.hostSystemId, /^host-/);
    assert.match(inputs.datastoreId, /^datastore-/);
    assert.match(inputs.networkInterfaces[0].networkId, /^network-/);
    assert.match(inputs.clone.templateUuid, /^4210/);
    assert.equal(inputs.folder, "spark-on-k8s");
    const cp = ref.resources.find((r) => r.name === "spark-esxi-01-control-plane")!.inputs as Record<string, any>;
    assert.equal(cp.numCpus, 8);
    assert.equal(cp.memory, 64 * 1024);
    // Each VM sits on a different host id per host.
    const hostOf = (n: string) => (ref.resources.find((r) => r.name === `spark-${n}`)!.inputs as Record<string, any>).hostSystemId;
    assert.notEqual(hostOf("esxi-01-worker-1"), hostOf("esxi-02-worker-1"));
    assert.equal(hostOf("esxi-01-worker-1"), hostOf("esxi-01-control-plane"));
  });

  it("keeps the control-plane VMs apart and pins every VM to its host", () => {
    const anti = ref.resources.find((r) => r.type.endsWith("ComputeClusterVmAntiAffinityRule"))!;
    assert.deepEqual((anti.inputs as any).virtualMachineIds.sort(), [
      "spark-esxi-01-control-plane-id",
      "spark-esxi-02-control-plane-id",
      "spark-esxi-03-control-plane-id",
    ]);
    const rule = ref.resources.find((r) => r.name === "spark-esxi-03-worker-4-on-host")!.inputs as any;
    assert.equal(rule.affinityHostGroupName, "spark-esxi-03");
    assert.equal(rule.vmGroupName, "spark-esxi-03-worker-4");
    assert.equal(rule.mandatory, false);
  });

  it("pins the provider plugin version 4.17.0 on every vSphere resource", async () => {
    const r = await plan({ stack: "dev", cwd: ROOT });
    assert.ok(r.ok);
    const vs = r.recorded.filter((x) => x.type.startsWith("vsphere:index/"));
    assert.ok(vs.length > 0);
    for (const x of vs) assert.equal(x.version, "4.17.0", `${x.type} ${x.name}`);
  });

  it("reports the static address of every VM, the API endpoint being the HAProxy VM", () => {
    assert.deepEqual(ref.endpoint, { kind: "haproxy", address: "192.168.1.2", port: 6443 });
    const vms = ref.outputs.vms as Record<string, any>;
    assert.equal(Object.keys(vms).length, 20);
    assert.deepEqual(vms["esxi-01-worker-1"], {
      name: "esxi-01-worker-1",
      role: "worker",
      host: "esxi-01.lab.local",
      cpus: 16,
      memoryMiB: 122880,
      ipAddress: "192.168.1.12",
      macAddress: deriveMacAddress("spark", "esxi-01-worker-1"),
    });
  });
});

describe("offline plan: scaling", function () {
  it("workersPerHost=3 plans 12 workers, and every remaining resource is identical", async () => {
    const full = await planOk();
    const small = await planOk(["vsphere-spark:workersPerHost=3"]);
    const workers = small.hosts.flatMap((h) => h.vms).filter((v) => v.role === "worker");
    assert.equal(workers.length, 12);
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const fullByKey = new Map(full.resources.map((r) => [key(r), r]));
    const changed: string[] = [];
    for (const r of small.resources) {
      const same = fullByKey.get(key(r));
      assert.ok(same, `${key(r)} is new in the smaller plan`);
      if (SIZED_BY_WORKER_COUNT.includes(key(r))) {
        changed.push(key(r));
        continue;
      }
      assert.deepEqual(r, same, `${key(r)} changed`);
    }
    // Only the Spark settings that are sized from the worker count follow it.
    assert.deepEqual(changed.sort(), [...SIZED_BY_WORKER_COUNT].sort());
    assert.equal(small.spark && (small.spark as any).conf["spark.executor.instances"], "12");
    assert.equal((full.spark as any).conf["spark.executor.instances"], "16");
    const removed = full.resources.filter((r) => !small.resources.some((s) => key(s) === key(r)));
    assert.ok(removed.length > 0);
    for (const r of removed) assert.match(r.name, /-worker-4(-vm-group|-on-host)?$/);
  });

  it("adding a host only adds resources", async () => {
    const full = await planOk();
    const five = await planOk([
      'vsphere-spark:hosts=[{name: esxi-01.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-02.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-03.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-04.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-05.lab.local, cpuThreads: 96, memoryGiB: 768}]',
    ]);
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const fiveByKey = new Map(five.resources.map((r) => [key(r), r]));
    for (const r of full.resources) {
      assert.ok(fiveByKey.has(key(r)), `${key(r)} disappeared`);
      if (!SIZED_BY_WORKER_COUNT.includes(key(r))) assert.deepEqual(fiveByKey.get(key(r)), r, `${key(r)} changed`);
    }
    const added = five.resources.filter((r) => !full.resources.some((s) => key(s) === key(r)));
    assert.ok(added.length > 0);
    for (const r of added) assert.match(r.name, /esxi-05/);
  });

  it("turning DRS rules off removes only the DRS resources", async () => {
    const p = await planOk(["vsphere-spark:drs={enabled: false}"]);
    assert.equal(p.resources.filter((r) => r.type.includes("ComputeCluster")).length, 0);
    assert.equal(p.resources.filter((r) => r.type === VM).length, 20);
  });

  it("an external endpoint needs no load-balancer VM", async () => {
    const p = await planOk([
      "vsphere-spark:endpoint={kind: external, address: api.lab.local}",
      "vsphere-spark:network={cidr: 192.168.1.0/24, gateway: 192.168.1.254, dnsServers: [192.168.1.254]}",
    ]);
    assert.equal(p.resources.filter((r) => r.type === VM).length, 19);
    assert.deepEqual(p.endpoint, { kind: "external", address: "api.lab.local", port: 6443 });
    assert.equal(p.hosts[3].allocated.cpus, 64);
  });
});

describe("plan command line", function () {
  const node = process.execPath;

  it("--json prints the documented shape", () => {
    const out = execFileSync(node, [CLI, "--json"], { cwd: ROOT, encoding: "utf8" });
    const p = JSON.parse(out);
    for (const k of ["stack", "simulated", "counts", "resources", "hosts", "artifacts", "outputs", "endpoint"]) assert.ok(k in p, k);
    assert.deepEqual(Object.keys(p.resources[0]).sort(), ["inputs", "name", "parent", "type"]);
    assert.deepEqual(Object.keys(p.hosts[0]).sort(), ["allocated", "cpuThreads", "id", "memoryMiB", "name", "vms"]);
    assert.ok(["name", "role", "cpus", "memoryMiB"].every((k) => k in p.hosts[0].vms[0]));
  });

  it("prints the placement table and says the lookups are simulated", () => {
    const out = execFileSync(node, [CLI, "--set", "vsphere-spark:workersPerHost=2"], { cwd: ROOT, encoding: "utf8" });
    assert.match(out, /simulated/);
    assert.match(out, /esxi-04\s+-\s+8\/64G 192\.168\.1\.2\s+16\/120G 192\.168\.1\.72\s+16\/120G 192\.168\.1\.73\s+40 of 96/);
    assert.match(out, /VMs: 12 \(8 workers, 3 control-plane, 1 load balancer\)/);
  });

  it("reads any stack file with --config-file and --stack", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    const text = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace("workersPerHost: 4", "workersPerHost: 1");
    fs.writeFileSync(path.join(dir, "Pulumi.lab.yaml"), text);
    const p = JSON.parse(execFileSync(node, [CLI, "--json", "--stack", "lab", "--config-file", path.join(dir, "Pulumi.lab.yaml")], { cwd: ROOT, encoding: "utf8" }));
    assert.equal(p.stack, "lab");
    assert.equal(p.hosts.flatMap((h: any) => h.vms).filter((v: any) => v.role === "worker").length, 4);
    fs.rmSync(dir, { recursive: true });
  });

  it("bad configuration exits non-zero with the validation errors and nothing else", () => {
    const r = spawnSync(node, [CLI, "--set", "vsphere-spark:controlPlane={count: 2}", "--set", "vsphere-spark:workersPerHost=x"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^invalid stack configuration \(2 problems\):\n/);
    assert.match(r.stderr, /vsphere-spark:controlPlane: the control plane needs an odd number/);
    assert.match(r.stderr, /vsphere-spark:workersPerHost: must be a whole number/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });

  it("--previous: the change rules against the running cluster's state (refused: exit 1 with the key and steps; else the notes)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-previous-"));
    const state = JSON.parse(execFileSync(node, [CLI, "--json"], { cwd: ROOT, encoding: "utf8" })).outputs.clusterLifecycle;
    const file = path.join(dir, "state.json");
    // VMs carrying their retirement hook: the scale-in is automated, and the plan says so.
    fs.writeFileSync(file, JSON.stringify({ ...state, createdAt: "2026-01-10T08:00:00.000Z" }));
    const drained = spawnSync(node, [CLI, "--previous", file, "--set", "vsphere-spark:workersPerHost=3"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(drained.status, 0, drained.stderr);
    assert.match(drained.stdout, /workers esxi-01-worker-4, .* are drained and removed before deletion/);
    // A state an older version wrote (its VMs carry no hook): refused.
    const { retireHooks: _older, ...olderState } = state;
    fs.writeFileSync(file, JSON.stringify({ ...olderState, createdAt: "2026-01-10T08:00:00.000Z" }));
    const refused = spawnSync(node, [CLI, "--previous", file, "--set", "vsphere-spark:workersPerHost=3"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(refused.status, 1);
    assert.equal(refused.stdout, "");
    assert.match(refused.stderr, /^refused change to a running cluster \(1 change\); `pulumi up` would change nothing:\n  - vsphere-spark:workersPerHost: removes workers/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, "no stack trace");
    // Negative control: scale-out is automated: the plan succeeds and notes it.
    const grown = spawnSync(node, [CLI, "--previous", file, "--set", "vsphere-spark:workersPerHost=4"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(grown.status, 0, grown.stderr);
    assert.match(grown.stdout, /Changes to the running cluster \(against the given previous state\):\n  - kubeadm's leaf certificates .* issued at the init on 2026-01-10 expire around 2027-01-10/);
    fs.writeFileSync(file, "not json");
    assert.equal(spawnSync(node, [CLI, "--previous", file], { cwd: ROOT, encoding: "utf8" }).status, 2);
    fs.rmSync(dir, { recursive: true });
  });

  it("a missing stack file is an error, not a crash", () => {
    const r = spawnSync(node, [CLI, "--stack", "nope"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot read the stack configuration file .*Pulumi\.nope\.yaml/);
  });
});
