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
import { referenceWorkers, settingsOf } from "./helpers";

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
  // The paper's scaling runs: 16, 12, 8 and 4 workers, one executor each, identical executors.
  for (const n of [16, 12, 8, 4]) {
    it(`reference topology, ${n} workers → ${n} × (15 cores, 100g), driver 40g`, () => {
      const z = size(referenceWorkers(n));
      assert.equal(z.conf["spark.executor.instances"], String(n));
      assert.equal(z.conf["spark.executor.cores"], "15");
      assert.equal(z.conf["spark.executor.memory"], "100g");
      assert.equal(z.conf["spark.driver.memory"], "40g");
      assert.equal(z.conf["spark.cores.max"], String(15 * n));
      assert.equal(z.conf["spark.kubernetes.executor.request.cores"], undefined);
      assert.deepEqual(z.executorPod, { cpuRequest: "15", memoryMiB: 112640 });
      assert.deepEqual(z.driverPod, { cpuRequest: "1", memoryMiB: 45056 });
      assert.equal(z.fit.verdict, "fits");
      assert.equal(z.fit.perNode.memorySpareMiB, 122780 - 112640);
      assert.equal(z.utilization.taskSlots, 15 * n);
      assert.equal(z.utilization.cpu.ofAllocatable, 0.9375);
      assert.equal(z.utilization.memory.requestedMiB, 112640 * n);
      assert.equal(z.utilization.memory.ofVm, Math.round((112640 / 122880) * 10000) / 10000);
    });
  }

  const cases: { name: string; workers: WorkerShape; raw?: unknown; cores: string; memory: string; request?: string; pod: number; verdict: string }[] = [
    {
      name: "modest reservations (allocatable 15.8 CPU / 120700 MiB, DaemonSets 300m / 512 MiB) keep 15 / 100g",
      workers: { count: 16, allocatable: { cpu: 15.8, memoryMiB: 120700 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.3, memoryMiB: 512 } },
      cores: "15", memory: "100g", pod: 112640, verdict: "fits",
    },
    {
      name: "Kubernetes docs reservations (1 + 0.5 CPU) → request.cores 14500m, 15 task slots kept",
      workers: { count: 16, allocatable: { cpu: 14.5, memoryMiB: 122880 - 2048 - 1024 - 500 }, vm: { cpus: 16, memoryMiB: 122880 } },
      cores: "15", memory: "100g", request: "14500m", pod: 112640, verdict: "fits-with-fractional-cpu-request",
    },
    {
      name: "allocatable 15.8 with 1350m of DaemonSets → 14450m",
      workers: { count: 8, allocatable: { cpu: 15.8, memoryMiB: 122780 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 1.35, memoryMiB: 0 } },
      cores: "15", memory: "100g", request: "14450m", pod: 112640, verdict: "fits-with-fractional-cpu-request",
    },
    {
      name: "allocatable 15.8 with 800m of DaemonSets: exactly 15 left, no fractional request",
      workers: { count: 8, allocatable: { cpu: 15.8, memoryMiB: 122780 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.8, memoryMiB: 0 } },
      cores: "15", memory: "100g", pod: 112640, verdict: "fits",
    },
    {
      name: "GKE-style memory (113700 MiB) with 1024 MiB DaemonSets: 100g still fits by 36 MiB",
      workers: { count: 4, allocatable: { cpu: 15.89, memoryMiB: 113700 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.2, memoryMiB: 1024 } },
      cores: "15", memory: "100g", pod: 112640, verdict: "fits",
    },
    {
      name: "GKE-style memory with 1100 MiB DaemonSets: rounds down to 90g",
      workers: { count: 4, allocatable: { cpu: 15.89, memoryMiB: 113700 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.2, memoryMiB: 1100 } },
      cores: "15", memory: "90g", pod: 92160 + 9216, verdict: "fits",
    },
    {
      name: "decimal 120 GB VM (114441 MiB), kubeadm eviction only: 100g fits",
      workers: { count: 16, allocatable: { cpu: 16, memoryMiB: 114341 }, vm: { cpus: 16, memoryMiB: 114441 } },
      cores: "15", memory: "100g", pod: 112640, verdict: "fits",
    },
    {
      name: "Python (factor 0.4): 100g would need 143360 MiB, so 80g (114688 MiB)",
      workers: referenceWorkers(16), raw: { appType: "python" },
      cores: "15", memory: "80g", pod: 81920 + 32768, verdict: "fits",
    },
    {
      name: "Python with 8 GiB PySpark memory: 70g",
      workers: referenceWorkers(16), raw: { appType: "python", executor: { pysparkMemoryMiB: 8192 } },
      cores: "15", memory: "70g", pod: 71680 + 28672 + 8192, verdict: "fits",
    },
    {
      name: "off-heap 16 GiB: 90g",
      workers: referenceWorkers(16), raw: { executor: { offHeapMiB: 16384 } },
      cores: "15", memory: "90g", pod: 92160 + 9216 + 16384, verdict: "fits",
    },
    {
      name: "two executors per node: 7 cores, 50g each",
      workers: referenceWorkers(16), raw: { executor: { executorsPerNode: 2 } },
      cores: "7", memory: "50g", pod: 51200 + 5120, verdict: "fits",
    },
    {
      name: "three executors per node: 5 cores, 30g each",
      workers: referenceWorkers(16), raw: { executor: { executorsPerNode: 3 } },
      cores: "5", memory: "30g", pod: 30720 + 3072, verdict: "fits",
    },
    {
      name: "finer heap granularity (4 GiB) on the reference: 108g",
      workers: referenceWorkers(16), raw: { executor: { heapGranularityGiB: 4 } },
      cores: "15", memory: "108g", pod: 110592 + 11059, verdict: "fits",
    },
    {
      name: "small node where the 384 MiB floor decides: 1g heap → 1408 MiB pod",
      workers: { count: 2, allocatable: { cpu: 2, memoryMiB: 2000 }, vm: { cpus: 2, memoryMiB: 2048 } },
      raw: { executor: { heapGranularityGiB: 1 }, driver: { memory: "1g" } },
      cores: "1", memory: "1g", pod: 1408, verdict: "fits",
    },
    {
      name: "explicit heap 96g (SIZING.md's planning example): 108134 MiB",
      workers: referenceWorkers(16), raw: { executor: { memory: "96g" } },
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

  const failures: { name: string; workers: WorkerShape; raw?: unknown; message: RegExp }[] = [
    {
      name: "memory: a 10g heap needs 11264 MiB but the node offers 10000",
      workers: { count: 4, allocatable: { cpu: 16, memoryMiB: 10000 }, vm: { cpus: 16, memoryMiB: 12288 } },
      message: /smallest heap, 10g, needs a 11264 MiB pod.*allocatable memory 10000 MiB − DaemonSets 0 MiB = 10000 MiB per node/,
    },
    {
      name: "CPU: 0.9 allocatable CPU per node",
      workers: { count: 4, allocatable: { cpu: 0.9, memoryMiB: 122780 }, vm: { cpus: 16, memoryMiB: 122880 } },
      message: /executor CPU does not fit: allocatable cpu 0\.9 − DaemonSets 0 = 0\.9 per node; an executor needs at least 1 CPU/,
    },
    {
      name: "CPU: no core left after coresLeftForSystem",
      workers: { count: 4, allocatable: { cpu: 2, memoryMiB: 122780 }, vm: { cpus: 2, memoryMiB: 122880 } },
      raw: { executor: { coresLeftForSystem: 2 } },
      message: /no executor core left: \(vm\.cpus 2 − coresLeftForSystem 2\) \/ executorsPerNode 1 = 0, less than 1/,
    },
    {
      name: "explicit 110g heap: its 123904 MiB pod exceeds 122780",
      workers: referenceWorkers(16),
      raw: { executor: { memory: "110g" } },
      message: /executor memory 110g does not fit: its pod needs 123904 MiB .* = 122780 MiB per node/,
    },
    {
      name: "more instances than executor slots",
      workers: referenceWorkers(4),
      raw: { executor: { instances: 5 } },
      message: /executor\.instances 5 is more than the 4 executor slots/,
    },
  ];
  for (const f of failures) {
    it(`nothing fits → error with the numbers (${f.name})`, () => {
      assert.throws(() => size(f.workers, f.raw), (e: unknown) => e instanceof SizingError && f.message.test(e.message));
    });
  }

  it("cluster-mode driver: reported as not placeable beside one 100g executor per worker; fine in client mode or with free workers", () => {
    const z = size(referenceWorkers(16));
    assert.equal(z.fit.driver.fitsOnEmptyWorker, true);
    assert.equal(z.fit.driver.fitsBesideExecutors, false);
    assert.equal(z.fit.driver.placeable, false);
    assert.match(z.fit.notes.join("\n"), /driver pod \(45056 MiB, 1 CPU\)/);
    assert.equal(size(referenceWorkers(16), { deployMode: "client" }).fit.driver.placeable, true);
    assert.equal(size(referenceWorkers(16), { executor: { instances: 15 } }).fit.driver.placeable, true);
  });

  it("dynamic allocation: shuffle tracking with a finite timeout, min/max from the cluster, no fixed instances", () => {
    const z = size(referenceWorkers(16), { dynamicAllocation: { enabled: true } });
    assert.equal(z.conf["spark.executor.instances"], undefined);
    assert.equal(z.conf["spark.dynamicAllocation.enabled"], "true");
    assert.equal(z.conf["spark.dynamicAllocation.shuffleTracking.enabled"], "true");
    assert.equal(z.conf["spark.dynamicAllocation.shuffleTracking.timeout"], "30min");
    assert.equal(z.conf["spark.dynamicAllocation.minExecutors"], "1");
    assert.equal(z.conf["spark.dynamicAllocation.maxExecutors"], "16");
    assert.equal(z.conf["spark.dynamicAllocation.initialExecutors"], "1");
    assert.equal(z.conf["spark.cores.max"], "240");
    assert.equal(z.utilization.executors, 16);
    const two = size(referenceWorkers(8), { executor: { executorsPerNode: 2 }, dynamicAllocation: { enabled: true, shuffleTrackingTimeout: "10min" } });
    assert.equal(two.conf["spark.dynamicAllocation.minExecutors"], "2");
    assert.equal(two.conf["spark.dynamicAllocation.maxExecutors"], "16");
    assert.equal(two.conf["spark.dynamicAllocation.shuffleTracking.timeout"], "10min");
    const off = size(referenceWorkers(8));
    assert.equal(off.conf["spark.dynamicAllocation.enabled"], "false");
    assert.equal(off.conf["spark.dynamicAllocation.shuffleTracking.timeout"], undefined);
  });

  it("nodeAllocatable overrides what the cluster layer reported", () => {
    const s = settingsOf({ nodeAllocatable: { cpu: 14.5, memoryMiB: 119308 } });
    const plan = planSpark(s, referenceWorkers(16));
    assert.equal(plan.conf["spark.kubernetes.executor.request.cores"], "14500m");
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
        const ds = w.daemonSetRequests ?? { cpu: 0, memoryMiB: 0 };
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
