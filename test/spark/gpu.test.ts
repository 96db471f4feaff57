/**
 * GPU executors (components/spark/gpu.ts), tested like the CPU sizing: each step as a table (exact,
 * rounded and limit cases), the whole sizing on GPU workers, Spark's rules on task amounts (read
 * from ResourceUtils.scala / ResourceProfile.scala) and the settings' refusals with their keys.
 */
import * as assert from "node:assert/strict";
import { SizingError, resolveSparkSettings, sizingPolicy, planSpark } from "../../components/spark";
import {
  GPU_DISCOVERY_SCRIPT,
  GpuWorkers,
  amountAndParts,
  defaultTaskGpuAmount,
  gpuExecutorPodTemplate,
  gpuExecutorsPerNode,
  gpuTaskSlots,
  sizeGpuExecutors,
  taskGpuAmountProblem,
} from "../../components/spark/gpu";
import { GPU_TAINT } from "../../components/cluster/gpu";
import { kubeadmWorkers, referenceWorkers, settingsOf } from "./helpers";

/** GPU workers of `cpus` vCPU / `memGiB` GiB with `gpus` GPUs each (kubeadm defaults, as helpers.ts). */
function gpuWorkers(count: number, cpus: number, memGiB: number, gpus: number): GpuWorkers {
  return { ...kubeadmWorkers(count, cpus, memGiB * 1024), addOnPods: { cpu: 0.4, memoryMiB: 240 }, gpusPerNode: gpus };
}

describe("spark GPU sizing: steps", () => {
  it("executors per GPU worker: floor(GPUs per node / GPUs per executor)", () => {
    const table: [number, number, number][] = [
      [1, 1, 1], // exact
      [4, 1, 4],
      [4, 2, 2],
      [8, 4, 2],
      [3, 2, 1], // rounded down: one GPU stays idle
    ];
    for (const [node, exec, want] of table) assert.equal(gpuExecutorsPerNode(node, exec), want, `${node} GPUs / ${exec}`);
    // Limit: an executor asking for more GPUs than a node has.
    assert.throws(() => gpuExecutorsPerNode(1, 2), (e: SizingError) => e instanceof SizingError && e.field === "gpu.gpusPerExecutor");
  });

  it("Spark's amount and parts of a task share (ResourceUtils.calculateAmountAndPartsForFraction)", () => {
    const table: [number, { amount: number; parts: number }][] = [
      [0.125, { amount: 1, parts: 8 }],
      [0.5, { amount: 1, parts: 2 }],
      [0.3, { amount: 1, parts: 3 }], // floor(1 / 0.3)
      [1 / 7, { amount: 1, parts: 7 }], // the double Spark parses from String(1/7)
      [1, { amount: 1, parts: 1 }],
      [2, { amount: 2, parts: 1 }],
    ];
    for (const [task, want] of table) assert.deepEqual(amountAndParts(task), want, String(task));
  });

  it("task amounts Spark refuses, and one above the executor's", () => {
    assert.equal(taskGpuAmountProblem(0.5, 1), undefined);
    assert.equal(taskGpuAmountProblem(1, 1), undefined);
    assert.equal(taskGpuAmountProblem(2, 2), undefined);
    assert.match(taskGpuAmountProblem(0.7, 1)!, /at most 0.5 or a whole number/);
    assert.match(taskGpuAmountProblem(1.5, 2)!, /at most 0.5 or a whole number/);
    assert.match(taskGpuAmountProblem(2, 1)!, /2 GPUs per task but an executor has 1/);
  });

  it("the default task share keeps every core busy: 1/ceil(cores/GPUs), or whole GPUs when there are more GPUs than cores", () => {
    const table: [number, number, number][] = [
      [8, 1, 0.125], // exact
      [7, 1, 1 / 7],
      [6, 4, 0.5], // rounded: ceil(6/4) = 2 tasks per GPU, 8 ≥ 6
      [4, 4, 1],
      [2, 4, 2], // more GPUs than cores: 2 whole GPUs per task
      [1, 1, 1], // limit: one core, one GPU
    ];
    for (const [cores, gpus, want] of table) {
      const got = defaultTaskGpuAmount(cores, gpus);
      assert.equal(got, want, `${cores} cores, ${gpus} GPUs`);
      assert.equal(taskGpuAmountProblem(got, gpus), undefined);
      assert.deepEqual(gpuTaskSlots(cores, gpus, got), { tasks: cores, limitedBy: "cpus" }, `${cores} cores, ${gpus} GPUs: every core busy`);
    }
  });

  it("tasks per executor: the smaller of cores and GPU shares (ResourceProfile's limiting resource)", () => {
    assert.deepEqual(gpuTaskSlots(8, 1, 0.5), { tasks: 2, limitedBy: "gpu" });
    assert.deepEqual(gpuTaskSlots(8, 2, 0.25), { tasks: 8, limitedBy: "cpus" });
    assert.deepEqual(gpuTaskSlots(4, 2, 2), { tasks: 1, limitedBy: "gpu" });
    assert.deepEqual(gpuTaskSlots(7, 1, 1 / 7), { tasks: 7, limitedBy: "cpus" });
  });
});

describe("spark GPU sizing: table", () => {
  const base = sizingPolicy(settingsOf({}));
  it("4 GPU workers of 8 vCPU / 64 GiB, one GPU each → 4 executors of 7 cores, nvidia.com/gpu=1 (exact)", () => {
    const g = sizeGpuExecutors(gpuWorkers(4, 8, 64, 1), { ...base, platformPods: [] }, { gpusPerExecutor: 1, discoveryScript: GPU_DISCOVERY_SCRIPT });
    assert.equal(g.executorsPerNode, 1);
    assert.equal(g.conf["spark.executor.instances"], "4");
    assert.equal(g.conf["spark.executor.cores"], "7");
    assert.equal(g.conf["spark.executor.memory"], "54g");
    assert.equal(g.sizing.executorPod.memoryMiB, 55296 + 5529);
    assert.equal(g.conf["spark.executor.resource.gpu.amount"], "1");
    assert.equal(g.conf["spark.executor.resource.gpu.vendor"], "nvidia.com");
    assert.equal(g.conf["spark.executor.resource.gpu.discoveryScript"], "/opt/spark/examples/src/main/scripts/getGpusResources.sh");
    assert.equal(Number(g.conf["spark.task.resource.gpu.amount"]), 1 / 7);
    assert.deepEqual(g.executorLimits, { "nvidia.com/gpu": "1" });
    assert.deepEqual(g.perGpu, { cores: 7, memoryMiB: 60825 });
    assert.deepEqual(g.utilization, { gpusRequested: 4, gpusTotal: 4, ofGpus: 1 });
  });

  it("2 GPU workers of 32 vCPU / 256 GiB with 4 GPUs, 2 per executor → 2 executors per node, 15 cores each (rounded)", () => {
    const g = sizeGpuExecutors(gpuWorkers(2, 32, 256, 4), { ...base, platformPods: [] }, { gpusPerExecutor: 2, discoveryScript: GPU_DISCOVERY_SCRIPT });
    assert.equal(g.executorsPerNode, 2);
    assert.equal(g.conf["spark.executor.instances"], "4");
    assert.equal(g.conf["spark.executor.cores"], "15"); // floor((32 − 1) / 2)
    assert.equal(g.taskGpuAmount, 0.125); // 1 / ceil(15 / 2)
    assert.deepEqual(g.tasksPerExecutor, { tasks: 15, limitedBy: "cpus" });
    assert.equal(g.perGpu.cores, 7.5);
    assert.deepEqual(g.executorLimits, { "nvidia.com/gpu": "2" });
    assert.deepEqual(g.utilization, { gpusRequested: 8, gpusTotal: 8, ofGpus: 1 });
  });

  it("fewer instances than GPU slots: GPU utilization below 100 %; an explicit task share that idles cores is noted", () => {
    const g = sizeGpuExecutors(gpuWorkers(2, 32, 256, 4), { ...base, platformPods: [] }, { gpusPerExecutor: 1, discoveryScript: GPU_DISCOVERY_SCRIPT, instances: 6, taskGpuAmount: 0.5 });
    assert.deepEqual(g.utilization, { gpusRequested: 6, gpusTotal: 8, ofGpus: 0.75 });
    assert.deepEqual(g.tasksPerExecutor, { tasks: 2, limitedBy: "gpu" });
    assert.match(g.notes.join("\n"), /2 tasks at once, not 7/);
  });

  it("limits: more instances than GPU slots, and GPU executors on a cluster without GPU workers", () => {
    assert.throws(
      () => sizeGpuExecutors(gpuWorkers(2, 8, 64, 1), { ...base, platformPods: [] }, { gpusPerExecutor: 1, discoveryScript: GPU_DISCOVERY_SCRIPT, instances: 3 }),
      (e: SizingError) => e.field === "gpu.instances" && /2 GPU workers × 1 executors hold 2/.test(e.message),
    );
    assert.throws(() => planSpark(settingsOf({ deployMode: "client", gpu: {} }), referenceWorkers(4)), (e: SizingError) => e.field === "gpu" && /no GPU workers/.test(e.message));
    // Negative control: with GPU workers the same settings plan.
    assert.ok(planSpark(settingsOf({ deployMode: "client", gpu: {} }), { ...referenceWorkers(4), gpuWorkers: gpuWorkers(2, 8, 64, 1) }).gpu);
  });

  it("the GPU executor template tolerates exactly the GPU taint and selects the GPU nodes", () => {
    const plan = planSpark(settingsOf({ deployMode: "client", gpu: {} }), { ...referenceWorkers(4), gpuWorkers: gpuWorkers(2, 8, 64, 1) });
    const t = gpuExecutorPodTemplate({ metadata: { labels: {} }, spec: { affinity: { x: 1 }, containers: [{ name: "c", resources: { requests: { "ephemeral-storage": "1Gi" } } }] } });
    assert.deepEqual(t.spec.tolerations, [{ key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect }]);
    assert.deepEqual(t.spec.nodeSelector, { "nvidia.com/gpu.present": "true" });
    assert.equal(t.spec.affinity, undefined);
    assert.equal(t.spec.containers[0].resources, undefined);
    assert.ok(plan.gpu!.conf["spark.executor.resource.gpu.amount"]);
  });
});

describe("spark GPU settings: refusals name the key, all at once", () => {
  it("task amount above the executor's, one Spark refuses, an unknown key, a relative script", () => {
    const bad = resolveSparkSettings({ gpu: { gpusPerExecutor: 1, taskGpuAmount: 2, discoveryScript: "getGpus.sh", gpuPerExecutor: 2 } });
    const paths = bad.errors.map((e) => e.path);
    assert.ok(paths.includes("vsphere-spark:spark.gpu.taskGpuAmount"), paths.join());
    assert.ok(paths.includes("vsphere-spark:spark.gpu.discoveryScript"), paths.join());
    assert.ok(paths.includes("vsphere-spark:spark.gpu.gpuPerExecutor"), paths.join());
    const fraction = resolveSparkSettings({ gpu: { taskGpuAmount: 0.75 } });
    assert.match(fraction.errors.find((e) => e.path === "vsphere-spark:spark.gpu.taskGpuAmount")!.message, /at most 0.5 or a whole number/);
    // Negative control.
    const ok = resolveSparkSettings({ gpu: { gpusPerExecutor: 2, taskGpuAmount: 0.25 } });
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.settings.gpu, { gpusPerExecutor: 2, taskGpuAmount: 0.25, discoveryScript: GPU_DISCOVERY_SCRIPT });
  });
});
