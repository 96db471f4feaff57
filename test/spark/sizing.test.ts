import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import {
  SizingError,
  WorkerShape,
  driverPodMemoryMiB,
  executorPodMemoryMiB,
  memoryOverheadMiB,
  planSpark,
  sizeExecutors,
  sizingPolicy,
} from "../../components/spark";
import { parseCpuMilli, parseSparkMemoryMiB } from "../../components/quantity";
import { PAPER, denseWorkers, referenceWorkers, settingsOf } from "./helpers";

const size = (workers: WorkerShape, raw: unknown = {}) => sizeExecutors(workers, sizingPolicy(settingsOf(raw)));

describe("spark sizing: Spark's pod formulas (SIZING.md)", () => {
  it("executor pod = heap + max(trunc(factor × heap), min) + off-heap + PySpark", () => {
    assert.equal(executorPodMemoryMiB({ heapMiB: 102400, factor: 0.1, minOverheadMiB: 384, offHeapMiB: 0, pysparkMiB: 0 }), 112640);
    assert.equal(executorPodMemoryMiB({ heapMiB: 102400, factor: 0.4, minOverheadMiB: 384, offHeapMiB: 0, pysparkMiB: 0 }), 143360);
    assert.equal(executorPodMemoryMiB({ heapMiB: 98304, factor: 0.1, minOverheadMiB: 384, offHeapMiB: 0, pysparkMiB: 0 }), 108134);
    assert.equal(executorPodMemoryMiB({ heapMiB: 1024, factor: 0.1, minOverheadMiB: 384, offHeapMiB: 512, pysparkMiB: 256 }), 1024 + 384 + 512 + 256);
    assert.equal(memoryOverheadMiB(10240, 0.33, 384), 3379, "trunc, not round (3379.2)");
    assert.equal(memoryOverheadMiB(10000, 0.12345, 384), 1234, "trunc of 1234.5");
    assert.equal(memoryOverheadMiB(2048, 0.1, 384), 384, "the 384 MiB floor");
    assert.equal(driverPodMemoryMiB(40960, 0.1), 45056);
    assert.equal(driverPodMemoryMiB(1024, 0.4), 1433, "trunc(409.6) = 409 is above the floor");
  });
});

describe("spark sizing: table", () => {
  // The paper's scaling runs: 16, 12, 8 and 4 workers, one executor each, identical executors, on
  // honest node capacity (the kernel's share subtracted) and the paper's 10 GiB heap step.
  for (const n of [16, 12, 8, 4]) {
    it(`reference topology, ${n} workers → ${n} × (15 cores, 100g), driver 40g (client mode, heap step 10g)`, () => {
      const z = size(referenceWorkers(n), { ...PAPER, deployMode: "client" });
      assert.equal(z.conf["spark.executor.instances"], String(n));
      assert.equal(z.conf["spark.executor.cores"], "15");
      assert.equal(z.conf["spark.executor.memory"], "100g");
      assert.equal(z.conf["spark.driver.memory"], "40g");
      assert.equal(z.conf["spark.cores.max"], String(15 * n));
      assert.equal(z.conf["spark.kubernetes.executor.request.cores"], undefined);
      assert.deepEqual(z.executorPod, { cpuRequest: "15", memoryMiB: 112640 });
      assert.deepEqual(z.driverPod, { cpuRequest: "1", memoryMiB: 45056 });
      assert.equal(z.fit.verdict, "fits");
      // The margin against honest capacity: 122880 − 2156 (kernel) − 2548 (kubelet) − 512 (DaemonSets) − 112640.
      assert.equal(z.fit.perNode.memoryAvailableMiB, 117936);
      assert.equal(z.fit.perNode.memorySpareMiB, 117936 - 112640);
      assert.equal(z.executor.largestHeapMiB, 107215, "the largest heap that fits, shown beside the chosen 100g");
      assert.equal(z.utilization.taskSlots, 15 * n);
      assert.equal(z.utilization.cpu.ofAllocatable, Math.round((15 / 15.8) * 10000) / 10000);
      assert.equal(z.utilization.memory.requestedMiB, 112640 * n);
      assert.equal(z.utilization.memory.ofVm, Math.round((112640 / 122880) * 10000) / 10000);
    });
  }

  it("library default heap step (1 GiB): the reference workers get 104g, the largest whole GiB that fits", () => {
    const z = size(referenceWorkers(16), { deployMode: "client" });
    assert.equal(z.conf["spark.executor.memory"], "104g");
    assert.equal(z.executorPod.memoryMiB, 106496 + 10649);
    assert.ok(z.executorPod.memoryMiB <= 117936);
    const next = 105 * 1024;
    assert.ok(next + Math.trunc(0.1 * next) > 117936, "105g would not fit");
  });

  it("the reference stack in cluster mode says that its 16th executor cannot start (the 40g driver takes a worker's room)", () => {
    assert.throws(
      () => size(referenceWorkers(16), PAPER),
      (e: unknown) =>
        e instanceof SizingError &&
        e.field === "executor.instances" &&
        /driver pod \(45056 MiB, 1 CPU\) is scheduled first and leaves room for 0 of 1 executor\(s\) on its worker, so only 15 of 16 executors can start/.test(e.message) &&
        /set executor\.instances to 15/.test(e.message),
    );
    const fifteen = size(referenceWorkers(16), { ...PAPER, executor: { ...PAPER.executor, instances: 15 } });
    assert.equal(fifteen.fit.driver.startableExecutors, 15);
    assert.equal(fifteen.fit.driver.executorsBesideDriver, 0);
    assert.equal(fifteen.conf["spark.executor.memory"], "100g");
    // A 4g driver still blocks one executor: 1 CPU + 15 CPU is more than the 15.5 CPU a worker offers.
    assert.throws(() => size(referenceWorkers(16), { ...PAPER, driver: { memory: "4g" } }), /leaves room for 0 of 1 executor/);
    // With 14-core executors it fits beside one: all 16 start.
    const small = size(referenceWorkers(16), { ...PAPER, executor: { ...PAPER.executor, cores: 14 }, driver: { memory: "4g" } });
    assert.equal(small.fit.driver.startableExecutors, 16);
    assert.equal(small.fit.driver.fitsBesideExecutors, true);
  });

  it("a cluster-mode driver larger than any worker is an error naming driver.memory", () => {
    assert.throws(
      () => size(referenceWorkers(4), { driver: { memory: "120g" } }),
      (e: unknown) => e instanceof SizingError && e.field === "driver.memory" && /can never be scheduled: it needs 135168 MiB but a worker offers 117936 MiB/.test(e.message),
    );
    assert.doesNotThrow(() => size(referenceWorkers(4), { deployMode: "client", driver: { memory: "120g" } }), "client mode: the driver is not a pod");
  });

  it("the dense shape (32 vCPU / 256 GiB, two Python executors per node) is not called fits when it would not fit", () => {
    const dense = { appType: "python", deployMode: "client", executor: { executorsPerNode: 2 } };
    // What the VM's RAM alone would suggest: no kernel share subtracted.
    const naive: WorkerShape = { ...denseWorkers(8), allocatable: { cpu: 31.8, memoryMiB: 262144 - 2048 - 500 } };
    assert.equal(size(naive, dense).conf["spark.executor.memory"], "90g");
    assert.equal(size(naive, { ...dense, executor: { ...dense.executor, heapGranularityGiB: 10 } }).conf["spark.executor.memory"], "90g");
    // Honest capacity: 88g at the 1 GiB step, 80g at the 10 GiB step; a fixed 90g is refused.
    const honest = size(denseWorkers(8), dense);
    assert.equal(honest.conf["spark.executor.memory"], "88g");
    assert.equal(honest.executorPod.memoryMiB, 90112 + Math.trunc(0.4 * 90112));
    assert.ok(2 * honest.executorPod.memoryMiB <= 255168 - 512);
    assert.equal(size(denseWorkers(8), { ...dense, executor: { ...dense.executor, heapGranularityGiB: 10 } }).conf["spark.executor.memory"], "80g");
    assert.throws(
      () => size(denseWorkers(8), { ...dense, executor: { ...dense.executor, memory: "90g" } }),
      (e: unknown) => e instanceof SizingError && e.field === "executor.memory" && /its pod needs 129024 MiB .* 127464 MiB per executor for 2 executors per node/.test(e.message),
    );
  });

  it("PySpark memory: in the pod in cluster mode; in client mode carried by an explicit overhead (SIZING.md: only a Python submission adds it)", () => {
    const raw = { appType: "python", executor: { pysparkMemoryMiB: 2048, heapGranularityGiB: 10 } };
    const cluster = size(referenceWorkers(4), { ...raw, executor: { ...raw.executor, instances: 3 } });
    assert.equal(cluster.conf["spark.executor.pyspark.memory"], "2048m");
    assert.equal(cluster.conf["spark.executor.memoryOverhead"], undefined);
    const client = size(referenceWorkers(4), { ...raw, deployMode: "client" });
    assert.equal(client.conf["spark.executor.memory"], "80g");
    assert.equal(client.conf["spark.executor.memoryOverhead"], `${32768 + 2048}m`);
    // The pod Spark builds in client mode (no Python term): heap + explicit overhead = the sized pod.
    assert.equal(81920 + 32768 + 2048, client.executorPod.memoryMiB);
  });

  const cases: { name: string; workers: WorkerShape; raw?: unknown; cores: string; memory: string; request?: string; pod: number; verdict: string }[] = [
    {
      name: "fractional request: allocatable 15.2 CPU − 400m DaemonSets − 400m add-on pods leaves 14.4 → request 14400m, 15 task slots",
      workers: { ...referenceWorkers(16), allocatable: { cpu: 15.2, memoryMiB: 118176 } },
      raw: { ...PAPER, deployMode: "client" },
      cores: "15", memory: "100g", request: "14400m", pod: 112640, verdict: "fits-with-fractional-cpu-request",
    },
    {
      name: "under one CPU: 0.9 allocatable CPU per node → request 900m, 1 task slot (Spark takes any request.cores)",
      workers: { count: 4, allocatable: { cpu: 0.9, memoryMiB: 118176 }, vm: { cpus: 2, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0, memoryMiB: 0 } },
      raw: { ...PAPER, deployMode: "client", executor: { heapGranularityGiB: 10 } },
      cores: "1", memory: "100g", request: "900m", pod: 112640, verdict: "fits-with-fractional-cpu-request",
    },
    {
      name: "two executors per node on the reference VMs: 7 cores, 50g at the 10 GiB step",
      workers: referenceWorkers(8),
      raw: { ...PAPER, deployMode: "client", executor: { executorsPerNode: 2, heapGranularityGiB: 10 } },
      cores: "7", memory: "50g", pod: 56320, verdict: "fits",
    },
    {
      name: "small node where the 384 MiB floor decides: 1g heap → 1408 MiB pod",
      workers: { count: 2, allocatable: { cpu: 2, memoryMiB: 2000 }, vm: { cpus: 2, memoryMiB: 2048 }, daemonSetRequests: { cpu: 0, memoryMiB: 0 } },
      raw: { deployMode: "client", driver: { memory: "1g" } },
      cores: "1", memory: "1g", pod: 1408, verdict: "fits",
    },
    {
      name: "explicit heap 96g (SIZING.md's planning example): 108134 MiB",
      workers: referenceWorkers(16), raw: { deployMode: "client", executor: { memory: "96g" } },
      cores: "15", memory: "96g", pod: 108134, verdict: "fits",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const z = size(c.workers, c.raw);
      assert.equal(z.conf["spark.executor.cores"], c.cores);
      assert.equal(z.conf["spark.executor.memory"], c.memory);
      assert.equal(z.conf["spark.kubernetes.executor.request.cores"], c.request);
      assert.equal(z.executorPod.cpuRequest, c.request ?? c.cores);
      assert.equal(z.executorPod.memoryMiB, c.pod);
      assert.equal(z.fit.verdict, c.verdict);
      const E = z.fit.perNode.executors;
      assert.equal(z.conf["spark.executor.instances"], String(c.workers.count * E));
    });
  }

  const noDs = { cpu: 0, memoryMiB: 0 };
  const failures: { name: string; workers: WorkerShape; raw?: unknown; field: string; message: RegExp }[] = [
    {
      name: "memory: a 10g heap needs 11264 MiB but the node offers 10000",
      workers: { count: 4, allocatable: { cpu: 16, memoryMiB: 10000 }, vm: { cpus: 16, memoryMiB: 12288 }, daemonSetRequests: noDs },
      raw: { executor: { heapGranularityGiB: 10 } },
      field: "executor.heapGranularityGiB",
      message: /smallest heap, 10g, needs a 11264 MiB pod.*allocatable memory 10000 MiB − DaemonSets 0 MiB = 10000 MiB per node/,
    },
    {
      name: "CPU: the DaemonSets take all 0.9 allocatable CPU of a node",
      workers: { count: 4, allocatable: { cpu: 0.9, memoryMiB: 118176 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.9, memoryMiB: 0 } },
      field: "executor.executorsPerNode",
      message: /executor CPU does not fit: allocatable cpu 0\.9 − DaemonSets 0\.9 = 0 per node; an executor needs at least 1m CPU/,
    },
    {
      name: "CPU: no core left after coresLeftForSystem",
      workers: { count: 4, allocatable: { cpu: 2, memoryMiB: 118176 }, vm: { cpus: 2, memoryMiB: 122880 }, daemonSetRequests: noDs },
      raw: { executor: { coresLeftForSystem: 2 } },
      field: "executor.coresLeftForSystem",
      message: /no executor core left: \(vm\.cpus 2 − coresLeftForSystem 2\) \/ executorsPerNode 1 = 0, less than 1/,
    },
    {
      name: "explicit 110g heap: its 123904 MiB pod exceeds the 117936 MiB a node offers",
      workers: referenceWorkers(16),
      raw: { deployMode: "client", executor: { memory: "110g" } },
      field: "executor.memory",
      message: /executor memory 110g does not fit: its pod needs 123904 MiB .* = 117936 MiB per node; the largest heap that fits is 107215 MiB/,
    },
    {
      name: "more instances than executor slots",
      workers: referenceWorkers(4),
      raw: { executor: { instances: 5 } },
      field: "executor.instances",
      message: /executor\.instances 5 is more than the 4 executor slots/,
    },
  ];
  for (const f of failures) {
    it(`nothing fits → error naming ${f.field} with the numbers (${f.name})`, () => {
      assert.throws(() => size(f.workers, f.raw), (e: unknown) => e instanceof SizingError && e.field === f.field && f.message.test(e.message));
    });
  }

  it("dynamic allocation: shuffle tracking with a finite timeout, min/max from the cluster, no fixed instances", () => {
    const z = size(referenceWorkers(16), { deployMode: "client", dynamicAllocation: { enabled: true } });
    assert.equal(z.conf["spark.executor.instances"], undefined);
    assert.equal(z.conf["spark.dynamicAllocation.enabled"], "true");
    assert.equal(z.conf["spark.dynamicAllocation.shuffleTracking.enabled"], "true");
    assert.equal(z.conf["spark.dynamicAllocation.shuffleTracking.timeout"], "30min");
    assert.equal(z.conf["spark.dynamicAllocation.minExecutors"], "1");
    assert.equal(z.conf["spark.dynamicAllocation.maxExecutors"], "16");
    assert.equal(z.conf["spark.dynamicAllocation.initialExecutors"], "1");
    assert.equal(z.conf["spark.cores.max"], "240");
    assert.equal(z.utilization.executors, 16);
    const two = size(referenceWorkers(8), { deployMode: "client", executor: { executorsPerNode: 2 }, dynamicAllocation: { enabled: true, shuffleTrackingTimeout: "10min" } });
    assert.equal(two.conf["spark.dynamicAllocation.minExecutors"], "2");
    assert.equal(two.conf["spark.dynamicAllocation.maxExecutors"], "16");
    assert.equal(two.conf["spark.dynamicAllocation.shuffleTracking.timeout"], "10min");
    const off = size(referenceWorkers(8), { deployMode: "client" });
    assert.equal(off.conf["spark.dynamicAllocation.enabled"], "false");
    assert.equal(off.conf["spark.dynamicAllocation.shuffleTracking.timeout"], undefined);
    // Cluster mode: the executors the driver displaces are a note (dynamic allocation keeps them Pending).
    const cl = size(referenceWorkers(16), { dynamicAllocation: { enabled: true } });
    assert.match(cl.fit.notes.join("\n"), /only 15 of 16 executors can start; dynamic allocation keeps the rest Pending/);
  });

  it("nodeAllocatable overrides what the cluster layer reported", () => {
    const s = settingsOf({ deployMode: "client", nodeAllocatable: { cpu: 14.5, memoryMiB: 119308 } });
    const plan = planSpark(s, referenceWorkers(16));
    assert.equal(plan.conf["spark.kubernetes.executor.request.cores"], "13700m", "14.5 − 0.4 DaemonSets − 0.4 add-on pods");
    assert.equal(plan.workers.allocatable.memoryMiB, 119308);
  });
});

// ---------------------------------------------------------------------------------------------

const shapeArb = fc
  .record({
    count: fc.integer({ min: 1, max: 64 }),
    cpus: fc.integer({ min: 1, max: 64 }),
    memGiB: fc.integer({ min: 2, max: 512 }),
    reservedCpuMilli: fc.integer({ min: 0, max: 2500 }),
    reservedMemMiB: fc.integer({ min: 100, max: 12000 }),
    dsCpuMilli: fc.integer({ min: 0, max: 1000 }),
    dsMemMiB: fc.integer({ min: 0, max: 4096 }),
  })
  .filter((r) => r.cpus * 1000 > r.reservedCpuMilli && r.memGiB * 1024 > r.reservedMemMiB)
  .map(
    (r): WorkerShape => ({
      count: r.count,
      vm: { cpus: r.cpus, memoryMiB: r.memGiB * 1024 },
      allocatable: { cpu: (r.cpus * 1000 - r.reservedCpuMilli) / 1000, memoryMiB: r.memGiB * 1024 - r.reservedMemMiB },
      daemonSetRequests: { cpu: r.dsCpuMilli / 1000, memoryMiB: r.dsMemMiB },
    }),
  );

const policyArb = fc.record({
  appType: fc.constantFrom("jvm", "python"),
  executor: fc.record({
    executorsPerNode: fc.integer({ min: 1, max: 4 }),
    coresLeftForSystem: fc.integer({ min: 0, max: 2 }),
    heapGranularityGiB: fc.integer({ min: 1, max: 10 }),
    offHeapMiB: fc.constantFrom(0, 0, 512, 4096),
  }),
  dynamicAllocation: fc.record({ enabled: fc.boolean() }),
  deployMode: fc.constant("client"),
});

function trySize(w: WorkerShape, raw: unknown) {
  try {
    return size(w, raw);
  } catch (e) {
    if (e instanceof SizingError) return undefined;
    throw e;
  }
}

describe("spark sizing: properties", () => {
  it("no executor pod ever exceeds the node's allocatable (minus DaemonSets); the heap is the largest that fits", () => {
    fc.assert(
      fc.property(shapeArb, policyArb, (w, raw) => {
        const z = trySize(w, raw);
        if (!z) return;
        const E = raw.executor.executorsPerNode;
        const ds = w.daemonSetRequests;
        const cpuMilli = parseCpuMilli(z.executorPod.cpuRequest);
        assert.ok(cpuMilli !== undefined);
        assert.ok(E * cpuMilli <= Math.round(w.allocatable.cpu * 1000) - Math.round(ds.cpu * 1000), "CPU");
        assert.ok(E * z.executorPod.memoryMiB <= w.allocatable.memoryMiB - ds.memoryMiB, "memory");
        // Recompute the pod from the emitted properties, independently of the sizing code.
        const heap = parseSparkMemoryMiB(z.conf["spark.executor.memory"]);
        assert.ok(heap !== undefined);
        const factor = Number(z.conf["spark.executor.memoryOverheadFactor"]);
        const offHeap = z.conf["spark.memory.offHeap.size"] ? parseSparkMemoryMiB(z.conf["spark.memory.offHeap.size"])! : 0;
        assert.equal(z.executorPod.memoryMiB, heap + Math.max(Math.floor(factor * heap), 384) + offHeap);
        const step = raw.executor.heapGranularityGiB * 1024;
        assert.equal(heap % step, 0);
        const next = heap + step;
        assert.ok(E * (next + Math.max(Math.floor(factor * next), 384) + offHeap) > w.allocatable.memoryMiB - ds.memoryMiB, "largest heap");
        // Task slots from the VM; the request only differs when it had to be lowered.
        const cores = Number(z.conf["spark.executor.cores"]);
        assert.equal(cores, Math.floor((w.vm.cpus - raw.executor.coresLeftForSystem) / E));
        assert.equal(z.conf["spark.kubernetes.executor.request.cores"] !== undefined, cpuMilli < cores * 1000);
      }),
      { numRuns: 300 },
    );
  });

  it("more nodes never means fewer executors (and never changes the executor)", () => {
    fc.assert(
      fc.property(shapeArb, policyArb, fc.integer({ min: 1, max: 32 }), (w, raw, extra) => {
        const a = trySize(w, raw);
        const b = trySize({ ...w, count: w.count + extra }, raw);
        assert.equal(a === undefined, b === undefined, "fit does not depend on the node count");
        if (!a || !b) return;
        assert.ok(b.utilization.executors >= a.utilization.executors);
        assert.equal(b.conf["spark.executor.memory"], a.conf["spark.executor.memory"]);
        assert.equal(b.conf["spark.executor.cores"], a.conf["spark.executor.cores"]);
        assert.deepEqual(b.executorPod, a.executorPod);
      }),
      { numRuns: 300 },
    );
  });
});

describe("spark sizing: the SparkApplication is cluster mode whatever the platform's mode", () => {
  it("reference stack (client mode): the 45056 MiB driver pod leaves room for 0 of 1 executor on its worker, so the application asks for 15", () => {
    const plan = planSpark(settingsOf({ ...PAPER, deployMode: "client", sparkApplication: { enabled: true } }), referenceWorkers(16));
    assert.equal(plan.sizing.driverPod.memoryMiB, 45056);
    assert.deepEqual(plan.sizing.fit.clusterMode, {
      placeable: true,
      executorsBesideDriver: 0,
      startableExecutors: 15,
      note: "cluster mode: the driver pod (45056 MiB, 1 CPU) is scheduled first and leaves room for 0 of 1 executor(s) on its worker, so only 15 of 16 executors can start",
    });
    assert.match(plan.sizing.fit.notes.join("\n"), /sparkApplication: .* it asks for 15 executors, not 16/);
    // The client-mode platform itself still runs 16.
    assert.equal(plan.sizing.fit.driver.startableExecutors, 16);
  });

  it("negative control: a driver small enough to share a worker keeps all 16 and adds no note", () => {
    // 1g driver: 1408 MiB pod, 1 CPU; beside a 15-core / 112640 MiB executor there are 5296 MiB but 0 CPU left.
    const cpuBound = planSpark(settingsOf({ ...PAPER, deployMode: "client", driver: { memory: "1g" }, sparkApplication: { enabled: true } }), referenceWorkers(16));
    assert.equal(cpuBound.sizing.fit.clusterMode.startableExecutors, 15, "the driver's 1 CPU still displaces a 15-core executor");
    const fits = planSpark(
      settingsOf({ ...PAPER, deployMode: "client", driver: { memory: "1g" }, executor: { ...PAPER.executor, coresLeftForSystem: 2 }, sparkApplication: { enabled: true } }),
      referenceWorkers(16),
    );
    assert.equal(fits.sizing.fit.clusterMode.startableExecutors, 16);
    assert.doesNotMatch(fits.sizing.fit.notes.join("\n"), /sparkApplication/);
  });

  it("a driver no worker can take is refused when the SparkApplication is enabled, naming driver.memory", () => {
    const raw = { ...PAPER, deployMode: "client", driver: { memory: "120g" } };
    assert.equal(planSpark(settingsOf(raw), referenceWorkers(16)).sizing.fit.clusterMode.placeable, false, "client mode alone plans it");
    assert.throws(
      () => planSpark(settingsOf({ ...raw, sparkApplication: { enabled: true } }), referenceWorkers(16)),
      (e: unknown) => e instanceof SizingError && e.field === "driver.memory" && /sparkApplication: the Spark Operator always submits in cluster mode: .*can never be scheduled/.test(e.message),
    );
  });
});
