/**
 * Executor sizing: pure functions from the worker pool's shape and the executor policy to Spark
 * settings, pod requests, utilization and a fit verdict. The pod formulas are Spark's own
 * (`schemas/spark/SIZING.md`, read from BasicExecutorFeatureStep / ResourceProfile).
 *
 * The sizing is a chain of named steps, each exported and table-tested on its own
 * (test/spark/sizing-steps.test.ts):
 *
 *   nodeRoom      per node: allocatable − DaemonSet requests − the other pods the stack places on
 *                 workers (the add-ons' Deployments, the History Server: each may land on any
 *                 worker, so every worker keeps room for all of them); per executor slot: that / E
 *   executorCores floor((vm.cpus − coresLeftForSystem) / E)                   → spark.executor.cores
 *   cpuRequest    min(cores, cpuSlot); below `cores` it becomes spark.kubernetes.executor.request.cores
 *                 (e.g. "14500m", or "500m" under one CPU) while spark.executor.cores keeps the whole
 *                 task slots; a slot under one millicore: error
 *   executorHeap  the largest multiple of heapStep (default 1 GiB) whose pod fits the memory slot,
 *                 pod = heap + max(trunc(factor × heap), minOverhead) + offHeap + pysparkMemory,
 *                 and the largest heap in whole MiB that would fit (shown beside the chosen one)
 *   executorCount workers × E, or the user's instances / dynamic-allocation bounds
 *   driverFit     cluster mode: the driver pod is created before any executor; it must fit a
 *                 worker, and the executors that no longer fit beside it are counted. Computed for
 *                 cluster mode whatever the deploy mode (`fit.clusterMode`): the Spark Operator's
 *                 SparkApplication always runs in cluster mode
 *   scratch       with a worker disk at /var/lib/kubelet: its ephemeral-storage allocatable / E per
 *                 executor, the sizeLimit of the `spark-local-dir-1` emptyDir the executor template
 *                 defines and the pod's ephemeral-storage request; without one: none (a note: shuffle
 *                 and spill go to the boot disk)
 *   sizingConf    the Spark properties
 *   utilization   requested vs allocatable vs VM
 *
 * Cores come from the VM's vCPUs (what the guest schedules), the request from what the kubelet
 * lets pods have; memory comes only from allocatable, because the kubelet evicts on memory.
 */
import type { WorkerPool } from "../cluster/backend";
import type { DeployMode, DriverSettings, DynamicAllocationSettings, ExecutorPolicy, SparkAppType } from "./settings";
import { formatCpuMilli, formatSparkMemory, parseSparkMemoryMiB, toMilli } from "../quantity";
import { parseSparkTimeMs } from "./units";

/**
 * The worker nodes executors run on: the cluster layer's `WorkerPool` (components/cluster/backend.ts),
 * handed over unchanged by every cluster back end. `allocatable` already excludes the kernel's share
 * of the VM's memory (components/cluster/node-capacity.ts) and the kubelet's reservations.
 */
export type WorkerShape = WorkerPool;

/** A pod the stack itself places on a worker, outside the executors (e.g. the History Server). */
export interface PlatformPod {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
}

export interface SizingPolicy {
  /** Pods of the Spark layer that run beside the executors on some worker (default none). */
  platformPods?: PlatformPod[];
  appType: SparkAppType;
  deployMode: DeployMode;
  executor: ExecutorPolicy;
  driver: DriverSettings;
  dynamicAllocation: DynamicAllocationSettings;
}

export interface PodRequest {
  /** The pod's CPU request as a Kubernetes quantity (`"15"`, `"14500m"`). */
  cpuRequest: string;
  /** requests.memory = limits.memory, in MiB. */
  memoryMiB: number;
  /** requests.ephemeral-storage in MiB = the scratch emptyDir's sizeLimit (executors on a scratch disk only). */
  ephemeralStorageMiB?: number;
}

export interface Utilization {
  /** Executors the sizing provides for (instances, or maxExecutors with dynamic allocation). */
  executors: number;
  /** Concurrent tasks: executors × spark.executor.cores (what spark.cores.max reports). */
  taskSlots: number;
  cpu: { requestedCores: number; allocatableCores: number; vmCores: number; ofAllocatable: number; ofVm: number };
  memory: { requestedMiB: number; allocatableMiB: number; vmMiB: number; ofAllocatable: number; ofVm: number };
}

export interface DriverFit {
  mode: DeployMode;
  /** Whether the driver pod fits a worker with no executor on it. */
  fitsOnEmptyWorker: boolean;
  /** Whether it fits in what the executors leave on a worker. */
  fitsBesideExecutors: boolean;
  /** Cluster mode: whether some worker can take it; client mode: true (the driver is not a pod). */
  placeable: boolean;
  /** Executors that can run on the driver's worker beside it (cluster mode; E in client mode). */
  executorsBesideDriver: number;
  /** Executors that can start at once (all slots in client mode; the driver's worker loses some in cluster mode). */
  startableExecutors: number;
}

/** The same fit in cluster mode, whatever the deploy mode (what a SparkApplication gets). */
export interface ClusterModeFit {
  /** Whether some worker can take the driver pod. */
  placeable: boolean;
  executorsBesideDriver: number;
  /** Executors that can run beside the driver pod: min(the planned executors, what fits). */
  startableExecutors: number;
  /** Why not, with the numbers (when the driver fits no worker or executors are left out). */
  note?: string;
}

export interface Fit {
  /** `fits`, or `fits-with-fractional-cpu-request` when request.cores had to go below spark.executor.cores. */
  verdict: "fits" | "fits-with-fractional-cpu-request";
  perNode: {
    executors: number;
    cpuAvailableMilli: number;
    memoryAvailableMiB: number;
    cpuRequestedMilli: number;
    memoryRequestedMiB: number;
    cpuSpareMilli: number;
    memorySpareMiB: number;
  };
  driver: DriverFit;
  clusterMode: ClusterModeFit;
  notes: string[];
}

export interface ExecutorSizing {
  /** The sizing and dynamic-allocation Spark properties. */
  conf: Record<string, string>;
  executorPod: PodRequest;
  driverPod: PodRequest;
  utilization: Utilization;
  fit: Fit;
  /** The numbers behind the pods. */
  executor: {
    instances: number;
    cores: number;
    cpuRequestMilli: number;
    heapMiB: number;
    /** The heap step the chosen heap is a multiple of (MiB). */
    heapStepMiB: number;
    /** The largest heap (whole MiB) whose pod would fit the slot; the chosen heap is at most this. */
    largestHeapMiB: number;
    overheadMiB: number;
    offHeapMiB: number;
    pysparkMiB: number;
    /**
     * Client mode, Python with spark.executor.pyspark.memory: Spark adds the PySpark memory to the
     * pod only when the submission client marked the app Python (cluster mode), so the layer sets
     * spark.executor.memoryOverhead = overhead + PySpark memory explicitly.
     */
    explicitOverheadMiB?: number;
    dynamicAllocation?: { minExecutors: number; maxExecutors: number; initialExecutors: number };
  };
  driver: { cores: number; memoryMiB: number; overheadMiB: number };
}

/**
 * Thrown when the policy cannot produce executors that fit the nodes; the message states the
 * numbers. `field` is the setting to change, relative to the Spark settings (`executor.memory`,
 * `driver.memory`, `executor.instances`, …) or, with scope `workers`, to the worker shape;
 * callers prefix their own path (`vsphere-spark:spark.` + field).
 */
export class SizingError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly scope: "settings" | "workers" = "settings",
  ) {
    super(message);
    this.name = "SizingError";
  }
}

/**
 * An executor slot smaller than this many millicores counts as "nothing fits". Spark takes any
 * quantity for spark.kubernetes.executor.request.cores (Config.scala: a string conf without a
 * check; BasicExecutorFeatureStep puts it into requests.cpu as is, SIZING.md), so anything down to
 * the API's smallest CPU quantity, 1m, is a valid request; spark.executor.cores stays a whole number.
 */
export const MIN_EXECUTOR_CPU_MILLI = 1;

/** Spark's overhead rule: max(trunc(factor × heap), minimum), as ResourceProfile computes it. */
export function memoryOverheadMiB(heapMiB: number, factor: number, minMiB: number): number {
  return Math.max(Math.trunc(factor * heapMiB), minMiB);
}

/** An executor pod's memory request (= limit) exactly as Spark computes it (SIZING.md). */
export function executorPodMemoryMiB(p: {
  heapMiB: number;
  factor: number;
  minOverheadMiB: number;
  offHeapMiB: number;
  pysparkMiB: number;
}): number {
  return p.heapMiB + memoryOverheadMiB(p.heapMiB, p.factor, p.minOverheadMiB) + p.offHeapMiB + p.pysparkMiB;
}

/** The driver pod's memory request (cluster mode): no off-heap or PySpark term. */
export function driverPodMemoryMiB(driverMiB: number, factor: number, minOverheadMiB = 384): number {
  return driverMiB + memoryOverheadMiB(driverMiB, factor, minOverheadMiB);
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10000) / 10000 : 0);
const cores = (milli: number) => r3(milli / 1000);

/** Problems with the worker shape itself, as plain messages keyed by field (for validators). */
export function workerShapeErrors(w: WorkerShape): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const num = (field: string, v: unknown, opts: { integer?: boolean; zero?: boolean } = {}) => {
    const ok = typeof v === "number" && Number.isFinite(v) && (opts.zero ? v >= 0 : v > 0) && (!opts.integer || Number.isInteger(v));
    if (!ok) out.push({ field, message: `must be a ${opts.zero ? "" : "positive "}${opts.integer ? "whole " : ""}number${opts.zero ? " ≥ 0" : ""}, got ${String(v)}` });
    return ok;
  };
  num("count", w?.count, { integer: true });
  const okCpu = num("allocatable.cpu", w?.allocatable?.cpu);
  const okMem = num("allocatable.memoryMiB", w?.allocatable?.memoryMiB, { integer: true });
  const okVmCpu = num("vm.cpus", w?.vm?.cpus, { integer: true });
  const okVmMem = num("vm.memoryMiB", w?.vm?.memoryMiB, { integer: true });
  if (okCpu && okVmCpu && w.allocatable.cpu > w.vm.cpus) {
    out.push({ field: "allocatable.cpu", message: `(${w.allocatable.cpu}) is more than the VM's ${w.vm.cpus} vCPUs` });
  }
  if (okMem && okVmMem && w.allocatable.memoryMiB > w.vm.memoryMiB) {
    out.push({ field: "allocatable.memoryMiB", message: `(${w.allocatable.memoryMiB}) is more than the VM's ${w.vm.memoryMiB} MiB` });
  }
  num("daemonSetRequests.cpu", w?.daemonSetRequests?.cpu, { zero: true });
  num("daemonSetRequests.memoryMiB", w?.daemonSetRequests?.memoryMiB, { zero: true });
  if (w?.addOnPods !== undefined) {
    num("addOnPods.cpu", w.addOnPods?.cpu, { zero: true });
    num("addOnPods.memoryMiB", w.addOnPods?.memoryMiB, { zero: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Step 1: the room on a node and in one executor slot.

export interface NodeRoom {
  /** Allocatable − DaemonSet requests − the other pods the stack places on workers, on one node. */
  nodeCpuMilli: number;
  nodeMemMiB: number;
  /** One executor slot (node room / executors per node), rounded down. */
  slotCpuMilli: number;
  slotMemMiB: number;
  /** The arithmetic in words, for error messages. */
  cpuWhere: string;
  memWhere: string;
}

/**
 * The pods besides executors and DaemonSets that may be scheduled on any worker: the cluster's
 * add-on pods (from the worker pool) and the Spark layer's own (`platformPods`). The scheduler may
 * put all of them on the same worker, so each worker keeps room for their sum.
 */
export function sharedPods(workers: WorkerShape, platformPods: readonly PlatformPod[] = []): { cpuMilli: number; memoryMiB: number; names: string[] } {
  const addOn = workers.addOnPods;
  const list = [
    ...(addOn && (addOn.cpu > 0 || addOn.memoryMiB > 0) ? [{ name: "add-on pods", cpuMilli: toMilli(addOn.cpu), memoryMiB: addOn.memoryMiB }] : []),
    ...platformPods,
  ];
  return { cpuMilli: list.reduce((s, p) => s + p.cpuMilli, 0), memoryMiB: list.reduce((s, p) => s + p.memoryMiB, 0), names: list.map((p) => p.name) };
}

export function nodeRoom(workers: WorkerShape, executorsPerNode: number, platformPods: readonly PlatformPod[] = []): NodeRoom {
  const E = executorsPerNode;
  const ds = workers.daemonSetRequests;
  const shared = sharedPods(workers, platformPods);
  const nodeCpuMilli = toMilli(workers.allocatable.cpu) - toMilli(ds.cpu) - shared.cpuMilli;
  const nodeMemMiB = workers.allocatable.memoryMiB - ds.memoryMiB - shared.memoryMiB;
  const slotCpuMilli = Math.floor(nodeCpuMilli / E);
  const slotMemMiB = Math.floor(nodeMemMiB / E);
  const what = shared.names.join(" and ");
  return {
    nodeCpuMilli,
    nodeMemMiB,
    slotCpuMilli,
    slotMemMiB,
    cpuWhere:
      `allocatable cpu ${workers.allocatable.cpu} − DaemonSets ${ds.cpu}${shared.names.length ? ` − ${what} ${cores(shared.cpuMilli)}` : ""} = ${cores(nodeCpuMilli)} per node` +
      (E > 1 ? `, ${cores(slotCpuMilli)} per executor for ${E} executors per node` : ""),
    memWhere:
      `allocatable memory ${workers.allocatable.memoryMiB} MiB − DaemonSets ${ds.memoryMiB} MiB${shared.names.length ? ` − ${what} ${shared.memoryMiB} MiB` : ""} = ${nodeMemMiB} MiB per node` +
      (E > 1 ? `, ${slotMemMiB} MiB per executor for ${E} executors per node` : ""),
  };
}

// ---------------------------------------------------------------------------------------------
// Step 2: executor cores (task slots), from the VM's vCPUs.

export function executorCores(vmCpus: number, p: { executorsPerNode: number; coresLeftForSystem: number; cores?: number }): number {
  if (p.cores !== undefined) {
    if (p.cores > vmCpus) throw new SizingError(`executor.cores ${p.cores} is more than the worker VM's ${vmCpus} vCPUs`, "executor.cores");
    return p.cores;
  }
  const raw = (vmCpus - p.coresLeftForSystem) / p.executorsPerNode;
  const c = Math.floor(raw);
  if (c < 1) {
    throw new SizingError(
      `no executor core left: (vm.cpus ${vmCpus} − coresLeftForSystem ${p.coresLeftForSystem}) / executorsPerNode ${p.executorsPerNode} = ${r3(raw)}, less than 1`,
      "executor.coresLeftForSystem",
    );
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Step 3: the pod's CPU request, from what a slot offers.

export function executorCpuRequest(execCores: number, room: Pick<NodeRoom, "slotCpuMilli" | "cpuWhere">): { cpuRequestMilli: number; fractional: boolean } {
  if (room.slotCpuMilli < MIN_EXECUTOR_CPU_MILLI) {
    throw new SizingError(
      `executor CPU does not fit: ${room.cpuWhere}; an executor needs at least ${MIN_EXECUTOR_CPU_MILLI}m CPU`,
      "executor.executorsPerNode",
    );
  }
  const cpuRequestMilli = Math.min(execCores * 1000, room.slotCpuMilli);
  return { cpuRequestMilli, fractional: cpuRequestMilli < execCores * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Step 4: the heap.

export interface HeapInputs {
  factor: number;
  minOverheadMiB: number;
  offHeapMiB: number;
  /** PySpark memory the pod carries (0 for JVM apps). */
  pysparkMiB: number;
  /** The heap is a multiple of this many MiB (the library default 1024; the paper's 10240). */
  heapStepMiB: number;
  /** An explicit heap (a Spark byte string), instead of the largest that fits. */
  memory?: string;
}

export interface HeapChoice {
  heapMiB: number;
  largestHeapMiB: number;
  overheadMiB: number;
  podMiB: number;
}

/** The largest whole-MiB heap whose pod fits `slotMemMiB` (0 when none does). The pod grows with the heap. */
export function largestHeapMiB(slotMemMiB: number, h: Omit<HeapInputs, "heapStepMiB" | "memory">): number {
  const pod = (heap: number) => executorPodMemoryMiB({ heapMiB: heap, factor: h.factor, minOverheadMiB: h.minOverheadMiB, offHeapMiB: h.offHeapMiB, pysparkMiB: h.pysparkMiB });
  let lo = 0;
  let hi = Math.max(0, slotMemMiB);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (pod(mid) <= slotMemMiB) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function executorHeap(room: Pick<NodeRoom, "slotMemMiB" | "memWhere">, h: HeapInputs): HeapChoice {
  const podFor = (heapMiB: number) =>
    executorPodMemoryMiB({ heapMiB, factor: h.factor, minOverheadMiB: h.minOverheadMiB, offHeapMiB: h.offHeapMiB, pysparkMiB: h.pysparkMiB });
  const largest = largestHeapMiB(room.slotMemMiB, h);
  const terms = (heap: number) =>
    `heap ${heap} + overhead ${memoryOverheadMiB(heap, h.factor, h.minOverheadMiB)}` +
    `${h.offHeapMiB ? ` + off-heap ${h.offHeapMiB}` : ""}${h.pysparkMiB ? ` + PySpark ${h.pysparkMiB}` : ""}`;
  let heapMiB: number;
  if (h.memory !== undefined) {
    const parsed = parseSparkMemoryMiB(h.memory);
    if (parsed === undefined) throw new SizingError(`executor memory "${h.memory}" is not a Spark memory size`, "executor.memory");
    heapMiB = parsed;
    if (podFor(heapMiB) > room.slotMemMiB) {
      throw new SizingError(
        `executor memory ${h.memory} does not fit: its pod needs ${podFor(heapMiB)} MiB (${terms(heapMiB)}) but ${room.memWhere}` +
          (largest > 0 ? `; the largest heap that fits is ${largest} MiB (${formatSparkMemory(largest)})` : ""),
        "executor.memory",
      );
    }
  } else {
    const k = Math.floor(largest / h.heapStepMiB);
    if (k < 1) {
      throw new SizingError(
        `executor memory does not fit: the smallest heap, ${formatSparkMemory(h.heapStepMiB)}, needs a ${podFor(h.heapStepMiB)} MiB pod (${terms(h.heapStepMiB)}) but ${room.memWhere}` +
          `; lower executor.heapGranularityGiB or executorsPerNode`,
        "executor.heapGranularityGiB",
      );
    }
    heapMiB = k * h.heapStepMiB;
  }
  return { heapMiB, largestHeapMiB: largest, overheadMiB: memoryOverheadMiB(heapMiB, h.factor, h.minOverheadMiB), podMiB: podFor(heapMiB) };
}

// ---------------------------------------------------------------------------------------------
// Step 5: how many executors.

export interface ExecutorCount {
  instances: number;
  dynamicAllocation?: { minExecutors: number; maxExecutors: number; initialExecutors: number };
  notes: string[];
}

export function executorCount(count: number, executorsPerNode: number, instances: number | undefined, da: DynamicAllocationSettings): ExecutorCount {
  const slots = count * executorsPerNode;
  const notes: string[] = [];
  if (instances !== undefined && instances > slots) {
    throw new SizingError(`executor.instances ${instances} is more than the ${slots} executor slots (${count} workers × ${executorsPerNode} per node)`, "executor.instances");
  }
  if (!da.enabled) return { instances: instances ?? slots, notes };
  const maxExecutors = da.maxExecutors ?? slots;
  const minExecutors = da.minExecutors ?? Math.min(executorsPerNode, maxExecutors);
  const initialExecutors = da.initialExecutors ?? minExecutors;
  if (minExecutors > maxExecutors) {
    throw new SizingError(`dynamic allocation: minExecutors ${minExecutors} is more than maxExecutors ${maxExecutors}`, "dynamicAllocation.minExecutors");
  }
  if (initialExecutors < minExecutors || initialExecutors > maxExecutors) {
    throw new SizingError(`dynamic allocation: initialExecutors ${initialExecutors} is outside [${minExecutors}, ${maxExecutors}]`, "dynamicAllocation.initialExecutors");
  }
  if (parseSparkTimeMs(da.shuffleTrackingTimeout) === undefined) {
    throw new SizingError(`dynamic allocation: shuffleTrackingTimeout "${da.shuffleTrackingTimeout}" is not a finite time`, "dynamicAllocation.shuffleTrackingTimeout");
  }
  if (maxExecutors > slots) notes.push(`maxExecutors ${maxExecutors} is more than the ${slots} executor slots: the rest stay Pending unless nodes are added`);
  return { instances: maxExecutors, dynamicAllocation: { minExecutors, maxExecutors, initialExecutors }, notes };
}

// ---------------------------------------------------------------------------------------------
// Step 6: the driver.

export interface DriverInputs {
  mode: DeployMode;
  driverPodMiB: number;
  driverCpuMilli: number;
  workers: number;
  executorsPerNode: number;
  instances: number;
  executorPodMiB: number;
  executorCpuMilli: number;
  /** Dynamic allocation: executors above what can start stay Pending and are a note, not an error. */
  dynamic: boolean;
}

/**
 * Where the driver goes. Client mode: the driver is the submitting process, not a pod. Cluster mode:
 * the submission client creates the driver pod before any executor (KubernetesClientApplication),
 * so it lands on an empty worker; the executors' one-per-node anti-affinity does not involve it
 * (it matches executors only), but memory and CPU do: on the driver's worker only the executors that
 * fit beside it can start. A driver that fits no worker, or fixed instances that cannot all start,
 * is an error naming the setting to change.
 */
export function driverFit(d: DriverInputs, room: Pick<NodeRoom, "nodeCpuMilli" | "nodeMemMiB">): { fit: DriverFit; notes: string[] } {
  const E = d.executorsPerNode;
  const onBusiest = Math.min(E, Math.ceil(d.instances / d.workers) || 0);
  const spareMem = room.nodeMemMiB - onBusiest * d.executorPodMiB;
  const spareCpu = room.nodeCpuMilli - onBusiest * d.executorCpuMilli;
  const fitsOnEmptyWorker = d.driverPodMiB <= room.nodeMemMiB && d.driverCpuMilli <= room.nodeCpuMilli;
  const fitsBesideExecutors = d.driverPodMiB <= spareMem && d.driverCpuMilli <= spareCpu;
  const notes: string[] = [];
  if (d.mode === "client") {
    return {
      fit: { mode: "client", fitsOnEmptyWorker, fitsBesideExecutors, placeable: true, executorsBesideDriver: E, startableExecutors: d.workers * E },
      notes,
    };
  }
  if (!fitsOnEmptyWorker) {
    const what = d.driverPodMiB > room.nodeMemMiB ? `${d.driverPodMiB} MiB` : `${cores(d.driverCpuMilli)} CPU`;
    throw new SizingError(
      `cluster mode: the driver pod (${d.driverPodMiB} MiB, ${cores(d.driverCpuMilli)} CPU) can never be scheduled: it needs ${what} but a worker offers ${room.nodeMemMiB} MiB and ${cores(room.nodeCpuMilli)} CPU; lower driver.memory or use client mode`,
      d.driverPodMiB > room.nodeMemMiB ? "driver.memory" : "driver.cores",
    );
  }
  const besideDriver = Math.max(
    0,
    Math.min(E, Math.floor((room.nodeMemMiB - d.driverPodMiB) / d.executorPodMiB), Math.floor((room.nodeCpuMilli - d.driverCpuMilli) / d.executorCpuMilli)),
  );
  const startable = (d.workers - 1) * E + besideDriver;
  const fit: DriverFit = { mode: "cluster", fitsOnEmptyWorker, fitsBesideExecutors, placeable: true, executorsBesideDriver: besideDriver, startableExecutors: startable };
  if (d.instances > startable) {
    const msg =
      `cluster mode: the driver pod (${d.driverPodMiB} MiB, ${cores(d.driverCpuMilli)} CPU) is scheduled first and leaves room for ${besideDriver} of ${E} executor(s) on its worker, ` +
      `so only ${startable} of ${d.instances} executors can start`;
    if (d.dynamic) {
      notes.push(`${msg}; dynamic allocation keeps the rest Pending`);
    } else {
      throw new SizingError(`${msg} (the rest would stay Pending); set executor.instances to ${startable}, lower driver.memory, or use client mode`, "executor.instances");
    }
  }
  return { fit, notes };
}

/**
 * The driver step in cluster mode whatever the deploy mode, never throwing: a SparkApplication
 * (the Spark Operator submits in cluster mode only) asks for the executors that fit beside its
 * driver pod, and a driver that fits no worker is reported, not hidden.
 */
export function clusterModeFit(d: Omit<DriverInputs, "mode" | "dynamic">, room: Pick<NodeRoom, "nodeCpuMilli" | "nodeMemMiB">): ClusterModeFit {
  try {
    const { fit, notes } = driverFit({ ...d, mode: "cluster", dynamic: true }, room);
    const startable = Math.min(d.instances, fit.startableExecutors);
    return { placeable: true, executorsBesideDriver: fit.executorsBesideDriver, startableExecutors: startable, ...(notes.length ? { note: notes[0].replace(/; dynamic allocation keeps the rest Pending$/, "") } : {}) };
  } catch (e) {
    if (!(e instanceof SizingError)) throw e;
    return { placeable: false, executorsBesideDriver: 0, startableExecutors: 0, note: e.message };
  }
}

/**
 * Each executor's scratch space (MiB) on the workers' scratch disk: its ephemeral-storage
 * allocatable shared by the executors of a node (no other pod of the stack requests
 * ephemeral-storage). Undefined without a scratch disk. Below 1 GiB per executor is an error.
 */
export function executorScratchMiB(workers: Pick<WorkerShape, "scratchDisk">, executorsPerNode: number): number | undefined {
  const d = workers.scratchDisk;
  if (!d) return undefined;
  const mib = Math.floor(d.allocatableMiB / executorsPerNode);
  if (mib < 1024) {
    throw new SizingError(
      `the workers' scratch disk (${d.capacityGiB} GiB at /var/lib/kubelet, ${d.allocatableMiB} MiB allocatable ephemeral-storage) leaves ${mib} MiB per executor for ${executorsPerNode} executors per node, less than 1 GiB`,
      "executor.executorsPerNode",
    );
  }
  return mib;
}

// ---------------------------------------------------------------------------------------------
// Step 7: the Spark properties.

export interface ConfInputs {
  instances: number;
  dynamicAllocation?: { minExecutors: number; maxExecutors: number; initialExecutors: number };
  cores: number;
  cpuRequestMilli: number;
  fractional: boolean;
  heapMiB: number;
  factor: number;
  minOverheadMiB: number;
  offHeapMiB: number;
  pysparkMiB: number;
  explicitOverheadMiB?: number;
  driverMiB: number;
  driver: DriverSettings;
  da: DynamicAllocationSettings;
}

export function sizingConf(c: ConfInputs): Record<string, string> {
  const conf: Record<string, string> = {};
  const dyn = c.dynamicAllocation;
  if (!dyn) conf["spark.executor.instances"] = String(c.instances);
  conf["spark.executor.cores"] = String(c.cores);
  conf["spark.executor.memory"] = formatSparkMemory(c.heapMiB);
  conf["spark.executor.memoryOverheadFactor"] = String(c.factor);
  if (c.minOverheadMiB !== 384) conf["spark.executor.minMemoryOverhead"] = `${c.minOverheadMiB}m`;
  if (c.explicitOverheadMiB !== undefined) conf["spark.executor.memoryOverhead"] = `${c.explicitOverheadMiB}m`;
  if (c.fractional) conf["spark.kubernetes.executor.request.cores"] = formatCpuMilli(c.cpuRequestMilli);
  if (c.offHeapMiB > 0) {
    conf["spark.memory.offHeap.enabled"] = "true";
    conf["spark.memory.offHeap.size"] = `${c.offHeapMiB}m`;
  }
  if (c.pysparkMiB > 0) conf["spark.executor.pyspark.memory"] = `${c.pysparkMiB}m`;
  conf["spark.driver.memory"] = formatSparkMemory(c.driverMiB);
  conf["spark.driver.cores"] = String(c.driver.cores);
  conf["spark.driver.memoryOverheadFactor"] = String(c.driver.memoryOverheadFactor);
  if (c.driver.minMemoryOverheadMiB !== 384) conf["spark.driver.minMemoryOverhead"] = `${c.driver.minMemoryOverheadMiB}m`;
  conf["spark.cores.max"] = String(c.instances * c.cores);
  conf["spark.dynamicAllocation.enabled"] = String(c.da.enabled);
  if (dyn) {
    conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true";
    conf["spark.dynamicAllocation.shuffleTracking.timeout"] = c.da.shuffleTrackingTimeout;
    conf["spark.dynamicAllocation.minExecutors"] = String(dyn.minExecutors);
    conf["spark.dynamicAllocation.maxExecutors"] = String(dyn.maxExecutors);
    conf["spark.dynamicAllocation.initialExecutors"] = String(dyn.initialExecutors);
    conf["spark.dynamicAllocation.executorIdleTimeout"] = c.da.executorIdleTimeout;
  }
  return conf;
}

// ---------------------------------------------------------------------------------------------
// Step 8: utilization.

export function utilization(workers: WorkerShape, instances: number, execCores: number, cpuRequestMilli: number, execPodMiB: number): Utilization {
  const reqCpuMilli = instances * cpuRequestMilli;
  const reqMemMiB = instances * execPodMiB;
  const allocCpuMilli = workers.count * toMilli(workers.allocatable.cpu);
  const allocMemMiB = workers.count * workers.allocatable.memoryMiB;
  const vmCpuMilli = workers.count * workers.vm.cpus * 1000;
  const vmMemMiB = workers.count * workers.vm.memoryMiB;
  return {
    executors: instances,
    taskSlots: instances * execCores,
    cpu: {
      requestedCores: cores(reqCpuMilli),
      allocatableCores: cores(allocCpuMilli),
      vmCores: cores(vmCpuMilli),
      ofAllocatable: ratio(reqCpuMilli, allocCpuMilli),
      ofVm: ratio(reqCpuMilli, vmCpuMilli),
    },
    memory: {
      requestedMiB: reqMemMiB,
      allocatableMiB: allocMemMiB,
      vmMiB: vmMemMiB,
      ofAllocatable: ratio(reqMemMiB, allocMemMiB),
      ofVm: ratio(reqMemMiB, vmMemMiB),
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** Sizes executors and the driver for the given workers and policy: the steps above, in order. */
export function sizeExecutors(workers: WorkerShape, policy: SizingPolicy): ExecutorSizing {
  const shapeErrors = workerShapeErrors(workers);
  if (shapeErrors.length > 0) {
    throw new SizingError(`invalid worker shape: ${shapeErrors.map((e) => `${e.field} ${e.message}`).join("; ")}`, shapeErrors[0].field, "workers");
  }
  const ex = policy.executor;
  const E = ex.executorsPerNode;
  const room = nodeRoom(workers, E, policy.platformPods ?? []);
  const execCores = executorCores(workers.vm.cpus, ex);
  const { cpuRequestMilli, fractional } = executorCpuRequest(execCores, room);

  const factor = ex.memoryOverheadFactor;
  const pysparkMiB = policy.appType === "python" ? ex.pysparkMemoryMiB : 0;
  const heap = executorHeap(room, {
    factor,
    minOverheadMiB: ex.minMemoryOverheadMiB,
    offHeapMiB: ex.offHeapMiB,
    pysparkMiB,
    heapStepMiB: ex.heapGranularityGiB * 1024,
    ...(ex.memory !== undefined ? { memory: ex.memory } : {}),
  });
  // Client mode: no submission client marks the app Python, so Spark leaves the PySpark memory out
  // of the executor pod (SIZING.md); an explicit overhead carries it instead.
  const explicitOverheadMiB = policy.deployMode === "client" && pysparkMiB > 0 ? heap.overheadMiB + pysparkMiB : undefined;

  const count = executorCount(workers.count, E, ex.instances, policy.dynamicAllocation);
  const notes = [...count.notes];

  const driverMiB = parseSparkMemoryMiB(policy.driver.memory);
  if (driverMiB === undefined) throw new SizingError(`driver memory "${policy.driver.memory}" is not a Spark memory size`, "driver.memory");
  const driverOverheadMiB = memoryOverheadMiB(driverMiB, policy.driver.memoryOverheadFactor, policy.driver.minMemoryOverheadMiB);
  const driverPodMiB = driverMiB + driverOverheadMiB;
  const driverCpuMilli = policy.driver.cores * 1000;
  const driver = driverFit(
    {
      mode: policy.deployMode,
      driverPodMiB,
      driverCpuMilli,
      workers: workers.count,
      executorsPerNode: E,
      instances: count.instances,
      executorPodMiB: heap.podMiB,
      executorCpuMilli: cpuRequestMilli,
      dynamic: count.dynamicAllocation !== undefined,
    },
    room,
  );
  notes.push(...driver.notes);
  const scratchMiB = executorScratchMiB(workers, E);
  if (scratchMiB === undefined) {
    notes.push(
      "executor scratch space (shuffle, spill) is Spark's emptyDir on the workers' boot disk (/var/lib/kubelet): give the workers a disk mounted at /var/lib/kubelet (Tanzu: a node-pool volume with that mountPath) to have it sized and requested",
    );
  }
  const clusterMode = clusterModeFit(
    { driverPodMiB, driverCpuMilli, workers: workers.count, executorsPerNode: E, instances: count.instances, executorPodMiB: heap.podMiB, executorCpuMilli: cpuRequestMilli },
    room,
  );
  if (fractional) {
    notes.push(
      `spark.executor.cores ${execCores} does not fit the CPU a worker offers (${room.cpuWhere}): the pod requests ${formatCpuMilli(cpuRequestMilli)} (spark.kubernetes.executor.request.cores) and keeps ${execCores} task slots`,
    );
  }
  if (heap.largestHeapMiB > heap.heapMiB && ex.memory === undefined) {
    notes.push(
      `executor heap ${formatSparkMemory(heap.heapMiB)} is the largest multiple of ${ex.heapGranularityGiB}g that fits; the largest heap that fits is ${heap.largestHeapMiB} MiB`,
    );
  }

  const conf = sizingConf({
    instances: count.instances,
    ...(count.dynamicAllocation ? { dynamicAllocation: count.dynamicAllocation } : {}),
    cores: execCores,
    cpuRequestMilli,
    fractional,
    heapMiB: heap.heapMiB,
    factor,
    minOverheadMiB: ex.minMemoryOverheadMiB,
    offHeapMiB: ex.offHeapMiB,
    pysparkMiB,
    ...(explicitOverheadMiB !== undefined ? { explicitOverheadMiB } : {}),
    driverMiB,
    driver: policy.driver,
    da: policy.dynamicAllocation,
  });

  return {
    conf,
    executorPod: { cpuRequest: formatCpuMilli(cpuRequestMilli), memoryMiB: heap.podMiB, ...(scratchMiB !== undefined ? { ephemeralStorageMiB: scratchMiB } : {}) },
    driverPod: { cpuRequest: formatCpuMilli(driverCpuMilli), memoryMiB: driverPodMiB },
    utilization: utilization(workers, count.instances, execCores, cpuRequestMilli, heap.podMiB),
    fit: {
      verdict: fractional ? "fits-with-fractional-cpu-request" : "fits",
      perNode: {
        executors: E,
        cpuAvailableMilli: room.nodeCpuMilli,
        memoryAvailableMiB: room.nodeMemMiB,
        cpuRequestedMilli: E * cpuRequestMilli,
        memoryRequestedMiB: E * heap.podMiB,
        cpuSpareMilli: room.nodeCpuMilli - E * cpuRequestMilli,
        memorySpareMiB: room.nodeMemMiB - E * heap.podMiB,
      },
      driver: driver.fit,
      clusterMode,
      notes,
    },
    executor: {
      instances: count.instances,
      cores: execCores,
      cpuRequestMilli,
      heapMiB: heap.heapMiB,
      heapStepMiB: ex.heapGranularityGiB * 1024,
      largestHeapMiB: heap.largestHeapMiB,
      overheadMiB: heap.overheadMiB,
      offHeapMiB: ex.offHeapMiB,
      pysparkMiB,
      ...(explicitOverheadMiB !== undefined ? { explicitOverheadMiB } : {}),
      ...(count.dynamicAllocation ? { dynamicAllocation: count.dynamicAllocation } : {}),
    },
    driver: { cores: policy.driver.cores, memoryMiB: driverMiB, overheadMiB: driverOverheadMiB },
  };
}
