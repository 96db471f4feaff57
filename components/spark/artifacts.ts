/**
 * Review artifacts of the Spark layer (what `npm run plan -- --out DIR` writes) and the section the
 * offline plan prints under `spark`. Secrets never appear: the registry password is
 * SECRET_PLACEHOLDER.
 */
import type { Artifact } from "../artifacts";
import { inClusterSubmitJob, manifestList, sparkManifests, toYaml } from "./manifests";
import { SparkPlan, planSpark } from "./plan";
import { podTemplate } from "./podtemplates";
import { gpuExecutorPodTemplate, renderGpuConf } from "./gpu";
import { sortKeys } from "./conf";
import type { SparkSettings } from "./settings";
import type { ExecutorSizing, PodRequest, WorkerShape } from "./sizing";
import { otherModeWarning, renderSparkDefaults, renderSubmitScript, sparkApplication } from "./submit";
import { ZoneDistribution, executorsPerZone } from "./zones";

export interface SparkPlanSection {
  /** Every Spark property the platform sets (spark-defaults.conf). */
  conf: Record<string, string>;
  executorPod: PodRequest;
  driverPod: PodRequest;
  /** The executor heap: the chosen size (a multiple of the step) and the largest that would fit. */
  heap: { chosen: string; chosenMiB: number; stepGiB: number; largestFitMiB: number };
  utilization: ExecutorSizing["utilization"];
  fit: ExecutorSizing["fit"];
  /** GPU executors (spark.gpu): their Spark properties, pod, per-GPU share and GPU utilization. */
  gpu?: {
    conf: Record<string, string>;
    executorPod: PodRequest & { limits: Record<string, string> };
    executorsPerNode: number;
    tasksPerExecutor: { tasks: number; limitedBy: "cpus" | "gpu" };
    perGpu: { cores: number; memoryMiB: number };
    utilization: { gpusRequested: number; gpusTotal: number; ofGpus: number } & Pick<ExecutorSizing["utilization"], "cpu" | "memory">;
    notes: string[];
    /** GPU executors per zone (the application's zone placement applies to them), when the cluster has zones. */
    zones?: { perZone: Record<string, number>; pending: number; note?: string };
  };
  /** Executors per zone (components/spark/zones.ts), when the cluster has zones. */
  zones?: ZoneDistribution;
}

/** The plan section of an already computed plan. */
export function planSection(plan: SparkPlan): SparkPlanSection {
  const z = plan.sizing;
  const heap = {
    chosen: plan.conf["spark.executor.memory"],
    chosenMiB: z.executor.heapMiB,
    stepGiB: z.executor.heapStepMiB / 1024,
    largestFitMiB: z.executor.largestHeapMiB,
  };
  const g = plan.gpu;
  const gpu = g
    ? {
        gpu: {
          conf: sortKeys(g.conf),
          executorPod: { ...g.sizing.executorPod, limits: { ...g.executorLimits } },
          executorsPerNode: g.executorsPerNode,
          tasksPerExecutor: g.tasksPerExecutor,
          perGpu: g.perGpu,
          utilization: { ...g.utilization, cpu: g.sizing.utilization.cpu, memory: g.sizing.utilization.memory },
          notes: g.notes,
          ...(g.zones ? { zones: g.zones } : {}),
        },
      }
    : {};
  return { conf: { ...plan.conf }, executorPod: { ...z.executorPod }, driverPod: { ...z.driverPod }, heap, utilization: z.utilization, fit: z.fit, ...gpu };
}

/** What the offline plan prints under `spark`. Throws a SizingError when nothing fits. */
export function sparkPlanSection(settings: SparkSettings, workers: WorkerShape): SparkPlanSection {
  const plan = planSpark(settings, workers);
  const section = planSection(plan);
  // Over the zones of the whole pool (a pinned plan's pool is the pinned zone's workers only).
  if (workers.zones) section.zones = executorsPerZone(workers.zones, settings.executor.executorsPerNode, plan.sizing.executor.instances, settings.placement);
  return section;
}

const yamlDocs = (docs: object[]) => docs.map(toYaml).join("---\n");

/**
 * In-cluster client mode (README): a Job whose pod is the driver, with the platform's sizing, for
 * `kubectl apply -f`. Its driver pod takes a worker's room as the cluster-mode driver's does; when
 * the platform is sized for client mode, the header says what that changes.
 */
export function renderInClusterSubmit(plan: SparkPlan): string {
  const header = [
    "# In-cluster client mode, rendered by vsphere-spark (components/spark): SparkPi with the platform's sizing, the driver",
    "# in this Job's pod (client mode), so no path between a submit host and the pods is needed. Replace the class and jar",
    "# with your application's (an image path or a URL), then: kubectl apply -f submit-in-cluster.yaml",
    ...(plan.settings.deployMode === "client" ? otherModeWarning(plan, "cluster").map((l) => l.replace("in cluster mode:", "with the driver in a pod (as in cluster mode):")) : []),
  ];
  return `${header.join("\n")}\n${toYaml(inClusterSubmitJob(plan))}`;
}

/**
 * spark-defaults.conf, the two submit scripts, the layer's manifests (one multi-document YAML),
 * the pod templates and, when enabled, the SparkApplication.
 */
export function sparkArtifacts(settings: SparkSettings, workers: WorkerShape, apiEndpoint: string): Artifact[] {
  const plan = planSpark(settings, workers);
  const out: Artifact[] = [
    { path: "spark/spark-defaults.conf", kind: "spark-defaults", content: renderSparkDefaults(plan) },
    { path: "spark/submit-cluster.sh", kind: "spark-submit", content: renderSubmitScript(plan, "cluster", apiEndpoint) },
    { path: "spark/submit-client.sh", kind: "spark-submit", content: renderSubmitScript(plan, "client", apiEndpoint) },
    { path: "spark/submit-in-cluster.yaml", kind: "manifest", content: renderInClusterSubmit(plan) },
    { path: "spark/manifests.yaml", kind: "manifest", content: yamlDocs(manifestList(sparkManifests(plan))) },
    { path: "spark/pod-templates/driver.yaml", kind: "manifest", content: toYaml(podTemplate(plan, "driver")) },
    { path: "spark/pod-templates/executor.yaml", kind: "manifest", content: toYaml(podTemplate(plan, "executor")) },
  ];
  if (plan.gpu) {
    out.push({ path: "spark/spark-gpu.conf", kind: "spark-defaults", content: renderGpuConf(plan) });
    out.push({ path: "spark/pod-templates/executor-gpu.yaml", kind: "manifest", content: toYaml(gpuExecutorPodTemplate(podTemplate(plan, "executor") as Record<string, any>)) });
  }
  if (settings.sparkApplication.enabled) {
    out.push({ path: "spark/sparkapplication.yaml", kind: "manifest", content: toYaml(sparkApplication(plan)) });
  }
  return out;
}
