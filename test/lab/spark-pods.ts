/**
 * What the lab asserts about the pods real Spark creates: how many the real scheduler bound, where,
 * and with which requests, against the plan's executor pod.
 */
import { parseCpuMilli, quantityMiB } from "../../components/quantity";
import type { PodRequest } from "../../components/spark/sizing";
import type { SparkPlan } from "../../components/spark/plan";
import { podTemplate, SPARK_APP_SELECTOR_LABEL } from "../../components/spark/podtemplates";
import { gpuExecutorPodTemplate } from "../../components/spark/gpu";
import type { Registration } from "./stack";
import { type Api, waitFor } from "./control-plane";

type Pod = Record<string, any>;

/**
 * STAND-IN for spark-submit: an executor pod as Spark 4 builds it from the plan (the executor pod
 * template, Spark's labels, the plan's requests), for specs that check scheduling without a driver.
 */
export function standInExecutorPod(plan: SparkPlan, namespace: string, app: string, i: number): Pod {
  const t = podTemplate(plan, "executor") as Pod;
  const req = plan.sizing.executorPod;
  return {
    ...t,
    metadata: { name: `${app}-exec-${i}`, namespace, labels: { ...t.metadata.labels, "spark-role": "executor", [SPARK_APP_SELECTOR_LABEL]: app } },
    spec: {
      ...t.spec,
      restartPolicy: "Never",
      // BasicExecutorFeatureStep adds cpu and memory to the template container's requests (keeping the rest).
      containers: [{ ...t.spec.containers[0], image: "lab.invalid/spark:stand-in", resources: { requests: { ...t.spec.containers[0].resources?.requests, cpu: req.cpuRequest, memory: `${req.memoryMiB}Mi` }, limits: { memory: `${req.memoryMiB}Mi` } } }],
    },
  };
}

/** The pods of `namespace` matching `selector` (not yet deleting): executors or the driver. */
export async function sparkPods(api: Api, namespace: string, selector: string): Promise<Pod[]> {
  const list = await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return (list.items as Pod[]).filter((p) => !p.metadata.deletionTimestamp);
}

/** The Spark container's requests (the pod's first container is Spark's; templates add none). */
export function podRequests(pod: Pod): { cpuMilli: number; memoryMiB: number; memoryLimitMiB?: number } {
  const c = pod.spec.containers[0];
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  return {
    cpuMilli: parseCpuMilli(String(req.cpu ?? "0")) ?? NaN,
    memoryMiB: quantityMiB(String(req.memory ?? "0")) ?? NaN,
    memoryLimitMiB: lim.memory === undefined ? undefined : quantityMiB(String(lim.memory)),
  };
}

/**
 * Throws unless exactly `expected` executors exist, every one bound by the scheduler (none Pending),
 * one per node, each requesting what the plan's executor pod requests. Returns a one-line report.
 */
export function assertExecutorsBound(pods: Pod[], expected: number, plan: PodRequest): string {
  const bound = pods.filter((p) => p.spec.nodeName);
  const pending = pods.filter((p) => !p.spec.nodeName);
  const problems: string[] = [];
  if (bound.length !== expected || pending.length > 0 || pods.length !== expected) {
    problems.push(`${bound.length} of ${expected} executors bound, ${pending.length} Pending (${pods.length} created)`);
  }
  const nodes = new Set(bound.map((p) => p.spec.nodeName));
  if (nodes.size !== bound.length) problems.push(`executors share nodes: ${bound.length} on ${nodes.size} nodes`);
  const planCpu = parseCpuMilli(plan.cpuRequest);
  for (const p of pods) {
    const r = podRequests(p);
    if (r.cpuMilli !== planCpu || r.memoryMiB !== plan.memoryMiB || r.memoryLimitMiB !== plan.memoryMiB) {
      problems.push(`${p.metadata.name} requests ${r.cpuMilli}m / ${r.memoryMiB} MiB (limit ${r.memoryLimitMiB} MiB), the plan ${planCpu}m / ${plan.memoryMiB} MiB`);
    }
  }
  if (problems.length) throw new Error(problems.join("; "));
  return `${bound.length} of ${expected} executors bound on ${nodes.size} workers, none Pending, each ${planCpu}m CPU / ${plan.memoryMiB} MiB as planned`;
}

/**
 * Creates `pods` (executors of `app`) in `namespace` and returns them once the real scheduler has
 * decided on each (bound, or Unschedulable), read again after `settleMs` so that the backoff queue
 * could retry the Pending ones.
 */
export async function scheduleExecutors(api: Api, namespace: string, pods: Pod[], app: string, settleMs = 3000): Promise<Pod[]> {
  for (const p of pods) await api.post(`/api/v1/namespaces/${namespace}/pods`, p);
  const selector = `spark-role=executor,${SPARK_APP_SELECTOR_LABEL}=${app}`;
  await waitFor(
    `the scheduler decided on ${pods.length} executors of ${app}`,
    async () => {
      const ps = await sparkPods(api, namespace, selector);
      const done = ps.filter((p) => p.spec.nodeName || p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
      return ps.length === pods.length && done.length === pods.length ? ps : undefined;
    },
    120_000,
  );
  await new Promise((r) => setTimeout(r, settleMs));
  return sparkPods(api, namespace, selector);
}

/** The Node a GPU worker registers: its rendered labels and taints, and the GPU count the device plugin advertises. */
export function gpuNode(base: Pod, reg: Registration, gpus: number): Pod {
  return {
    ...base,
    metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...reg.labels } },
    spec: { ...base.spec, taints: [...(base.spec.taints ?? []), ...reg.taints] },
    status: {
      ...base.status,
      capacity: { ...base.status.capacity, "nvidia.com/gpu": String(gpus) },
      allocatable: { ...base.status.allocatable, "nvidia.com/gpu": String(gpus) },
    },
  };
}

/**
 * STAND-IN for spark-submit: a GPU executor as Spark 4 builds it from the plan (the GPU executor
 * template, Spark's labels, the plan's requests and the `nvidia.com/gpu` limit); `template: false`
 * uses the CPU executor template instead (the negative controls).
 */
export function gpuExecutor(plan: SparkPlan, namespace: string, app: string, i: number, opts: { template?: boolean } = {}): Pod {
  const t = (opts.template === false ? podTemplate(plan, "executor") : gpuExecutorPodTemplate(podTemplate(plan, "executor") as Pod)) as Pod;
  const g = plan.gpu!;
  const req = g.sizing.executorPod;
  return {
    ...t,
    metadata: { name: `${app}-exec-${i}`, namespace, labels: { ...t.metadata.labels, "spark-role": "executor", [SPARK_APP_SELECTOR_LABEL]: app } },
    spec: {
      ...t.spec,
      affinity: undefined,
      volumes: undefined,
      restartPolicy: "Never",
      containers: [
        {
          name: t.spec.containers[0].name,
          image: "lab.invalid/spark:stand-in",
          resources: { requests: { cpu: req.cpuRequest, memory: `${req.memoryMiB}Mi` }, limits: { memory: `${req.memoryMiB}Mi`, ...g.executorLimits } },
        },
      ],
    },
  };
}

