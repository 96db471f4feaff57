/**
 * Failure domains (components/vsphere/zones.ts, zones-plan.ts, components/spark/zones.ts): the
 * pure functions as tables, every check of `vsphere-spark:zones` with its negative control (the
 * same stack without the mistake passes), and the three-zone example stack (Pulumi.zones.yaml)
 * through the whole decision path.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { FieldError } from "../../components/validation";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import {
  ZoneSpec,
  defaultZonedControlPlaneHosts,
  defaultZonedLoadBalancerHost,
  keepApartProblems,
  labelValueProblem,
  planZonedDrsRules,
  zoneFailures,
  describeZoneFailure,
} from "../../components/vsphere/zones";
import { executorsPerZone, executorZoneFields } from "../../components/spark/zones";
import { planSpark } from "../../components/spark/plan";
import { isKubeletSettableLabel } from "../../components/cluster/kubeadm";
import type { VmSlot } from "../../components/vsphere/placement";
import { zoneWarnings } from "../../src/plan/compare/diff";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>;
const K = (k: string) => `vsphere-spark:${k}`;

export function zonesConfig(): Cfg {
  return readStackFile(path.join(ROOT, "Pulumi.zones.yaml")) as Cfg;
}
function decide(edit: (c: Cfg) => void = () => {}) {
  const c = zonesConfig();
  edit(c);
  return decideStack(flatten(c).values);
}
const has = (errors: FieldError[], p: string, m: RegExp) => errors.some((e) => e.path === p && m.test(e.message));

const zone = (name: string, cluster: string, hosts: string[], extra: Partial<ZoneSpec> = {}): ZoneSpec => ({
  name, region: "dc", datacenter: "dc", computeCluster: cluster, hosts, datastore: "ds", network: "net", resourcePool: `pool-${name}`, cidr: "10.0.0.0/24", gateway: "10.0.0.1", ...extra,
});
const slot = (name: string, hostId: string, role: VmSlot["role"] = "worker", cpus = 16, memoryMiB = 122880): VmSlot => ({
  name, role, profile: role === "worker" ? "worker" : "small", hostId, hostName: hostId, index: 1, cpus, memoryMiB, diskGiB: 60,
});

describe("failure domains: pure rules", () => {
  it("control planes round robin over zones: one per zone with three zones, never a majority in one zone while zones remain", () => {
    const zs = [zone("a", "A", ["a1", "a2"]), zone("b", "B", ["b1", "b2"]), zone("c", "C", ["c1"])];
    const table: [number, string[] | string][] = [
      [1, ["a1"]],
      [3, ["a1", "b1", "c1"]],
      [5, ["a1", "b1", "c1", "a2", "b2"]],
      [7, "7 control-plane VMs need 7 hosts, one each; only 5 configured"],
    ];
    for (const [n, want] of table) assert.deepEqual(defaultZonedControlPlaneHosts(zs, n), want, `count ${n}`);
    // The load balancer: in the zone with the fewest control planes, on a host without one.
    assert.equal(defaultZonedLoadBalancerHost(zs, ["a1", "b1", "c1"]), "a2");
    assert.equal(defaultZonedLoadBalancerHost([zone("a", "A", ["a1"]), zone("b", "B", ["b1", "b2"])], ["a1", "b1"]), "b2");
  });

  it("label values follow Kubernetes' rule (negative controls: spaces, too long, a leading dash)", () => {
    for (const ok of ["Datacenter", "dc-east_1.a", "a"]) assert.equal(labelValueProblem(ok), undefined, ok);
    for (const bad of ["DC East", "x".repeat(64), "-dc", "dc/1"]) assert.ok(labelValueProblem(bad), bad);
  });

  it("a kubelet may set the topology labels on itself; not node-role or other kubernetes.io labels (k8s.io/kubelet well_known_labels.go)", () => {
    const table: [string, boolean][] = [
      ["topology.kubernetes.io/zone", true],
      ["topology.kubernetes.io/region", true],
      ["node.kubernetes.io/instance-type", true],
      ["foo.node.kubernetes.io/x", true],
      ["kubelet.kubernetes.io/x", true],
      ["example.com/zone", true],
      ["node-role.kubernetes.io/worker", false],
      ["kubernetes.io/role", false],
      ["topology.k8s.io/zone", false],
    ];
    for (const [k, want] of table) assert.equal(isKubeletSettableLabel(k), want, k);
  });

  it("DRS groups and rules per compute cluster: the control-plane rule only where a cluster holds two or more; a host group zone names its group", () => {
    const zs = [zone("a", "A", ["a1", "a2"]), zone("b", "B", ["b1"], { hostGroup: "rack-b" }), zone("c", "B", ["c1"], { resourcePool: "p2" })];
    const slots = [slot("a1-cp", "a1", "control-plane"), slot("a2-cp", "a2", "control-plane"), slot("b1-cp", "b1", "control-plane"), slot("c1-w", "c1")];
    const plans = planZonedDrsRules("spark", zs, slots, { enabled: true, mandatory: false });
    assert.deepEqual(plans.map((p) => [p.key, p.zones]), [["dc/A", ["a"]], ["dc/B", ["b", "c"]]]);
    const [a, b] = plans;
    assert.deepEqual(a.plan.antiAffinityRules.map((r) => [r.suffix, r.vms]), [["a-control-plane-apart", ["a1-cp", "a2-cp"]]]);
    assert.deepEqual(b.plan.antiAffinityRules, [], "one control plane in cluster B: no rule (the others are apart by cluster)");
    // Zone b uses its existing host group: no group created for b1, its VM's rule names rack-b.
    assert.deepEqual(b.plan.hostGroups.map((g) => g.hostId), ["c1"]);
    assert.equal(b.plan.vmHostRules.find((r) => r.vmGroup === "b1-cp-vm-group")!.hostGroup, "existing:rack-b");
    // Every rule's VMs and groups lie in its own cluster.
    for (const p of plans) {
      const hosts = zs.filter((z) => `${z.datacenter}/${z.computeCluster}` === p.key).flatMap((z) => z.hosts);
      for (const g of p.plan.vmGroups) assert.ok(hosts.includes(slots.find((s) => s.name === g.vm)!.hostId));
    }
  });

  it("a keepApart rule across compute clusters is refused naming the rule; inside one cluster it passes (negative control)", () => {
    const cluster = (vm: string) => ({ w1: "A", w2: "A", w3: "B" })[vm];
    const across = keepApartProblems([{ name: "apart", vms: ["w1", "w3"] }], ["w1", "w2", "w3"], cluster, "vsphere-spark:drs.keepApart");
    assert.equal(across.length, 1);
    assert.equal(across[0].path, "vsphere-spark:drs.keepApart.apart");
    assert.match(across[0].message, /one compute cluster.*w1 in A; w3 in B/);
    assert.deepEqual(keepApartProblems([{ name: "apart", vms: ["w1", "w2"] }], ["w1", "w2", "w3"], cluster, "k"), []);
    assert.match(keepApartProblems([{ name: "x", vms: ["w1", "wx"] }], ["w1", "w2"], cluster, "k")[0].message, /no VM is named "wx"/);
  });

  it("a zone's failure: a whole compute cluster loses its VMs; host-group zones of one cluster restart each other's within capacity", () => {
    const hosts = ["a1", "b1", "c1"].map((id) => ({ id, name: id, cpuThreads: 96, memoryMiB: 768 * 1024, workers: 1 }));
    const slots = [slot("a1-cp", "a1", "control-plane", 8, 65536), slot("a1-lb", "a1", "load-balancer", 8, 65536), slot("a1-w", "a1"), slot("b1-cp", "b1", "control-plane", 8, 65536), slot("b1-w", "b1"), slot("c1-cp", "c1", "control-plane", 8, 65536), slot("c1-w", "c1")];
    const oc = { cpu: 1, memory: 1 };
    // Three clusters: zone a's VMs stay down, the endpoint with them; quorum holds.
    const separate = zoneFailures([zone("a", "A", ["a1"]), zone("b", "B", ["b1"]), zone("c", "C", ["c1"])], hosts, slots, oc, { endpointKind: "haproxy" });
    assert.deepEqual(separate[0].lost, ["a1-cp", "a1-lb", "a1-w"]);
    assert.equal(separate[0].endpointDown, true);
    assert.deepEqual(separate[0].controlPlane, { running: 2, total: 3, quorum: true });
    assert.deepEqual(separate[0].workers, { before: 3, after: 2 });
    // One cluster, three host-group zones: HA restarts them on the others (negative control of the above).
    const shared = zoneFailures([zone("a", "A", ["a1"]), zone("b", "A", ["b1"]), zone("c", "A", ["c1"])], hosts, slots, oc, { endpointKind: "haproxy" });
    assert.deepEqual(shared[0].lost, []);
    assert.deepEqual(shared[0].restarted, ["a1-cp", "a1-lb", "a1-w"]);
    assert.equal(shared[0].endpointDown, false);
    // Required DRS rules pin the VMs: nothing moves.
    assert.deepEqual(zoneFailures([zone("a", "A", ["a1"]), zone("b", "A", ["b1"])], hosts, slots, oc, { pinned: true })[0].restarted, []);
    // Two of three control planes in one zone: its failure loses quorum.
    const two = zoneFailures([zone("a", "A", ["a1", "b1"]), zone("c", "C", ["c1"])], hosts, slots, oc);
    assert.deepEqual(two[0].controlPlane, { running: 1, total: 3, quorum: false });
    // A GPU worker (PCI passthrough: its host's devices) stays down with its zone even where HA restarts the rest.
    const gpu = { ...slot("a1-gpu", "a1", "worker", 8, 65536), gpus: { pciIds: ["0000:3b:00.0"], models: ["A100-80GB"], count: 1, mmioSizeGiB: 256 } };
    const withGpu = zoneFailures([zone("a", "A", ["a1"]), zone("b", "A", ["b1"]), zone("c", "A", ["c1"])], hosts, [...slots, gpu], oc, { endpointKind: "haproxy" });
    assert.deepEqual(withGpu[0].lost, ["a1-gpu"]);
    assert.deepEqual(withGpu[0].restarted, ["a1-cp", "a1-lb", "a1-w"]);
    assert.match(describeZoneFailure(withGpu[0]), /1 of its 4 VMs stay down.*GPU workers bound to their hosts by PCI passthrough/);
    // Negative control: the same VM without passthrough devices restarts with the others.
    const { gpus: _g, ...plain } = gpu;
    assert.deepEqual(zoneFailures([zone("a", "A", ["a1"]), zone("b", "A", ["b1"]), zone("c", "A", ["c1"])], hosts, [...slots, plain], oc)[0].lost, []);
  });

  it("executors per zone: pinned, spread required (a full small zone holds the others back: the scheduler's skew rule), preferred, any", () => {
    const zs = [{ name: "a", region: "r", workers: 2 }, { name: "b", region: "r", workers: 8 }, { name: "c", region: "r", workers: 8 }];
    const table: [string, Parameters<typeof executorsPerZone>[3], number, Record<string, number>, number][] = [
      ["pinned to b", { zone: "b", zoneSpread: "none" }, 8, { a: 0, b: 8, c: 0 }, 0],
      ["pinned to a, more than it holds", { zone: "a", zoneSpread: "none" }, 5, { a: 2, b: 0, c: 0 }, 3],
      ["spread required, even", { zoneSpread: "required" }, 6, { a: 2, b: 2, c: 2 }, 0],
      // a is full at 2: b and c may each run at most 2 + 1.
      ["spread required, a full", { zoneSpread: "required" }, 18, { a: 2, b: 3, c: 3 }, 10],
      ["spread preferred, a full", { zoneSpread: "preferred" }, 18, { a: 2, b: 8, c: 8 }, 0],
      ["any", { zoneSpread: "none" }, 7, { a: 2, b: 3, c: 2 }, 0],
    ];
    for (const [name, placement, n, perZone, pending] of table) {
      const d = executorsPerZone(zs, 1, n, placement);
      assert.deepEqual(d.perZone, perZone, name);
      assert.equal(d.pending, pending, name);
    }
    assert.match(executorsPerZone(zs, 1, 18, { zoneSpread: "required" }).note!, /zone a is full/);
    assert.deepEqual(executorsPerZone(zs, 2, 10, { zone: "a", zoneSpread: "none" }).perZone.a, 4, "two per worker");
  });

  it("the executor template's zone fields: a node selector when pinned, a spread constraint when spreading, nothing otherwise", () => {
    const base = { oneExecutorPerNode: "required" as const, nodeSelector: {}, tolerations: [] };
    assert.deepEqual(executorZoneFields({ ...base, zoneSpread: "none", zone: "b" }), { nodeSelector: { "topology.kubernetes.io/zone": "b" } });
    const spread = executorZoneFields({ ...base, zoneSpread: "preferred" }).topologySpreadConstraints![0];
    assert.equal(spread.whenUnsatisfiable, "ScheduleAnyway");
    assert.equal(executorZoneFields({ ...base, zoneSpread: "required" }).topologySpreadConstraints![0].whenUnsatisfiable, "DoNotSchedule");
    assert.deepEqual(executorZoneFields({ ...base, zoneSpread: "none" }), {});
  });
});

describe("failure domains: vsphere-spark:zones refused naming the leaf key, every problem at once", () => {
  it("the three-zone example stack decides (the negative control of every case below)", () => {
    const d = decide();
    assert.deepEqual(d.errors, []);
    const v = d.decisions!;
    assert.deepEqual(v.cluster.workerPool.zones, [
      { name: "zone-a", region: "Datacenter", workers: 8 },
      { name: "zone-b", region: "Datacenter", workers: 8 },
      { name: "zone-c", region: "Datacenter", workers: 8 },
    ]);
  });

  const CASES: { name: string; edit: (c: Cfg) => void; expect: [string, RegExp][] }[] = [
    {
      name: "duplicate zone names",
      edit: (c) => (c[K("zones")][1].name = "zone-a"),
      expect: [[`${K("zones")}[1].name`, /zone "zone-a" is also vsphere-spark:zones\[0\]/]],
    },
    {
      name: "a host in two zones",
      edit: (c) => c[K("zones")][1].hosts.push("esxi-a1"),
      expect: [[`${K("zones")}[1].hosts[2]`, /host "esxi-a1" is also in vsphere-spark:zones\[0\]/]],
    },
    {
      name: "an unknown host",
      edit: (c) => (c[K("zones")][2].hosts[0] = "esxi-c3"),
      expect: [[`${K("zones")}[2].hosts[0]`, /unknown host "esxi-c3" \(did you mean "esxi-c1"\?\)/]],
    },
    {
      name: "a host in no zone",
      edit: (c) => c[K("zones")][2].hosts.pop(),
      expect: [[`${K("hosts")}[5]`, /host "esxi-c2" is in no zone of vsphere-spark:zones/]],
    },
    {
      name: "a zone without its compute cluster",
      edit: (c) => delete c[K("zones")][1].computeCluster,
      expect: [[`${K("zones")}[1].computeCluster`, /is required/]],
    },
    {
      name: "a misspelt zone key",
      edit: (c) => (c[K("zones")][0].hostgroup = "x"),
      expect: [[`${K("zones")}[0].hostgroup`, /unknown key.*did you mean "hostGroup"/]],
    },
    {
      name: "a gateway outside the zone's subnet",
      edit: (c) => (c[K("zones")][2].gateway = "192.168.4.1"),
      expect: [[`${K("zones")}[2].gateway`, /outside the zone's network 192\.168\.3\.0\/24/]],
    },
    {
      name: "a datacenter name that is no label value, without a region",
      edit: (c) => (c[K("zones")][0].datacenter = "DC East"),
      expect: [[`${K("zones")}[0].region`, /is required: the datacenter's name "DC East"/]],
    },
    {
      name: "two zones of one cluster creating the same resource pool",
      edit: (c) => (c[K("zones")][1].computeCluster = "Spark-A"),
      expect: [[`${K("zones")}[1].resourcePool`, /"spark-on-k8s" is also the resource pool of vsphere-spark:zones\[0\]/]],
    },
    {
      name: "a DRS keepApart rule across compute clusters",
      edit: (c) => (c[K("drs")].keepApart = { "spread-two": ["esxi-a1-worker-1", "esxi-b1-worker-1"] }),
      expect: [[`${K("drs")}.keepApart.spread-two`, /a DRS rule belongs to one compute cluster.*"Spark-A".*"Spark-B"/]],
    },
    {
      name: "kube-vip with control planes on different subnets",
      edit: (c) => (c[K("endpoint")] = { kind: "kube-vip", address: "192.168.1.5" }),
      expect: [[`${K("endpoint")}.kind`, /announces one virtual IP by ARP on one network.*zone-a: 192\.168\.1\.0\/24/]],
    },
    {
      name: "executors pinned to an unknown zone",
      edit: (c) => (c[K("spark")].placement = { zone: "zone-d" }),
      expect: [[`${K("spark")}.placement.zone`, /unknown zone "zone-d" \(the cluster's zones are: zone-a, zone-b, zone-c\)/]],
    },
    {
      name: "pinned and spread at once",
      edit: (c) => (c[K("spark")].placement = { zone: "zone-a", zoneSpread: "required" }),
      expect: [[`${K("spark")}.placement.zoneSpread`, /spread or pin, not both/]],
    },
  ];
  for (const c of CASES) {
    it(c.name, () => {
      const d = decide(c.edit);
      for (const [p, m] of c.expect) assert.ok(has(d.errors, p, m), `${p} ${m}\n${JSON.stringify(d.errors, null, 1)}`);
    });
  }

  it("all problems at once: three mistakes, three errors", () => {
    const d = decide((c) => {
      c[K("zones")][1].name = "zone-a";
      c[K("zones")][2].hosts[0] = "esxi-c3";
      delete c[K("zones")][0].computeCluster;
    });
    assert.ok(has(d.errors, `${K("zones")}[1].name`, /also/));
    assert.ok(has(d.errors, `${K("zones")}[2].hosts[0]`, /unknown host/));
    assert.ok(has(d.errors, `${K("zones")}[0].computeCluster`, /required/));
  });

  it("a keepApart rule inside one cluster passes, and so does a stack without zones (negative controls)", () => {
    assert.deepEqual(decide((c) => (c[K("drs")].keepApart = { "a-apart": ["esxi-a1-worker-1", "esxi-a2-worker-1"] })).errors, []);
    const ref = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
    const d = decideStack(flatten(ref).values);
    assert.deepEqual(d.errors, []);
    assert.equal(d.decisions!.cluster.workerPool.zones, undefined);
  });

  it("zones on the Tanzu back end: refused naming the key (the Supervisor has its own zones); the Tanzu stack without it decides (negative control)", () => {
    const t = readStackFile(path.join(ROOT, "Pulumi.tanzu.yaml")) as Cfg;
    assert.deepEqual(decideStack(flatten(t).values).errors, []);
    t[K("zones")] = [{ name: "zone-a", computeCluster: "A", hosts: ["x"] }];
    assert.ok(has(decideStack(flatten(t).values).errors, K("zones"), /is only used with vsphere-spark:backend: kubeadm/));
  });

  it("executors pinned to a zone on a stack without zones: refused naming the key", () => {
    const ref = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
    ref[K("spark")].placement = { zone: "zone-a" };
    const d = decideStack(flatten(ref).values);
    assert.ok(has(d.errors, `${K("spark")}.placement.zone`, /the cluster has no zones \(vsphere-spark:zones is not set\)/), JSON.stringify(d.errors));
  });
});

describe("failure domains: plan --compare", () => {
  it("warns when a host changes zone, when zones are added or removed, and when a zone's failure loses quorum; nothing when zones stay (negative control)", () => {
    const host = (id: string, z?: string) => ({ id, name: id, cpuThreads: 96, memoryMiB: 1, allocated: { cpus: 1, memoryMiB: 1 }, vms: [{ name: `${id}-worker-1`, role: "worker", cpus: 1, memoryMiB: 1, diskGiB: 1, address: "x" }], ...(z ? { zone: z } : {}) });
    const p = (hosts: ReturnType<typeof host>[], zones?: unknown) => ({ stack: "s", configFile: "f", simulated: "", endpoint: { kind: "haproxy", address: "", port: 6443 }, counts: {}, resources: [], hosts, artifacts: [], outputs: {}, ...(zones ? { zones } : {}) });
    const base = p([host("a1", "a"), host("b1", "b")]);
    assert.deepEqual(zoneWarnings(base, base), []);
    const w = zoneWarnings(base, p([host("a1", "b"), host("b1", "b")]));
    assert.match(w[0], /1 host change zone .*a1 a → b/);
    assert.match(w[1], /zones removed: a/);
    assert.match(zoneWarnings(p([host("a1"), host("b1")]), base)[0], /a1 no zone → a/);
    const lost = p([host("a1", "a")], { failures: [{ zone: "a", text: "zone a fails: etcd quorum LOST", controlPlane: { running: 1, total: 3, quorum: false } }] });
    assert.ok(zoneWarnings(base, lost).includes("zone a fails: etcd quorum LOST"));
  });
});

describe("failure domains and GPU executors: the application's zone placement applies to them (the GPU template keeps its zone fields)", () => {
  const gpuPlan = (placement: Record<string, unknown>) =>
    decide((c) => (c[K("spark")] = { ...c[K("spark")], placement }));
  it("spread (the example stack): GPU executors over the zones that have GPU workers, 2 and 2", () => {
    const d = gpuPlan({ zoneSpread: "required" });
    assert.deepEqual(d.errors, []);
    const v = d.decisions!;
    assert.deepEqual(v.cluster.workerPool.gpuWorkers?.zones?.map((z) => [z.name, z.workers]), [["zone-a", 0], ["zone-b", 2], ["zone-c", 2]]);
    const g = planSpark(v.spark, v.cluster.workerPool).gpu!;
    assert.equal(g.sizing.executor.instances, 4);
    assert.deepEqual(g.zones, { perZone: { "zone-b": 2, "zone-c": 2 }, pending: 0 });
  });
  it("pinned to a zone with GPU workers: only that zone's GPU workers count (2 executors, not 4)", () => {
    const d = gpuPlan({ zone: "zone-b", zoneSpread: "none" });
    assert.deepEqual(d.errors, []);
    const g = planSpark(d.decisions!.spark, d.decisions!.cluster.workerPool).gpu!;
    assert.equal(g.sizing.executor.instances, 2);
    assert.deepEqual(g.zones?.perZone, { "zone-b": 2, "zone-c": 0 });
  });
  it("pinned to a zone without GPU workers: refused naming spark.placement.zone (the executors would never be scheduled); negative control: the same stack without spark.gpu is fine", () => {
    const d = gpuPlan({ zone: "zone-a", zoneSpread: "none" });
    assert.ok(has(d.errors, K("spark.placement.zone"), /pinned to zone zone-a .*no GPU workers \(they are in zone-b, zone-c\): they would never be scheduled/), JSON.stringify(d.errors));
    const noGpu = decide((c) => {
      const { gpu: _g, ...rest } = c[K("spark")];
      c[K("spark")] = { ...rest, placement: { zone: "zone-a", zoneSpread: "none" } };
    });
    assert.deepEqual(noGpu.errors, []);
  });
});

