/**
 * Driver and executor pod templates (`spark.kubernetes.{driver,executor}.podTemplateFile`): where
 * placement (anti-affinity, nodeSelector, tolerations), priority and the security context live.
 * Spark adds image, resources and its own labels on top; it cannot lower the memory set by sizing.
 */
import type * as k8s from "@pulumi/kubernetes";
import { DRIVER_CONTAINER, EXECUTOR_CONTAINER } from "./conf";
import type { SparkPlan } from "./plan";
import { executorZoneFields } from "./zones";

type Pod = k8s.types.input.core.v1.Pod;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

export const PART_OF = "vsphere-spark";

export function commonLabels(component: string): Record<string, string> {
  return { "app.kubernetes.io/name": "spark", "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": PART_OF };
}

/** Restricted-profile security context for Spark pods (the image's `spark` user, uid 185, by default). */
export function podSecurityContext(plan: SparkPlan): PodSecurityContext {
  const uid = plan.settings.podSecurity.runAsUser;
  const base: PodSecurityContext = { seccompProfile: { type: "RuntimeDefault" } };
  return uid === null ? base : { ...base, runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid };
}

export function containerSecurityContext(): SecurityContext {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
}

/** Scheduling fields shared by every Spark pod: priority, node selection, tolerations, pull secret. */
export function schedulingFields(plan: SparkPlan): Pick<k8s.types.input.core.v1.PodSpec, "priorityClassName" | "nodeSelector" | "tolerations" | "imagePullSecrets"> {
  const s = plan.settings;
  const out: Pick<k8s.types.input.core.v1.PodSpec, "priorityClassName" | "nodeSelector" | "tolerations" | "imagePullSecrets"> = {};
  if (s.priorityClass) out.priorityClassName = s.priorityClass.name;
  if (Object.keys(s.placement.nodeSelector).length > 0) out.nodeSelector = { ...s.placement.nodeSelector };
  if (s.placement.tolerations.length > 0) out.tolerations = s.placement.tolerations.map((t) => ({ ...t }));
  if (s.registryCredentials) out.imagePullSecrets = [{ name: plan.names.registrySecret }];
  return out;
}

/** The label Spark puts on every driver and executor pod of one application, valued with its app id. */
export const SPARK_APP_SELECTOR_LABEL = "spark-app-selector";

/**
 * Pod anti-affinity that keeps an application's executors one per node: Spark labels every
 * executor pod `spark-role=executor` and `spark-app-selector=<app id>` (Constants.scala,
 * SPARK_ROLE_LABEL / SPARK_APP_ID_LABEL; BasicExecutorFeatureStep). The app id is only known at
 * submission, so the term takes it from the incoming pod through `matchLabelKeys` (Kubernetes
 * 1.31+: MatchLabelKeysInPodAffinity, beta and on by default): executors of other applications in
 * the namespace do not repel this one's.
 */
export function executorAffinity(plan: SparkPlan): k8s.types.input.core.v1.Affinity | undefined {
  const term = {
    labelSelector: { matchLabels: { "spark-role": "executor" } },
    matchLabelKeys: [SPARK_APP_SELECTOR_LABEL],
    topologyKey: "kubernetes.io/hostname",
  };
  switch (plan.settings.placement.oneExecutorPerNode) {
    case "required":
      return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } };
    case "preferred":
      return { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
    case "none":
      return undefined;
  }
}

/** The executors' scratch volume: Spark uses mounts named `spark-local-dir-*` as its local dirs. */
export const SCRATCH_VOLUME = "spark-local-dir-1";
export const SCRATCH_MOUNT = "/var/data/spark-local-dir-1";

/**
 * The executor's scratch space on the workers' scratch disk, when there is one: an emptyDir named
 * `spark-local-dir-1` with a sizeLimit (the kubelet evicts a pod whose emptyDir outgrows it) and the
 * matching ephemeral-storage request (the scheduler places executors by it). Spark 4's
 * LocalDirsFeatureStep (resource-managers/kubernetes/core/src/main/scala/org/apache/spark/deploy/
 * k8s/features/LocalDirsFeatureStep.scala) takes the container's volume mounts whose names start
 * with `spark-local-dir-` as SPARK_LOCAL_DIRS and then adds no emptyDir of its own;
 * BasicExecutorFeatureStep adds its cpu and memory to the template container's requests, keeping
 * this one. The emptyDir lives under /var/lib/kubelet, where the scratch disk is mounted.
 */
export function executorScratch(plan: SparkPlan): { volume: k8s.types.input.core.v1.Volume; mount: k8s.types.input.core.v1.VolumeMount; requests: Record<string, string> } | undefined {
  const mib = plan.sizing.executorPod.ephemeralStorageMiB;
  if (mib === undefined) return undefined;
  return {
    volume: { name: SCRATCH_VOLUME, emptyDir: { sizeLimit: `${mib}Mi` } },
    mount: { name: SCRATCH_VOLUME, mountPath: SCRATCH_MOUNT },
    requests: { "ephemeral-storage": `${mib}Mi` },
  };
}

export function podTemplate(plan: SparkPlan, role: "driver" | "executor"): Pod {
  const affinity = role === "executor" ? executorAffinity(plan) : undefined;
  const scratch = role === "executor" ? executorScratch(plan) : undefined;
  // Executors only: pinned to a zone (node selector) or spread over the zones (components/spark/zones.ts).
  const zone = role === "executor" ? executorZoneFields(plan.settings.placement) : {};
  const scheduling = schedulingFields(plan);
  if (zone.nodeSelector) scheduling.nodeSelector = { ...(scheduling.nodeSelector ?? {}), ...zone.nodeSelector };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { labels: commonLabels(role) },
    spec: {
      // Executors run task code and never call the API (the driver does): no token in their pods.
      // Spark runs them under the driver's service account when none is set for them (Config.scala,
      // spark.kubernetes.authenticate.executor.serviceAccountName), which would hand them its rights.
      ...(role === "executor" ? { automountServiceAccountToken: false } : {}),
      // Decommissioning: the kubelet gives the preStop hook (/opt/decom.sh, added by Spark) this long
      // to let the executor migrate its blocks and exit, instead of Kubernetes' 30 s.
      ...(role === "executor" && plan.settings.decommission.enabled ? { terminationGracePeriodSeconds: plan.settings.decommission.gracePeriodSeconds } : {}),
      ...scheduling,
      ...(affinity ? { affinity } : {}),
      ...(zone.topologySpreadConstraints ? { topologySpreadConstraints: zone.topologySpreadConstraints } : {}),
      securityContext: podSecurityContext(plan),
      containers: [
        {
          name: role === "driver" ? DRIVER_CONTAINER : EXECUTOR_CONTAINER,
          securityContext: containerSecurityContext(),
          ...(scratch ? { resources: { requests: scratch.requests }, volumeMounts: [scratch.mount] } : {}),
        },
      ],
      ...(scratch ? { volumes: [scratch.volume] } : {}),
    },
  };
}
