/** The Spark part of the plan's text output: sizing, pod requests, utilization, fit. */
import { SparkPlanSection, WorkerShape } from "../../components/spark";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function renderSparkSection(s: SparkPlanSection, w: WorkerShape): string {
  const c = s.conf;
  const u = s.utilization;
  const f = s.fit;
  const lines = [
    "Spark:",
    `  worker nodes: ${w.count} × ${w.vm.cpus} vCPU / ${w.vm.memoryMiB} MiB; allocatable ${w.allocatable.cpu} CPU / ${w.allocatable.memoryMiB} MiB` +
      (w.daemonSetRequests ? `; DaemonSets ${w.daemonSetRequests.cpu} CPU / ${w.daemonSetRequests.memoryMiB} MiB` : "") +
      (w.addOnPods ? `; add-on pods (any worker) ${w.addOnPods.cpu} CPU / ${w.addOnPods.memoryMiB} MiB` : "") +
      (w.scratchDisk ? `; scratch disk ${w.scratchDisk.capacityGiB} GiB at /var/lib/kubelet (${w.scratchDisk.allocatableMiB} MiB allocatable)` : ""),
    `  spark.executor.instances=${c["spark.executor.instances"] ?? "(dynamic)"}  spark.executor.cores=${c["spark.executor.cores"]}  spark.executor.memory=${c["spark.executor.memory"]}  spark.driver.memory=${c["spark.driver.memory"]}` +
      (c["spark.kubernetes.executor.request.cores"] ? `  spark.kubernetes.executor.request.cores=${c["spark.kubernetes.executor.request.cores"]}` : ""),
    `  executor heap: ${s.heap.chosen} (${s.heap.chosenMiB} MiB, a multiple of ${s.heap.stepGiB} GiB); the largest that fits is ${s.heap.largestFitMiB} MiB`,
    `  executor pod: cpu ${s.executorPod.cpuRequest}, memory ${s.executorPod.memoryMiB} MiB${s.executorPod.ephemeralStorageMiB !== undefined ? `, ephemeral-storage ${s.executorPod.ephemeralStorageMiB} MiB (spark-local-dir-1)` : ""}; driver pod (cluster mode): cpu ${s.driverPod.cpuRequest}, memory ${s.driverPod.memoryMiB} MiB`,
    `  driver (${f.driver.mode} mode): ${f.driver.mode === "cluster" ? `${f.driver.startableExecutors} of ${u.executors} executors can start beside the driver pod` : "runs on the submit host; every executor can start"}`,
    `  fit: ${f.verdict}; per node ${f.perNode.cpuRequestedMilli}m of ${f.perNode.cpuAvailableMilli}m CPU and ${f.perNode.memoryRequestedMiB} of ${f.perNode.memoryAvailableMiB} MiB (after DaemonSets and the pods that may share a worker)`,
    `  utilization: CPU ${pct(u.cpu.ofAllocatable)} of allocatable, ${pct(u.cpu.ofVm)} of the VMs; memory ${pct(u.memory.ofAllocatable)} of allocatable, ${pct(u.memory.ofVm)} of the VMs`,
    ...(s.zones
      ? [
          s.zones.mode === "any"
            ? `  executors per zone: not placed by zone (spark.placement.zone / zoneSpread unset): the scheduler decides; an even split would be ${Object.entries(s.zones.perZone).map(([z, n]) => `${z} ${n}`).join(", ")}`
            : `  executors per zone (${s.zones.mode}): ${Object.entries(s.zones.perZone).map(([z, n]) => `${z} ${n}`).join(", ")}${s.zones.pending > 0 ? `; ${s.zones.pending} Pending: ${s.zones.note}` : ""}`,
        ]
      : []),
    ...f.notes.map((n) => `  note: ${n}`),
  ];
  const g = s.gpu;
  const gw = w.gpuWorkers;
  if (g && gw) {
    const gc = g.conf;
    lines.push(
      `  GPU workers: ${gw.count} × ${gw.vm.cpus} vCPU / ${gw.vm.memoryMiB} MiB / ${gw.gpusPerNode} × nvidia.com/gpu; allocatable ${gw.allocatable.cpu} CPU / ${gw.allocatable.memoryMiB} MiB`,
      `  GPU executors: spark.executor.instances=${gc["spark.executor.instances"]}  spark.executor.cores=${gc["spark.executor.cores"]}  spark.executor.memory=${gc["spark.executor.memory"]}  spark.executor.resource.gpu.amount=${gc["spark.executor.resource.gpu.amount"]}  spark.task.resource.gpu.amount=${gc["spark.task.resource.gpu.amount"]}`,
      `  GPU executor pod: cpu ${g.executorPod.cpuRequest}, memory ${g.executorPod.memoryMiB} MiB, limits ${Object.entries(g.executorPod.limits).map(([k, v]) => `${k}=${v}`).join(", ")}; ${g.executorsPerNode} per GPU worker; per GPU ${g.perGpu.cores} cores / ${g.perGpu.memoryMiB} MiB; ${g.tasksPerExecutor.tasks} tasks at once (limited by ${g.tasksPerExecutor.limitedBy})`,
      `  GPU utilization: ${g.utilization.gpusRequested} of ${g.utilization.gpusTotal} GPUs (${pct(g.utilization.ofGpus)}); CPU ${pct(g.utilization.cpu.ofAllocatable)} and memory ${pct(g.utilization.memory.ofAllocatable)} of the GPU workers' allocatable`,
      ...(g.zones ? [`  GPU executors per zone: ${Object.entries(g.zones.perZone).map(([z, n]) => `${z} ${n}`).join(", ")}${g.zones.pending > 0 ? `; ${g.zones.pending} Pending` : ""}`] : []),
      ...g.notes.map((n) => `  note: ${n}`),
    );
  }
  return lines.join("\n");
}
