/**
 * Spark GPU executors on the Tanzu back end's vGPU node pool: the GPU workers handed through the
 * seam (`tanzuWorkerPool`, components/tanzu/gpu.ts `tanzuGpuWorkers`) and sized by the Spark layer's
 * own pure functions (components/spark/gpu.ts), like the kubeadm GPU sizing tests
 * (test/spark/gpu.test.ts): exact, rounded and limit cases; the error naming each back end's own
 * key (negative controls); the rendered conf, pod template and quota of the example stack
 * Pulumi.tanzu-gpu.yaml; and its resource graph under the mock runtime.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { DEFAULT_KUBERNETES_SETTINGS } from "../../components/cluster";
import { DEVICE_PLUGIN_CHART, DEVICE_PLUGIN_POD, GPU_NODE_LABEL, GPU_TAINT, GPU_TOLERATION, gpuWorkerPool } from "../../components/cluster/gpu";
import { podRequests } from "../../components/cluster/add-ons";
import { SizingError, planSpark } from "../../components/spark";
import { GPU_OPERATOR_GPU_NODE_PODS, GPU_OPERATOR_NFD_WORKER, tanzuCapacity, tanzuWorkerPool, vgpuNodeWarnings, type TanzuSettings } from "../../components/tanzu";
import { decideStack } from "../../src/config/decisions";
import { plan } from "../../src/plan/plan";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { settingsOf } from "../spark/helpers";
import { ROOT, reference } from "./helpers";

/** The reference Tanzu settings plus a vGPU class `gpu` and a node pool of it. */
function withVgpuPool(cls: Record<string, unknown>, pool: Record<string, unknown>): TanzuSettings {
  return reference((raw) => {
    raw.vmClasses.gpu = cls;
    raw.cluster.nodePools.push({ name: "gpu", vmClass: "gpu", ...pool });
    raw.cluster.sparkPool = "workers";
  });
}
const A100_40C = { cpus: 8, memoryGiB: 64, vgpuDevices: ["grid_a100-40c"] };
const TWO_80C = { cpus: 12, memoryGiB: 96, vgpuDevices: ["grid_a100-80c", "grid_a100-80c"] };
const GPU_APP = (gpu: Record<string, unknown> = {}) => settingsOf({ deployMode: "client", gpu });

describe("Tanzu vGPU pool: the GPU workers through the seam", () => {
  it("the GPU Operator's node pods request what its chart says (v26.7.0): only the NFD worker, 5m / 64Mi", () => {
    const sum = GPU_OPERATOR_GPU_NODE_PODS.map(podRequests).reduce((a, r) => ({ cpuMilli: a.cpuMilli + r.cpuMilli, memoryMiB: a.memoryMiB + r.memoryMiB }));
    assert.deepEqual(sum, { cpuMilli: 5, memoryMiB: 64 });
    assert.deepEqual(podRequests(GPU_OPERATOR_NFD_WORKER), { cpuMilli: 5, memoryMiB: 64 });
    assert.ok(GPU_OPERATOR_GPU_NODE_PODS.some((p) => p.name === "nvidia-device-plugin-daemonset"), "the Operator brings its own device plugin");
  });

  it("exact: 4 × 8 vCPU / 64 GiB, one grid_a100-40c each → the kubeadm model's allocatable, 1 nvidia.com/gpu per node, 4 executors of 7 cores / 54g", () => {
    const w = tanzuWorkerPool(withVgpuPool(A100_40C, { replicas: 4 }), DEFAULT_KUBERNETES_SETTINGS);
    const g = w.gpuWorkers!;
    // 8 − 100m − 100m; 65536 − the kernel's 1221 − 1Gi − 1Gi − 500Mi (components/cluster/node-capacity.ts, allocatable.ts).
    assert.deepEqual({ count: g.count, vm: g.vm, allocatable: g.allocatable, gpusPerNode: g.gpusPerNode }, { count: 4, vm: { cpus: 8, memoryMiB: 65536 }, allocatable: { cpu: 7.8, memoryMiB: 61767 }, gpusPerNode: 1 });
    // The same shape on kubeadm: the same allocatable; the GPU DaemonSets differ (device plugin 0 vs the Operator's NFD worker 5m / 64Mi).
    const kubeadm = gpuWorkerPool(Array.from({ length: 4 }, () => ({ cpus: 8, memoryMiB: 65536, gpus: 1 })), DEFAULT_KUBERNETES_SETTINGS);
    assert.deepEqual(g.allocatable, kubeadm.allocatable);
    assert.deepEqual(kubeadm.daemonSetRequests, { cpu: 0.4 + podRequests(DEVICE_PLUGIN_POD).cpuMilli / 1000, memoryMiB: 0 });
    assert.deepEqual(g.daemonSetRequests, { cpu: 0.405, memoryMiB: 64 });
    const p = planSpark(GPU_APP(), w).gpu!;
    assert.equal(p.executorsPerNode, 1);
    assert.equal(p.conf["spark.executor.instances"], "4");
    assert.equal(p.conf["spark.executor.cores"], "7");
    assert.equal(p.conf["spark.executor.memory"], "54g");
    assert.equal(p.sizing.executorPod.cpuRequest, "6995m", "7.8 − 0.405 − 0.4 = 6.995: the NFD worker's 5m");
    assert.equal(p.taskGpuAmount, 1 / 7);
    assert.deepEqual(p.utilization, { gpusRequested: 4, gpusTotal: 4, ofGpus: 1 });
    // The CPU pool is the reference's 16 workers; the NFD worker runs there too (it is on every node).
    assert.equal(w.count, 16);
    assert.deepEqual(w.daemonSetRequests, { cpu: 0.405, memoryMiB: 64 });
  });

  it("rounded: 2 × 12 vCPU / 96 GiB with two vGPU devices → 2 nvidia.com/gpu per node, 2 executors per node of ⌊10.995 / 2⌋ = 5 cores", () => {
    const w = tanzuWorkerPool(withVgpuPool(TWO_80C, { replicas: 2 }), DEFAULT_KUBERNETES_SETTINGS);
    assert.equal(w.gpuWorkers!.gpusPerNode, 2, "GPUs per node = the class's vGPU devices");
    const p = planSpark(GPU_APP(), w).gpu!;
    assert.equal(p.executorsPerNode, 2);
    assert.equal(p.conf["spark.executor.instances"], "4");
    assert.equal(p.conf["spark.executor.cores"], "5");
    assert.equal(p.sizing.executorPod.cpuRequest, "5");
    assert.equal(p.taskGpuAmount, 0.2);
    assert.deepEqual(p.utilization, { gpusRequested: 4, gpusTotal: 4, ofGpus: 1 });
    const two = planSpark(GPU_APP({ gpusPerExecutor: 2 }), w).gpu!;
    assert.deepEqual([two.executorsPerNode, two.conf["spark.executor.cores"], two.sizing.executorPod.cpuRequest], [1, "11", "10995m"]);
    assert.deepEqual(two.executorLimits, { "nvidia.com/gpu": "2" });
  });

  it("an autoscaled vGPU pool counts its minimum for Spark (as the CPU pool) and its maximum for capacity", () => {
    const s = withVgpuPool(A100_40C, { minReplicas: 2, maxReplicas: 5 });
    const w = tanzuWorkerPool(s, DEFAULT_KUBERNETES_SETTINGS);
    assert.equal(w.gpuWorkers!.count, 2);
    assert.equal(planSpark(GPU_APP(), w).gpu!.conf["spark.executor.instances"], "2");
    assert.equal(tanzuCapacity(s).rows.find((r) => r.pool === "gpu")!.replicas, 5);
  });

  it("limits: more GPUs per executor than a node has, more instances than slots, a vGPU pool with no replicas", () => {
    const w = tanzuWorkerPool(withVgpuPool(A100_40C, { replicas: 4 }), DEFAULT_KUBERNETES_SETTINGS);
    assert.throws(() => planSpark(GPU_APP({ gpusPerExecutor: 2 }), w), (e: SizingError) => e.field === "gpu.gpusPerExecutor" && /asks for 2 GPUs but a GPU worker has 1/.test(e.message));
    assert.throws(() => planSpark(GPU_APP({ instances: 5 }), w), (e: SizingError) => e.field === "gpu.instances" && /4 GPU workers × 1 executors hold 4/.test(e.message));
    assert.equal(planSpark(GPU_APP({ instances: 4 }), w).gpu!.conf["spark.executor.instances"], "4");
    const empty = tanzuWorkerPool(withVgpuPool(A100_40C, { replicas: 0 }), DEFAULT_KUBERNETES_SETTINGS);
    assert.equal(empty.gpuWorkers, undefined);
    assert.throws(() => planSpark(GPU_APP(), empty), (e: SizingError) => e.field === "gpu" && /tanzu\.vmClasses\.<class>\.vgpuDevices/.test(e.message));
  });

  it("warns where the GPU Operator is not validated on VKS (platform-support.rst: Ubuntu nodes, Kubernetes 1.33-1.36); nothing without a vGPU pool", () => {
    const s = withVgpuPool(A100_40C, { replicas: 1 });
    const w = vgpuNodeWarnings(s).join("\n");
    assert.match(w, /Ubuntu nodes only \(no Photon\): set tanzu\.cluster\.os\.name: ubuntu/);
    assert.match(w, /validated on VKS for Kubernetes 1\.33 to 1\.36, and the release is 1\.31/);
    const ok = reference((raw) => {
      raw.vmClasses.gpu = A100_40C;
      raw.cluster.nodePools.push({ name: "gpu", vmClass: "gpu", replicas: 1 });
      raw.cluster.sparkPool = "workers";
      raw.cluster.os = { name: "ubuntu" };
      raw.cluster.release = "v1.33.1---vmware.1-fips-vkr.1";
    });
    assert.deepEqual(vgpuNodeWarnings(ok), []);
    assert.deepEqual(vgpuNodeWarnings(reference()), []);
  });

  it("no vGPU pool: no GPU workers and no GPU Operator pods counted (the reference numbers stay)", () => {
    const w = tanzuWorkerPool(reference(), DEFAULT_KUBERNETES_SETTINGS);
    assert.equal(w.gpuWorkers, undefined);
    assert.deepEqual(w.daemonSetRequests, { cpu: 0.4, memoryMiB: 0 });
  });
});

describe("spark.gpu without GPU workers names the stack's own back end key", () => {
  const errorsOf = (file: string, edit: (cfg: Record<string, any>) => void = () => {}) => {
    const cfg = readStackFile(path.join(ROOT, file)) as Record<string, any>;
    edit(cfg);
    const flat = flatten(cfg);
    return decideStack(flat.values, flat.secretKeys).errors.map((e) => `${e.path}: ${e.message}`).join("\n");
  };
  const askGpu = (cfg: Record<string, any>) => (cfg["vsphere-spark:spark"].gpu = { gpusPerExecutor: 1 });

  it("Tanzu: the vgpuDevices and node pool keys, never the kubeadm key", () => {
    const got = errorsOf("Pulumi.tanzu.yaml", askGpu);
    assert.match(got, /^vsphere-spark:spark\.gpu: GPU executors are asked for \(spark\.gpu\) but the cluster has no GPU workers: add them with vsphere-spark:tanzu\.vmClasses\.<class>\.vgpuDevices \(and a node pool of that class in vsphere-spark:tanzu\.cluster\.nodePools/m);
    assert.doesNotMatch(got, /hosts\[i\]|gpuWorkers/);
  });

  it("kubeadm: hosts[i].gpuWorkers, never a Tanzu key", () => {
    const got = errorsOf("Pulumi.dev.yaml", askGpu);
    assert.match(got, /^vsphere-spark:spark\.gpu: .*no GPU workers: add them with vsphere-spark:hosts\[i\]\.gpuWorkers/m);
    assert.doesNotMatch(got, /tanzu/);
  });

  it("negative controls: with a vGPU pool (Pulumi.tanzu-gpu.yaml) or GPU workers (Pulumi.gpu.yaml) the same spark.gpu decides", () => {
    assert.equal(errorsOf("Pulumi.tanzu-gpu.yaml"), "");
    assert.equal(errorsOf("Pulumi.gpu.yaml"), "");
    // And the example stack without its pool's replicas is refused again, naming the Tanzu key.
    assert.match(errorsOf("Pulumi.tanzu-gpu.yaml", (c) => (c["vsphere-spark:tanzu"].cluster.nodePools[1].replicas = 0)), /vsphere-spark:spark\.gpu: .*tanzu\.vmClasses/);
  });
});

describe("the Tanzu GPU example stack (Pulumi.tanzu-gpu.yaml) through the real program", function () {
  this.timeout(120_000);

  it("plans: the GPU conf and pod template from the same renderers, tolerating the pool's taint and selecting its label; the quota counts the GPUs; no device plugin of ours", async () => {
    const r = await plan({ stack: "tanzu-gpu", cwd: ROOT });
    if (!r.ok) assert.fail(JSON.stringify(r.errors, null, 2));
    const art = (p: string) => r.artifacts.find((a) => a.path === p)?.content ?? assert.fail(`no artifact ${p}`);
    // The rendered Cluster: the vGPU pool carries the taint and label the GPU executors need.
    const cluster = parseAllDocuments(art("tanzu/spark.yaml")).map((d) => d.toJSON()).find((m) => m.kind === "Cluster");
    const md = cluster.spec.topology.workers.machineDeployments.find((m: any) => m.name === "gpu");
    const node = md.variables.overrides.find((v: any) => v.name === "node").value;
    assert.equal(node.labels[GPU_NODE_LABEL.key], GPU_NODE_LABEL.value);
    assert.deepEqual(node.taints, [{ ...GPU_TAINT }]);
    // spark-gpu.conf and executor-gpu.yaml.
    const conf = Object.fromEntries(art("spark/spark-gpu.conf").trim().split("\n").map((l) => l.split(" ") as [string, string]));
    assert.equal(conf["spark.executor.instances"], "4");
    assert.equal(conf["spark.executor.resource.gpu.amount"], "1");
    assert.equal(conf["spark.executor.resource.gpu.vendor"], "nvidia.com");
    assert.equal(conf["spark.executor.cores"], "7");
    const tpl = parse(art("spark/pod-templates/executor-gpu.yaml"));
    assert.deepEqual(tpl.spec.nodeSelector, { [GPU_NODE_LABEL.key]: node.labels[GPU_NODE_LABEL.key] });
    assert.deepEqual(tpl.spec.tolerations.filter((t: any) => t.key === GPU_TAINT.key), [{ ...GPU_TOLERATION }]);
    // The CPU executors' template does not tolerate it (they stay off the vGPU nodes).
    const cpuTpl = parse(art("spark/pod-templates/executor.yaml"));
    assert.ok(!(cpuTpl.spec.tolerations ?? []).some((t: any) => t.key === GPU_TAINT.key));
    // Plan output: GPU executors per node and GPU utilization; the Tanzu section names the prerequisite.
    const text = r.sectionText.join("\n");
    assert.match(text, /GPU executor pod: .*limits nvidia\.com\/gpu=1; 1 per GPU worker/);
    assert.match(text, /GPU utilization: 4 of 4 GPUs \(100\.0%\)/);
    assert.match(text, /GPU workers \(spark\.gpu\): pool gpu \(4 × vGPU grid_a100-40c\): 4 × allocatable 7\.8 CPU, 61767 MiB, 1 × nvidia\.com\/gpu/);
    assert.match(text, /PREREQUISITE: vGPU nodes advertise nvidia\.com\/gpu only once the NVIDIA GPU Operator runs/);
    assert.deepEqual((r.plan as any).tanzu.gpu.pools.map((p: any) => [p.name, p.replicas, p.vgpuDevices]), [["gpu", 4, ["grid_a100-40c"]]]);
    // In the cluster: the quota and the ConfigMaps.
    const byType = (t: string) => r.recorded.filter((x) => x.type === t).map((x) => x.inputs as any);
    assert.equal(byType("kubernetes:core/v1:ResourceQuota")[0].spec.hard["requests.nvidia.com/gpu"], "4");
    const cms = byType("kubernetes:core/v1:ConfigMap");
    assert.ok(cms.some((c) => c.data?.["spark-gpu.conf"] === art("spark/spark-gpu.conf")));
    assert.ok(cms.some((c) => c.data?.["executor-gpu.yaml"] === art("spark/pod-templates/executor-gpu.yaml")));
    // The resource graph: no device plugin chart of ours on Tanzu (the GPU Operator brings its own).
    assert.ok(!byType("kubernetes:helm.sh/v3:Release").some((x) => x.chart === DEVICE_PLUGIN_CHART.chart));
    // The namespace limits hold the peak (the plan would refuse otherwise): 344 vCPU, 2616 GiB, 10000 GiB.
    const cap = (r.plan as any).tanzu.capacity;
    assert.deepEqual([cap.peak.cpus, cap.peak.memoryMiB / 1024, cap.peak.volumeGiB], [344, 2616, 10000]);
  });

  it("negative control: the limits refuse the vGPU pool grown past them", () => {
    const cfg = readStackFile(path.join(ROOT, "Pulumi.tanzu-gpu.yaml")) as Record<string, any>;
    cfg["vsphere-spark:tanzu"].cluster.nodePools[1].replicas = 6;
    const flat = flatten(cfg);
    const paths = decideStack(flat.values, flat.secretKeys).errors.map((e) => e.path);
    assert.ok(paths.includes("vsphere-spark:tanzu.namespace.limits.memoryGiB"), paths.join());
    assert.ok(paths.includes("vsphere-spark:tanzu.namespace.limits.cpuMHz"), paths.join());
  });
});
