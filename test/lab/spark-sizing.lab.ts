/**
 * The sizing cases of the real-systems lab (`npm run lab`, lab/README.md): the plan's pods against
 * the real kube-scheduler on the reference stack's nodes (kwok plays the kubelets, with the
 * kubelet's allocatable rule on the rendered KubeletConfiguration, test/lab/nodes.ts), beside the
 * add-ons the stack installs with their chart requests (components/cluster/add-ons.ts) and the
 * History Server. Executors are created as Spark creates them (the plan's pod template, Spark's
 * labels, the plan's requests), so each case shows executors bound or Pending exactly as the plan
 * says, and a negative control shows the old sizing (DaemonSets 300m / 512Mi, nothing else on the
 * workers, the SparkApplication sized for client mode) leaving executors Pending.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackDecisions } from "../../src/config/decisions";
import { SparkPlan, planSpark } from "../../components/spark/plan";
import type { SparkSettings } from "../../components/spark/settings";
import type { WorkerShape } from "../../components/spark/sizing";
import { HISTORY_SERVER_RESOURCES } from "../../components/spark/manifests";
import { podTemplate, schedulingFields, SPARK_APP_SELECTOR_LABEL } from "../../components/spark/podtemplates";
import { sparkApplication } from "../../components/spark/submit";
import { Api, ControlPlane, waitFor } from "./control-plane";
import { LabVm, addOnWorkloads, nodeObject } from "./nodes";
import { Parts, Tool, pick, resolveTools } from "./tools";
import { assertExecutorsBound, scheduleExecutors, sparkPods, standInExecutorPod } from "./spark-pods";
import { labDecisions } from "./stack";

const log = (s: string) => console.log(`      ${s}`);
const NS = "spark";
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];


/** The worker pool as the sizing saw it before: a 300m / 512Mi DaemonSet guess and nothing else on the workers. */
function oldPool(pool: WorkerShape): WorkerShape {
  return { count: pool.count, vm: pool.vm, allocatable: pool.allocatable, daemonSetRequests: { cpu: 0.3, memoryMiB: 512 } };
}

type Pod = Record<string, any>;


/** The cluster-mode driver pod as the submission client builds it (template + the plan's requests). */
function driverPod(plan: SparkPlan, app: string): Pod {
  const t = podTemplate(plan, "driver") as Pod;
  const req = plan.sizing.driverPod;
  return {
    ...t,
    metadata: { name: `${app}-driver`, namespace: NS, labels: { ...t.metadata.labels, "spark-role": "driver", [SPARK_APP_SELECTOR_LABEL]: app } },
    spec: {
      ...t.spec,
      restartPolicy: "Never",
      containers: [{ ...t.spec.containers[0], image: "lab.invalid/spark:stand-in", resources: { requests: { cpu: req.cpuRequest, memory: `${req.memoryMiB}Mi` }, limits: { memory: `${req.memoryMiB}Mi` } } }],
    },
  };
}

/** The History Server's pod with its real requests (manifests.ts) and the Spark pods' scheduling fields. */
function historyServer(plan: SparkPlan): Pod {
  const labels = { app: "lab-history-server" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "history-server", namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...schedulingFields(plan),
          containers: [
            {
              name: "history-server",
              image: "lab.invalid/spark:stand-in",
              resources: { requests: { cpu: HISTORY_SERVER_RESOURCES.cpu, memory: `${HISTORY_SERVER_RESOURCES.memoryMiB}Mi` }, limits: { memory: `${HISTORY_SERVER_RESOURCES.memoryMiB}Mi` } },
            },
          ],
        },
      },
    },
  };
}

async function running(api: Api, ns: string, selector: string, n: number, what: string): Promise<Pod[]> {
  return waitFor(
    what,
    async () => {
      const ps = await sparkPods(api, ns, selector);
      return ps.length === n && ps.every((p) => p.status?.phase === "Running") ? ps : undefined;
    },
    120_000,
  );
}

/** Creates `n` executors of `plan` (after `first`, e.g. a driver pod), waits until the scheduler has decided on each. */

/** The plan's executor pods (stand-ins for spark-submit's), `n` of them, as the real scheduler places them. */
function schedule(api: Api, plan: SparkPlan, app: string, n: number): Promise<Pod[]> {
  return scheduleExecutors(api, NS, Array.from({ length: n }, (_, i) => standInExecutorPod(plan, NS, app, i + 1)), app);
}

async function clear(api: Api, selector: string): Promise<void> {
  await api.request("DELETE", `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}&gracePeriodSeconds=0`);
  await waitFor(`pods ${selector} gone`, async () => ((await sparkPods(api, NS, selector)).length === 0 ? true : undefined), 60_000);
}

const tally = (pods: Pod[]) => ({ bound: pods.filter((p) => p.spec.nodeName).length, pending: pods.filter((p) => !p.spec.nodeName).length });

describe("real-systems lab: Spark sizing against the real scheduler", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-sizing-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let d: StackDecisions;
  let vms: LabVm[];
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string) => parts.need(ctx, part, CONTROL_PLANE, { up: cp !== undefined, name: "the control plane" });

  before(async function () {
    tools = resolveTools(["kubernetes", "etcd", "kwok"]);
    d = labDecisions("dev");
    vms = d.cluster
      .plan()
      .hosts.flatMap((h) => h.vms)
      .filter((v) => v.role === "worker" || v.role === "control-plane")
      .map((v) => ({ name: v.name, role: v.role as LabVm["role"], cpus: v.cpus, memoryMiB: v.memoryMiB, ...(v.scratchDiskGiB ? { scratchDiskGiB: v.scratchDiskGiB } : {}) }));
    const { paths, missing } = pick(tools, CONTROL_PLANE);
    if (missing.length) return;
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    for (const vm of vms) await cp.admin.post("/api/v1/nodes", nodeObject(vm, d.kubernetes));
    const addOns = addOnWorkloads(d.kubernetes);
    for (const w of addOns) await cp.admin.post(`/apis/apps/v1/namespaces/kube-system/${w.kind === "DaemonSet" ? "daemonsets" : "deployments"}`, w);
    const expected = addOns.reduce((s, w) => s + (w.kind === "DaemonSet" ? vms.length : w.spec.replicas), 0);
    await waitFor(
      `${expected} add-on pods Running`,
      async () => {
        const pods = (await cp!.admin.get("/api/v1/namespaces/kube-system/pods")).items as Pod[];
        return pods.filter((p) => p.status?.phase === "Running").length === expected ? true : undefined;
      },
      120_000,
    );
    await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await cp.admin.post("/apis/scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: d.spark.priorityClass!.name }, value: d.spark.priorityClass!.value, preemptionPolicy: "Never" });
    const placed = ((await cp.admin.get("/api/v1/namespaces/kube-system/pods")).items as Pod[]).filter((p) => !p.metadata.name.startsWith("kube-proxy") && !p.metadata.name.startsWith("antrea-agent"));
    log(`lab: ${vms.length} nodes (kwok) with the add-ons' ${expected} pods Running, ${((Date.now() - t0) / 1000).toFixed(1)} s after start; ${placed.map((p) => `${p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")} on ${p.spec.nodeName}`).join(", ")}`);
  });

  after(function () {
    cp?.stop();
    parts.summary("sizing lab");
    log(`sizing lab: logs and state in ${dir}`);
  });

  describe("the History Server beside the executors (library default 1 GiB heap step)", () => {
    let settings: SparkSettings;
    before(async function () {
      if (!cp) return;
      settings = {
        ...d.spark,
        executor: { ...d.spark.executor, heapGranularityGiB: 1 },
        historyServer: { ...d.spark.historyServer, enabled: true, logDirectory: "s3a://lab/spark-events" },
      } as SparkSettings;
      await cp.admin.post(`/apis/apps/v1/namespaces/${NS}/deployments`, historyServer(planSpark(settings, d.cluster.workerPool)));
      const hs = await running(cp.admin, NS, "app=lab-history-server", 1, "the History Server Running");
      log(`History Server (${HISTORY_SERVER_RESOURCES.cpu} / ${HISTORY_SERVER_RESOURCES.memoryMiB} MiB) on ${hs[0].spec.nodeName}`);
    });
    after(async function () {
      if (!cp) return;
      await cp.admin.request("DELETE", `/apis/apps/v1/namespaces/${NS}/deployments/history-server`);
      await clear(cp.admin, "app=lab-history-server");
    });

    it("the plan counts the History Server on every worker: all 16 executors bound, as the plan says", async function () {
      need(this, "History Server in the node fit");
      const plan = planSpark(settings, d.cluster.workerPool);
      const expected = plan.sizing.fit.driver.startableExecutors;
      assert.equal(expected, 16);
      const pods = await schedule(cp!.admin, plan, "hs-new", expected);
      log(`with the fix: executor ${plan.sizing.executorPod.cpuRequest} CPU / ${plan.sizing.executorPod.memoryMiB} MiB (${plan.conf["spark.executor.memory"]}): ${assertExecutorsBound(pods, expected, plan.sizing.executorPod)}`);
      await clear(cp!.admin, "spark-role=executor");
    });

    it("negative control: the old sizing (DaemonSets only, 300m / 512Mi) plans 16, and one executor stays Pending beside the History Server", async function () {
      need(this, "History Server, old sizing");
      const plan = planSpark({ ...settings, historyServer: { ...settings.historyServer, enabled: false } }, oldPool(d.cluster.workerPool));
      assert.equal(plan.sizing.fit.driver.startableExecutors, 16, "the old plan said 16 can start");
      assert.equal(plan.sizing.fit.perNode.memorySpareMiB, 519, "519 MiB spare per node, as the issue states");
      const pods = await schedule(cp!.admin, plan, "hs-old", 16);
      const t = tally(pods);
      log(`old sizing: executor ${plan.sizing.executorPod.cpuRequest} CPU / ${plan.sizing.executorPod.memoryMiB} MiB (${plan.conf["spark.executor.memory"]}): ${t.bound} bound, ${t.pending} Pending`);
      assert.deepEqual(t, { bound: 15, pending: 1 });
      assert.throws(() => assertExecutorsBound(pods, 16, plan.sizing.executorPod), /15 of 16 executors bound, 1 Pending/);
      await clear(cp!.admin, "spark-role=executor");
    });
  });

  describe("DaemonSets with the CNI chart's requests (coresLeftForSystem 0: a fractional request)", () => {
    const settings = () => ({ ...d.spark, executor: { ...d.spark.executor, coresLeftForSystem: 0 } }) as SparkSettings;

    it("the plan takes Antrea's 400m and the add-on pods: all 16 executors bound, as the plan says", async function () {
      need(this, "CNI requests in the node fit");
      const plan = planSpark(settings(), d.cluster.workerPool);
      assert.equal(plan.sizing.fit.verdict, "fits-with-fractional-cpu-request");
      const pods = await schedule(cp!.admin, plan, "cni-new", plan.sizing.fit.driver.startableExecutors);
      log(`with the fix: request.cores ${plan.conf["spark.kubernetes.executor.request.cores"]} for ${plan.conf["spark.executor.cores"]} task slots: ${assertExecutorsBound(pods, 16, plan.sizing.executorPod)}`);
      await clear(cp!.admin, "spark-role=executor");
    });

    it("negative control: the old 300m guess plans 15500m where 15400m are free, and every executor stays Pending", async function () {
      need(this, "CNI requests, old sizing");
      const plan = planSpark(settings(), oldPool(d.cluster.workerPool));
      assert.equal(plan.sizing.executorPod.cpuRequest, "15500m");
      assert.equal(plan.sizing.fit.driver.startableExecutors, 16, "the old plan said 16 can start");
      const pods = await schedule(cp!.admin, plan, "cni-old", 16);
      const t = tally(pods);
      log(`old sizing: request.cores ${plan.sizing.executorPod.cpuRequest}: ${t.bound} bound, ${t.pending} Pending`);
      assert.deepEqual(t, { bound: 0, pending: 16 });
      await clear(cp!.admin, "spark-role=executor");
    });
  });

  describe("executor scratch space on the workers' disk at /var/lib/kubelet", () => {
    it("each executor requests the scratch disk's ephemeral-storage and all 16 are bound; a worker whose kubelet is on its 100 GiB boot disk leaves its executor Pending", async function () {
      need(this, "scratch disk in the node fit");
      const plan = planSpark(d.spark, d.cluster.workerPool);
      const mib = plan.sizing.executorPod.ephemeralStorageMiB;
      assert.equal(mib, 359910, "the dev stack's 400 GiB scratch disk");
      const pods = await schedule(cp!.admin, plan, "scratch", 16);
      for (const p of pods) {
        assert.equal(p.spec.containers[0].resources.requests["ephemeral-storage"], `${mib}Mi`, p.metadata.name);
        assert.deepEqual(p.spec.volumes.find((v: any) => v.name === "spark-local-dir-1"), { name: "spark-local-dir-1", emptyDir: { sizeLimit: `${mib}Mi` } });
      }
      log(`scratch: ${assertExecutorsBound(pods, 16, plan.sizing.executorPod)}, each with a ${mib} MiB spark-local-dir-1 and its ephemeral-storage request`);
      await clear(cp!.admin, "spark-role=executor");
      // Negative control: one worker without the disk (nodefs = the 100 GiB boot disk).
      const worker = vms.find((v) => v.role === "worker")!;
      const node = await cp!.admin.get(`/api/v1/nodes/${worker.name}`);
      const saved = node.status.allocatable;
      const bootOnly = nodeObject({ ...worker, scratchDiskGiB: undefined }, d.kubernetes).status.allocatable["ephemeral-storage"];
      await cp!.admin.request("PATCH", `/api/v1/nodes/${worker.name}/status`, { status: { allocatable: { ...saved, "ephemeral-storage": bootOnly } } }, "application/merge-patch+json");
      try {
        const short = await schedule(cp!.admin, plan, "scratch-short", 16);
        const t = tally(short);
        log(`one worker on its boot disk (ephemeral-storage ${bootOnly}): ${t.bound} bound, ${t.pending} Pending`);
        assert.deepEqual(t, { bound: 15, pending: 1 });
      } finally {
        await cp!.admin.request("PATCH", `/api/v1/nodes/${worker.name}/status`, { status: { allocatable: saved } }, "application/merge-patch+json");
        await clear(cp!.admin, "spark-role=executor");
      }
    });
  });

  describe("the SparkApplication (always cluster mode) on the client-mode reference stack", () => {
    const settings = () => ({ ...d.spark, sparkApplication: { ...d.spark.sparkApplication, enabled: true } }) as SparkSettings;

    async function run(plan: SparkPlan, app: string, executors: number): Promise<{ driver: Pod; pods: Pod[] }> {
      await cp!.admin.post(`/api/v1/namespaces/${NS}/pods`, driverPod(plan, app));
      const [driver] = await running(cp!.admin, NS, `spark-role=driver,${SPARK_APP_SELECTOR_LABEL}=${app}`, 1, "the driver pod Running");
      return { driver, pods: await schedule(cp!.admin, plan, app, executors) };
    }

    it("the application asks for the executors that fit beside its 45056 MiB driver: driver and all 15 bound", async function () {
      need(this, "SparkApplication sized as cluster mode");
      const plan = planSpark(settings(), d.cluster.workerPool);
      const instances = (sparkApplication(plan) as any).spec.executor.instances;
      assert.equal(plan.sizing.driverPod.memoryMiB, 45056);
      assert.equal(instances, 15);
      const { driver, pods } = await run(plan, "app-new", instances);
      log(`with the fix: driver ${plan.sizing.driverPod.memoryMiB} MiB on ${driver.spec.nodeName}; ${assertExecutorsBound(pods, instances, plan.sizing.executorPod)}`);
      await clear(cp!.admin, "spark-app-selector=app-new");
    });

    it("negative control: sized for client mode (16), the 16th executor stays Pending behind the driver", async function () {
      need(this, "SparkApplication sized as client mode");
      const plan = planSpark(settings(), d.cluster.workerPool);
      const { pods } = await run(plan, "app-old", plan.sizing.executor.instances);
      const t = tally(pods);
      log(`old sizing: 16 executors beside the driver: ${t.bound} bound, ${t.pending} Pending`);
      assert.deepEqual(t, { bound: 15, pending: 1 });
      await clear(cp!.admin, "spark-app-selector=app-old");
    });
  });
});
