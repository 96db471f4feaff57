/**
 * The Kubernetes API calls Spark 4.0 makes, as a table, and the driver Role generated from it.
 *
 * Read from apache/spark's Kubernetes resource manager (4.x line, the version the layer targets is
 * v4.0.1; the files were read from the search index's copies of the 4.x sources, which are not pinned
 * to the tag: every row names the file and the call so it can be re-checked against
 * https://github.com/apache/spark/tree/v4.0.1/resource-managers/kubernetes/core/src/main/scala/org/apache/spark/scheduler/cluster/k8s
 * and …/deploy/k8s/submit). fabric8 6.x, which Spark 4 uses, maps the client calls to verbs:
 * `create()` → POST (create); `get()` → GET (get); `list()` → GET collection (list); `watch()` and
 * `waitUntilReady()` → list + watch; `edit()` → GET + PATCH (get, patch); `serverSideApply()` → PATCH
 * with `application/apply-patch+yaml`, authorized as `patch`, and as `create` as well when the object
 * does not exist yet and the apply creates it (Kubernetes docs, reference/using-api/server-side-apply.md
 * "RBAC and permissions"; apiserver endpoints/handlers/patch.go, kubernetes/kubernetes#64892);
 * `delete()` on a named object → DELETE (delete); `delete()`
 * on a label- or field-filtered operation → one DELETE on the collection (deletecollection; since
 * fabric8 6.0, fabric8io/kubernetes-client#4068).
 */
import type * as k8s from "@pulumi/kubernetes";

export type SparkCaller = "submission-client" | "driver" | "submit-script";

export interface SparkApiCall {
  /**
   * Who makes it: spark-submit's Kubernetes client (cluster mode), the driver's scheduler backend, or
   * the rendered submit scripts themselves (components/spark/submit.ts).
   */
  caller: SparkCaller;
  /** Deploy modes in which the call happens. */
  modes: readonly ("cluster" | "client")[];
  apiGroup: string;
  resource: string;
  verb: string;
  /** The Spark class (file under resource-managers/kubernetes/core/src/main/scala/org/apache/spark/) and call. */
  source: string;
  /** When it happens. */
  when: string;
  /** Only with a feature this layer does not configure; the Role leaves it out unless asked. */
  optIn?: string;
}

const SUBMIT = "deploy/k8s/submit/KubernetesClientApplication.scala (Client.run)";
const BACKEND = "scheduler/cluster/k8s/KubernetesClusterSchedulerBackend.scala";
const ALLOCATOR = "scheduler/cluster/k8s/ExecutorPodsAllocator.scala";
const BOTH = ["cluster", "client"] as const;

/** Every API call of Spark 4.0's submission client and driver, by resource and verb. */
export const SPARK_API_CALLS: readonly SparkApiCall[] = [
  // The submission client (spark-submit --deploy-mode cluster), under the submitter's identity.
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "pods", verb: "create", source: `${SUBMIT}: pods().inNamespace(ns).resource(resolvedDriverPod).create()`, when: "creates the driver pod" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "pods", verb: "delete", source: `${SUBMIT}: pods().resource(createdDriverPod).delete()`, when: "removes the driver pod when its resources cannot be applied" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "pods", verb: "get", source: `${SUBMIT}: podWithName.get()`, when: "spark.kubernetes.submission.waitAppCompletion (default true)" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "pods", verb: "watch", source: `${SUBMIT}: podWithName.watch(watcher)`, when: "waits for the driver pod to end" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "services", verb: "create", source: `${SUBMIT}: serverSideApply() of the driver's Service, which does not exist yet (server-side apply that creates is authorized as create)`, when: "every cluster-mode submission" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "configmaps", verb: "create", source: `${SUBMIT}: serverSideApply() of the driver's conf map and pod-template map, which do not exist yet`, when: "every cluster-mode submission" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "services", verb: "patch", source: `${SUBMIT}: resourceList(otherKubernetesResources).forceConflicts().serverSideApply(); the Service from deploy/k8s/features/DriverServiceFeatureStep.scala`, when: "the driver's headless Service" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "configmaps", verb: "patch", source: `${SUBMIT}: serverSideApply() of the driver's conf map (KubernetesClientUtils.buildConfigMap) and deploy/k8s/features/PodTemplateConfigMapStep.scala's executor pod template`, when: "every cluster-mode submission (the pod template map because this layer sets spark.kubernetes.executor.podTemplateFile)" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "persistentvolumeclaims", verb: "create", source: `${SUBMIT}: serverSideApply() creating deploy/k8s/features/MountVolumesFeatureStep.scala's OnDemand claims`, when: "driver OnDemand claims (possible through extraConf)" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "persistentvolumeclaims", verb: "patch", source: `${SUBMIT}: serverSideApply() of deploy/k8s/features/MountVolumesFeatureStep.scala's OnDemand claims`, when: "spark.kubernetes.driver.volumes.persistentVolumeClaim.*.options.claimName=OnDemand (possible through extraConf)" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "", resource: "secrets", verb: "patch", source: `${SUBMIT}: serverSideApply() of deploy/k8s/features/KerberosConfDriverFeatureStep.scala and DriverKubernetesCredentialsFeatureStep.scala secrets`, when: "Kerberos, or driver credentials mounted from the submitter's files", optIn: "Kerberos / mounted driver credentials" },
  { caller: "submission-client", modes: ["cluster"], apiGroup: "scheduling.volcano.sh", resource: "podgroups", verb: "patch", source: `${SUBMIT}: serverSideApply() of driverPreKubernetesResources (deploy/k8s/features/VolcanoFeatureStep.scala)`, when: "the Volcano scheduler", optIn: "Volcano" },

  // The rendered submit scripts, under the submitter's identity: they fetch the pod templates first.
  // The real-systems lab found this one missing: with only the service account's credentials, the
  // client-mode script stopped at kubectl's 403 before spark-submit ran.
  { caller: "submit-script", modes: BOTH, apiGroup: "", resource: "configmaps", verb: "get", source: "components/spark/submit.ts renderSubmitScript: kubectl get configmap <pod templates>", when: "every submission with the rendered scripts" },

  // The driver (a pod in cluster mode, spark-submit's JVM in client mode), under the driver's identity.
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "get", source: `${ALLOCATOR}: driverPod = pods().withName(spark.kubernetes.driver.pod.name).get(); edit() in ExecutorPodsLifecycleManager / ${BACKEND}`, when: "the driver pod (cluster mode, or client mode inside a pod), and before every edit()" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "list", source: `${ALLOCATOR}: waitUntilReady(driver pod); scheduler/cluster/k8s/ExecutorPodsPollingSnapshotSource.scala: withLabel(spark-app-selector).list(); ${BACKEND}: doKillExecutors running.list()`, when: "always" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "watch", source: `scheduler/cluster/k8s/ExecutorPodsWatchSnapshotSource.scala: withLabel(spark-app-selector, spark-role=executor).watch(); ${ALLOCATOR}: waitUntilReady`, when: "always" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "create", source: `${ALLOCATOR}: requestNewExecutors → pods().inNamespace(ns).resource(podWithAttachedContainer).create()`, when: "every executor" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "patch", source: `${BACKEND}: KubernetesDriverEndpoint labels each executor pod with its id (edit()); labelDecommissioningExecs; scheduler/cluster/k8s/ExecutorPodsLifecycleManager.scala removeExecutorFromK8s (edit())`, when: "every executor registration; decommissioning" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "delete", source: `scheduler/cluster/k8s/ExecutorPodsLifecycleManager.scala: pods().withName(name).delete(); ${ALLOCATOR}: resource(createdExecutorPod).delete()`, when: "finished or failed executors" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "pods", verb: "deletecollection", source: `${ALLOCATOR}: withLabel(spark-app-selector)…withLabelIn(spark-exec-id).delete() (timed-out and excess pods, stop()); ${BACKEND}: doKillExecutors running.delete()`, when: "scale-down, stop" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "configmaps", verb: "create", source: `${BACKEND}: setUpExecutorConfigMap → configMaps().create(configMap)`, when: "start (unless spark.kubernetes.executor.disableConfigMap)" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "configmaps", verb: "deletecollection", source: `${BACKEND}: stop() → configMaps().withLabel(spark-app-selector).withLabel(spark-role=executor).delete()`, when: "stop" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "services", verb: "deletecollection", source: `${BACKEND}: stop() → services().withLabel(spark-app-selector).delete()`, when: "stop (spark.kubernetes.driver.service.deleteOnTermination, default true; in client mode too)" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "persistentvolumeclaims", verb: "deletecollection", source: `${BACKEND}: stop() → persistentVolumeClaims().withLabel(spark-app-selector).delete()`, when: "stop (always)" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "persistentvolumeclaims", verb: "create", source: `${ALLOCATOR}: persistentVolumeClaims().inNamespace(ns).resource(pvc).create()`, when: "executor OnDemand claims (spark.kubernetes.executor.volumes.persistentVolumeClaim.*, possible through extraConf)" },
  { caller: "driver", modes: BOTH, apiGroup: "", resource: "persistentvolumeclaims", verb: "list", source: `${ALLOCATOR}: getReusablePVCs → persistentVolumeClaims().withLabel(spark-app-selector).list()`, when: "OnDemand executor claims with spark.kubernetes.driver.reusePersistentVolumeClaim (default true)" },
];

/**
 * The rules of the Role bound to the platform's service account: every call of the table that the
 * driver makes, and the submission client's (so the account can also submit in cluster mode from a
 * pod), except those behind a feature the layer does not configure (`optIn`), grouped by resource.
 */
export function sparkRoleRules(calls: readonly SparkApiCall[] = SPARK_API_CALLS): k8s.types.input.rbac.v1.PolicyRule[] {
  const byResource = new Map<string, { apiGroup: string; resource: string; verbs: string[] }>();
  for (const c of calls) {
    if (c.optIn) continue;
    const key = `${c.apiGroup}/${c.resource}`;
    const entry = byResource.get(key) ?? { apiGroup: c.apiGroup, resource: c.resource, verbs: [] };
    if (!entry.verbs.includes(c.verb)) entry.verbs.push(c.verb);
    byResource.set(key, entry);
  }
  const order = ["get", "list", "watch", "create", "patch", "update", "delete", "deletecollection"];
  return [...byResource.values()].map((e) => ({
    apiGroups: [e.apiGroup],
    resources: [e.resource],
    verbs: [...e.verbs].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
  }));
}
