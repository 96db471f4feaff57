/**
 * The Spark layer's Kubernetes objects as plain, pure values (typed with the SDK's input types so
 * the component can hand them to typed resources unchanged). Names come from `sparkNames`.
 */
import { SPARK_GPU_RESOURCE, gpuExecutorPodTemplate, renderGpuConf } from "./gpu";
import type * as k8s from "@pulumi/kubernetes";
import { SECRET_PLACEHOLDER } from "../artifacts";
import { EVENT_LOG_MOUNT, HISTORY_SERVER_PORT, POD_TEMPLATE_DIR, SPARK_CONF_DIR } from "./conf";
import { formatImageRef } from "./image";
import type { SparkPlan } from "./plan";
import type { RegistryCredentials } from "./settings";
import { commonLabels, containerSecurityContext, podSecurityContext, podTemplate, schedulingFields } from "./podtemplates";
import { sparkRoleRules } from "./rbac";
import { driverPodMemoryMiB, executorPodMemoryMiB } from "./sizing";
import { renderSparkDefaults, submitArgs } from "./submit";
import { eventLogClaimUsed, eventLogDir } from "./conf";
import { formatCpuMilli, formatSparkMemory } from "../quantity";
import { stringify } from "yaml";

/** YAML without anchors/aliases (shared label objects would otherwise become `&a1`/`*a1`). */
export function toYaml(v: unknown): string {
  return stringify(v, { aliasDuplicateObjects: false, lineWidth: 0 });
}

export interface SparkManifests {
  namespace: k8s.types.input.core.v1.Namespace;
  resourceQuota?: k8s.types.input.core.v1.ResourceQuota;
  limitRange?: k8s.types.input.core.v1.LimitRange;
  serviceAccount: k8s.types.input.core.v1.ServiceAccount;
  role: k8s.types.input.rbac.v1.Role;
  roleBinding: k8s.types.input.rbac.v1.RoleBinding;
  clusterRoleBinding?: k8s.types.input.rbac.v1.ClusterRoleBinding;
  priorityClass?: k8s.types.input.scheduling.v1.PriorityClass;
  registrySecret?: k8s.types.input.core.v1.Secret;
  sparkDefaults: k8s.types.input.core.v1.ConfigMap;
  podTemplates: k8s.types.input.core.v1.ConfigMap;
  smokeTestJob?: k8s.types.input.batch.v1.Job;
  eventLogClaim?: k8s.types.input.core.v1.PersistentVolumeClaim;
  historyServerDeployment?: k8s.types.input.apps.v1.Deployment;
  historyServerService?: k8s.types.input.core.v1.Service;
}

/**
 * The smoke test's SparkPi is small on purpose: it checks access, image, scheduling and the
 * executors' way back to the driver, not capacity. It runs in client mode inside the Job's pod, so
 * the pod is the driver (1g heap) and the Job's status is SparkPi's: spark-submit in client mode
 * runs the application in its own JVM and exits non-zero when it throws (deploy/SparkSubmit.scala),
 * whereas in cluster mode it returns when the driver pod ends, whatever its phase
 * (deploy/k8s/submit/KubernetesClientApplication.scala, LoggingPodStatusWatcher.scala).
 */
export const SMOKE_TEST = {
  driverMemoryMiB: 1024,
  executorMemoryMiB: 1024,
  cores: 1,
  /** The Job's `activeDeadlineSeconds`; Pulumi's wait for the Job follows it (smokeTestAwaitSeconds). */
  deadlineSeconds: 1800,
} as const;

/**
 * How long `pulumi up` waits for the smoke-test Job: its deadline plus a minute for the API server
 * to mark it failed, so Pulumi reports the Job's own outcome instead of giving up first (the
 * Kubernetes provider's Job await stops after 10 minutes unless customTimeouts say otherwise).
 */
export function smokeTestAwaitSeconds(): number {
  return SMOKE_TEST.deadlineSeconds + 60;
}

/** Environment variables of the smoke test's pod, set from the downward API and used in its arguments. */
export const SMOKE_TEST_ENV = { podIp: "SPARK_DRIVER_POD_IP", podName: "SPARK_DRIVER_POD_NAME" } as const;

/** The History Server's pod: a 1 GiB daemon heap plus JVM overhead. */
export const HISTORY_SERVER_RESOURCES = { cpu: "250m", memoryMiB: 1536, daemonMemory: "1g" } as const;

/** The driver's verbs in its namespace, generated from Spark 4.0's API calls (rbac.ts). */
export const DRIVER_RULES: k8s.types.input.rbac.v1.PolicyRule[] = sparkRoleRules();

/** `.dockerconfigjson` content for one registry. */
export function dockerConfigJson(creds: RegistryCredentials, password: string): string {
  // Without the real password (review artifacts), the derived `auth` is a placeholder as well.
  const auth = password === SECRET_PLACEHOLDER ? SECRET_PLACEHOLDER : Buffer.from(`${creds.username}:${password}`).toString("base64");
  const entry: Record<string, string> = { username: creds.username, password, auth };
  if (creds.email) entry.email = creds.email;
  return JSON.stringify({ auths: { [creds.server]: entry } });
}

function meta(plan: SparkPlan, name: string, component: string, namespaced = true): k8s.types.input.meta.v1.ObjectMeta {
  return { name, ...(namespaced ? { namespace: plan.settings.namespace } : {}), labels: commonLabels(component) };
}

const mi = (n: number) => `${n}Mi`;

/** What the ResourceQuota admits: `quota.applications` full-size applications plus the layer's own pods. */
export function quotaTotals(plan: SparkPlan): { cpuMilli: number; memoryMiB: number; pods: number; gpus?: number } {
  const z = plan.sizing;
  const s = plan.settings;
  const apps = s.quota.applications;
  let cpuMilli = apps * (z.executor.instances * z.executor.cpuRequestMilli + z.driver.cores * 1000);
  let memoryMiB = apps * (z.executor.instances * z.executorPod.memoryMiB + z.driverPod.memoryMiB);
  let pods = apps * (z.executor.instances + 1);
  if (s.smokeTest.enabled) {
    const small = executorPodMemoryMiB({
      heapMiB: SMOKE_TEST.executorMemoryMiB,
      factor: s.executor.memoryOverheadFactor,
      minOverheadMiB: s.executor.minMemoryOverheadMiB,
      offHeapMiB: z.executor.offHeapMiB,
      pysparkMiB: z.executor.pysparkMiB,
    });
    // The Job's pod is the driver (client mode): one pod of the driver's size, then the executors.
    const driver = smokeTestDriverMiB(plan);
    cpuMilli += SMOKE_TEST.cores * 1000 * (1 + s.smokeTest.executorInstances);
    memoryMiB += driver + s.smokeTest.executorInstances * small;
    pods += 1 + s.smokeTest.executorInstances;
  }
  if (s.historyServer.enabled) {
    cpuMilli += 250;
    memoryMiB += HISTORY_SERVER_RESOURCES.memoryMiB;
    pods += 1;
  }
  // One GPU application beside them (spark.gpu): its executors on the GPU workers and its driver.
  let gpus: number | undefined;
  if (plan.gpu) {
    const g = plan.gpu.sizing;
    cpuMilli += g.executor.instances * g.executor.cpuRequestMilli + z.driver.cores * 1000;
    memoryMiB += g.executor.instances * g.executorPod.memoryMiB + z.driverPod.memoryMiB;
    pods += g.executor.instances + 1;
    gpus = g.executor.instances * plan.gpu.gpusPerExecutor;
  }
  return { cpuMilli, memoryMiB, pods, ...(gpus !== undefined ? { gpus } : {}) };
}

const EVENT_LOG_VOLUME = "spark-events";

function eventLogVolume(plan: SparkPlan): k8s.types.input.core.v1.Volume {
  return { name: EVENT_LOG_VOLUME, persistentVolumeClaim: { claimName: plan.names.eventLogClaim } };
}

/** The smoke test pod's memory: the 1g client-mode driver plus Spark's overhead rule for it. */
export function smokeTestDriverMiB(plan: SparkPlan): number {
  return driverPodMemoryMiB(SMOKE_TEST.driverMemoryMiB, plan.settings.driver.memoryOverheadFactor, plan.settings.driver.minMemoryOverheadMiB);
}

export function sparkManifests(plan: SparkPlan, opts: { registryPassword?: string } = {}): SparkManifests {
  const s = plan.settings;
  const n = plan.names;
  const image = formatImageRef(s.image);
  const ps = s.podSecurity;

  const m: SparkManifests = {
    namespace: {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: s.namespace,
        labels: {
          ...commonLabels("namespace"),
          "pod-security.kubernetes.io/enforce": ps.enforce,
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/warn": ps.warn,
          "pod-security.kubernetes.io/warn-version": "latest",
          "pod-security.kubernetes.io/audit": ps.audit,
          "pod-security.kubernetes.io/audit-version": "latest",
        },
      },
    },
    serviceAccount: {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(plan, n.serviceAccount, "driver"),
      ...(s.registryCredentials ? { imagePullSecrets: [{ name: n.registrySecret }] } : {}),
    },
    role: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(plan, n.role, "rbac"), rules: DRIVER_RULES },
    roleBinding: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(plan, n.roleBinding, "rbac"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.role },
      subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: s.namespace }],
    },
    sparkDefaults: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(plan, n.sparkDefaults, "config"),
      data: { "spark-defaults.conf": renderSparkDefaults(plan), ...(plan.gpu ? { "spark-gpu.conf": renderGpuConf(plan) } : {}) },
    },
    podTemplates: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(plan, n.podTemplates, "config"),
      data: {
        "driver.yaml": toYaml(podTemplate(plan, "driver")),
        "executor.yaml": toYaml(podTemplate(plan, "executor")),
        ...(plan.gpu ? { "executor-gpu.yaml": toYaml(gpuExecutorPodTemplate(podTemplate(plan, "executor") as Record<string, any>)) } : {}),
      },
    },
  };

  if (s.quota.enabled) {
    const q = quotaTotals(plan);
    m.resourceQuota = {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: meta(plan, n.resourceQuota, "quota"),
      spec: {
        hard: {
          "requests.cpu": formatCpuMilli(q.cpuMilli),
          "requests.memory": mi(q.memoryMiB),
          "limits.memory": mi(q.memoryMiB),
          pods: String(q.pods),
          // Extended resources are quota'd by their requests (Kubernetes: requests.<resource>).
          ...(q.gpus !== undefined ? { [`requests.${SPARK_GPU_RESOURCE}`]: String(q.gpus) } : {}),
        },
      },
    };
    const largest = Math.max(plan.sizing.executorPod.memoryMiB, plan.sizing.driverPod.memoryMiB, HISTORY_SERVER_RESOURCES.memoryMiB, smokeTestDriverMiB(plan), plan.gpu?.sizing.executorPod.memoryMiB ?? 0);
    m.limitRange = {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: meta(plan, n.limitRange, "quota"),
      spec: {
        limits: [
          {
            type: "Container",
            // Containers without requests (e.g. sidecars) get small ones, so the quota admits them.
            defaultRequest: { cpu: "100m", memory: "256Mi" },
            default: { memory: "256Mi" },
            // No CPU maximum: Spark sets no CPU limit, and a maximum would demand one.
            max: { memory: mi(largest) },
          },
        ],
      },
    };
  }

  if (s.clusterRoleBindingEdit) {
    m.clusterRoleBinding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(plan, n.clusterRoleBinding, "rbac", false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: s.namespace }],
    };
  }

  if (s.priorityClass?.create) {
    m.priorityClass = {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: meta(plan, s.priorityClass.name, "scheduling", false),
      value: s.priorityClass.value,
      preemptionPolicy: s.priorityClass.preemptionPolicy,
      globalDefault: false,
      description: "Spark drivers and executors (vsphere-spark)",
    };
  }

  if (s.registryCredentials) {
    m.registrySecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(plan, n.registrySecret, "registry"),
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": dockerConfigJson(s.registryCredentials, opts.registryPassword ?? SECRET_PLACEHOLDER) },
    };
  }

  if (s.smokeTest.enabled) {
    const z = SMOKE_TEST;
    const overrides: Record<string, string> = {
      "spark.executor.instances": String(s.smokeTest.executorInstances),
      "spark.executor.cores": String(z.cores),
      "spark.kubernetes.executor.request.cores": String(z.cores),
      "spark.executor.memory": formatSparkMemory(z.executorMemoryMiB),
      "spark.driver.memory": formatSparkMemory(z.driverMemoryMiB),
      "spark.driver.cores": String(z.cores),
      "spark.dynamicAllocation.enabled": "false",
      "spark.cores.max": String(s.smokeTest.executorInstances * z.cores),
    };
    if (plan.sizing.executor.pysparkMiB > 0) {
      // The smoke test's executors are small: keep PySpark memory out of them.
      overrides["spark.executor.pyspark.memory"] = "0m";
    }
    const smokePlan: SparkPlan = { ...plan, conf: { ...plan.conf } };
    for (const k of Object.keys(smokePlan.conf)) {
      if (k.startsWith("spark.dynamicAllocation.") || k === "spark.executor.memoryOverhead" || k === "spark.executor.pyspark.memory") delete smokePlan.conf[k];
    }
    m.smokeTestJob = inClusterDriverJob(smokePlan, {
      name: n.smokeTestJob,
      component: "smoke-test",
      overrides,
      cpu: formatCpuMilli(z.cores * 1000),
      memoryMiB: smokeTestDriverMiB(plan),
    });
  }

  if (s.historyServer.enabled) {
    const labels = commonLabels("history-server");
    const claim = eventLogClaimUsed(s);
    if (claim) m.eventLogClaim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(plan, n.eventLogClaim, "history-server"),
      spec: {
        accessModes: [s.historyServer.accessMode],
        resources: { requests: { storage: s.historyServer.storageSize } },
        ...(s.historyServer.storageClassName ? { storageClassName: s.historyServer.storageClassName } : {}),
      },
    };
    m.historyServerDeployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(plan, n.historyServer, "history-server"),
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            ...schedulingFields(plan),
            securityContext: podSecurityContext(plan),
            containers: [
              {
                name: "history-server",
                image,
                imagePullPolicy: s.imagePullPolicy,
                args: ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.history.HistoryServer"],
                // SPARK_CONF_DIR: the server reads spark-defaults.conf as drivers do (HistoryServerArguments
                // loads it), so extraConf (an object store's endpoint, credentials providers) reaches it.
                env: [
                  { name: "SPARK_HISTORY_OPTS", value: `-Dspark.history.fs.logDirectory=${eventLogDir(s)}` },
                  { name: "SPARK_DAEMON_MEMORY", value: HISTORY_SERVER_RESOURCES.daemonMemory },
                  { name: "SPARK_CONF_DIR", value: SPARK_CONF_DIR },
                ],
                ports: [{ name: "http", containerPort: HISTORY_SERVER_PORT }],
                readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
                resources: {
                  requests: { cpu: HISTORY_SERVER_RESOURCES.cpu, memory: mi(HISTORY_SERVER_RESOURCES.memoryMiB) },
                  limits: { memory: mi(HISTORY_SERVER_RESOURCES.memoryMiB) },
                },
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "spark-defaults", mountPath: SPARK_CONF_DIR, readOnly: true },
                  ...(claim ? [{ name: EVENT_LOG_VOLUME, mountPath: EVENT_LOG_MOUNT, readOnly: true }] : []),
                ],
              },
            ],
            volumes: [{ name: "spark-defaults", configMap: { name: n.sparkDefaults } }, ...(claim ? [eventLogVolume(plan)] : [])],
          },
        },
      },
    };
    m.historyServerService = {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(plan, n.historyServer, "history-server"),
      spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: HISTORY_SERVER_PORT, targetPort: "http" }] },
    };
  }
  return m;
}

/**
 * A Job whose pod is a client-mode driver (the smoke test's way, README "In-cluster client mode"):
 * spark-submit in the pod, executors connecting back to the pod's IP, the pod owning its executors,
 * the service account's token for the API, spark-defaults and the pod templates mounted, and the
 * event-log claim mounted when drivers log to it. `plan.conf` plus `overrides` are the properties.
 */
export function inClusterDriverJob(
  plan: SparkPlan,
  opts: { name: string; component: string; overrides: Record<string, string>; cpu: string; memoryMiB: number },
): k8s.types.input.batch.v1.Job {
  const s = plan.settings;
  const n = plan.names;
  const overrides: Record<string, string> = {
    ...opts.overrides,
    // Client mode inside the pod: executors connect back to the pod's IP; naming the pod makes it
    // the executors' owner (ExecutorPodsAllocator reads it), so they go when the Job's pod goes.
    // Kubernetes expands $(VAR) in args from the container's env.
    "spark.driver.host": `$(${SMOKE_TEST_ENV.podIp})`,
    "spark.kubernetes.driver.pod.name": `$(${SMOKE_TEST_ENV.podName})`,
    "spark.kubernetes.authenticate.caCertFile": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    "spark.kubernetes.authenticate.oauthTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
  };
  if (eventLogClaimUsed(s)) {
    // The Job's pod is the driver and mounts the claim below, so it writes the event log there
    // (client-mode submit commands turn event logging off, having no claim).
    overrides["spark.eventLog.enabled"] = "true";
    overrides["spark.eventLog.dir"] = eventLogDir(s);
  }
  const named: SparkPlan = { ...plan, settings: { ...s, sparkApplication: { ...s.sparkApplication, name: opts.name } } };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(plan, opts.name, opts.component),
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: SMOKE_TEST.deadlineSeconds,
      template: {
        metadata: { labels: commonLabels(opts.component) },
        spec: {
          serviceAccountName: n.serviceAccount,
          restartPolicy: "Never",
          ...schedulingFields(plan),
          securityContext: podSecurityContext(plan),
          containers: [
            {
              name: "spark-submit",
              image: formatImageRef(s.image),
              imagePullPolicy: s.imagePullPolicy,
              command: ["/opt/spark/bin/spark-submit"],
              args: submitArgs(named, "client", "k8s://https://kubernetes.default.svc:443", overrides, "/opt/spark"),
              env: [
                { name: "SPARK_CONF_DIR", value: SPARK_CONF_DIR },
                { name: SMOKE_TEST_ENV.podIp, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: SMOKE_TEST_ENV.podName, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              resources: { requests: { cpu: opts.cpu, memory: mi(opts.memoryMiB) }, limits: { memory: mi(opts.memoryMiB) } },
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: "spark-defaults", mountPath: SPARK_CONF_DIR, readOnly: true },
                { name: "pod-templates", mountPath: POD_TEMPLATE_DIR, readOnly: true },
                ...(eventLogClaimUsed(s) ? [{ name: EVENT_LOG_VOLUME, mountPath: EVENT_LOG_MOUNT }] : []),
              ],
            },
          ],
          volumes: [
            { name: "spark-defaults", configMap: { name: n.sparkDefaults } },
            { name: "pod-templates", configMap: { name: n.podTemplates } },
            ...(eventLogClaimUsed(s) ? [eventLogVolume(plan)] : []),
          ],
        },
      },
    },
  };
}

/**
 * The application (SparkPi, as in the submit scripts) with the platform's own sizing, its driver in
 * a pod in client mode, so no network path between a submit host and the pods is needed. Rendered
 * for the user (spark/submit-in-cluster.yaml), not created. The driver pod takes a worker's room,
 * as the cluster-mode driver does.
 */
export function inClusterSubmitJob(plan: SparkPlan): k8s.types.input.batch.v1.Job {
  const name = `${plan.settings.sparkApplication.name}-in-cluster`.slice(0, 63).replace(/-+$/, "");
  return inClusterDriverJob(plan, { name, component: "driver", overrides: {}, cpu: plan.sizing.driverPod.cpuRequest, memoryMiB: plan.sizing.driverPod.memoryMiB });
}

/** The manifests in apply order (namespace and cluster-scoped objects first). */
export function manifestList(m: SparkManifests): object[] {
  const order: (keyof SparkManifests)[] = [
    "namespace", "priorityClass", "resourceQuota", "limitRange", "serviceAccount", "role", "roleBinding",
    "clusterRoleBinding", "registrySecret", "sparkDefaults", "podTemplates", "eventLogClaim",
    "historyServerDeployment", "historyServerService", "smokeTestJob",
  ];
  return order.map((k) => m[k]).filter((x): x is NonNullable<typeof x> => x !== undefined) as object[];
}
