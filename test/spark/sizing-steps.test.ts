/**
 * The sizing's named steps, each with exact, rounded and limit-case tables (in the style of awsx's
 * fargateMemoryAndCpu.test.ts). Pod formulas: schemas/spark/SIZING.md (Spark's
 * BasicExecutorFeatureStep / ResourceProfile).
 */
import * as assert from "node:assert/strict";
import {
  SizingError,
  driverFit,
  executorCores,
  executorCount,
  executorCpuRequest,
  executorHeap,
  nodeRoom,
  sizingConf,
  utilization,
} from "../../components/spark";
import { referenceWorkers, settingsOf } from "./helpers";

const throwsField = (f: () => unknown, field: string, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof SizingError && e.field === field && message.test(e.message));

describe("spark sizing steps: nodeRoom", () => {
  const table: [string, Parameters<typeof nodeRoom>, { nodeCpuMilli: number; nodeMemMiB: number; slotCpuMilli: number; slotMemMiB: number }][] = [
    // 15.8 − DaemonSets 0.4 (Antrea's agent) − add-on pods 0.4 (CoreDNS × 2, antrea-controller) = 15;
    // 118176 MiB − 0 − 240 = 117936.
    ["exact: reference worker, one executor", [referenceWorkers(16), 1], { nodeCpuMilli: 15000, nodeMemMiB: 117936, slotCpuMilli: 15000, slotMemMiB: 117936 }],
    ["rounded down: two executors, odd MiB", [{ ...referenceWorkers(1), allocatable: { cpu: 15.8, memoryMiB: 118177 } }, 2], { nodeCpuMilli: 15000, nodeMemMiB: 117937, slotCpuMilli: 7500, slotMemMiB: 58968 }],
    ["rounded: binary fractions of CPU do not shave a millicore", [{ ...referenceWorkers(1), allocatable: { cpu: 0.3, memoryMiB: 1000 }, daemonSetRequests: { cpu: 0.1, memoryMiB: 0 }, addOnPods: { cpu: 0, memoryMiB: 0 } }, 1], { nodeCpuMilli: 200, nodeMemMiB: 1000, slotCpuMilli: 200, slotMemMiB: 1000 }],
    ["limit: DaemonSets take everything", [{ ...referenceWorkers(1), daemonSetRequests: { cpu: 15.8, memoryMiB: 118176 }, addOnPods: undefined }, 3], { nodeCpuMilli: 0, nodeMemMiB: 0, slotCpuMilli: 0, slotMemMiB: 0 }],
    // The History Server (250m / 1536 MiB) may land on any worker: every worker keeps its room.
    ["the History Server is counted on every worker", [referenceWorkers(16), 1, [{ name: "History Server", cpuMilli: 250, memoryMiB: 1536 }]], { nodeCpuMilli: 14750, nodeMemMiB: 116400, slotCpuMilli: 14750, slotMemMiB: 116400 }],
    ["no add-on pods reported (a cluster that is not ours): DaemonSets only", [{ ...referenceWorkers(1), addOnPods: undefined }, 1], { nodeCpuMilli: 15400, nodeMemMiB: 118176, slotCpuMilli: 15400, slotMemMiB: 118176 }],
  ];
  for (const [name, args, want] of table) {
    it(name, () => {
      const r = nodeRoom(...args);
      assert.deepEqual({ nodeCpuMilli: r.nodeCpuMilli, nodeMemMiB: r.nodeMemMiB, slotCpuMilli: r.slotCpuMilli, slotMemMiB: r.slotMemMiB }, want);
    });
  }
});

describe("spark sizing steps: executorCores", () => {
  const table: [string, number, { executorsPerNode: number; coresLeftForSystem: number; cores?: number }, number][] = [
    ["exact: 16 vCPU − 1 → 15", 16, { executorsPerNode: 1, coresLeftForSystem: 1 }, 15],
    ["rounded down: (16 − 1) / 2 = 7.5 → 7", 16, { executorsPerNode: 2, coresLeftForSystem: 1 }, 7],
    ["rounded down: fractional reserve (16 − 0.5) / 1 → 15", 16, { executorsPerNode: 1, coresLeftForSystem: 0.5 }, 15],
    ["limit: exactly one core left", 2, { executorsPerNode: 1, coresLeftForSystem: 1 }, 1],
    ["explicit cores win", 16, { executorsPerNode: 1, coresLeftForSystem: 1, cores: 8 }, 8],
    ["limit: explicit cores equal to the vCPUs", 16, { executorsPerNode: 1, coresLeftForSystem: 1, cores: 16 }, 16],
  ];
  for (const [name, cpus, p, want] of table) it(name, () => assert.equal(executorCores(cpus, p), want));
  it("limit: no core left names executor.coresLeftForSystem", () => throwsField(() => executorCores(2, { executorsPerNode: 2, coresLeftForSystem: 1 }), "executor.coresLeftForSystem", /= 0\.5, less than 1/));
  it("limit: more cores than vCPUs names executor.cores", () => throwsField(() => executorCores(16, { executorsPerNode: 1, coresLeftForSystem: 1, cores: 17 }), "executor.cores", /17 is more than the worker VM's 16 vCPUs/));
});

describe("spark sizing steps: executorCpuRequest", () => {
  const table: [string, number, number, { cpuRequestMilli: number; fractional: boolean }][] = [
    ["exact: 15 cores in a 15.5 CPU slot", 15, 15500, { cpuRequestMilli: 15000, fractional: false }],
    ["limit: the slot is exactly the cores", 15, 15000, { cpuRequestMilli: 15000, fractional: false }],
    ["rounded: 15 cores in a 14.9 CPU slot request 14900m", 15, 14900, { cpuRequestMilli: 14900, fractional: true }],
    ["limit: exactly one CPU", 4, 1000, { cpuRequestMilli: 1000, fractional: true }],
    // Spark takes any request.cores quantity (SIZING.md): under one CPU the request is fractional
    // and spark.executor.cores keeps its whole task slot.
    ["under one CPU: 1 core in a 999m slot requests 999m", 1, 999, { cpuRequestMilli: 999, fractional: true }],
    ["under one CPU: 2 cores in a 500m slot request 500m", 2, 500, { cpuRequestMilli: 500, fractional: true }],
    ["limit: the smallest quantity, 1m", 1, 1, { cpuRequestMilli: 1, fractional: true }],
  ];
  for (const [name, c, slot, want] of table) it(name, () => assert.deepEqual(executorCpuRequest(c, { slotCpuMilli: slot, cpuWhere: "" }), want));
  it("limit: a slot of 0m names executor.executorsPerNode", () => throwsField(() => executorCpuRequest(1, { slotCpuMilli: 0, cpuWhere: "w" }), "executor.executorsPerNode", /needs at least 1m CPU/));
});

describe("spark sizing steps: executorHeap", () => {
  const jvm = { factor: 0.1, minOverheadMiB: 384, offHeapMiB: 0, pysparkMiB: 0 };
  const table: [string, number, Parameters<typeof executorHeap>[1], { heapMiB: number; largestHeapMiB: number; overheadMiB: number; podMiB: number }][] = [
    ["exact: the paper's 100g at a 10 GiB step", 117664, { ...jvm, heapStepMiB: 10240 }, { heapMiB: 102400, largestHeapMiB: 106968, overheadMiB: 10240, podMiB: 112640 }],
    ["rounded down to the 1 GiB step: 104g", 117664, { ...jvm, heapStepMiB: 1024 }, { heapMiB: 106496, largestHeapMiB: 106968, overheadMiB: 10649, podMiB: 117145 }],
    ["limit: a slot of exactly the pod", 112640, { ...jvm, heapStepMiB: 10240 }, { heapMiB: 102400, largestHeapMiB: 102400, overheadMiB: 10240, podMiB: 112640 }],
    ["limit: one MiB short drops a whole step", 112639, { ...jvm, heapStepMiB: 10240 }, { heapMiB: 92160, largestHeapMiB: 102399, overheadMiB: 9216, podMiB: 101376 }],
    ["floor: 384 MiB decides below 3840 MiB", 1408, { ...jvm, heapStepMiB: 1024 }, { heapMiB: 1024, largestHeapMiB: 1024, overheadMiB: 384, podMiB: 1408 }],
    ["Python 0.4 with PySpark and off-heap terms", 60000, { factor: 0.4, minOverheadMiB: 384, offHeapMiB: 2048, pysparkMiB: 2048, heapStepMiB: 1024 }, { heapMiB: 38912, largestHeapMiB: 39932, overheadMiB: 15564, podMiB: 58572 }],
    ["explicit heap", 117664, { ...jvm, heapStepMiB: 10240, memory: "96g" }, { heapMiB: 98304, largestHeapMiB: 106968, overheadMiB: 9830, podMiB: 108134 }],
  ];
  for (const [name, slot, h, want] of table) {
    it(name, () => {
      const got = executorHeap({ slotMemMiB: slot, memWhere: "" }, h);
      assert.deepEqual(got, want);
    });
  }
  it("limit: nothing fits at the step names executor.heapGranularityGiB", () =>
    throwsField(() => executorHeap({ slotMemMiB: 11263, memWhere: "w" }, { ...jvm, heapStepMiB: 10240 }), "executor.heapGranularityGiB", /smallest heap, 10g, needs a 11264 MiB pod/));
  it("an explicit heap that does not fit names executor.memory and the largest that would", () =>
    throwsField(() => executorHeap({ slotMemMiB: 117664, memWhere: "w" }, { ...jvm, heapStepMiB: 1024, memory: "110g" }), "executor.memory", /needs 123904 MiB .* the largest heap that fits is 106968 MiB/));
});

describe("spark sizing steps: executorCount", () => {
  const off = settingsOf().dynamicAllocation;
  it("exact: one per worker", () => assert.deepEqual(executorCount(16, 1, undefined, off), { instances: 16, notes: [] }));
  it("fewer on request", () => assert.equal(executorCount(16, 1, 15, off).instances, 15));
  it("limit: all slots", () => assert.equal(executorCount(8, 2, 16, off).instances, 16));
  it("limit: one over names executor.instances", () => throwsField(() => executorCount(8, 2, 17, off), "executor.instances", /17 is more than the 16 executor slots/));
  it("dynamic allocation: bounds from the slots", () => {
    const da = settingsOf({ dynamicAllocation: { enabled: true } }).dynamicAllocation;
    assert.deepEqual(executorCount(8, 2, undefined, da).dynamicAllocation, { minExecutors: 2, maxExecutors: 16, initialExecutors: 2 });
  });
});

describe("spark sizing steps: driverFit", () => {
  const base = { mode: "cluster" as const, driverPodMiB: 45056, driverCpuMilli: 1000, workers: 16, executorsPerNode: 1, instances: 16, executorPodMiB: 112640, executorCpuMilli: 15000, dynamic: false };
  const room = { nodeCpuMilli: 15500, nodeMemMiB: 117664 };
  it("client mode: the driver is not a pod, every slot can start", () => {
    assert.deepEqual(driverFit({ ...base, mode: "client" }, room).fit, { mode: "client", fitsOnEmptyWorker: true, fitsBesideExecutors: false, placeable: true, executorsBesideDriver: 1, startableExecutors: 16 });
  });
  it("exact: 15 instances leave the driver a worker of its own", () => {
    const f = driverFit({ ...base, instances: 15 }, room).fit;
    assert.deepEqual([f.executorsBesideDriver, f.startableExecutors, f.fitsBesideExecutors], [0, 15, false]);
  });
  it("limit: the 16th executor cannot start, named executor.instances", () => throwsField(() => driverFit(base, room), "executor.instances", /only 15 of 16 executors can start/));
  it("limit: a driver exactly the size of a worker fits", () => assert.equal(driverFit({ ...base, driverPodMiB: 117664, instances: 15 }, room).fit.fitsOnEmptyWorker, true));
  it("limit: one MiB more can never be scheduled, named driver.memory", () => throwsField(() => driverFit({ ...base, driverPodMiB: 117665, instances: 15 }, room), "driver.memory", /can never be scheduled/));
  it("CPU too: a 16-core driver names driver.cores", () => throwsField(() => driverFit({ ...base, driverCpuMilli: 16000, instances: 15 }, room), "driver.cores", /needs 16 CPU/));
  it("two executors per node: an 8g driver (9011 MiB) displaces one of them; a 4g one (4480 MiB) none", () => {
    const f = driverFit({ ...base, executorsPerNode: 2, instances: 15, workers: 8, executorPodMiB: 56320, executorCpuMilli: 7000, driverPodMiB: 9011 }, room).fit;
    assert.deepEqual([f.executorsBesideDriver, f.startableExecutors], [1, 15]);
    const small = driverFit({ ...base, executorsPerNode: 2, instances: 16, workers: 8, executorPodMiB: 56320, executorCpuMilli: 7000, driverPodMiB: 4480 }, room).fit;
    assert.deepEqual([small.executorsBesideDriver, small.startableExecutors], [2, 16]);
  });
  it("dynamic allocation: displaced executors are a note", () => assert.match(driverFit({ ...base, dynamic: true }, room).notes[0], /only 15 of 16/));
});

describe("spark sizing steps: sizingConf and utilization", () => {
  const s = settingsOf();
  const c = {
    instances: 16, cores: 15, cpuRequestMilli: 15000, fractional: false, heapMiB: 102400, factor: 0.1, minOverheadMiB: 384,
    offHeapMiB: 0, pysparkMiB: 0, driverMiB: 40960, driver: s.driver, da: s.dynamicAllocation,
  };
  it("exact: the paper's properties", () => {
    assert.deepEqual(sizingConf(c), {
      "spark.executor.instances": "16",
      "spark.executor.cores": "15",
      "spark.executor.memory": "100g",
      "spark.executor.memoryOverheadFactor": "0.1",
      "spark.driver.memory": "40g",
      "spark.driver.cores": "1",
      "spark.driver.memoryOverheadFactor": "0.1",
      "spark.cores.max": "240",
      "spark.dynamicAllocation.enabled": "false",
    });
  });
  it("rounded: a heap that is not whole GiB is written in MiB; a fractional request in millicores", () => {
    const conf = sizingConf({ ...c, heapMiB: 106968, fractional: true, cpuRequestMilli: 14900, explicitOverheadMiB: 12000, minOverheadMiB: 512 });
    assert.equal(conf["spark.executor.memory"], "106968m");
    assert.equal(conf["spark.kubernetes.executor.request.cores"], "14900m");
    assert.equal(conf["spark.executor.memoryOverhead"], "12000m");
    assert.equal(conf["spark.executor.minMemoryOverhead"], "512m");
  });
  it("utilization: requested against allocatable and the VMs", () => {
    const u = utilization(referenceWorkers(16), 16, 15, 15000, 112640);
    assert.equal(u.cpu.ofAllocatable, Math.round((240 / (16 * 15.8)) * 10000) / 10000);
    assert.equal(u.memory.ofAllocatable, Math.round((112640 / 118176) * 10000) / 10000);
    assert.equal(u.taskSlots, 240);
  });
});
