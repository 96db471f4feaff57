/**
 * GPU workers in the real-systems lab (`npm run lab`, lab/README.md): the GPU example stack's nodes
 * (Pulumi.gpu.yaml) under the real kube-scheduler, kwok playing the kubelets. Each GPU worker is
 * registered with the taint and label its rendered kubeadm JoinConfiguration gives it
 * (nodeRegistration.taints, kubeletExtraArgs node-labels) and advertises the `nvidia.com/gpu`
 * count the NVIDIA device plugin would (its VM's passthrough GPUs); the CPU workers advertise none.
 *
 * Real Spark: spark-submit (pyspark 4.0.1) in client mode, the driver in the lab's process, with the
 * rendered artifacts a user gets (spark/spark-defaults.conf as spark-defaults.conf, every property of
 * spark/spark-gpu.conf as --conf, spark/pod-templates/executor-gpu.yaml as the executor pod template);
 * the executor pods are the ones Spark's ExecutorPodsAllocator creates (their `nvidia.com/gpu` limit
 * from BasicExecutorFeatureStep), bound by the real scheduler. kwok plays the containers, so the
 * executors never register and SparkPi never finishes: the lab kills the driver.
 *
 * The first two specs create the executors as Spark builds them (STAND-IN, no spark-submit) to check
 * the one-extra-executor-stays-Pending limit cheaply.
 *
 * The same specs run on the Tanzu GPU example stack (Pulumi.tanzu-gpu.yaml): its nodes are the
 * rendered Cluster's machine deployments (tanzu/spark.yaml), each node of the vGPU pool with the
 * labels and taints of its `node` variable, advertising the class's vGPU devices as
 * `nvidia.com/gpu` (what the NVIDIA GPU Operator's device plugin would, a prerequisite the stack
 * does not install), and the Operator's node-feature-discovery worker beside the CNI's DaemonSets.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackDecisions } from "../../src/config/decisions";
import { planSpark } from "../../components/spark/plan";
import { Api, ControlPlane, waitFor } from "./control-plane";
import { parseAllDocuments } from "yaml";
import { LabVm, addOnWorkloads, nodeObject } from "./nodes";
import { GPU_OPERATOR_NFD_WORKER } from "../../components/tanzu/gpu";
import type { Registration } from "./stack";
import { Parts, Tool, pick, resolveTools } from "./tools";
import { startSubmit, stopSubmit, tail } from "./spark-submit";
import { sparkArtifacts } from "../../components/spark/artifacts";
import { submitArgs, k8sMaster } from "../../components/spark/submit";
import { CLIENT_BLOCK_MANAGER_PORT, CLIENT_DRIVER_PORT } from "../../components/spark/conf";
import { gpuExecutor, gpuNode, scheduleExecutors, sparkPods } from "./spark-pods";
import { labDecisions, registration } from "./stack";
import { quantityMiB } from "../../components/quantity";

const log = (s: string) => console.log(`      ${s}`);
const NS = "spark";
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];
type Pod = Record<string, any>;


/** A stack the GPU lab runs on: how its nodes register and what runs on them besides Spark. */
interface GpuLabStack {
  title: string;
  stack: string;
  /** The Nodes the lab registers (kwok), and which of them are GPU workers. */
  nodes(d: StackDecisions): { node: Pod; gpu: boolean }[];
  /** The cluster's own pods (DaemonSets, add-on Deployments) as the worker pool model counts them. */
  workloads(d: StackDecisions): Pod[];
}

const VMS_ROLES = new Set(["worker", "control-plane"]);

const KUBEADM_GPU: GpuLabStack = {
  title: "kubeadm back end, Pulumi.gpu.yaml",
  stack: "gpu",
  nodes(d) {
    const backend = d.cluster.plan();
    const gpus = d.cluster.workerPool.gpuWorkers!.gpusPerNode;
    return backend.hosts
      .flatMap((h) => h.vms)
      .filter((v) => VMS_ROLES.has(v.role))
      .map((v) => {
        const vm: LabVm = { name: v.name, role: v.role as LabVm["role"], cpus: v.cpus, memoryMiB: v.memoryMiB, ...(v.scratchDiskGiB ? { scratchDiskGiB: v.scratchDiskGiB } : {}) };
        // What the node registers with: its rendered kubeadm documents (Init- or JoinConfiguration).
        const reg = registration(backend.artifacts.find((a) => a.path === `kubeadm/${v.name}.yaml`)!.content);
        const gpu = reg.taints.some((t: Pod) => t.key === "nvidia.com/gpu");
        return { node: gpu ? gpuNode(nodeObject(vm, d.kubernetes), reg, gpus) : nodeObject(vm, d.kubernetes), gpu };
      });
  },
  workloads: (d) => addOnWorkloads(d.kubernetes),
};

const TANZU_GPU: GpuLabStack = {
  title: "Tanzu back end, Pulumi.tanzu-gpu.yaml (the vGPU node pool)",
  stack: "tanzu-gpu",
  nodes(d) {
    const backend = d.cluster.plan();
    const pool = d.cluster.workerPool;
    const gpuPool = pool.gpuWorkers!;
    const cluster = parseAllDocuments(backend.artifacts.find((a) => a.path === "tanzu/spark.yaml")!.content)
      .map((x) => x.toJSON() as Pod)
      .find((m) => m?.kind === "Cluster")!;
    const out: { node: Pod; gpu: boolean }[] = [];
    for (const md of cluster.spec.topology.workers.machineDeployments as Pod[]) {
      const overrides: Pod[] = md.variables?.overrides ?? [];
      const nodeVar = overrides.find((v) => v.name === "node")?.value ?? {};
      const reg: Registration = { labels: nodeVar.labels ?? {}, taints: nodeVar.taints ?? [] };
      const gpu = reg.taints.some((t: Pod) => t.key === "nvidia.com/gpu");
      const shape = gpu ? gpuPool : pool;
      assert.equal(md.replicas, shape.count, `machine deployment ${md.name}: ${md.replicas} replicas, the pool model has ${shape.count}`);
      const kubeletVolume = (overrides.find((v) => v.name === "volumes")?.value ?? []).find((v: Pod) => v.mountPath === "/var/lib/kubelet");
      for (let i = 1; i <= md.replicas; i++) {
        const vm: LabVm = { name: `${md.name}-${i}`, role: "worker", cpus: shape.vm.cpus, memoryMiB: shape.vm.memoryMiB, ...(kubeletVolume ? { scratchDiskGiB: parseInt(kubeletVolume.capacity, 10) } : {}) };
        const base = nodeObject(vm, d.kubernetes);
        out.push({ node: gpu ? gpuNode(base, reg, gpuPool.gpusPerNode) : { ...base, metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...reg.labels } } }, gpu });
      }
    }
    return out;
  },
  workloads: (d) => addOnWorkloads(d.kubernetes, [GPU_OPERATOR_NFD_WORKER]),
};


for (const variant of [KUBEADM_GPU, TANZU_GPU]) describeGpuLab(variant);

function describeGpuLab(variant: GpuLabStack): void {
  describe(`real-systems lab: GPU executors against the real scheduler (${variant.title})`, function () {
    this.timeout(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-gpu-lab-"));
    let tools: Record<string, Tool> = {};
    let cp: ControlPlane | undefined;
    let d: StackDecisions;
    let gpuVms: string[] = [];
    const parts = new Parts(() => tools, log);
    const need = (ctx: Mocha.Context, part: string, extra: string[] = []) => parts.need(ctx, part, [...CONTROL_PLANE, ...extra], { up: cp !== undefined, name: "the control plane" });

    before(async function () {
      tools = resolveTools(["kubernetes", "etcd", "kwok", "pyspark"]);
      d = labDecisions(variant.stack);
      const gpus = d.cluster.workerPool.gpuWorkers!.gpusPerNode;
      const nodes = variant.nodes(d);
      const { paths, missing } = pick(tools, CONTROL_PLANE);
      if (missing.length) return;
      const t0 = Date.now();
      cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
      for (const { node, gpu } of nodes) {
        if (gpu) gpuVms.push(node.metadata.name);
        await cp.admin.post("/api/v1/nodes", node);
      }
      for (const w of variant.workloads(d)) await cp.admin.post(`/apis/apps/v1/namespaces/kube-system/${w.kind === "DaemonSet" ? "daemonsets" : "deployments"}`, w);
      await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      // The executors' service account (spark.kubernetes.authenticate.*.serviceAccountName): admission needs it to exist.
      await cp.admin.post(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: d.spark.serviceAccount } });
      await cp.admin.post("/apis/scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: d.spark.priorityClass!.name }, value: d.spark.priorityClass!.value, preemptionPolicy: "Never" });
      log(`lab: ${nodes.length} nodes (kwok), ${gpuVms.length} GPU workers with ${gpus} nvidia.com/gpu each, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    });

    after(function () {
      cp?.stop();
      parts.summary(`GPU lab (${variant.stack})`);
      log(`GPU lab (${variant.stack}): logs and state in ${dir}`);
    });

    const schedule = (api: Api, pods: Pod[], app: string) => scheduleExecutors(api, NS, pods, app, 2000);

    it("the plan's GPU executors all bind, one per GPU, only on GPU workers; one more stays Pending (no GPU left)", async function () {
      need(this, "GPU executors");
      const plan = planSpark(d.spark, d.cluster.workerPool);
      const n = plan.gpu!.sizing.executor.instances;
      assert.equal(n, 4);
      const pods = await schedule(cp!.admin, Array.from({ length: n + 1 }, (_, i) => gpuExecutor(plan, NS, "gpu-app", i + 1)), "gpu-app");
      const bound = pods.filter((p) => p.spec.nodeName);
      const pending = pods.filter((p) => !p.spec.nodeName);
      log(`GPU executors: ${bound.length} bound (${[...new Set(bound.map((p) => p.spec.nodeName))].join(", ")}), ${pending.length} Pending: ${pending.map((p) => p.status?.conditions?.[0]?.message).join("; ").slice(0, 200)}`);
      assert.equal(bound.length, n, `the plan says ${n}`);
      assert.equal(pending.length, 1, "the extra executor finds no free nvidia.com/gpu");
      assert.ok(bound.every((p) => gpuVms.includes(p.spec.nodeName)), "only GPU workers");
      assert.equal(new Set(bound.map((p) => p.spec.nodeName)).size, n, "one per GPU worker (one GPU each)");
      assert.match(pending[0].status.conditions[0].message, /nvidia\.com\/gpu/);
    });

    it("negative control: the same executor without the GPU template (no toleration, no selector) never lands on a GPU worker", async function () {
      need(this, "GPU executors without the template");
      const plan = planSpark(d.spark, d.cluster.workerPool);
      const pods = await schedule(cp!.admin, [gpuExecutor(plan, NS, "gpu-untolerated", 1, { template: false })], "gpu-untolerated");
      log(`without the GPU template: ${pods[0].spec.nodeName ? `bound to ${pods[0].spec.nodeName}` : "Pending"}: ${pods[0].status?.conditions?.[0]?.message ?? ""}`.slice(0, 240));
      assert.equal(pods[0].spec.nodeName, undefined);
      assert.match(pods[0].status.conditions[0].message, /untolerated taint.*nvidia\.com\/gpu|nvidia\.com\/gpu/);
    });

    describe("real Spark (spark-submit, client mode) with the rendered GPU artifacts", () => {
      const SPARK = ["spark-home", "kubectl"];
      /** spark-submit of SparkPi as a user runs a GPU application; `executorTemplate`: which rendered template. */
      function submitGpu(tag: string, executorTemplate: "executor-gpu.yaml" | "executor.yaml") {
        const art = Object.fromEntries(sparkArtifacts(d.spark, d.cluster.workerPool, `127.0.0.1:${cp!.port}`).map((a) => [a.path, a.content]));
        const templates = path.join(dir, `templates-${tag}`);
        fs.mkdirSync(templates, { recursive: true });
        fs.writeFileSync(path.join(templates, executorTemplate), art[`spark/pod-templates/${executorTemplate}`]);
        // spark-gpu.conf's properties over spark-defaults.conf's (namespace, image, identity).
        const gpuConf = Object.fromEntries(
          art["spark/spark-gpu.conf"]
            .split("\n")
            .filter((l) => l.trim() && !l.startsWith("#"))
            .map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]),
        );
        const plan = planSpark(d.spark, d.cluster.workerPool);
        const sparkHome = fs.realpathSync(pick(tools, ["spark-home"]).paths["spark-home"]);
        const args = submitArgs(
          { ...plan, conf: { ...gpuConf }, sizing: plan.gpu!.sizing, settings: { ...plan.settings, sparkApplication: { ...plan.settings.sparkApplication, name: `gpu-${tag}` } } },
          "client",
          k8sMaster(`127.0.0.1:${cp!.port}`),
          {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.port": String(CLIENT_DRIVER_PORT),
            "spark.driver.blockManager.port": String(CLIENT_BLOCK_MANAGER_PORT),
            "spark.kubernetes.executor.podTemplateFile": path.join(templates, executorTemplate),
          },
          sparkHome,
        );
        return startSubmit({ tools, dir, tag, args, sparkDefaults: art["spark/spark-defaults.conf"], kubeconfig: cp!.adminKubeconfig });
      }
      async function clearExecutors(): Promise<void> {
        await cp!.admin.request("DELETE", `/api/v1/namespaces/${NS}/pods?labelSelector=spark-role%3Dexecutor&gracePeriodSeconds=0`);
        await waitFor("executor pods gone", async () => ((await sparkPods(cp!.admin, NS, "spark-role=executor")).length === 0 ? true : undefined), 60_000);
      }

      it("Spark's own executors request nvidia.com/gpu as the plan says, and all the plan's executors bind, only on GPU workers", async function () {
        need(this, "real Spark GPU executors", SPARK);
        await clearExecutors();
        const plan = planSpark(d.spark, d.cluster.workerPool);
        const n = plan.gpu!.sizing.executor.instances;
        const t0 = Date.now();
        const { proc, logFile } = submitGpu("gpu-client", "executor-gpu.yaml");
        try {
          await waitFor(
            `${n} Spark executors bound`,
            async () => {
              const ps = await sparkPods(cp!.admin, NS, "spark-role=executor");
              return ps.length >= n && ps.every((p) => p.spec.nodeName) ? ps : undefined;
            },
            120_000,
          ).catch((e) => {
            throw new Error(`${e.message}\n--- spark-submit log ---\n${tail(logFile)}`);
          });
          // Let the allocator ask for more than it should, then look again.
          await new Promise((r) => setTimeout(r, 3000));
          const final = await sparkPods(cp!.admin, NS, "spark-role=executor");
          const g = plan.gpu!;
          log(`real Spark: ${final.length} executors in ${((Date.now() - t0) / 1000).toFixed(1)} s, on ${final.map((p) => p.spec.nodeName).join(", ")}; limits ${JSON.stringify(final[0].spec.containers[0].resources.limits)}`);
          assert.equal(final.length, n, `the plan says ${n}`);
          for (const p of final) {
            const c = p.spec.containers[0];
            assert.equal(c.resources.limits["nvidia.com/gpu"], g.executorLimits["nvidia.com/gpu"], `${p.metadata.name} nvidia.com/gpu limit`);
            assert.equal(c.resources.requests["nvidia.com/gpu"], g.executorLimits["nvidia.com/gpu"], `${p.metadata.name} nvidia.com/gpu request (defaulted from the limit)`);
            assert.equal(c.resources.requests.cpu, g.sizing.executorPod.cpuRequest);
            assert.equal(podRequestsMiB(c.resources.requests.memory), g.sizing.executorPod.memoryMiB);
            assert.ok(gpuVms.includes(p.spec.nodeName), `${p.metadata.name} on ${p.spec.nodeName}, not a GPU worker`);
          }
          assert.equal(new Set(final.map((p) => p.spec.nodeName)).size, n, "one per GPU worker (one GPU each)");
          // The driver took the GPU properties as its default ResourceProfile (ResourceProfile.scala logs it).
          const rp = fs.readFileSync(logFile, "utf8").split("\n").find((l) => l.includes("Default ResourceProfile created")) ?? "";
          assert.ok(rp.includes(`gpu -> name: gpu, amount: ${g.gpusPerExecutor}, script: ${d.spark.gpu!.discoveryScript}, vendor: nvidia.com`), rp || tail(logFile));
          assert.ok(rp.includes(`gpu -> name: gpu, amount: ${g.taskGpuAmount})`), rp);
          assert.equal(proc.exitCode, null, `the driver is still running:\n${tail(logFile)}`);
        } finally {
          stopSubmit(proc);
          await clearExecutors();
        }
      });

      it("negative control: the same submission with the CPU executor template (no toleration, no selector): Spark's executors ask for GPUs, none binds", async function () {
        need(this, "real Spark without the GPU template", SPARK);
        await clearExecutors();
        const n = planSpark(d.spark, d.cluster.workerPool).gpu!.sizing.executor.instances;
        const { proc, logFile } = submitGpu("gpu-client-untolerated", "executor.yaml");
        try {
          const pods = await waitFor(
            "Spark's executors created and judged by the scheduler",
            async () => {
              const ps = await sparkPods(cp!.admin, NS, "spark-role=executor");
              const decided = ps.filter((p) => p.spec.nodeName || p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
              return ps.length >= n && decided.length === ps.length ? ps : undefined;
            },
            120_000,
          ).catch((e) => {
            throw new Error(`${e.message}\n--- spark-submit log ---\n${tail(logFile)}`);
          });
          const bound = pods.filter((p) => p.spec.nodeName);
          log(`without the GPU template: ${pods.length} executors, ${bound.length} bound; ${pods[0].status.conditions[0].message}`.slice(0, 300));
          assert.equal(bound.length, 0, `bound on ${bound.map((p) => p.spec.nodeName)}`);
          assert.ok(pods.every((p) => p.spec.containers[0].resources.limits["nvidia.com/gpu"] === "1"), "Spark asked for the GPU all the same");
          assert.match(pods[0].status.conditions[0].message, /nvidia\.com\/gpu/);
        } finally {
          stopSubmit(proc);
          await clearExecutors();
        }
      });
    });
  });
}

function podRequestsMiB(q: string): number {
  return quantityMiB(q) ?? NaN;
}
