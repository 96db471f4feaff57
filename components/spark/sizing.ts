/**
 * Executor sizing: a pure function from the worker nodes' shape and the executor policy to Spark
 * settings, pod requests, utilization and a fit verdict. The pod formulas are Spark's own
 * (`schemas/spark/SIZING.md`, read from BasicExecutorFeatureStep / ResourceProfile).
 *
 * THE RULE (per worker node, with E = executorsPerNode):
 *
 *   cores      = floor((vm.cpus − coresLeftForSystem) / E)                     → spark.executor.cores
 *   cpuSlot    = floor((allocatable.cpu − daemonSet.cpu) / E)   in millicores
 *   request    = min(cores, cpuSlot); when it is below `cores` it becomes
 *                spark.kubernetes.executor.request.cores (e.g. "14500m") while spark.executor.cores
 *                keeps the task slots. A slot under one whole core is "nothing fits".
 *   memSlot    = floor((allocatable.memoryMiB − daemonSet.memoryMiB) / E)
 *   heap       = the largest multiple of heapGranularityGiB whose executor pod fits in memSlot,
 *                where pod = heap + max(trunc(factor × heap), minOverhead) + offHeap + pysparkMemory
 *                                                                             → spark.executor.memory
 *   instances  = workers × E                                                   → spark.executor.instances
 *
 * Cores come from the VM's vCPUs (what the guest schedules), the request from what the kubelet
 * lets pods have; memory comes only from allocatable, because the kubelet evicts on memory.
 * Reference (16 vCPU / 120 GiB VMs, kubeadm allocatable cpu 16, 122780 MiB): cores 15, heap 100g,
 * pod 112640 MiB (110g would need 123904), instances = workers.
 */
import type { DeployMode, DriverSettings, DynamicAllocationSettings, ExecutorPolicy, SparkAppType } from "./settings";
import { formatCpuMilli, formatSparkMemory, parseSparkMemoryMiB, toMilli } from "../quantity";
import { parseSparkTimeMs } from "./units";

export interface WorkerShape {
  /** Worker nodes that may run executors. */
  count: number;
  /** What the kubelet reports as allocatable on each worker. */
  allocatable: { cpu: number; memoryMiB: number };
  /** The worker VM's configured size. */
  vm: { cpus: number; memoryMiB: number };
  /** CPU and memory requested on each worker by DaemonSets (CNI, kube-proxy, CSI, agents). */
  daemonSetRequests?: { cpu: number; memoryMiB: number };
}

export interface SizingPolicy {
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
}

export interface Utilization {
  /** Executors the sizing provides for (instances, or maxExecutors with dynamic allocation). */
  executors: number;
  /** Concurrent tasks: executors × spark.executor.cores (what spark.cores.max reports). */
  taskSlots: number;
  cpu: { requestedCores: number; allocatableCores: number; vmCores: number; ofAllocatable: number; ofVm: number };
  memory: { requestedMiB: number; allocatableMiB: number; vmMiB: number; ofAllocatable: number; ofVm: number };
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
  driver: {
    mode: DeployMode;
    /** Whether the driver pod fits a worker with no executor on it. */
    fitsOnEmptyWorker: boolean;
    /** Whether it fits in what the executors leave on a worker. */
    fitsBesideExecutors: boolean;
    /** Cluster mode: whether some worker can take it; client mode: true (the driver is not a pod). */
    placeable: boolean;
  };
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
    overheadMiB: number;
    offHeapMiB: number;
    pysparkMiB: number;
    dynamicAllocation?: { minExecutors: number; maxExecutors: number; initialExecutors: number };
  };
  driver: { cores: number; memoryMiB: number; overheadMiB: number };
}

/** Thrown when the policy cannot produce executors that fit the nodes; the message states the numbers. */
export class SizingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SizingError";
  }
}

/** An executor slot smaller than this many millicores counts as "nothing fits". */
export const MIN_EXECUTOR_CPU_MILLI = 1000;

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
  const pos = (field: string, v: unknown, integer = false) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      out.push({ field, message: `must be a positive ${integer ? "whole " : ""}number, got ${String(v)}` });
      return false;
    }
    return true;
  };
  pos("count", w?.count, true);
  const okCpu = pos("allocatable.cpu", w?.allocatable?.cpu);
  const okMem = pos("allocatable.memoryMiB", w?.allocatable?.memoryMiB, true);
  const okVmCpu = pos("vm.cpus", w?.vm?.cpus, true);
  const okVmMem = pos("vm.memoryMiB", w?.vm?.memoryMiB, true);
  if (okCpu && okVmCpu && w.allocatable.cpu > w.vm.cpus) {
    out.push({ field: "allocatable.cpu", message: `(${w.allocatable.cpu}) is more than the VM's ${w.vm.cpus} vCPUs` });
  }
  if (okMem && okVmMem && w.allocatable.memoryMiB > w.vm.memoryMiB) {
    out.push({ field: "allocatable.memoryMiB", message: `(${w.allocatable.memoryMiB}) is more than the VM's ${w.vm.memoryMiB} MiB` });
  }
  const ds = w?.daemonSetRequests;
  if (ds !== undefined) {
    for (const [k, v] of [["cpu", ds.cpu], ["memoryMiB", ds.memoryMiB]] as const) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) out.push({ field: `daemonSetRequests.${k}`, message: `must be a number ≥ 0, got ${String(v)}` });
    }
  }
  return out;
}

/** Sizes executors and the driver for the given workers and policy (see the rule at the top). */
export function sizeExecutors(workers: WorkerShape, policy: SizingPolicy): ExecutorSizing {
  const shapeErrors = workerShapeErrors(workers);
  if (shapeErrors.length > 0) {
    throw new SizingError(`invalid worker shape: ${shapeErrors.map((e) => `${e.field} ${e.message}`).join("; ")}`);
  }
  const ex = policy.executor;
  const E = ex.executorsPerNode;
  const ds = workers.daemonSetRequests ?? { cpu: 0, memoryMiB: 0 };
  const nodeCpuMilli = toMilli(workers.allocatable.cpu) - toMilli(ds.cpu);
  const nodeMemMiB = workers.allocatable.memoryMiB - ds.memoryMiB;
  const slotCpuMilli = Math.floor(nodeCpuMilli / E);
  const slotMemMiB = Math.floor(nodeMemMiB / E);
  const cpuWhere =
    `allocatable cpu ${workers.allocatable.cpu} − DaemonSets ${ds.cpu} = ${cores(nodeCpuMilli)} per node` +
    (E > 1 ? `, ${cores(slotCpuMilli)} per executor for ${E} executors per node` : "");
  const memWhere =
    `allocatable memory ${workers.allocatable.memoryMiB} MiB − DaemonSets ${ds.memoryMiB} MiB = ${nodeMemMiB} MiB per node` +
    (E > 1 ? `, ${slotMemMiB} MiB per executor for ${E} executors per node` : "");

  // CPU: task slots from the VM, the request from allocatable.
  const execCores = ex.cores ?? Math.floor((workers.vm.cpus - ex.coresLeftForSystem) / E);
  if (execCores < 1) {
    throw new SizingError(
      `no executor core left: (vm.cpus ${workers.vm.cpus} − coresLeftForSystem ${ex.coresLeftForSystem}) / executorsPerNode ${E} = ${r3((workers.vm.cpus - ex.coresLeftForSystem) / E)}, less than 1`,
    );
  }
  if (slotCpuMilli < MIN_EXECUTOR_CPU_MILLI) {
    throw new SizingError(`executor CPU does not fit: ${cpuWhere}; an executor needs at least ${cores(MIN_EXECUTOR_CPU_MILLI)} CPU`);
  }
  const cpuRequestMilli = Math.min(execCores * 1000, slotCpuMilli);
  const fractional = cpuRequestMilli < execCores * 1000;

  // Memory: the largest heap (a multiple of the granularity) whose pod fits the slot.
  const factor = ex.memoryOverheadFactor;
  const pysparkMiB = policy.appType === "python" ? ex.pysparkMemoryMiB : 0;
  const podFor = (heapMiB: number) =>
    executorPodMemoryMiB({ heapMiB, factor, minOverheadMiB: ex.minMemoryOverheadMiB, offHeapMiB: ex.offHeapMiB, pysparkMiB });
  let heapMiB: number;
  if (ex.memory !== undefined) {
    const h = parseSparkMemoryMiB(ex.memory);
    if (h === undefined) throw new SizingError(`executor memory "${ex.memory}" is not a Spark memory size`);
    heapMiB = h;
    if (podFor(heapMiB) > slotMemMiB) {
      throw new SizingError(
        `executor memory ${ex.memory} does not fit: its pod needs ${podFor(heapMiB)} MiB (heap ${heapMiB} + overhead ${memoryOverheadMiB(heapMiB, factor, ex.minMemoryOverheadMiB)}` +
          `${ex.offHeapMiB ? ` + off-heap ${ex.offHeapMiB}` : ""}${pysparkMiB ? ` + PySpark ${pysparkMiB}` : ""}) but ${memWhere}`,
      );
    }
  } else {
    const step = ex.heapGranularityGiB * 1024;
    let k = Math.floor(slotMemMiB / step);
    while (k >= 1 && podFor(k * step) > slotMemMiB) k--;
    if (k < 1) {
      throw new SizingError(
        `executor memory does not fit: the smallest heap, ${ex.heapGranularityGiB}g, needs a ${podFor(step)} MiB pod (factor ${factor}, minimum overhead ${ex.minMemoryOverheadMiB} MiB` +
          `${ex.offHeapMiB ? `, off-heap ${ex.offHeapMiB} MiB` : ""}${pysparkMiB ? `, PySpark ${pysparkMiB} MiB` : ""}) but ${memWhere}; lower executor.heapGranularityGiB or executorsPerNode`,
      );
    }
    heapMiB = k * step;
  }
  const overheadMiB = memoryOverheadMiB(heapMiB, factor, ex.minMemoryOverheadMiB);
  const execPodMiB = podFor(heapMiB);

  // Count.
  const slots = workers.count * E;
  const da = policy.dynamicAllocation;
  let instances = ex.instances ?? slots;
  if (instances > slots) {
    throw new SizingError(`executor.instances ${instances} is more than the ${slots} executor slots (${workers.count} workers × ${E} per node)`);
  }
  let dyn: { minExecutors: number; maxExecutors: number; initialExecutors: number } | undefined;
  const notes: string[] = [];
  if (da.enabled) {
    const maxExecutors = da.maxExecutors ?? slots;
    const minExecutors = da.minExecutors ?? Math.min(E, maxExecutors);
    const initialExecutors = da.initialExecutors ?? minExecutors;
    if (minExecutors > maxExecutors) throw new SizingError(`dynamic allocation: minExecutors ${minExecutors} is more than maxExecutors ${maxExecutors}`);
    if (initialExecutors < minExecutors || initialExecutors > maxExecutors) {
      throw new SizingError(`dynamic allocation: initialExecutors ${initialExecutors} is outside [${minExecutors}, ${maxExecutors}]`);
    }
    if (parseSparkTimeMs(da.shuffleTrackingTimeout) === undefined) {
      throw new SizingError(`dynamic allocation: shuffleTrackingTimeout "${da.shuffleTrackingTimeout}" is not a finite time`);
    }
    if (maxExecutors > slots) notes.push(`maxExecutors ${maxExecutors} is more than the ${slots} executor slots: the rest stay Pending unless nodes are added`);
    dyn = { minExecutors, maxExecutors, initialExecutors };
    instances = maxExecutors;
  }

  // Driver (a pod in cluster mode).
  const driverMiB = parseSparkMemoryMiB(policy.driver.memory);
  if (driverMiB === undefined) throw new SizingError(`driver memory "${policy.driver.memory}" is not a Spark memory size`);
  const driverOverheadMiB = memoryOverheadMiB(driverMiB, policy.driver.memoryOverheadFactor, 384);
  const driverPodMiB = driverMiB + driverOverheadMiB;
  const driverCpuMilli = policy.driver.cores * 1000;
  const executorsOnBusiestNode = Math.min(E, Math.ceil(instances / workers.count) || 0);
  const spareCpuMilli = nodeCpuMilli - executorsOnBusiestNode * cpuRequestMilli;
  const spareMemMiB = nodeMemMiB - executorsOnBusiestNode * execPodMiB;
  const fitsOnEmptyWorker = driverPodMiB <= nodeMemMiB && driverCpuMilli <= nodeCpuMilli;
  const fitsBesideExecutors = driverPodMiB <= spareMemMiB && driverCpuMilli <= spareCpuMilli;
  const emptyWorkers = workers.count - Math.ceil(instances / E);
  const placeable = policy.deployMode === "client" || fitsBesideExecutors || (emptyWorkers > 0 && fitsOnEmptyWorker);
  if (fractional) {
    notes.push(
      `spark.executor.cores ${execCores} does not fit the CPU a worker offers (${cpuWhere}): the pod requests ${formatCpuMilli(cpuRequestMilli)} (spark.kubernetes.executor.request.cores) and keeps ${execCores} task slots`,
    );
  }
  if (!placeable) {
    notes.push(
      `cluster mode: the driver pod (${driverPodMiB} MiB, ${policy.driver.cores} CPU) does not fit beside the executors on any worker ` +
        `(${spareMemMiB} MiB and ${cores(spareCpuMilli)} CPU spare per worker): it needs another node (e.g. an infra or control-plane node it tolerates), fewer executors, or client mode`,
    );
  }

  // Spark properties.
  const conf: Record<string, string> = {};
  if (!dyn) conf["spark.executor.instances"] = String(instances);
  conf["spark.executor.cores"] = String(execCores);
  conf["spark.executor.memory"] = formatSparkMemory(heapMiB);
  conf["spark.executor.memoryOverheadFactor"] = String(factor);
  if (ex.minMemoryOverheadMiB !== 384) conf["spark.executor.minMemoryOverhead"] = `${ex.minMemoryOverheadMiB}m`;
  if (fractional) conf["spark.kubernetes.executor.request.cores"] = formatCpuMilli(cpuRequestMilli);
  if (ex.offHeapMiB > 0) {
    conf["spark.memory.offHeap.enabled"] = "true";
    conf["spark.memory.offHeap.size"] = `${ex.offHeapMiB}m`;
  }
  if (pysparkMiB > 0) conf["spark.executor.pyspark.memory"] = `${pysparkMiB}m`;
  conf["spark.driver.memory"] = formatSparkMemory(driverMiB);
  conf["spark.driver.cores"] = String(policy.driver.cores);
  conf["spark.driver.memoryOverheadFactor"] = String(policy.driver.memoryOverheadFactor);
  conf["spark.cores.max"] = String(instances * execCores);
  conf["spark.dynamicAllocation.enabled"] = String(da.enabled);
  if (dyn) {
    conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true";
    conf["spark.dynamicAllocation.shuffleTracking.timeout"] = da.shuffleTrackingTimeout;
    conf["spark.dynamicAllocation.minExecutors"] = String(dyn.minExecutors);
    conf["spark.dynamicAllocation.maxExecutors"] = String(dyn.maxExecutors);
    conf["spark.dynamicAllocation.initialExecutors"] = String(dyn.initialExecutors);
    conf["spark.dynamicAllocation.executorIdleTimeout"] = da.executorIdleTimeout;
  }

  const reqCpuMilli = instances * cpuRequestMilli;
  const reqMemMiB = instances * execPodMiB;
  const allocCpuMilli = workers.count * toMilli(workers.allocatable.cpu);
  const allocMemMiB = workers.count * workers.allocatable.memoryMiB;
  const vmCpuMilli = workers.count * workers.vm.cpus * 1000;
  const vmMemMiB = workers.count * workers.vm.memoryMiB;

  return {
    conf,
    executorPod: { cpuRequest: formatCpuMilli(cpuRequestMilli), memoryMiB: execPodMiB },
    driverPod: { cpuRequest: formatCpuMilli(driverCpuMilli), memoryMiB: driverPodMiB },
    utilization: {
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
    },
    fit: {
      verdict: fractional ? "fits-with-fractional-cpu-request" : "fits",
      perNode: {
        executors: E,
        cpuAvailableMilli: nodeCpuMilli,
        memoryAvailableMiB: nodeMemMiB,
        cpuRequestedMilli: E * cpuRequestMilli,
        memoryRequestedMiB: E * execPodMiB,
        cpuSpareMilli: nodeCpuMilli - E * cpuRequestMilli,
        memorySpareMiB: nodeMemMiB - E * execPodMiB,
      },
      driver: { mode: policy.deployMode, fitsOnEmptyWorker, fitsBesideExecutors, placeable },
      notes,
    },
    executor: {
      instances,
      cores: execCores,
      cpuRequestMilli,
      heapMiB,
      overheadMiB,
      offHeapMiB: ex.offHeapMiB,
      pysparkMiB,
      ...(dyn ? { dynamicAllocation: dyn } : {}),
    },
    driver: { cores: policy.driver.cores, memoryMiB: driverMiB, overheadMiB: driverOverheadMiB },
  };
}
