/**
 * The real-systems lab (`npm run lab`, see lab/README.md): the Spark layer under the real Pulumi
 * engine and Kubernetes provider, on a real Kubernetes control plane, and real Spark submitting to
 * it. Simulated, and named so: the kubelets and containers (kwok).
 *
 * Parts run in order on one control plane; a part whose tools are missing (not built before the
 * deadline) is reported NOT RUN and counted pending, never passed.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackDecisions } from "../../src/config/decisions";
import { labStack } from "./stack";
import { SparkPlatform } from "../../components/spark/platform";
import { planSpark } from "../../components/spark/plan";
import type { SparkSettings } from "../../components/spark/settings";
import type { SparkPlanSection } from "../../components/spark/artifacts";
import { Api, ControlPlane, kubeconfig, waitFor } from "./control-plane";
import { Engine, inlineStack, makeEngine, npmVersion } from "./engine";
import { LabVm, daemonSets, kubeletAllocatable, labVms, nodeObject } from "./nodes";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";
import { kubeletConfiguration } from "../../components/cluster/kubeadm";
import { nodeMemoryCapacityMiB } from "../../components/cluster/node-capacity";
import { parseCpuMilli } from "../../components/quantity";
import { assertExecutorsBound, sparkPods, podRequests } from "./spark-pods";
import { Submission, startSubmit, stopSubmit, tail } from "./spark-submit";

const PROVIDER_VERSION = npmVersion("@pulumi/kubernetes", ROOT);
const log = (s: string) => console.log(`      ${s}`);

/** The dev stack decided offline (no engine, no mocks), as `pulumi up` would decide it. */
function devDecisions(): { d: StackDecisions; sparkConfig: unknown } {
  const { decisions, values } = labStack("dev");
  return { d: decisions, sparkConfig: JSON.parse(values["vsphere-spark:spark"]) };
}

describe("real-systems lab", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let d: StackDecisions;
  let sparkConfig: unknown;
  let vms: LabVm[];
  let engine: Engine | undefined;
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string, names: string[], needsCluster = true) =>
    parts.need(ctx, part, names, needsCluster ? { up: cp !== undefined, name: "the control plane" } : undefined);

  before(async function () {
    tools = resolveTools([]);
    for (const t of Object.values(tools)) log(`tool ${t.name}: ${t.source}${t.path ? ` ${t.path}` : ""}${t.source === "built" ? ` (${t.seconds} s)` : ""}`);
    ({ d, sparkConfig } = devDecisions());
    vms = labVms(d);
    const { paths, missing } = pick(tools, ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    if (missing.length) return;
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    for (const vm of vms) await cp.admin.post("/api/v1/nodes", nodeObject(vm, d.kubernetes));
    for (const ds of daemonSets(d.kubernetes)) await cp.admin.post("/apis/apps/v1/namespaces/kube-system/daemonsets", ds);
    await waitFor(
      `DaemonSet pods Running on all ${vms.length} nodes`,
      async () => {
        const pods = (await cp!.admin.get("/api/v1/namespaces/kube-system/pods")).items as any[];
        const running = pods.filter((p) => p.status?.phase === "Running");
        return running.length === vms.length * 2 ? running : undefined;
      },
      180_000,
    );
    log(`lab: ${vms.length} nodes (kwok) Ready with their DaemonSet pods Running, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    cp?.stop();
    parts.summary("real-systems lab");
    log(`real-systems lab: logs and state in ${dir}`);
  });

  describe("a real control plane with the plan's nodes (kubelets: kwok stand-in)", () => {
    it("registers every node Ready with the allocatable the kubelet computes from the rendered KubeletConfiguration, equal to the plan's worker pool", async function () {
      need(this, "control plane", ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
      const nodes = (await cp!.admin.get("/api/v1/nodes")).items as any[];
      assert.equal(nodes.length, vms.length);
      for (const n of nodes) assert.equal(n.status.conditions.find((c: any) => c.type === "Ready")?.status, "True", `${n.metadata.name} Ready`);
      const pool = d.cluster.workerPool;
      const w = vms.find((v) => v.role === "worker")!;
      const a = kubeletAllocatable(
        { cpuMilli: w.cpus * 1000, memoryBytes: nodeMemoryCapacityMiB(w.memoryMiB, d.kubernetes.kernelReservation) * 2 ** 20 },
        kubeletConfiguration(d.kubernetes),
      );
      // The plan's model (components/cluster/allocatable.ts) against the kubelet's rule on the rendered document.
      assert.equal(a.cpuMilli, Math.round(pool.allocatable.cpu * 1000));
      assert.equal(Math.floor(a.memoryBytes / 2 ** 20), pool.allocatable.memoryMiB);
      assert.equal(vms.filter((v) => v.role === "worker").length, pool.count);
    });
  });

  describe("plugins as a user gets them", () => {
    it(`with automatic acquisition off and no plugin installed, the engine names pulumi-resource-kubernetes ${PROVIDER_VERSION}, as the README promises`, async function () {
      const p = need(this, "plugins", ["pulumi"], false);
      const bare = await makeEngine(path.join(dir, "engine-no-plugins"), p.pulumi, {});
      const stack = await inlineStack(bare, "lab-plugins", "lab", async () => {
        const provider = new k8s.Provider("cluster", { kubeconfig: "{}" });
        new k8s.core.v1.Namespace("ns", {}, { provider });
      });
      const err = await stack.preview().then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, "preview must fail without the plugin");
      const text = String(err);
      assert.match(text, new RegExp(`kubernetes[^\\n]*${PROVIDER_VERSION.replace(/\./g, "\\.")}`), text.slice(0, 2000));
      log(`engine: ${text.split("\n").find((l) => /plugin/.test(l) && l.includes(PROVIDER_VERSION))?.trim()}`);
      const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
      assert.ok(readme.includes(`pulumi-resource-kubernetes\` ${PROVIDER_VERSION}`), `README names pulumi-resource-kubernetes ${PROVIDER_VERSION}`);
    });
  });

  describe("the Spark layer under the real engine and Kubernetes provider", () => {
    let adminKubeconfig: string;
    before(async function () {
      if (!cp || !tools.pulumi?.path || !tools["pulumi-resource-kubernetes"]?.path) return;
      adminKubeconfig = fs.readFileSync(cp.adminKubeconfig, "utf8");
      engine = await makeEngine(path.join(dir, "engine"), tools.pulumi.path, {
        kubernetes: { version: PROVIDER_VERSION, file: tools["pulumi-resource-kubernetes"].path },
      });
    });

    it("examples/spark-on-existing-cluster: up passes real admission, a second preview changes nothing, destroy removes it", async function () {
      need(this, "example under the engine", ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver"]);
      const example = path.join(ROOT, "dist/examples/spark-on-existing-cluster/index.js");
      const stack = await inlineStack(engine!, "spark-on-existing-cluster", "lab", async () => {
        delete require.cache[require.resolve(example)];
        return { ...require(example) };
      });
      await stack.setAllConfig({
        kubeconfig: { value: adminKubeconfig, secret: true },
        apiEndpoint: { value: `127.0.0.1:${cp!.port}` },
        workers: { value: JSON.stringify(d.cluster.workerPool) },
        spark: { value: JSON.stringify(sparkConfig) },
      });
      const up = await stack.up({ onOutput: () => {} });
      log(`example up: ${JSON.stringify(up.summary.resourceChanges)} in ${seconds(up.summary)} s`);
      assert.equal(up.summary.result, "succeeded");
      await assertSparkNamespace(cp!.admin, d.spark.namespace, d.spark.serviceAccount);
      const again = await stack.preview({ expectNoChanges: true });
      assert.deepEqual(Object.keys(again.changeSummary).filter((k) => k !== "same"), []);
      const down = await stack.destroy({ onOutput: () => {} });
      assert.equal(down.summary.result, "succeeded");
      await waitFor(`namespace ${d.spark.namespace} deleted`, async () => ((await cp!.admin.exists(`/api/v1/namespaces/${d.spark.namespace}`)) ? undefined : true), 120_000);
      await stack.workspace.removeStack("lab");
    });

    describe("the dev stack's Spark section, and real Spark submitting to it", () => {
      let sizing: SparkPlanSection;
      let outputs: Record<string, string>;
      let sparkKubeconfig: string;
      let role: any;
      const ns = () => d.spark.namespace;
      let stackUp = false;
      const program = (settings: SparkSettings, name: string) => async () => {
        const provider = new k8s.Provider("lab-cluster", { kubeconfig: pulumi.secret(adminKubeconfig) });
        const spark = new SparkPlatform(name, { provider, apiEndpoint: `127.0.0.1:${cp!.port}`, workers: d.cluster.workerPool, settings });
        return { sizing: spark.sizing, sparkDefaults: spark.sparkDefaults, submitClient: spark.submitClient, submitCluster: spark.submitCluster };
      };

      it("up creates the platform (real admission); a second preview changes nothing", async function () {
        need(this, "stack Spark section under the engine", ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver"]);
        const stack = await inlineStack(engine!, "vsphere-spark", "lab", program(d.spark, d.name));
        const up = await stack.up({ onOutput: () => {} });
        log(`stack Spark section up: ${JSON.stringify(up.summary.resourceChanges)} in ${seconds(up.summary)} s`);
        stackUp = true;
        sizing = up.outputs.sizing.value;
        outputs = Object.fromEntries(["sparkDefaults", "submitClient", "submitCluster"].map((k) => [k, up.outputs[k].value]));
        await assertSparkNamespace(cp!.admin, ns(), d.spark.serviceAccount);
        const again = await stack.preview({ expectNoChanges: true });
        assert.deepEqual(Object.keys(again.changeSummary).filter((k) => k !== "same"), []);
        // The spark service account's own credentials, as a user's kubeconfig would carry them.
        const token = (await cp!.admin.post(`/api/v1/namespaces/${ns()}/serviceaccounts/${d.spark.serviceAccount}/token`, { spec: { expirationSeconds: 3600 } })).status.token;
        sparkKubeconfig = path.join(dir, "spark-sa.kubeconfig");
        fs.writeFileSync(sparkKubeconfig, kubeconfig(cp!.server, { ca: cp!.ca, token }, d.spark.serviceAccount), { mode: 0o600 });
        role = await cp!.admin.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/roles`).then((r) => r.items[0]);
      });

      /** Runs a rendered submit script as a user would; returns the process (the driver in client mode). */
      const submit = (script: string, tag: string): Submission => startSubmit({ tools, dir, tag, script, sparkDefaults: outputs.sparkDefaults, kubeconfig: sparkKubeconfig });
      const stop = stopSubmit;
      async function clearPods(selector: string): Promise<void> {
        await cp!.admin.request("DELETE", `/api/v1/namespaces/${ns()}/pods?labelSelector=${encodeURIComponent(selector)}&gracePeriodSeconds=0`);
        await waitFor(`pods ${selector} gone`, async () => ((await sparkPods(cp!.admin, ns(), selector)).length === 0 ? true : undefined), 120_000);
      }

      it("client mode: Spark creates the executors; the scheduler binds as many as the plan says can start, with the plan's requests", async function () {
        need(this, "real Spark, client mode", ["spark-home", "kubectl", "pulumi"]);
        assert.ok(stackUp, "the stack is up");
        const expected = sizing.fit.driver.startableExecutors;
        const { proc, logFile } = submit(outputs.submitClient, "client");
        try {
          const pods = await waitFor(
            `${expected} executor pods bound and Running`,
            async () => {
              const ps = await sparkPods(cp!.admin, ns(), "spark-role=executor");
              return ps.length >= expected && ps.every((p) => p.status?.phase === "Running") ? ps : undefined;
            },
            300_000,
          ).catch((e) => {
            throw new Error(`${e.message}\n--- spark-submit log ---\n${tail(logFile)}`);
          });
          // Give the allocator time to ask for more than it should, then look again.
          await new Promise((r) => setTimeout(r, 5000));
          const final = await sparkPods(cp!.admin, ns(), "spark-role=executor");
          const report = assertExecutorsBound(final, expected, sizing.executorPod);
          log(`client mode: ${report}`);
          assert.equal(pods.length, expected);
        } finally {
          stop(proc);
          await clearPods("spark-role=executor");
        }
      });

      it("negative control: one worker an executor short leaves one executor Pending, the check catches it, and the plan fed that room says so too", async function () {
        need(this, "real Spark, one worker short", ["spark-home", "kubectl", "pulumi"]);
        const expected = sizing.fit.driver.startableExecutors;
        const worker = vms.find((v) => v.role === "worker")!;
        const node = await cp!.admin.get(`/api/v1/nodes/${worker.name}`);
        const saved = node.status.allocatable;
        // Just less than an executor pod beside the DaemonSets on this one node.
        const dsMiB = d.cluster.workerPool.daemonSetRequests.memoryMiB;
        const short = `${(sizing.executorPod.memoryMiB + dsMiB - 1) * 1024}Ki`;
        await cp!.admin.request("PATCH", `/api/v1/nodes/${worker.name}/status`, { status: { allocatable: { ...saved, memory: short } } }, "application/merge-patch+json");
        const { proc } = submit(outputs.submitClient, "client-short");
        try {
          const pods = await waitFor(
            "executors created, one Pending",
            async () => {
              const ps = await sparkPods(cp!.admin, ns(), "spark-role=executor");
              const pending = ps.filter((p) => !p.spec.nodeName && p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
              return ps.length >= expected && pending.length >= 1 && ps.length - pending.length === expected - 1 ? ps : undefined;
            },
            300_000,
          );
          assert.throws(() => assertExecutorsBound(pods, expected, sizing.executorPod), /15 of 16 executors bound|of \d+ executors bound/);
          log(`one worker short: ${pods.filter((p) => p.spec.nodeName).length} bound, ${pods.filter((p) => !p.spec.nodeName).length} Pending (check failed as it should)`);
          // The plan, fed the room the lab has (one worker fewer can hold an executor): with the
          // instances it deployed it refuses; left to itself it plans one executor fewer.
          const pool = { ...d.cluster.workerPool, count: d.cluster.workerPool.count - 1 };
          const pinned = { ...d.spark, executor: { ...d.spark.executor, instances: expected } };
          assert.throws(() => planSpark(pinned, pool), new RegExp(`executor\\.instances ${expected} is more than the ${expected - 1} executor slots`));
          assert.equal(planSpark(d.spark, pool).sizing.fit.driver.startableExecutors, expected - 1);
        } finally {
          stop(proc);
          await cp!.admin.request("PATCH", `/api/v1/nodes/${worker.name}/status`, { status: { allocatable: saved } }, "application/merge-patch+json");
          await clearPods("spark-role=executor");
        }
      });

      it("cluster mode: the submission client creates the driver pod under the Role; the scheduler binds it with the plan's requests", async function () {
        need(this, "real Spark, cluster mode", ["spark-home", "kubectl", "pulumi"]);
        const { proc, logFile } = submit(outputs.submitCluster, "cluster");
        try {
          const driver = await waitFor(
            "the driver pod bound and Running",
            async () => {
              const ps = await sparkPods(cp!.admin, ns(), "spark-role=driver");
              return ps.length === 1 && ps[0].status?.phase === "Running" ? ps[0] : undefined;
            },
            300_000,
          ).catch((e) => {
            throw new Error(`${e.message}\n--- spark-submit log ---\n${tail(logFile)}`);
          });
          const r = podRequests(driver);
          assert.equal(r.memoryMiB, sizing.driverPod.memoryMiB, "driver memory request");
          assert.equal(r.cpuMilli, parseCpuMilli(sizing.driverPod.cpuRequest), "driver CPU request");
          assert.ok(vms.some((v) => v.name === driver.spec.nodeName && v.role === "worker"), `driver on a worker, not ${driver.spec.nodeName}`);
          log(`cluster mode: driver pod ${driver.metadata.name} on ${driver.spec.nodeName}, ${r.cpuMilli}m / ${r.memoryMiB} MiB (kwok: the driver does not really run, so no executors follow)`);
        } finally {
          stop(proc);
          await clearPods("spark-role=driver");
        }
      });

      it("negative control: a Role without patch on services makes the cluster-mode submission fail", async function () {
        need(this, "real Spark, Role without patch", ["spark-home", "kubectl", "pulumi"]);
        const broken = structuredClone(role);
        delete broken.metadata.resourceVersion;
        for (const rule of broken.rules) if (rule.resources.includes("services")) rule.verbs = rule.verbs.filter((v: string) => v !== "patch");
        assert.ok(role.rules.some((r: any) => r.resources.includes("services") && r.verbs.includes("patch")), "the platform's Role lets the driver patch services");
        await cp!.admin.request("PUT", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/roles/${role.metadata.name}`, broken);
        const { proc, logFile } = submit(outputs.submitCluster, "cluster-no-patch");
        try {
          const code = await new Promise<number | null>((resolve) => {
            const t = setTimeout(() => resolve(null), 240_000);
            proc.on("exit", (c) => {
              clearTimeout(t);
              resolve(c);
            });
          });
          const text = fs.readFileSync(logFile, "utf8");
          assert.notEqual(code, 0, "the submission must fail");
          assert.notEqual(code, null, `the submission must end, not wait:\n${tail(logFile)}`);
          assert.match(text, /services[^\n]*forbidden|forbidden[^\n]*services/i, tail(logFile));
          log(`Role without patch: spark-submit exited ${code}: ${text.split("\n").find((l) => /forbidden/i.test(l))?.trim().slice(0, 240)}`);
        } finally {
          stop(proc);
          const current = await cp!.admin.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/roles/${role.metadata.name}`);
          await cp!.admin.request("PUT", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/roles/${role.metadata.name}`, {
            ...role,
            metadata: { ...role.metadata, resourceVersion: current.metadata.resourceVersion },
          });
          await clearPods("spark-role=driver");
        }
      });

      it("destroy removes the stack's Spark section", async function () {
        need(this, "stack Spark section destroy", ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver"]);
        const stack = await inlineStack(engine!, "vsphere-spark", "lab", program(d.spark, d.name));
        const again = await stack.preview({ expectNoChanges: true, refresh: true });
        assert.deepEqual(Object.keys(again.changeSummary).filter((k) => k !== "same"), []);
        const down = await stack.destroy({ onOutput: () => {} });
        assert.equal(down.summary.result, "succeeded");
        await waitFor(`namespace ${ns()} deleted`, async () => ((await cp!.admin.exists(`/api/v1/namespaces/${ns()}`)) ? undefined : true), 120_000);
        await stack.workspace.removeStack("lab");
      });
    });

    it("the smoke-test Job and the History Server as the stack creates them (cluster mode, event-log claim): the Job completes, the server is available (kwok: SparkPi did not run)", async function () {
      need(this, "smoke test and History Server", ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver"]);
      // A class and a volume for the event-log claim (what a CSI driver would provide).
      await cp!.admin.post("/apis/storage.k8s.io/v1/storageclasses", {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "lab-shared" },
        provisioner: "kubernetes.io/no-provisioner",
        volumeBindingMode: "Immediate",
      });
      await cp!.admin.post("/api/v1/persistentvolumes", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "lab-spark-events" },
        spec: { capacity: { storage: "10Gi" }, accessModes: ["ReadWriteMany"], storageClassName: "lab-shared", hostPath: { path: "/lab/spark-events" } },
      });
      const settings: SparkSettings = {
        ...d.spark,
        deployMode: "cluster",
        executor: { ...d.spark.executor, instances: 15 },
        smokeTest: { ...d.spark.smokeTest, enabled: true },
        historyServer: { ...d.spark.historyServer, enabled: true, storageClassName: "lab-shared" },
      } as SparkSettings;
      const stack = await inlineStack(engine!, "vsphere-spark-smoke", "lab", async () => {
        const provider = new k8s.Provider("lab-cluster", { kubeconfig: pulumi.secret(adminKubeconfig) });
        new SparkPlatform(d.name, { provider, apiEndpoint: `127.0.0.1:${cp!.port}`, workers: d.cluster.workerPool, settings });
      });
      try {
        const up = await stack.up({ onOutput: () => {} });
        log(`smoke test + History Server up: ${JSON.stringify(up.summary.resourceChanges)} in ${seconds(up.summary)} s`);
        const ns = d.spark.namespace;
        const jobs = (await cp!.admin.get(`/apis/batch/v1/namespaces/${ns}/jobs`)).items as any[];
        assert.equal(jobs.length, 1, "one smoke-test Job");
        assert.ok(jobs[0].status.conditions?.some((c: any) => c.type === "Complete" && c.status === "True"), `Job complete: ${JSON.stringify(jobs[0].status)}`);
        const deps = (await cp!.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments`)).items as any[];
        assert.equal(deps.length, 1, "the History Server Deployment");
        assert.equal(deps[0].status.availableReplicas, 1);
        const claims = (await cp!.admin.get(`/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items as any[];
        assert.equal(claims[0]?.status.phase, "Bound");
        log(`smoke test: Job ${jobs[0].metadata.name} Complete (its pod completed by kwok); History Server ${deps[0].metadata.name} available, claim Bound`);
      } finally {
        await stack.destroy({ onOutput: () => {} });
        await stack.workspace.removeStack("lab");
      }
    });
  });
});

async function assertSparkNamespace(api: Api, ns: string, sa: string): Promise<void> {
  const n = await api.get(`/api/v1/namespaces/${ns}`);
  assert.ok(n.metadata.labels["pod-security.kubernetes.io/enforce"], "Pod Security enforce label");
  assert.ok(await api.exists(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}`));
  const roles = (await api.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`)).items as unknown[];
  assert.equal(roles.length, 1);
  const cms = ((await api.get(`/api/v1/namespaces/${ns}/configmaps`)).items as any[]).map((c) => c.metadata.name);
  assert.ok(cms.includes("spark-pod-templates"), `pod templates ConfigMap in ${cms}`);
}

function seconds(s: { startTime: Date; endTime: Date }): string {
  return ((new Date(s.endTime).getTime() - new Date(s.startTime).getTime()) / 1000).toFixed(1);
}
