/**
 * Failure domains in the real-systems lab (`npm run lab`, lab/README.md): the three-zone example
 * stack (Pulumi.zones.yaml, with zone-a cut to one host so that it is the small zone). Each node's
 * labels come from its kubeadm configuration as the plan renders it (`nodeRegistration.
 * kubeletExtraArgs` node-labels, what the kubelet registers with; kwok stands in for the kubelet),
 * and the real kube-scheduler places executor pods built from the plan's executor pod template:
 * spread over the zones (`zoneSpread: required`, a topology spread constraint), and pinned to one zone
 * (`zone`, a node selector), each exactly as the plan's executors-per-zone says, including the
 * executors a full small zone leaves Pending under DoNotSchedule. The negative control: the same
 * executors without the zone fields land in every zone.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackDecisions } from "../../src/config/decisions";
import { stackArtifacts } from "../../src/stack";
import { SparkPlan, planSpark } from "../../components/spark/plan";
import type { SparkSettings } from "../../components/spark/settings";
import { executorsPerZone } from "../../components/spark/zones";
import { ControlPlane, waitFor, Api } from "./control-plane";
import { LabVm, nodeObject } from "./nodes";
import { Parts, Tool, pick, resolveTools } from "./tools";
import { gpuExecutor, gpuNode, scheduleExecutors, sparkPods, standInExecutorPod } from "./spark-pods";
import { labDecisions, registration } from "./stack";
import { startSubmit, stopSubmit, tail } from "./spark-submit";
import { sparkArtifacts } from "../../components/spark/artifacts";
import { submitArgs, k8sMaster } from "../../components/spark/submit";
import { CLIENT_BLOCK_MANAGER_PORT, CLIENT_DRIVER_PORT } from "../../components/spark/conf";

const log = (s: string) => console.log(`      ${s}`);
const NS = "spark";
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];
const ZONE = "topology.kubernetes.io/zone";
type Pod = Record<string, any>;

/** Pulumi.zones.yaml with zone-a reduced to one host (esxi-a2 removed): 4, 8 and 8 CPU workers, and its GPU pool (2 GPU workers in zones b and c each). */
const ZONES_LAB_SETS = [
  "vsphere-spark:hosts=[{name: esxi-a1.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-b1.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-b2.lab.local, cpuThreads: 96, memoryGiB: 768, gpus: [{pciId: '0000:3b:00.0', model: A100-80GB, memoryGiB: 80}, {pciId: '0000:af:00.0', model: A100-80GB, memoryGiB: 80}], gpuWorkers: 2}, {name: esxi-c1.lab.local, cpuThreads: 96, memoryGiB: 768}, {name: esxi-c2.lab.local, cpuThreads: 96, memoryGiB: 768, gpus: [{pciId: '0000:3b:00.0', model: A100-80GB, memoryGiB: 80}, {pciId: '0000:af:00.0', model: A100-80GB, memoryGiB: 80}], gpuWorkers: 2}]",
  "vsphere-spark:zones=[{name: zone-a, computeCluster: Spark-A, hosts: [esxi-a1], cidr: 192.168.1.0/24, gateway: 192.168.1.254}, {name: zone-b, computeCluster: Spark-B, hosts: [esxi-b1, esxi-b2], datastore: vsanDatastore-b, network: spark-b, cidr: 192.168.2.0/24, gateway: 192.168.2.254}, {name: zone-c, computeCluster: Spark-C, hosts: [esxi-c1, esxi-c2], datastore: vsanDatastore-c, network: spark-c, cidr: 192.168.3.0/24, gateway: 192.168.3.254}]",
  "vsphere-spark:endpoint={kind: external, address: 192.168.1.2}",
];


/** The plan's executor pods (stand-ins for spark-submit's), `n` of them, as the real scheduler places them. */
function schedule(api: Api, plan: SparkPlan, app: string, n: number): Promise<Pod[]> {
  return scheduleExecutors(api, NS, Array.from({ length: n }, (_, i) => standInExecutorPod(plan, NS, app, i + 1)), app);
}

async function clear(api: Api): Promise<void> {
  await api.request("DELETE", `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent("spark-role=executor")}&gracePeriodSeconds=0`);
  await waitFor("executors gone", async () => ((await sparkPods(api, NS, "spark-role=executor")).length === 0 ? true : undefined), 60_000);
}

describe("real-systems lab: zones (node labels from kubeadm's configuration, executors spread and pinned by the real scheduler)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-zones-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let d: StackDecisions;
  const nodeZone = new Map<string, string>();
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string) => parts.need(ctx, part, CONTROL_PLANE, { up: cp !== undefined, name: "the control plane" });

  /** Executors per zone of the bound pods, and how many are Pending. */
  const perZone = (pods: Pod[]) => {
    const out: Record<string, number> = { "zone-a": 0, "zone-b": 0, "zone-c": 0 };
    for (const p of pods) if (p.spec.nodeName) out[nodeZone.get(p.spec.nodeName)!]++;
    const onGpu = pods.filter((p) => /-gpu-worker-/.test(p.spec.nodeName ?? "")).map((p) => `${p.metadata.name} on ${p.spec.nodeName}`);
    assert.deepEqual(onGpu, [], "no CPU executor on a GPU worker (its nvidia.com/gpu taint)");
    return { perZone: out, pending: pods.filter((p) => !p.spec.nodeName).length };
  };

  before(async function () {
    tools = resolveTools(["kubernetes", "etcd", "kwok", "pyspark"]);
    d = labDecisions("zones", ZONES_LAB_SETS);
    const { paths, missing } = pick(tools, CONTROL_PLANE);
    if (missing.length) return;
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    const artifacts = new Map(stackArtifacts(d).map((a) => [a.path, a.content]));
    const vms = d.cluster.plan().hosts.flatMap((h) => h.vms).filter((v) => v.role === "worker" || v.role === "control-plane");
    for (const v of vms) {
      const node = nodeObject({ name: v.name, role: v.role as LabVm["role"], cpus: v.cpus, memoryMiB: v.memoryMiB, ...(v.scratchDiskGiB ? { scratchDiskGiB: v.scratchDiskGiB } : {}) }, d.kubernetes);
      // What the kubelet registers with: its --node-labels, read from the rendered kubeadm configuration.
      Object.assign(node.metadata.labels, registration(artifacts.get(`kubeadm/${v.name}.yaml`)!).labels);
      // ... and its taints (the GPU workers' nvidia.com/gpu taint: CPU executors must stay off them).
      const reg = registration(artifacts.get(`kubeadm/${v.name}.yaml`)!);
      const taints = reg.taints;
      if (taints.length > 0) node.spec = { ...(node.spec ?? {}), taints: [...((node.spec?.taints as unknown[]) ?? []), ...taints] };
      // A GPU worker advertises its GPUs as the NVIDIA device plugin would (nvidia.com/gpu).
      const isGpu = taints.some((t) => t.key === "nvidia.com/gpu");
      await cp.admin.post("/api/v1/nodes", isGpu ? gpuNode(node, { labels: {}, taints: [] }, d.cluster.workerPool.gpuWorkers!.gpusPerNode) : node);
    }
    const nodes = (await cp.admin.get("/api/v1/nodes")).items as Pod[];
    for (const n of nodes) nodeZone.set(n.metadata.name, n.metadata.labels[ZONE]);
    await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await cp.admin.post("/apis/scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: d.spark.priorityClass!.name }, value: d.spark.priorityClass!.value, preemptionPolicy: "Never" });
    // The executors' service account (spark.kubernetes.authenticate.*.serviceAccountName): admission needs it for real Spark's pods.
    await cp.admin.post(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: d.spark.serviceAccount } });
    log(`lab: ${nodes.length} nodes (kwok) labelled from their kubeadm configuration, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    cp?.stop();
    parts.summary("zones lab");
    log(`zones lab: logs and state in ${dir}`);
  });

  it("every Node carries the zone and region its kubeadm configuration gives it", async function () {
    need(this, "zone labels on nodes");
    const nodes = (await cp!.admin.get("/api/v1/nodes")).items as Pod[];
    const counts: Record<string, number> = {};
    for (const n of nodes) {
      const z = n.metadata.labels[ZONE];
      assert.ok(n.metadata.name.startsWith(`esxi-${z.slice(-1)}`), `${n.metadata.name} in ${z}`);
      assert.equal(n.metadata.labels["topology.kubernetes.io/region"], "Datacenter");
      counts[z] = (counts[z] ?? 0) + 1;
    }
    log(`nodes per zone: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, { "zone-a": 5, "zone-b": 11, "zone-c": 11 }); // zones b and c: 1 control plane, 8 workers, 2 GPU workers
    const gpu = nodes.filter((n) => /-gpu-worker-/.test(n.metadata.name));
    assert.deepEqual(gpu.map((n) => [n.metadata.name, n.metadata.labels[ZONE], n.metadata.labels["nvidia.com/gpu.present"], (n.spec.taints ?? []).filter((t: Pod) => t.key.startsWith("nvidia.com/")).map((t: Pod) => `${t.key}=${t.value}:${t.effect}`).join()]), [
      ["esxi-b2-gpu-worker-1", "zone-b", "true", "nvidia.com/gpu=present:NoSchedule"],
      ["esxi-b2-gpu-worker-2", "zone-b", "true", "nvidia.com/gpu=present:NoSchedule"],
      ["esxi-c2-gpu-worker-1", "zone-c", "true", "nvidia.com/gpu=present:NoSchedule"],
      ["esxi-c2-gpu-worker-2", "zone-c", "true", "nvidia.com/gpu=present:NoSchedule"],
    ]);
  });

  const cases: { name: string; placement: Partial<SparkSettings["placement"]>; n: number }[] = [
    { name: "spread required, 12 executors: 4 per zone", placement: { zoneSpread: "required" }, n: 12 },
    { name: "spread required, 20 executors: the full small zone holds the others to 5, 6 Pending", placement: { zoneSpread: "required" }, n: 20 },
    { name: "spread preferred, 20 executors: all bound", placement: { zoneSpread: "preferred" }, n: 20 },
    { name: "pinned to zone-b, 10 executors: 8 bound there, 2 Pending", placement: { zone: "zone-b", zoneSpread: "none" }, n: 10 },
  ];
  for (const c of cases) {
    it(`${c.name}, as the plan says`, async function () {
      need(this, c.name);
      const settings = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined, ...c.placement } } as SparkSettings;
      const plan = planSpark(settings, d.cluster.workerPool);
      const expected = executorsPerZone(d.cluster.workerPool.zones!, 1, c.n, settings.placement);
      const pods = await schedule(cp!.admin, plan, `app-${cases.indexOf(c)}`, c.n);
      const got = perZone(pods);
      log(`${c.name}: scheduler ${JSON.stringify(got.perZone)} + ${got.pending} Pending; plan ${JSON.stringify(expected.perZone)} + ${expected.pending} Pending`);
      assert.deepEqual(got, { perZone: expected.perZone, pending: expected.pending });
      await clear(cp!.admin);
    });
  }

  // Real Spark: spark-submit (pyspark 4.0.1, client mode, the driver in the lab's process) with the
  // rendered spark-defaults.conf and executor pod template of the placement; the executors are the
  // ones Spark's ExecutorPodsAllocator creates from that template, placed by the real scheduler.
  const realCases: { name: string; placement: Partial<SparkSettings["placement"]>; n: number; withoutTemplate?: boolean }[] = [
    { name: "spread required, 12 executors: 4 per zone", placement: { zoneSpread: "required" }, n: 12 },
    { name: "pinned to zone-c, 8 executors: all in zone-c", placement: { zone: "zone-c", zoneSpread: "none" }, n: 8 },
    // Negative control: the same pinned submission with the executor template of a stack without zone fields is not kept to zone-c.
    { name: "pinned to zone-c, 8 executors, with the template of no placement (negative control): not kept to zone-c", placement: { zone: "zone-c", zoneSpread: "none" }, n: 8, withoutTemplate: true },
  ];
  for (const c of realCases) {
    it(`real Spark (spark-submit, client mode), ${c.name}${c.withoutTemplate ? "" : ", with the rendered executor template, as the plan says"}`, async function () {
      parts.need(this, `real Spark, ${c.name}`, [...CONTROL_PLANE, "spark-home", "kubectl"], { up: cp !== undefined, name: "the control plane" });
      const tag = `zones-${realCases.indexOf(c)}`;
      const settings = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined, ...c.placement } } as SparkSettings;
      const plan = planSpark(settings, d.cluster.workerPool);
      const expected = executorsPerZone(d.cluster.workerPool.zones!, 1, c.n, settings.placement);
      assert.equal(expected.pending, 0, "the plan places them all");
      const art = Object.fromEntries(sparkArtifacts(settings, d.cluster.workerPool, `127.0.0.1:${cp!.port}`).map((a) => [a.path, a.content]));
      const templates = path.join(dir, `templates-${tag}`);
      fs.mkdirSync(templates, { recursive: true });
      // The negative control's template: the one rendered without zone fields (no placement).
      const noPlacement = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined } } as SparkSettings;
      const template = c.withoutTemplate ? sparkArtifacts(noPlacement, d.cluster.workerPool, `127.0.0.1:${cp!.port}`).find((a) => a.path === "spark/pod-templates/executor.yaml")!.content : art["spark/pod-templates/executor.yaml"];
      if (c.withoutTemplate) assert.notEqual(template, art["spark/pod-templates/executor.yaml"]);
      fs.writeFileSync(path.join(templates, "executor.yaml"), template);
      const sparkHome = fs.realpathSync(pick(tools, ["spark-home"]).paths["spark-home"]);
      const args = submitArgs({ ...plan, settings: { ...plan.settings, sparkApplication: { ...plan.settings.sparkApplication, name: tag } } }, "client", k8sMaster(`127.0.0.1:${cp!.port}`), {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.port": String(CLIENT_DRIVER_PORT),
        "spark.driver.blockManager.port": String(CLIENT_BLOCK_MANAGER_PORT),
        "spark.kubernetes.executor.podTemplateFile": path.join(templates, "executor.yaml"),
        "spark.executor.instances": String(c.n),
      }, sparkHome);
      const t0 = Date.now();
      const { proc, logFile } = startSubmit({ tools, dir, tag, args, sparkDefaults: art["spark/spark-defaults.conf"], kubeconfig: cp!.adminKubeconfig });
      try {
        const pods = await waitFor(
          `${c.n} Spark executors bound`,
          async () => {
            const ps = await sparkPods(cp!.admin, NS, "spark-role=executor");
            return ps.length >= c.n && ps.every((p) => p.spec.nodeName) ? ps : undefined;
          },
          180_000,
        ).catch((e) => {
          throw new Error(`${e.message}\n--- spark-submit log ---\n${tail(logFile)}`);
        });
        // Let the allocator ask for more than it should, then look again.
        await new Promise((r) => setTimeout(r, 3000));
        const final = await sparkPods(cp!.admin, NS, "spark-role=executor");
        const got = perZone(final);
        log(`real Spark, ${c.name}: ${final.length} executors in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${JSON.stringify(got.perZone)}; plan ${JSON.stringify(expected.perZone)}`);
        assert.equal(final.length, c.n, `Spark created ${final.length}, the plan says ${c.n}`);
        if (c.withoutTemplate) assert.ok(got.perZone["zone-a"] + got.perZone["zone-b"] > 0, `without the template every executor still landed in zone-c: ${JSON.stringify(got.perZone)}`);
        else assert.deepEqual(got, { perZone: expected.perZone, pending: 0 });
        assert.ok(pods.every((p) => p.spec.containers[0].resources.requests.cpu === plan.sizing.executorPod.cpuRequest), "the plan's CPU request");
        assert.equal(proc.exitCode, null, `the driver is still running:\n${tail(logFile)}`);
      } finally {
        stopSubmit(proc);
        await clear(cp!.admin);
      }
    });
  }

  // GPU executors (stand-ins as Spark builds them: gpuExecutor) under the application's zone
  // placement: the GPU template keeps the zone fields, and the plan sizes them per zone
  // (components/spark/plan.ts, sizeZonedGpuExecutors).
  const gpuCases: { name: string; placement: Partial<SparkSettings["placement"]>; withoutZoneFields?: boolean }[] = [
    { name: "spread required: over the zones with GPU workers", placement: { zoneSpread: "required" } },
    { name: "pinned to zone-c: only zone-c's GPU workers", placement: { zone: "zone-c", zoneSpread: "none" } },
    { name: "pinned to zone-c, the GPU template rendered without zone fields (negative control): not kept to zone-c", placement: { zone: "zone-c", zoneSpread: "none" }, withoutZoneFields: true },
  ];
  for (const c of gpuCases) {
    it(`GPU executors, ${c.name}${c.withoutZoneFields ? "" : ", as the plan says"}`, async function () {
      need(this, `GPU executors, ${c.name}`);
      const settings = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined, ...c.placement } } as SparkSettings;
      const plan = planSpark(settings, d.cluster.workerPool);
      const g = plan.gpu!;
      const n = g.sizing.executor.instances;
      const app = `gpu-${gpuCases.indexOf(c)}`;
      const noZones = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined } } as SparkSettings;
      const templatePlan = c.withoutZoneFields ? { ...planSpark(noZones, d.cluster.workerPool), gpu: g } : plan;
      const made = Array.from({ length: n + 1 }, (_, i) => gpuExecutor(templatePlan, NS, app, i + 1));
      const pods = await scheduleExecutors(cp!.admin, NS, made, app);
      const bound = pods.filter((p) => p.spec.nodeName);
      const got: Record<string, number> = Object.fromEntries(Object.keys(g.zones!.perZone).map((z) => [z, 0]));
      for (const p of bound) got[nodeZone.get(p.spec.nodeName)!] = (got[nodeZone.get(p.spec.nodeName)!] ?? 0) + 1;
      log(`GPU executors, ${c.name}: ${n} + 1 made; scheduler ${JSON.stringify(got)} + ${pods.length - bound.length} Pending; plan ${JSON.stringify(g.zones!.perZone)} (${n} executors)`);
      assert.ok(bound.every((p) => /-gpu-worker-/.test(p.spec.nodeName)), "only on GPU workers");
      if (c.withoutZoneFields) {
        assert.ok(got["zone-b"] > 0, `without the zone fields the GPU executors are not kept to zone-c: ${JSON.stringify(got)}`);
      } else {
        // The plan's executors bind where it says; the one more stays Pending (no GPU left in scope).
        assert.deepEqual(got, g.zones!.perZone);
        assert.equal(pods.length - bound.length, 1);
      }
      await clear(cp!.admin);
    });
  }

  it("negative control: the same 12 executors without zone fields are not kept to one zone", async function () {
    need(this, "no zone fields");
    const settings = { ...d.spark, placement: { ...d.spark.placement, zoneSpread: "none", zone: undefined } } as SparkSettings;
    const pods = await schedule(cp!.admin, planSpark(settings, d.cluster.workerPool), "free", 12);
    const got = perZone(pods);
    log(`no zone fields: ${JSON.stringify(got.perZone)}`);
    assert.equal(got.pending, 0);
    assert.ok(Object.values(got.perZone).filter((n) => n > 0).length > 1);
    await clear(cp!.admin);
  });
});
