/**
 * GPU executors, pure: Spark 4's GPU-aware scheduling on the cluster's GPU workers, sized in the
 * style of sizing.ts (each step exported and table-tested, test/spark/gpu.test.ts).
 *
 * How Spark asks for GPUs (apache/spark, Spark 4.0):
 * - `spark.executor.resource.gpu.amount` (whole GPUs per executor), `.vendor` and `.discoveryScript`
 *   (core/src/main/scala/org/apache/spark/resource/ResourceUtils.scala: `spark.executor.resource.
 *   {name}.{amount,vendor,discoveryScript}`); `spark.task.resource.gpu.amount` (per task; a fraction
 *   lets tasks share a GPU).
 * - On Kubernetes the executor pod gets `<vendor>/<name>` = amount as a container *limit*
 *   (resource-managers/kubernetes/core/.../features/BasicExecutorFeatureStep.scala,
 *   `buildExecutorResourcesQuantities` → `KubernetesConf.buildKubernetesResourceName(vendor, name)`,
 *   `.addToLimits(...)`), and without a vendor it fails: "Resource: gpu was requested, but vendor was
 *   not specified." Kubernetes defaults the request of an extended resource to its limit, so the
 *   scheduler counts `nvidia.com/gpu` against each node's allocatable (the device plugin's count).
 * - A task amount must be ≤ 0.5 or a whole number (ResourceUtils.calculateAmountAndPartsForFraction:
 *   "must be either <= 0.5, or a whole number"); a fraction f gives floor(1 / f) tasks per GPU
 *   (parts), a whole amount n gives 1 / n. Tasks per executor = min(cores / spark.task.cpus,
 *   gpus × parts / ceil(f)) (ResourceProfile.calculateTasksAndLimitingResource): the smaller one
 *   limits, and Spark warns that the other is wasted.
 * - The discovery script: the apache/spark image ships the distribution's examples at
 *   /opt/spark/examples (apache/spark-docker Dockerfile: `mv examples /opt/spark/`), which hold
 *   `examples/src/main/scripts/getGpusResources.sh` (it runs `nvidia-smi --query-gpu=index` and
 *   prints `{"name": "gpu", "addresses": [...]}`).
 */
import type { WorkerPool } from "../cluster/backend";
import { GPU_NODE_LABEL, GPU_RESOURCE, GPU_TOLERATION } from "../cluster/gpu";
import type { ConfigReader, Obj } from "../config-reader";
import { ExecutorSizing, SizingError, SizingPolicy, sizeExecutors } from "./sizing";

/** The discovery script in the apache/spark image (see above). */
export const GPU_DISCOVERY_SCRIPT = "/opt/spark/examples/src/main/scripts/getGpusResources.sh";
/** `spark.executor.resource.gpu.vendor`: with the resource name it makes the pod's `nvidia.com/gpu` limit. */
export const GPU_VENDOR = "nvidia.com";

/** The GPU workers as the cluster layer hands them over: their pool shape and GPUs per node. */
export interface GpuWorkers extends Omit<WorkerPool, "gpuWorkers" | "gpuWorkersKey"> {
  /** `nvidia.com/gpu` each GPU node advertises (the device plugin's count: the VM's passthrough GPUs, or on Tanzu its class's vGPU devices). */
  gpusPerNode: number;
}

/** `vsphere-spark:spark.gpu`: GPU executors for GPU applications. */
export interface SparkGpuSettings {
  /** `spark.executor.resource.gpu.amount`. Default 1. */
  gpusPerExecutor: number;
  /** `spark.task.resource.gpu.amount`; default: the largest share that keeps every core busy (defaultTaskGpuAmount). */
  taskGpuAmount?: number;
  /** `spark.executor.resource.gpu.discoveryScript`. Default GPU_DISCOVERY_SCRIPT. */
  discoveryScript: string;
  /** GPU executors; default every GPU slot (GPU workers × executors per GPU worker). */
  instances?: number;
}

export const SPARK_GPU_KEYS = ["gpusPerExecutor", "taskGpuAmount", "discoveryScript", "instances"] as const;

/** Whether a task amount is one Spark accepts, and at most the executor's. */
export function taskGpuAmountProblem(task: number, gpusPerExecutor: number): string | undefined {
  if (task > gpusPerExecutor) return `is ${task} GPUs per task but an executor has ${gpusPerExecutor} (gpusPerExecutor): no task could run`;
  if (task > 0.5 && task % 1 !== 0) return `must be at most 0.5 or a whole number, got ${task} (Spark's ResourceUtils: "must be either <= 0.5, or a whole number")`;
  return undefined;
}

/** Reads `spark.gpu` (every problem into `r`, with its leaf key). */
export function readSparkGpuSettings(r: ConfigReader, raw: unknown, path: string): SparkGpuSettings | undefined {
  if (raw === undefined) return undefined;
  const o: Obj | undefined = r.object(raw, path, SPARK_GPU_KEYS);
  if (!o) return undefined;
  const before = r.errors.length;
  const gpusPerExecutor = r.number(o, "gpusPerExecutor", path, 1, { integer: true, min: 1, max: 16 });
  const taskGpuAmount = r.optNumber(o, "taskGpuAmount", path, { exclusiveMin: 0, max: 16 });
  if (taskGpuAmount !== undefined) {
    const p = taskGpuAmountProblem(taskGpuAmount, gpusPerExecutor);
    if (p) r.err(`${path}.taskGpuAmount`, p);
  }
  const discoveryScript = r.string(o, "discoveryScript", path, GPU_DISCOVERY_SCRIPT, (s) => (s.startsWith("/") ? undefined : `"${s}" must be an absolute path inside the Spark image`));
  const instances = r.optNumber(o, "instances", path, { integer: true, min: 1, max: 10000 });
  if (r.errors.length > before) return undefined;
  return { gpusPerExecutor, discoveryScript, ...(taskGpuAmount !== undefined ? { taskGpuAmount } : {}), ...(instances !== undefined ? { instances } : {}) };
}

// Step 1: executors per GPU worker.
/** floor(GPUs per node / GPUs per executor); 0 is an error (no executor fits a node). */
export function gpuExecutorsPerNode(gpusPerNode: number, gpusPerExecutor: number): number {
  const e = Math.floor(gpusPerNode / gpusPerExecutor);
  if (e < 1) throw new SizingError(`an executor asks for ${gpusPerExecutor} GPUs but a GPU worker has ${gpusPerNode}`, "gpu.gpusPerExecutor");
  return e;
}

// Step 2: the task amount.
/** Tasks per GPU and GPUs per task, Spark's way (calculateAmountAndPartsForFraction). */
export function amountAndParts(task: number): { amount: number; parts: number } {
  if (task <= 0.5) return { amount: 1, parts: Math.floor(1 / task) };
  return { amount: Math.ceil(task), parts: 1 };
}

/** Tasks an executor runs at once, and which resource limits them (calculateTasksAndLimitingResource). */
export function gpuTaskSlots(cores: number, gpusPerExecutor: number, task: number, taskCpus = 1): { tasks: number; limitedBy: "cpus" | "gpu" } {
  const byCpu = Math.floor(cores / taskCpus);
  const { amount, parts } = amountAndParts(task);
  const byGpu = Math.floor((gpusPerExecutor * parts) / amount);
  return byGpu < byCpu ? { tasks: byGpu, limitedBy: "gpu" } : { tasks: byCpu, limitedBy: "cpus" };
}

/** The largest task share that keeps every core of the executor busy: gpus/cores as 1/n, or a whole n. */
export function defaultTaskGpuAmount(cores: number, gpusPerExecutor: number): number {
  if (cores <= gpusPerExecutor) return Math.floor(gpusPerExecutor / cores);
  return 1 / Math.ceil(cores / gpusPerExecutor);
}

export interface GpuSizing {
  /** The CPU and memory sizing of a GPU executor (sizing.ts on the GPU workers). */
  sizing: ExecutorSizing;
  /**
   * With zones: the GPU executors per zone as the scheduler places them (the application's zone
   * placement applies to them too: the GPU template keeps the zone fields), and how many stay Pending.
   */
  zones?: { perZone: Record<string, number>; pending: number; note?: string };
  executorsPerNode: number;
  gpusPerExecutor: number;
  taskGpuAmount: number;
  /** Concurrent tasks per executor and what limits them. */
  tasksPerExecutor: { tasks: number; limitedBy: "cpus" | "gpu" };
  /** Per GPU: executor cores and executor pod memory (MiB) divided by its GPUs. */
  perGpu: { cores: number; memoryMiB: number };
  /** The executor pod's extended-resource limit (BasicExecutorFeatureStep). */
  executorLimits: Record<string, string>;
  /** The Spark properties of a GPU application. */
  conf: Record<string, string>;
  utilization: { gpusRequested: number; gpusTotal: number; ofGpus: number };
  notes: string[];
}

/**
 * Sizes GPU executors: E = executorsPerNode on the GPU workers, then the CPU/memory sizing of
 * sizing.ts on their shape with E executors per node (so cores and memory per executor = the node's
 * share per GPU × GPUs per executor), then Spark's GPU properties.
 */
export function sizeGpuExecutors(gpu: GpuWorkers, base: SizingPolicy, s: SparkGpuSettings): GpuSizing {
  const E = gpuExecutorsPerNode(gpu.gpusPerNode, s.gpusPerExecutor);
  const slots = gpu.count * E;
  if (s.instances !== undefined && s.instances > slots) {
    throw new SizingError(`${s.instances} GPU executors asked for, but ${gpu.count} GPU workers × ${E} executors hold ${slots}`, "gpu.instances");
  }
  const { gpusPerNode: _g, ...pool } = gpu;
  // The driver never runs on a GPU worker (it does not tolerate the GPU taint), so the GPU sizing
  // counts no driver pod there: sized as in client mode, where the driver is not on the workers.
  const sizing = sizeExecutors(pool, {
    ...base,
    deployMode: "client",
    executor: { ...base.executor, executorsPerNode: E, instances: s.instances ?? slots, cores: undefined, memory: undefined },
    dynamicAllocation: { ...base.dynamicAllocation, enabled: false },
  });
  const cores = sizing.executor.cores;
  const task = s.taskGpuAmount ?? defaultTaskGpuAmount(cores, s.gpusPerExecutor);
  const problem = taskGpuAmountProblem(task, s.gpusPerExecutor);
  if (problem) throw new SizingError(`spark.task.resource.gpu.amount ${problem}`, "gpu.taskGpuAmount");
  const tasks = gpuTaskSlots(cores, s.gpusPerExecutor, task);
  const notes: string[] = [];
  if (tasks.limitedBy === "gpu") notes.push(`GPU executors run ${tasks.tasks} tasks at once, not ${cores}: spark.task.resource.gpu.amount ${task} limits them (Spark leaves the other cores idle)`);
  const instances = sizing.executor.instances;
  const conf: Record<string, string> = {
    ...sizing.conf,
    "spark.executor.resource.gpu.amount": String(s.gpusPerExecutor),
    "spark.executor.resource.gpu.vendor": GPU_VENDOR,
    "spark.executor.resource.gpu.discoveryScript": s.discoveryScript,
    "spark.task.resource.gpu.amount": String(task),
  };
  const gpusTotal = gpu.count * gpu.gpusPerNode;
  const gpusRequested = instances * s.gpusPerExecutor;
  return {
    sizing,
    executorsPerNode: E,
    gpusPerExecutor: s.gpusPerExecutor,
    taskGpuAmount: task,
    tasksPerExecutor: tasks,
    perGpu: { cores: cores / s.gpusPerExecutor, memoryMiB: Math.floor(sizing.executorPod.memoryMiB / s.gpusPerExecutor) },
    executorLimits: { [`${GPU_VENDOR}/gpu`]: String(s.gpusPerExecutor) },
    conf,
    utilization: { gpusRequested, gpusTotal, ofGpus: gpusTotal === 0 ? 0 : Math.round((gpusRequested / gpusTotal) * 1000) / 1000 },
    notes,
  };
}

/** What a GPU executor's pod template adds: the GPU taint's toleration and the GPU nodes' label. */
export function gpuExecutorScheduling(): { nodeSelector: Record<string, string>; tolerations: (typeof GPU_TOLERATION)[] } {
  return { nodeSelector: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value }, tolerations: [{ ...GPU_TOLERATION }] };
}

/** The resource the device plugin advertises, as Spark names it from vendor and resource name. */
export const SPARK_GPU_RESOURCE = `${GPU_VENDOR}/gpu`;
if (SPARK_GPU_RESOURCE !== GPU_RESOURCE) throw new Error("the Spark vendor and the device plugin's resource disagree");

/**
 * The GPU executors' pod template: the executor template of the CPU executors without their scratch
 * sizing and anti-affinity (GPU workers have their own shape), plus the GPU nodes' label as node
 * selector and the GPU taint's toleration. Spark adds the `nvidia.com/gpu` limit itself from
 * spark.executor.resource.gpu.{amount,vendor}; the template does not set it (Spark would keep both).
 */
export function gpuExecutorPodTemplate(base: Record<string, any>): Record<string, any> {
  const s = gpuExecutorScheduling();
  const spec = { ...base.spec };
  delete spec.affinity;
  return {
    ...base,
    metadata: { ...base.metadata, labels: { ...base.metadata?.labels, "vsphere-spark/executor-kind": "gpu" } },
    spec: {
      ...spec,
      nodeSelector: { ...(spec.nodeSelector ?? {}), ...s.nodeSelector },
      tolerations: [...(spec.tolerations ?? []), ...s.tolerations],
      containers: spec.containers.map((c: Record<string, any>) => {
        const { resources: _r, volumeMounts: _v, ...rest } = c;
        return rest;
      }),
      volumes: undefined,
    },
  };
}

/** `spark-gpu.conf`: the GPU application's properties, one `key value` per line, sorted (as spark-defaults.conf). */
export function renderGpuConf(plan: { gpu?: GpuSizing }): string {
  if (!plan.gpu) return "";
  return Object.keys(plan.gpu.conf).sort().map((k) => `${k} ${plan.gpu!.conf[k]}`).join("\n") + "\n";
}
