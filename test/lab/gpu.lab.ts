/**
 * GPU workers in the real-systems lab (`npm run lab`, lab/README.md): the GPU example stack's nodes
 * (Pulumi.gpu.yaml) under the real kube-scheduler, kwok playing the kubelets. Each GPU worker is
 * registered with the taint and label its rendered kubeadm JoinConfiguration gives it
 * (nodeRegistration.taints, kubeletExtraArgs node-labels) and advertises the `nvidia.com/gpu`
 * count the NVIDIA device plugin would (its VM's passthrough GPUs); the CPU workers advertise none.
 *
 * STAND-IN for spark-submit: the GPU executors are created as Spark 4 builds them (the plan's GPU
 * executor pod template, Spark's labels, the plan's cpu/memory requests, and the `nvidia.com/gpu`
 * limit BasicExecutorFeatureStep adds from spark.executor.resource.gpu.{amount,vendor}); pyspark's
 * spark-submit against this API server is not run here.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { decideStack, StackDecisions } from "../../src/config/decisions";
import { loadFlatConfig } from "../../src/plan/plan";
import { SparkPlan, planSpark } from "../../components/spark/plan";
import { podTemplate, SPARK_APP_SELECTOR_LABEL } from "../../components/spark/podtemplates";
import { gpuExecutorPodTemplate } from "../../components/spark/gpu";
import { Api, ControlPlane, waitFor } from "./control-plane";
import { LabVm, addOnWorkloads, nodeObject } from "./nodes";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";
import { sparkPods } from "./spark-pods";

const log = (s: string) => console.log(`      ${s}`);
const NS = "spark";
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];
type Pod = Record<string, any>;

function gpuDecisions(): StackDecisions {
  const { flat, errors } = loadFlatConfig({ stack: "gpu", cwd: ROOT });
  if (!flat || errors.length) throw new Error(`Pulumi.gpu.yaml: ${JSON.stringify(errors)}`);
  const r = decideStack(flat.values, flat.secretKeys, { offline: true, secret: () => undefined, previousTanzuRollout: () => undefined });
  if (!r.decisions) throw new Error(`Pulumi.gpu.yaml: ${JSON.stringify(r.errors)}`);
  return r.decisions;
}

/** The Node a GPU worker's kubelet registers: the rendered JoinConfiguration's taints and labels, the device plugin's GPU count. */
function gpuNode(base: Pod, join: Pod, gpus: number): Pod {
  const reg = join.nodeRegistration;
  const args: { name: string; value: string }[] = Array.isArray(reg.kubeletExtraArgs) ? reg.kubeletExtraArgs : [];
  const labels = Object.fromEntries(
    (args.find((a) => a.name === "node-labels")?.value ?? "")
      .split(",")
      .filter(Boolean)
      .map((kv) => kv.split("=") as [string, string]),
  );
  return {
    ...base,
    metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...labels } },
    spec: { ...base.spec, taints: [...(base.spec.taints ?? []), ...(reg.taints ?? [])] },
    status: {
      ...base.status,
      capacity: { ...base.status.capacity, "nvidia.com/gpu": String(gpus) },
      allocatable: { ...base.status.allocatable, "nvidia.com/gpu": String(gpus) },
    },
  };
}

/** A GPU executor as Spark 4 builds it from the plan (template + labels + requests + the GPU limit). */
function gpuExecutor(plan: SparkPlan, app: string, i: number, opts: { template?: boolean } = {}): Pod {
  const t = (opts.template === false ? podTemplate(plan, "executor") : gpuExecutorPodTemplate(podTemplate(plan, "executor") as Pod)) as Pod;
  const g = plan.gpu!;
  const req = g.sizing.executorPod;
  return {
    ...t,
    metadata: { name: `${app}-exec-${i}`, namespace: NS, labels: { ...t.metadata.labels, "spark-role": "executor", [SPARK_APP_SELECTOR_LABEL]: app } },
    spec: {
      ...t.spec,
      affinity: undefined,
      volumes: undefined,
      restartPolicy: "Never",
      containers: [
        {
          name: t.spec.containers[0].name,
          image: "lab.invalid/spark:stand-in",
          resources: { requests: { cpu: req.cpuRequest, memory: `${req.memoryMiB}Mi` }, limits: { memory: `${req.memoryMiB}Mi`, ...g.executorLimits } },
        },
      ],
    },
  };
}

describe("real-systems lab: GPU executors against the real scheduler", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-gpu-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let d: StackDecisions;
  let gpuVms: string[] = [];
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string) => parts.need(ctx, part, CONTROL_PLANE, { up: cp !== undefined, name: "the control plane" });

  before(async function () {
    tools = resolveTools(["kubernetes", "etcd", "kwok"]);
    d = gpuDecisions();
    const backend = d.cluster.plan();
    const gpus = d.cluster.workerPool.gpuWorkers!.gpusPerNode;
    const vms: LabVm[] = backend.hosts
      .flatMap((h) => h.vms)
      .filter((v) => v.role === "worker" || v.role === "control-plane")
      .map((v) => ({ name: v.name, role: v.role as LabVm["role"], cpus: v.cpus, memoryMiB: v.memoryMiB, ...(v.scratchDiskGiB ? { scratchDiskGiB: v.scratchDiskGiB } : {}) }));
    const { paths, missing } = pick(tools, CONTROL_PLANE);
    if (missing.length) return;
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    for (const vm of vms) {
      // The node's kubeadm documents: the one with nodeRegistration (Init- or JoinConfiguration).
      const docs = parseAllDocuments(backend.artifacts.find((a) => a.path === `kubeadm/${vm.name}.yaml`)!.content).map((x) => x.toJS());
      const join = docs.find((x: Pod) => x?.nodeRegistration) as Pod;
      const isGpu = (join.nodeRegistration?.taints ?? []).some((t: Pod) => t.key === "nvidia.com/gpu");
      if (isGpu) gpuVms.push(vm.name);
      await cp.admin.post("/api/v1/nodes", isGpu ? gpuNode(nodeObject(vm, d.kubernetes), join, gpus) : nodeObject(vm, d.kubernetes));
    }
    for (const w of addOnWorkloads(d.kubernetes)) await cp.admin.post(`/apis/apps/v1/namespaces/kube-system/${w.kind === "DaemonSet" ? "daemonsets" : "deployments"}`, w);
    await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await cp.admin.post("/apis/scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: d.spark.priorityClass!.name }, value: d.spark.priorityClass!.value, preemptionPolicy: "Never" });
    log(`lab: ${vms.length} nodes (kwok), ${gpuVms.length} GPU workers with ${gpus} nvidia.com/gpu each, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    cp?.stop();
    parts.summary("GPU lab");
    log(`GPU lab: logs and state in ${dir}`);
  });

  async function schedule(api: Api, pods: Pod[], app: string): Promise<Pod[]> {
    for (const p of pods) await api.post(`/api/v1/namespaces/${NS}/pods`, p);
    const selector = `spark-role=executor,${SPARK_APP_SELECTOR_LABEL}=${app}`;
    await waitFor(
      `the scheduler decided on ${pods.length} executors of ${app}`,
      async () => {
        const ps = await sparkPods(api, NS, selector);
        const done = ps.filter((p) => p.spec.nodeName || p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
        return ps.length === pods.length && done.length === pods.length ? ps : undefined;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    return sparkPods(api, NS, selector);
  }

  it("the plan's GPU executors all bind, one per GPU, only on GPU workers; one more stays Pending (no GPU left)", async function () {
    need(this, "GPU executors");
    const plan = planSpark(d.spark, d.cluster.workerPool);
    const n = plan.gpu!.sizing.executor.instances;
    assert.equal(n, 4);
    const pods = await schedule(cp!.admin, Array.from({ length: n + 1 }, (_, i) => gpuExecutor(plan, "gpu-app", i + 1)), "gpu-app");
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
    const pods = await schedule(cp!.admin, [gpuExecutor(plan, "gpu-untolerated", 1, { template: false })], "gpu-untolerated");
    log(`without the GPU template: ${pods[0].spec.nodeName ? `bound to ${pods[0].spec.nodeName}` : "Pending"}: ${pods[0].status?.conditions?.[0]?.message ?? ""}`.slice(0, 240));
    assert.equal(pods[0].spec.nodeName, undefined);
    assert.match(pods[0].status.conditions[0].message, /untolerated taint.*nvidia\.com\/gpu|nvidia\.com\/gpu/);
  });
});
