/**
 * The Spark layer's decisions in one value: effective worker shape, sizing, names and the Spark
 * properties. Everything else (manifests, commands, artifacts, the component) renders this.
 */
import { SparkNames, sparkConf, sparkNames } from "./conf";
import type { SparkSettings } from "./settings";
import { ExecutorSizing, SizingPolicy, WorkerShape, sizeExecutors } from "./sizing";

export interface SparkPlan {
  settings: SparkSettings;
  /** The worker shape after `settings.nodeAllocatable` is applied. */
  workers: WorkerShape;
  names: SparkNames;
  sizing: ExecutorSizing;
  /** Every Spark property of the platform (sorted). */
  conf: Record<string, string>;
}

/** `settings.nodeAllocatable` replaces what the cluster layer reported, for clusters that are not ours. */
export function effectiveWorkers(workers: WorkerShape, settings: SparkSettings): WorkerShape {
  return settings.nodeAllocatable ? { ...workers, allocatable: { ...settings.nodeAllocatable } } : workers;
}

export function sizingPolicy(s: SparkSettings): SizingPolicy {
  return { appType: s.appType, deployMode: s.deployMode, executor: s.executor, driver: s.driver, dynamicAllocation: s.dynamicAllocation };
}

/** Throws a SizingError (with the numbers) when no executor fits the workers. */
export function planSpark(settings: SparkSettings, workers: WorkerShape): SparkPlan {
  const w = effectiveWorkers(workers, settings);
  const sizing = sizeExecutors(w, sizingPolicy(settings));
  return { settings, workers: w, names: sparkNames(settings), sizing, conf: sparkConf(settings, sizing) };
}
