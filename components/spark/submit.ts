/**
 * Rendered ways to run Spark on the platform: spark-defaults.conf, spark-submit command scripts
 * (cluster and client mode, as in the paper's Table 1) and a Kubeflow Spark Operator
 * SparkApplication with the same sizing.
 */
import {
  CLIENT_BLOCK_MANAGER_PORT,
  CLIENT_DRIVER_PORT,
  eventLogClaimUsed,
  exampleApp,
  scalaBinaryVersion,
  sortKeys,
} from "./conf";
import { formatImageRef } from "./image";
import { SparkPlan, sizingPolicy } from "./plan";
import { SizingError, sizeExecutors } from "./sizing";
import { podTemplate } from "./podtemplates";
import { parseSparkTimeMs } from "./units";

/** spark-defaults.conf: one `key value` line per property, sorted. */
export function renderSparkDefaults(plan: SparkPlan): string {
  const lines = [
    "# spark-defaults.conf rendered by vsphere-spark (components/spark).",
    `# Sizing: ${plan.workers.count} workers of ${plan.workers.vm.cpus} vCPU / ${plan.workers.vm.memoryMiB} MiB, allocatable ${plan.workers.allocatable.cpu} CPU / ${plan.workers.allocatable.memoryMiB} MiB;`,
    `# executor pod ${plan.sizing.executorPod.cpuRequest} CPU / ${plan.sizing.executorPod.memoryMiB} MiB, driver pod ${plan.sizing.driverPod.cpuRequest} CPU / ${plan.sizing.driverPod.memoryMiB} MiB.`,
    "# spark.cores.max is informational: the Kubernetes backend ignores it.",
  ];
  for (const [k, v] of Object.entries(plan.conf)) lines.push(`${k} ${v}`);
  return `${lines.join("\n")}\n`;
}

/** POSIX shell quoting: bare when safe, else single quotes. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `k8s://https://host:port` from the API endpoint (`host:port`, or a URL). */
export function k8sMaster(apiEndpoint: string): string {
  return `k8s://${/^https?:\/\//.test(apiEndpoint) ? apiEndpoint : `https://${apiEndpoint}`}`;
}

/** Properties passed as dedicated flags rather than `--conf` (as the paper's command does). */
const FLAG_KEYS: Record<string, string> = {
  "spark.driver.memory": "--driver-memory",
  "spark.executor.memory": "--executor-memory",
  "spark.submit.deployMode": "--deploy-mode",
};

export type SubmitMode = "cluster" | "client";

/** The Spark properties a submit command passes, per mode. */
export function submitConf(plan: SparkPlan, mode: SubmitMode): Record<string, string> {
  const conf: Record<string, string> = { ...plan.conf, "spark.submit.deployMode": mode };
  // PySpark memory reaches the executor pod by itself only in cluster mode; in client mode an
  // explicit overhead carries it (sizing.ts, explicitOverheadMiB).
  const ex = plan.sizing.executor;
  delete conf["spark.executor.memoryOverhead"];
  if (mode === "client" && ex.pysparkMiB > 0) conf["spark.executor.memoryOverhead"] = `${ex.overheadMiB + ex.pysparkMiB}m`;
  if (mode === "client" && eventLogClaimUsed(plan.settings)) {
    // The event-log claim is mounted only in pods (the cluster-mode driver, the smoke test): on a
    // submit host file:///spark-events does not exist and SparkContext would fail to start
    // (EventLogFileWriters.scala, requireLogBaseDirAsDirectory). No event log from there.
    for (const k of Object.keys(conf)) if (k.startsWith("spark.kubernetes.driver.volumes.")) delete conf[k];
    conf["spark.eventLog.enabled"] = "false";
    delete conf["spark.eventLog.dir"];
  }
  if (mode === "client") {
    // The driver is this process: executors connect back to it on fixed ports.
    delete conf["spark.kubernetes.driver.podTemplateFile"];
    delete conf["spark.kubernetes.driver.podTemplateContainerName"];
    conf["spark.driver.port"] = String(CLIENT_DRIVER_PORT);
    conf["spark.driver.blockManager.port"] = String(CLIENT_BLOCK_MANAGER_PORT);
  }
  return sortKeys(conf);
}

/**
 * The spark-submit argument list (after the program name) for SparkPi in the given mode. `home`:
 * the Spark installation of the process that runs a client-mode driver (`$SPARK_HOME`, `/opt/spark`).
 */
export function submitArgs(plan: SparkPlan, mode: SubmitMode, master: string, extra: Record<string, string> = {}, home?: string): string[] {
  const app = exampleApp(plan.settings, mode === "client" ? (home ?? "__SPARK_HOME__") : undefined);
  const conf = sortKeys({ ...submitConf(plan, mode), ...extra });
  const args = ["--master", master, "--deploy-mode", mode, "--name", plan.settings.sparkApplication.name];
  if (app.mainClass) args.push("--class", app.mainClass);
  for (const [k, flag] of Object.entries(FLAG_KEYS)) {
    if (k !== "spark.submit.deployMode" && conf[k] !== undefined) args.push(flag, conf[k]);
  }
  for (const [k, v] of Object.entries(conf)) {
    if (FLAG_KEYS[k] === undefined) args.push("--conf", `${k}=${v}`);
  }
  args.push(app.file, ...app.args);
  return args;
}

/**
 * A runnable script: spark-submit of SparkPi against the cluster. Client mode needs
 * SPARK_DRIVER_HOST (an address of this machine the pods can reach). spark-submit reads the pod
 * templates on this machine: the script fetches them from the cluster's ConfigMap with kubectl into
 * SPARK_POD_TEMPLATES (default `~/.vsphere-spark/<namespace>/pod-templates`), no root needed.
 */
export function renderSubmitScript(plan: SparkPlan, mode: SubmitMode, apiEndpoint: string): string {
  const templates = mode === "cluster" ? ["driver", "executor"] : ["executor"];
  const extra: Record<string, string> = Object.fromEntries(
    templates.map((t) => [`spark.kubernetes.${t}.podTemplateFile`, `__TEMPLATES__/${t}.yaml`]),
  );
  if (mode === "client") extra["spark.driver.host"] = "__DRIVER_HOST__";
  const args = submitArgs(plan, mode, k8sMaster(apiEndpoint), extra, mode === "client" ? "__SPARK_HOME__" : undefined);
  const lines: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const isPair = a.startsWith("--") && i + 1 < args.length;
    let text = isPair ? `${a} ${shellQuote(args[i + 1])}` : shellQuote(a);
    text = text.replace("__DRIVER_HOST__", '"${SPARK_DRIVER_HOST:?set SPARK_DRIVER_HOST to an address of this host that pods can reach}"');
    text = text.replace(/'([^']*)__TEMPLATES__([^']*)'/, `"$TEMPLATES"'$1$2'`).replace("__TEMPLATES__", '"$TEMPLATES"');
    text = text.replace(/'([^']*)__SPARK_HOME__([^']*)'/, `"$SPARK_HOME"'$1$2'`).replace("__SPARK_HOME__", '"$SPARK_HOME"');
    lines.push(`  ${text}`);
    if (isPair) i++;
  }
  const ns = plan.settings.namespace;
  return [
    "#!/usr/bin/env bash",
    `# spark-submit in ${mode} mode, rendered by vsphere-spark (components/spark): SparkPi with the platform's sizing.`,
    ...otherModeWarning(plan, mode),
    ...(mode === "client" && eventLogClaimUsed(plan.settings)
      ? ["# Event logging is off here: the History Server's event-log claim is mounted only in pods, not on this host; submit in cluster mode for the History Server to see the run."]
      : []),
    mode === "client"
      ? `# The driver runs here; executors connect back to SPARK_DRIVER_HOST on ports ${CLIENT_DRIVER_PORT} and ${CLIENT_BLOCK_MANAGER_PORT}.`
      : "# The driver runs in a pod under the platform's service account.",
    "set -euo pipefail",
    'SPARK_HOME="${SPARK_HOME:-/opt/spark}"',
    ...(mode === "client" ? [...versionCheck(plan), ...networkCheck()] : []),
    `TEMPLATES="\${SPARK_POD_TEMPLATES:-$HOME/.vsphere-spark/${ns}/pod-templates}"`,
    'mkdir -p "$TEMPLATES"',
    ...templates.map(
      (t) =>
        `kubectl --namespace ${ns} get configmap ${plan.names.podTemplates} -o 'jsonpath={.data.${t}\\.yaml}' > "$TEMPLATES/${t}.yaml"`,
    ),
    `"$SPARK_HOME/bin/spark-submit" \\`,
    lines.join(" \\\n"),
    "",
  ].join("\n");
}

/**
 * The platform is sized for `settings.deployMode`; a script for the other mode says what that mode
 * would change (e.g. in cluster mode the driver pod takes the room of an executor).
 */
export function otherModeWarning(plan: SparkPlan, mode: SubmitMode): string[] {
  if (mode === plan.settings.deployMode) return [];
  try {
    const other = sizeExecutors(plan.workers, { ...sizingPolicy(plan.settings), deployMode: mode });
    return other.fit.notes.filter((n) => n.startsWith("cluster mode")).map((n) => `# NOTE (${mode} mode): ${n}`);
  } catch (e) {
    if (!(e instanceof SizingError)) throw e;
    return [`# WARNING: the platform is sized for ${plan.settings.deployMode} mode; in ${mode} mode: ${e.message}`];
  }
}

/**
 * Client mode runs the driver in this machine's Spark: it must be the image's Spark and Scala
 * version (executors and driver exchange serialized classes). spark-submit --version prints
 * "version <x.y.z>" and "Using Scala version <2.13.n>" (deploy/SparkSubmit.scala, printVersion).
 */
function versionCheck(plan: SparkPlan): string[] {
  const spark = plan.settings.sparkVersion;
  const scala = scalaBinaryVersion(spark);
  return [
    `# The driver runs in this machine's Spark: it must match the image (Spark ${spark}, Scala ${scala}).`,
    'local_version=$("$SPARK_HOME/bin/spark-submit" --version 2>&1) || { echo "cannot run $SPARK_HOME/bin/spark-submit --version" >&2; exit 1; }',
    `local_spark=$(printf '%s\n' "$local_version" | sed -n 's/.*version \\([0-9][0-9.]*\\)$/\\1/p' | head -n 1)`,
    `local_scala=$(printf '%s\n' "$local_version" | sed -n 's/.*Using Scala version \\([0-9]*\\.[0-9]*\\).*/\\1/p' | head -n 1)`,
    `if [ "$local_spark" != "${spark}" ] || [ "$local_scala" != "${scala}" ]; then`,
    `  echo "local Spark is \${local_spark:-unknown} (Scala \${local_scala:-unknown}) in $SPARK_HOME; the image runs Spark ${spark} (Scala ${scala}): install that version or set SPARK_HOME" >&2`,
    "  exit 1",
    "fi",
  ];
}

/**
 * Client mode's network, checked where it can be: the driver binds SPARK_DRIVER_HOST (Spark's
 * spark.driver.bindAddress defaults to spark.driver.host) and executors connect to it, so it must
 * be an address of this host (no NAT between here and the pods); and the driver fetches large task
 * results and broadcast pieces from the executors' block managers at their pod IPs, so this host
 * must route to the pod network. The first is an error; the second a warning (it needs `kubectl get
 * nodes`, and a router may know the pod routes).
 */
function networkCheck(): string[] {
  return [
    "# The driver binds SPARK_DRIVER_HOST and executors connect to it: it must be an address of this host.",
    ': "${SPARK_DRIVER_HOST:?set SPARK_DRIVER_HOST to an address of this host that pods can reach}"',
    "driver_ips=$(getent ahosts \"$SPARK_DRIVER_HOST\" 2>/dev/null | awk '{print $1}' | sort -u || true)",
    "local_ips=$(ip -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1 || true)",
    "if [ -n \"$local_ips\" ] && ! printf '%s\\n' ${driver_ips:-$SPARK_DRIVER_HOST} | grep -qxF -f <(printf '%s\\n' \"$local_ips\"); then",
    '  echo "SPARK_DRIVER_HOST=$SPARK_DRIVER_HOST is not an address of this host (ip addr): the driver binds it and executors connect to it; give the address of this host on the network the pods reach (no NAT), or run the driver in a pod (README: in-cluster client mode)" >&2',
    "  exit 1",
    "fi",
    "# The driver also connects to executors (their pod IPs, block-manager port) for large task results: warn when the pod network is routed only through the default gateway.",
    "default_gw=$(ip route show default 2>/dev/null | awk '{print $3; exit}' || true)",
    "for cidr in $(kubectl get nodes -o 'jsonpath={.items[*].spec.podCIDR}' 2>/dev/null || true); do",
    '  case "$cidr" in *[!0-9./]*|"") continue ;; esac',
    '  if [ -n "$default_gw" ] && ip route get "${cidr%/*}" 2>/dev/null | grep -q " via $default_gw "; then',
    '    echo "warning: pod network $cidr is routed from here only through the default gateway $default_gw; unless it knows the pod routes, the driver cannot reach executors at their pod IPs (large task results), and jobs hang: submit from a cluster node or run the driver in a pod" >&2',
    "  fi",
    "done",
  ];
}

/** The Spark properties the operator derives from typed SparkApplication fields (kept out of sparkConf). */
const OPERATOR_TYPED_KEYS = new Set([
  "spark.executor.instances",
  "spark.executor.cores",
  "spark.executor.memory",
  "spark.kubernetes.executor.request.cores",
  "spark.driver.memory",
  "spark.driver.cores",
  "spark.kubernetes.namespace",
  "spark.kubernetes.authenticate.driver.serviceAccountName",
  "spark.kubernetes.container.image",
  "spark.kubernetes.container.image.pullPolicy",
  "spark.kubernetes.container.image.pullSecrets",
  "spark.kubernetes.driver.podTemplateFile",
  "spark.kubernetes.executor.podTemplateFile",
  "spark.kubernetes.driver.podTemplateContainerName",
  "spark.kubernetes.executor.podTemplateContainerName",
  "spark.submit.deployMode",
]);

/** A Kubeflow Spark Operator SparkApplication (sparkoperator.k8s.io/v1beta2) running SparkPi with this sizing. */
export function sparkApplication(plan: SparkPlan): Record<string, unknown> {
  const s = plan.settings;
  const z = plan.sizing;
  const app = exampleApp(s);
  const sparkConf: Record<string, string> = {};
  for (const [k, v] of Object.entries(plan.conf)) {
    if (!OPERATOR_TYPED_KEYS.has(k) && !k.startsWith("spark.dynamicAllocation.")) sparkConf[k] = v;
  }
  const fractional = z.executor.cpuRequestMilli < z.executor.cores * 1000;
  const executor: Record<string, unknown> = {
    cores: z.executor.cores,
    memory: plan.conf["spark.executor.memory"],
    serviceAccount: s.serviceAccount,
    template: podTemplate(plan, "executor"),
  };
  if (fractional) executor.coreRequest = z.executorPod.cpuRequest;
  const da = z.executor.dynamicAllocation;
  // Always cluster mode: the driver pod takes room on a worker first (sizing.ts, clusterModeFit).
  if (!da) executor.instances = Math.min(z.executor.instances, z.fit.clusterMode.startableExecutors);
  const spec: Record<string, unknown> = {
    type: s.appType === "python" ? "Python" : "Scala",
    mode: "cluster",
    image: formatImageRef(s.image),
    imagePullPolicy: s.imagePullPolicy,
    sparkVersion: s.sparkVersion,
    mainApplicationFile: app.file,
    arguments: app.args,
    sparkConf,
    restartPolicy: { type: "Never" },
    driver: {
      cores: z.driver.cores,
      memory: plan.conf["spark.driver.memory"],
      serviceAccount: s.serviceAccount,
      template: podTemplate(plan, "driver"),
    },
    executor,
  };
  if (app.mainClass) spec.mainClass = app.mainClass;
  if (s.appType === "python") spec.pythonVersion = "3";
  if (s.registryCredentials) spec.imagePullSecrets = [plan.names.registrySecret];
  if (da) {
    spec.dynamicAllocation = {
      enabled: true,
      initialExecutors: da.initialExecutors,
      minExecutors: da.minExecutors,
      maxExecutors: da.maxExecutors,
      shuffleTrackingEnabled: true,
      shuffleTrackingTimeout: parseSparkTimeMs(s.dynamicAllocation.shuffleTrackingTimeout),
    };
  }
  return {
    apiVersion: "sparkoperator.k8s.io/v1beta2",
    kind: "SparkApplication",
    metadata: { name: s.sparkApplication.name, namespace: s.namespace, labels: { "app.kubernetes.io/part-of": "vsphere-spark" } },
    spec,
  };
}
