/**
 * The Spark properties this layer emits (one map, used by spark-defaults.conf, the spark-submit
 * commands and the SparkApplication), and the names and paths they refer to.
 */
import { formatImageRef } from "./image";
import type { SparkSettings } from "./settings";
import type { ExecutorSizing } from "./sizing";

/** Where the smoke-test Job (and users' submit hosts, by convention) keep spark-defaults.conf. */
export const SPARK_CONF_DIR = "/etc/spark/conf";
/** Where the driver and executor pod templates are read from. */
export const POD_TEMPLATE_DIR = "/etc/spark/pod-templates";
export const DRIVER_CONTAINER = "spark-kubernetes-driver";
export const EXECUTOR_CONTAINER = "spark-kubernetes-executor";
/** Mount path of the event-log volume in drivers and the History Server. */
export const EVENT_LOG_MOUNT = "/spark-events";
export const HISTORY_SERVER_PORT = 18080;
/** Fixed client-mode ports, so a firewall between the submit host and the pods can be opened for them. */
export const CLIENT_DRIVER_PORT = 7078;
export const CLIENT_BLOCK_MANAGER_PORT = 7079;

/** Names of the objects this layer creates, derived in one place. */
export interface SparkNames {
  namespace: string;
  serviceAccount: string;
  role: string;
  roleBinding: string;
  clusterRoleBinding: string;
  priorityClass?: string;
  registrySecret: string;
  sparkDefaults: string;
  podTemplates: string;
  resourceQuota: string;
  limitRange: string;
  smokeTestJob: string;
  eventLogClaim: string;
  historyServer: string;
}

export function sparkNames(s: SparkSettings): SparkNames {
  return {
    namespace: s.namespace,
    serviceAccount: s.serviceAccount,
    role: "spark-driver",
    roleBinding: "spark-driver",
    // Cluster-scoped: the namespace is part of the name so two Spark namespaces do not collide.
    clusterRoleBinding: `${s.namespace}-${s.serviceAccount}-edit`.slice(0, 253),
    priorityClass: s.priorityClass?.name,
    registrySecret: "spark-registry",
    sparkDefaults: "spark-defaults",
    podTemplates: "spark-pod-templates",
    resourceQuota: "spark",
    limitRange: "spark",
    smokeTestJob: "spark-pi-smoke-test",
    eventLogClaim: "spark-events",
    historyServer: "spark-history-server",
  };
}

/** The example application (SparkPi) in the image: a jar for JVM apps, pi.py for Python apps. */
export interface ExampleApp {
  mainClass?: string;
  file: string;
  args: string[];
}

/** Scala version of the examples jar: Spark 4 is built for 2.13 only, Spark 3 images use 2.12. */
export function scalaBinaryVersion(sparkVersion: string): string {
  return Number(sparkVersion.split(".")[0]) >= 4 ? "2.13" : "2.12";
}

/**
 * SparkPi. `home` is where Spark is installed for the process that runs the driver: omitted, the
 * file is a `local://` path inside the image (cluster mode: the driver pod reads it); given (client
 * mode), a plain path under that Spark home, e.g. `$SPARK_HOME` on the submit host or `/opt/spark`
 * in the smoke test's pod.
 */
export function exampleApp(s: SparkSettings, home?: string): ExampleApp {
  const args = [String(s.smokeTest.iterations)];
  const base = home === undefined ? "local:///opt/spark" : home;
  if (s.appType === "python") return { file: `${base}/examples/src/main/python/pi.py`, args };
  return {
    mainClass: "org.apache.spark.examples.SparkPi",
    file: `${base}/examples/jars/spark-examples_${scalaBinaryVersion(s.sparkVersion)}-${s.sparkVersion}.jar`,
    args,
  };
}

/**
 * Every Spark property of the platform: the sizing's, then namespace, identity, image, pod
 * templates and event log, then the user's `extraConf` (which settings validation keeps away from
 * the keys above).
 */
export function sparkConf(s: SparkSettings, sizing: ExecutorSizing): Record<string, string> {
  const n = sparkNames(s);
  const conf: Record<string, string> = { ...sizing.conf };
  conf["spark.submit.deployMode"] = s.deployMode;
  conf["spark.kubernetes.namespace"] = s.namespace;
  conf["spark.kubernetes.authenticate.driver.serviceAccountName"] = s.serviceAccount;
  conf["spark.kubernetes.container.image"] = formatImageRef(s.image);
  conf["spark.kubernetes.container.image.pullPolicy"] = s.imagePullPolicy;
  if (s.registryCredentials) conf["spark.kubernetes.container.image.pullSecrets"] = n.registrySecret;
  conf["spark.kubernetes.driver.podTemplateFile"] = `${POD_TEMPLATE_DIR}/driver.yaml`;
  conf["spark.kubernetes.executor.podTemplateFile"] = `${POD_TEMPLATE_DIR}/executor.yaml`;
  conf["spark.kubernetes.driver.podTemplateContainerName"] = DRIVER_CONTAINER;
  conf["spark.kubernetes.executor.podTemplateContainerName"] = EXECUTOR_CONTAINER;
  if (s.historyServer.enabled) {
    conf["spark.eventLog.enabled"] = "true";
    conf["spark.eventLog.dir"] = eventLogDir(s);
    if (eventLogClaimUsed(s)) {
      // Cluster mode only (settings refuse the claim in client mode): the driver pod mounts it.
      // Without the mount the directory does not exist and SparkContext fails (eventlog.ts).
      const vol = `spark.kubernetes.driver.volumes.persistentVolumeClaim.${n.eventLogClaim}`;
      conf[`${vol}.mount.path`] = EVENT_LOG_MOUNT;
      conf[`${vol}.options.claimName`] = n.eventLogClaim;
    }
  }
  if (s.decommission.enabled) Object.assign(conf, decommissionConf(s));
  Object.assign(conf, s.extraConf);
  return sortKeys(conf);
}

/**
 * Decommissioning's properties (core/src/main/scala/org/apache/spark/internal/config/package.scala:
 * DECOMMISSION_ENABLED, STORAGE_DECOMMISSION_ENABLED, STORAGE_DECOMMISSION_SHUFFLE_BLOCKS_ENABLED,
 * STORAGE_DECOMMISSION_RDD_BLOCKS_ENABLED, all since 3.1.0). `spark.decommission.enabled` also
 * makes Spark add the preStop hook /opt/decom.sh to every executor container
 * (resource-managers/kubernetes/.../features/BasicExecutorFeatureStep.scala; the script ships in
 * the image, kubernetes/dockerfiles/spark/decom.sh, and waits for the executor to exit).
 */
export function decommissionConf(s: SparkSettings): Record<string, string> {
  const d = s.decommission;
  if (!d.enabled) return {};
  const storage = d.shuffleBlocks || d.rddBlocks;
  const conf: Record<string, string> = { "spark.decommission.enabled": "true", "spark.storage.decommission.enabled": String(storage) };
  if (storage) {
    conf["spark.storage.decommission.shuffleBlocks.enabled"] = String(d.shuffleBlocks);
    conf["spark.storage.decommission.rddBlocks.enabled"] = String(d.rddBlocks);
  }
  return conf;
}

/** The History Server's event-log claim exists (no shared `logDirectory`): event logs are files under EVENT_LOG_MOUNT. */
export function eventLogClaimUsed(s: SparkSettings): boolean {
  return s.historyServer.enabled && s.historyServer.logDirectory === undefined;
}

/** Where drivers write event logs and the History Server reads them: the shared URI, or the claim's mount. */
export function eventLogDir(s: SparkSettings): string {
  return s.historyServer.logDirectory ?? `file://${EVENT_LOG_MOUNT}`;
}

export function sortKeys(conf: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(conf).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
