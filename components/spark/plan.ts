/**
 * The Spark layer's decisions in one value: effective worker shape, sizing, names and the Spark
 * properties. Everything else (manifests, commands, artifacts, the component) renders this.
 */
import { executorsPerZone } from "./zones";
import { SparkNames, sparkConf, sparkNames } from "./conf";
import type { SparkSettings } from "./settings";
import { ExecutorSizing, PlatformPod, SizingError, SizingPolicy, WorkerShape, sizeExecutors } from "./sizing";
import { HISTORY_SERVER_RESOURCES } from "./manifests";
import { parseCpuMilli } from "../quantity";
import { GpuSizing, sizeGpuExecutors } from "./gpu";

export interface SparkPlan {
  settings: SparkSettings;
  /** The worker shape after `settings.nodeAllocatable` is applied. */
  workers: WorkerShape;
  names: SparkNames;
  sizing: ExecutorSizing;
  /** Every Spark property of the platform (sorted). */
  conf: Record<string, string>;
  /** GPU executors on the GPU workers (`spark.gpu`, components/spark/gpu.ts); absent: none asked for. */
  gpu?: GpuSizing;
}

/** `settings.nodeAllocatable` replaces what the cluster layer reported, for clusters that are not ours. */
export function effectiveWorkers(workers: WorkerShape, settings: SparkSettings): WorkerShape {
  const w = settings.nodeAllocatable ? { ...workers, allocatable: { ...settings.nodeAllocatable } } : workers;
  // Executors pinned to one zone (placement.zone) run on that zone's workers only.
  const pinned = settings.placement.zone !== undefined ? w.zones?.find((z) => z.name === settings.placement.zone) : undefined;
  return pinned && pinned.workers > 0 ? { ...w, count: pinned.workers } : w;
}

/**
 * The Spark layer's own pods that stay on a worker beside the executors: the History Server (its
 * Deployment carries the same node selector and tolerations as the executors, manifests.ts). The
 * smoke-test Job is not one: it runs once during `pulumi up`, before any application, and its pods
 * end. A cluster-mode driver is counted by the driver step instead (it is one pod on one worker).
 */
export function platformPods(s: SparkSettings): PlatformPod[] {
  if (!s.historyServer.enabled) return [];
  return [{ name: "History Server", cpuMilli: parseCpuMilli(HISTORY_SERVER_RESOURCES.cpu) ?? 0, memoryMiB: HISTORY_SERVER_RESOURCES.memoryMiB }];
}

export function sizingPolicy(s: SparkSettings): SizingPolicy {
  return { appType: s.appType, deployMode: s.deployMode, executor: s.executor, driver: s.driver, dynamicAllocation: s.dynamicAllocation, platformPods: platformPods(s) };
}

/**
 * Throws a SizingError (with the numbers) when no executor fits the workers, or when the
 * SparkApplication (always cluster mode) has a driver no worker can take.
 */
export function planSpark(settings: SparkSettings, workers: WorkerShape): SparkPlan {
  const w = effectiveWorkers(workers, settings);
  const sizing = sizeExecutors(w, sizingPolicy(settings));
  const app = sizing.fit.clusterMode;
  if (settings.sparkApplication.enabled && settings.deployMode === "client") {
    if (!app.placeable) {
      throw new SizingError(`sparkApplication: the Spark Operator always submits in cluster mode: ${app.note}`, "driver.memory");
    }
    if (app.startableExecutors < sizing.executor.instances) {
      sizing.fit.notes.push(
        `sparkApplication: the Spark Operator runs it in cluster mode: ${app.note}; it asks for ${app.startableExecutors} executors, not ${sizing.executor.instances}`,
      );
    }
  }
  // GPU executors: on the GPU workers only (they tolerate the GPU taint; the History Server and the
  // driver do not, so nothing of the platform's own shares their room).
  let gpu: GpuSizing | undefined;
  if (settings.gpu) {
    // The key that adds GPU workers is the back end's own (WorkerPool.gpuWorkersKey): the Spark layer names it, never guesses it.
    if (!workers.gpuWorkers) throw new SizingError(`GPU executors are asked for (spark.gpu) but the cluster has no GPU workers${workers.gpuWorkersKey ? `: add them with ${workers.gpuWorkersKey}` : ""}`, "gpu");
    gpu = sizeZonedGpuExecutors(workers.gpuWorkers, settings);
  }
  return { settings, workers: w, names: sparkNames(settings), sizing, conf: sparkConf(settings, sizing), ...(gpu ? { gpu } : {}) };
}

/**
 * GPU executors under the application's zone placement: the GPU executor template keeps the zone
 * fields of the executor template (gpuExecutorPodTemplate), so pinned to a zone they can only run on
 * that zone's GPU workers (none there: refused, naming spark.placement.zone), and spread over zones
 * they spread over the zones that have GPU workers (the scheduler's domains are the nodes the pod's
 * node selector admits: nodeAffinityPolicy Honor, the default).
 */
function sizeZonedGpuExecutors(gw: NonNullable<WorkerShape["gpuWorkers"]>, settings: SparkSettings): GpuSizing {
  const policy = { ...sizingPolicy(settings), platformPods: [] };
  const zones = gw.zones?.filter((z) => z.workers > 0);
  if (!zones) return sizeGpuExecutors(gw, policy, settings.gpu!);
  const pinned = settings.placement.zone;
  if (pinned !== undefined && !zones.some((z) => z.name === pinned)) {
    throw new SizingError(
      `GPU executors are pinned to zone ${pinned} (spark.placement.zone), which has no GPU workers (they are in ${zones.map((z) => z.name).join(", ")}): they would never be scheduled; pin the application to one of those zones, or leave it unpinned`,
      "placement.zone",
    );
  }
  const inScope = pinned !== undefined ? zones.filter((z) => z.name === pinned) : zones;
  const gpu = sizeGpuExecutors({ ...gw, count: inScope.reduce((n, z) => n + z.workers, 0) }, policy, settings.gpu!);
  const dist = executorsPerZone(zones, gpu.executorsPerNode, gpu.sizing.executor.instances, settings.placement);
  if (dist.pending > 0) gpu.notes.push(`GPU executors: ${dist.pending} stay Pending (${dist.note})`);
  return { ...gpu, zones: { perZone: dist.perZone, pending: dist.pending, ...(dist.note ? { note: dist.note } : {}) } };
}

