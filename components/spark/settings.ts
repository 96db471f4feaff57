/**
 * The Spark layer's user settings: what the stack config key `vsphere-spark:spark` holds (an
 * object). Every default lives in `resolveSparkSettings`, and nowhere else; validation collects all
 * problems at once, each with its full config path.
 */
import { FieldError, describeValue, isDnsLabel, isDnsSubdomain, labelKeyError, labelValueError } from "../validation";
import { ConfigReader as Reader } from "../config-reader";
import { SparkGpuSettings, readSparkGpuSettings } from "./gpu";
import { ImageRef, formatImageRef, imageRefErrors, parseImageRef } from "./image";
import { parseQuantity, parseSparkMemoryMiB } from "../quantity";
import { parseSparkTimeMs } from "./units";
import { eventLogAccessModeError, logDirectoryImageError } from "./eventlog";
import { ZONE_LABEL } from "./zones";

export type SparkAppType = "jvm" | "python";
export type DeployMode = "cluster" | "client";
export type PullPolicy = "IfNotPresent" | "Always" | "Never";
/** How executors are spread: at most one per node (hard or soft pod anti-affinity), or no rule. */
export type OneExecutorPerNode = "required" | "preferred" | "none";
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * The official image the layer uses unless told otherwise: Docker Hub's `apache/spark:4.0.1`
 * (Spark 4.0.1, Scala 2.13, Java 17, with Python 3; the image runs as user `spark`, uid 185).
 */
export const DEFAULT_IMAGE = "apache/spark:4.0.1";
export const DEFAULT_SPARK_VERSION = "4.0.1";
/** uid (and gid) of the `spark` user in the official apache/spark images. */
export const SPARK_IMAGE_UID = 185;

export interface ExecutorPolicy {
  /** Executor pods per worker node. Default 1 (the paper). */
  executorsPerNode: number;
  /** vCPUs of each worker VM left to the node itself when choosing `spark.executor.cores`. Default 1. */
  coresLeftForSystem: number;
  /** `spark.executor.memoryOverheadFactor`. Default 0.1 for JVM apps, 0.4 for Python. */
  memoryOverheadFactor: number;
  /** Floor of the overhead in MiB (`spark.executor.minMemoryOverhead`, Spark 4.0+). Default 384. */
  minMemoryOverheadMiB: number;
  /**
   * The executor heap is a multiple of this many GiB. Default 1: the largest heap that fits at a
   * 1 GiB step. The paper's `100g` comes from a 10 GiB step (the reference stack sets 10).
   */
  heapGranularityGiB: number;
  /** `spark.memory.offHeap.size` in MiB (0: off-heap memory disabled). Default 0. */
  offHeapMiB: number;
  /** `spark.executor.pyspark.memory` in MiB, Python apps only (0: unset). Default 0. */
  pysparkMemoryMiB: number;
  /** Override of `spark.executor.instances` (default: workers × executorsPerNode). */
  instances?: number;
  /** Override of `spark.executor.cores` (default: derived from the VM size). */
  cores?: number;
  /** Override of the heap, a Spark byte string such as `96g` (default: derived from allocatable memory). */
  memory?: string;
}

export interface DriverSettings {
  /** `spark.driver.memory`. Default `40g` (the paper's `--driver-memory 40G`). */
  memory: string;
  /** `spark.driver.cores`. Default 1. */
  cores: number;
  /** `spark.driver.memoryOverheadFactor`. Default 0.1 for JVM apps, 0.4 for Python. */
  memoryOverheadFactor: number;
  /** Floor of the driver's overhead in MiB (`spark.driver.minMemoryOverhead`, Spark 4.0+). Default 384. */
  minMemoryOverheadMiB: number;
}

export interface DynamicAllocationSettings {
  /** Default false: a fixed `spark.executor.instances`, as in the paper. */
  enabled: boolean;
  /** Default: one node's worth (executorsPerNode). */
  minExecutors?: number;
  /** Default: every executor slot of the cluster (workers × executorsPerNode). */
  maxExecutors?: number;
  /** Default: minExecutors. */
  initialExecutors?: number;
  /** `spark.dynamicAllocation.shuffleTracking.timeout`; must be finite. Default `30min`. */
  shuffleTrackingTimeout: string;
  /** `spark.dynamicAllocation.executorIdleTimeout`. Default `60s`. */
  executorIdleTimeout: string;
}

export interface PriorityClassSettings {
  /** Create the PriorityClass (false: it exists already, only reference it). Default true. */
  create: boolean;
  /** Default `spark`. */
  name: string;
  /** Default 1000. */
  value: number;
  /** Default `Never`: Spark pods queue ahead of lower priorities but evict nothing. */
  preemptionPolicy: "Never" | "PreemptLowerPriority";
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

export interface PlacementSettings {
  /** Default `required` with one executor per node, else `none`. */
  oneExecutorPerNode: OneExecutorPerNode;
  /** Node labels driver and executor pods must match. Default none. */
  nodeSelector: Record<string, string>;
  /** Tolerations of driver and executor pods. Default none. */
  tolerations: Toleration[];
  /**
   * Pin every executor of an application to this zone (a node selector on
   * `topology.kubernetes.io/zone` in the executor pod template): shuffle stays inside the zone.
   * Checked against the cluster's zones. Default none.
   */
  zone?: string;
  /**
   * Spread each application's executors over the zones (a topology spread constraint on
   * `topology.kubernetes.io/zone`, maxSkew 1): `required` (DoNotSchedule), `preferred`
   * (ScheduleAnyway) or `none` (default).
   */
  zoneSpread: "required" | "preferred" | "none";
}

export interface PodSecuritySettings {
  /** Pod Security Admission levels on the namespace. Defaults: enforce `baseline`, warn and audit `restricted`. */
  enforce: PodSecurityLevel;
  warn: PodSecurityLevel;
  audit: PodSecurityLevel;
  /** uid the Spark pods run as (non-root, restricted-compatible); null: the image's user. Default 185. */
  runAsUser: number | null;
}

export interface QuotaSettings {
  /** ResourceQuota + LimitRange on the namespace. Default true. */
  enabled: boolean;
  /** How many full-size applications the quota admits at once. Default 1. */
  applications: number;
}

export interface RegistryCredentials {
  /** Registry the Spark image is pulled from, e.g. `192.168.1.1:5000` or `harbor.example.com`. */
  server: string;
  username: string;
  email?: string;
}

export interface SmokeTestSettings {
  /**
   * A Job that runs SparkPi in client mode inside its own pod (the pod is the driver), so the Job
   * succeeds exactly when SparkPi does. Default false.
   */
  enabled: boolean;
  /** SparkPi's argument (number of partitions). Default 100 (the 2020 talk). */
  iterations: number;
  /** Executors of the smoke test (small ones: 1 core, 1g). Default 2. */
  executorInstances: number;
}

export interface HistoryServerSettings {
  /**
   * Spark History Server. Default false. Needs somewhere drivers and the server share: a storage
   * class that can provide the event-log claim (`storageClassName`; this cluster installs no
   * default class), or a shared log location (`logDirectory`, e.g. `hdfs://namenode/spark-events`).
   */
  enabled: boolean;
  /** Size of the event-log PersistentVolumeClaim. Default `10Gi`. */
  storageSize: string;
  /** Storage class of that claim; required for the claim (a class that offers `accessMode`). */
  storageClassName?: string;
  /**
   * A shared event-log location (`hdfs://`, or `s3a://`, `abfs://`, `gs://` … with an image that has
   * the connector: refused with the stock image, eventlog.ts) written by drivers
   * and read by the server, instead of the claim. The only choice in client mode, whose driver runs
   * on the submit host and cannot mount the claim. Credentials go through extraConf / the image.
   */
  logDirectory?: string;
  /** Must be `ReadWriteMany` (drivers on any node and the server share it); `ReadWriteOnce` is refused (eventlog.ts). */
  accessMode: "ReadWriteMany" | "ReadWriteOnce";
}

/**
 * Executor decommissioning (Spark 3.1+): with `spark.decommission.enabled` Spark gives every
 * executor pod the preStop hook `/opt/decom.sh` (BasicExecutorFeatureStep), which signals the
 * executor to stop taking tasks and, with storage decommissioning, to migrate its shuffle and
 * cached RDD blocks to other executors before it exits (core/.../internal/config/package.scala).
 */
export interface DecommissionSettings {
  /** `spark.decommission.enabled`. Default false. */
  enabled: boolean;
  /** `spark.storage.decommission.shuffleBlocks.enabled` (with storage decommissioning). Default true. */
  shuffleBlocks: boolean;
  /** `spark.storage.decommission.rddBlocks.enabled` (with storage decommissioning). Default true. */
  rddBlocks: boolean;
  /** The executor pods' `terminationGracePeriodSeconds`: how long decom.sh may wait for the executor to migrate and exit. Default 120. */
  gracePeriodSeconds: number;
}

export interface SparkApplicationSettings {
  /** Render a Kubeflow Spark Operator SparkApplication (SparkPi) with this layer's sizing. Default false. */
  enabled: boolean;
  /** Also create it in the cluster (needs the operator's CRD). Default false. */
  apply: boolean;
  /** Default `spark-pi`. */
  name: string;
}

export interface SparkSettings {
  namespace: string;
  serviceAccount: string;
  image: ImageRef;
  imagePullPolicy: PullPolicy;
  /** Spark version inside the image (SparkApplication `sparkVersion`, examples jar name). */
  sparkVersion: string;
  appType: SparkAppType;
  deployMode: DeployMode;
  executor: ExecutorPolicy;
  driver: DriverSettings;
  dynamicAllocation: DynamicAllocationSettings;
  decommission: DecommissionSettings;
  /** null: no priority class on Spark pods. */
  priorityClass: PriorityClassSettings | null;
  placement: PlacementSettings;
  podSecurity: PodSecuritySettings;
  quota: QuotaSettings;
  registryCredentials?: RegistryCredentials;
  /** The paper's cluster-wide `edit` ClusterRoleBinding for the service account. Default false. */
  clusterRoleBindingEdit: boolean;
  smokeTest: SmokeTestSettings;
  historyServer: HistoryServerSettings;
  sparkApplication: SparkApplicationSettings;
  /** Allocatable CPU and memory of each worker, for clusters whose kubelet settings are not ours. */
  nodeAllocatable?: { cpu: number; memoryMiB: number };
  /** Further Spark properties (`spark.*`) added to spark-defaults; may not override sizing keys. */
  extraConf: Record<string, string>;
  /** GPU executors on the cluster's GPU workers (`spark.gpu`, components/spark/gpu.ts); absent: none. */
  gpu?: SparkGpuSettings;
}

/** Every field optional, all the way down (what a user may pass before defaults apply). */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> | (null extends T[K] ? null : never) }
    : T;

/**
 * Spark settings as a user writes them: any subset of `SparkSettings` (the image may be a reference
 * string); `resolveSparkSettings` validates it and applies the defaults. A resolved `SparkSettings`
 * is also a valid input and resolves to itself.
 */
export type SparkSettingsInput = DeepPartial<Omit<SparkSettings, "image">> & { readonly image?: string | Readonly<ImageRef> };

/** Overhead factors Spark applies by default (SIZING.md): 0.1 for JVM apps, 0.4 for non-JVM. */
export const DEFAULT_OVERHEAD_FACTOR: Record<SparkAppType, number> = { jvm: 0.1, python: 0.4 };

/**
 * Spark keys that change a pod's size (Spark adds them to the pod's CPU or memory, or makes its
 * scratch space count as memory): `extraConf` may not set them, because the sizing would not know.
 * Each names the setting that feeds the sizing instead. Facts: SIZING.md (BasicExecutorFeatureStep,
 * BasicDriverFeatureStep, ResourceProfile) and Config.scala (`spark.kubernetes.local.dirs.tmpfs`).
 */
export const POD_SIZE_KEYS: readonly { pattern: RegExp; instead: string }[] = [
  { pattern: /^spark\.memory\.offHeap\.(enabled|size)$/, instead: "executor.offHeapMiB" },
  { pattern: /^spark\.executor\.pyspark\.memory$/, instead: "executor.pysparkMemoryMiB" },
  { pattern: /^spark\.executor\.minMemoryOverhead$/, instead: "executor.minMemoryOverheadMiB" },
  { pattern: /^spark\.driver\.minMemoryOverhead$/, instead: "driver.minMemoryOverheadMiB" },
  { pattern: /^spark\.(executor|driver)\.memoryOverhead$/, instead: "executor/driver memoryOverheadFactor and minMemoryOverheadMiB" },
  { pattern: /^spark\.kubernetes\.memoryOverheadFactor$/, instead: "executor.memoryOverheadFactor and driver.memoryOverheadFactor" },
  { pattern: /^spark\.kubernetes\.(driver|executor)\.(request|limit)\.cores$/, instead: "executor.cores / driver.cores (the request is derived from the worker shape)" },
  { pattern: /^spark\.kubernetes\.local\.dirs\.tmpfs$/, instead: "nothing: tmpfs scratch space counts against the pod's memory limit, which the sizing does not reserve" },
];

/** The setting to use instead, when `key` changes a pod's size. */
export function podSizeKeyInstead(key: string): string | undefined {
  return POD_SIZE_KEYS.find((k) => k.pattern.test(key))?.instead;
}

/**
 * Spark's hostPath volume keys (Config.scala, KUBERNETES_VOLUMES_HOSTPATH_TYPE:
 * `spark.kubernetes.{driver,executor}.volumes.hostPath.<name>.{mount.path,options.path,…}`); the
 * Pod Security Standards forbid hostPath volumes at baseline and restricted (kubernetes
 * staging/src/k8s.io/pod-security-admission/policy/check_hostPathVolumes.go).
 */
export const HOST_PATH_VOLUME_KEY = /^spark\.kubernetes\.(driver|executor)\.volumes\.hostPath\./;

/** Spark keys the sizing and the platform own: `extraConf` may not set them. */
export const MANAGED_KEY_PATTERN =
  /^spark\.(executor\.(instances|cores|memory|memoryOverheadFactor)|driver\.(memory|cores|memoryOverheadFactor)|cores\.max|kubernetes\.(namespace|container\.image|authenticate\.driver\.serviceAccountName|executor\.request\.cores|(driver|executor)\.podTemplateFile)|dynamicAllocation\.|decommission\.enabled$|storage\.decommission\.(enabled|shuffleBlocks\.enabled|rddBlocks\.enabled)$)/;

// ---------------------------------------------------------------------------------------------
// Validation helpers: each reads one field, records an error with its full path, returns a value.


const dnsLabel = (what: string) => (s: string) =>
  isDnsLabel(s) ? undefined : `${what} "${s}" must be a DNS-1123 label (lowercase letters, digits and "-", at most 63)`;
const dnsSubdomain = (what: string) => (s: string) =>
  isDnsSubdomain(s) ? undefined : `${what} "${s}" must be a DNS-1123 subdomain (lowercase, at most 253)`;
const sparkMemory = (s: string) =>
  parseSparkMemoryMiB(s) === undefined ? `"${s}" is not a Spark memory size in whole MiB, such as "40g" or "4096m"` : undefined;
const sparkTime = (s: string) =>
  parseSparkTimeMs(s) === undefined ? `"${s}" is not a finite Spark time with a unit, such as "30min", "60s" or "500ms"` : undefined;
const k8sQuantity = (s: string) =>
  (parseQuantity(s) ?? 0) > 0 ? undefined : `"${s}" is not a positive Kubernetes storage quantity such as "10Gi"`;

const KEYS = {
  root: [
    "namespace", "serviceAccount", "image", "imagePullPolicy", "sparkVersion", "appType", "deployMode", "executor",
    "driver", "dynamicAllocation", "decommission", "priorityClass", "placement", "podSecurity", "quota", "registryCredentials",
    "clusterRoleBindingEdit", "smokeTest", "historyServer", "sparkApplication", "nodeAllocatable", "extraConf", "gpu",
  ],
  image: ["registry", "repository", "tag", "digest"],
  executor: [
    "executorsPerNode", "coresLeftForSystem", "memoryOverheadFactor", "minMemoryOverheadMiB", "heapGranularityGiB",
    "offHeapMiB", "pysparkMemoryMiB", "instances", "cores", "memory",
  ],
  driver: ["memory", "cores", "memoryOverheadFactor", "minMemoryOverheadMiB"],
  dynamicAllocation: ["enabled", "minExecutors", "maxExecutors", "initialExecutors", "shuffleTrackingTimeout", "executorIdleTimeout"],
  decommission: ["enabled", "shuffleBlocks", "rddBlocks", "gracePeriodSeconds"],
  priorityClass: ["create", "name", "value", "preemptionPolicy"],
  placement: ["oneExecutorPerNode", "nodeSelector", "tolerations", "zone", "zoneSpread"],
  toleration: ["key", "operator", "value", "effect", "tolerationSeconds"],
  podSecurity: ["enforce", "warn", "audit", "runAsUser"],
  quota: ["enabled", "applications"],
  registryCredentials: ["server", "username", "email"],
  smokeTest: ["enabled", "iterations", "executorInstances"],
  historyServer: ["enabled", "storageSize", "storageClassName", "accessMode", "logDirectory"],
  sparkApplication: ["enabled", "apply", "name"],
  nodeAllocatable: ["cpu", "memoryMiB"],
} as const;

const LEVELS: readonly PodSecurityLevel[] = ["privileged", "baseline", "restricted"];

/**
 * Validates the raw config value and applies every default. Errors name the full config path,
 * e.g. `vsphere-spark:spark.executor.coresLeftForSystem`. `settings` is always complete (defaults
 * stand in for bad values) so callers can go on collecting errors from other layers.
 */
export function resolveSparkSettings(raw: unknown, path = "vsphere-spark:spark"): { settings: SparkSettings; errors: FieldError[] } {
  const r = new Reader();
  const root = r.object(raw ?? {}, path, KEYS.root);

  const namespace = r.string(root, "namespace", path, "spark", dnsLabel("namespace"));
  const serviceAccount = r.string(root, "serviceAccount", path, "spark", dnsSubdomain("service account name"));

  // Image: a reference string, or its parts.
  let image: ImageRef = parseImageRef(DEFAULT_IMAGE).ref as ImageRef;
  const rawImage = root?.image;
  if (typeof rawImage === "string") {
    const parsed = parseImageRef(rawImage);
    if (parsed.ref) image = parsed.ref;
    for (const e of parsed.errors) r.err(`${path}.image`, e);
  } else if (rawImage !== undefined) {
    const io = r.object(rawImage, `${path}.image`, KEYS.image);
    if (io) {
      const ip = `${path}.image`;
      const repository = r.string(io, "repository", ip, "");
      if (io.repository === undefined) r.err(`${ip}.repository`, "is required when image is an object");
      const ref: ImageRef = { repository };
      const registry = r.optString(io, "registry", ip);
      const tag = r.optString(io, "tag", ip);
      const digest = r.optString(io, "digest", ip);
      if (registry !== undefined) ref.registry = registry;
      if (tag !== undefined) ref.tag = tag;
      if (digest !== undefined) ref.digest = digest;
      const errs = repository === "" ? [] : imageRefErrors(ref);
      for (const e of errs) r.err(ip, e);
      if (errs.length === 0 && repository !== "") image = ref;
    }
  }
  const imagePullPolicy = r.oneOf<PullPolicy>(root, "imagePullPolicy", path, image.tag === "latest" ? "Always" : "IfNotPresent", ["IfNotPresent", "Always", "Never"]);
  const tagVersion = /^([0-9]+\.[0-9]+\.[0-9]+)/.exec(image.tag ?? "")?.[1];
  const sparkVersion = r.string(root, "sparkVersion", path, tagVersion ?? DEFAULT_SPARK_VERSION, (s) =>
    /^[0-9]+\.[0-9]+\.[0-9]+$/.test(s) ? undefined : `"${s}" is not a Spark version such as "4.0.1"`,
  );
  const appType = r.oneOf<SparkAppType>(root, "appType", path, "jvm", ["jvm", "python"]);
  const deployMode = r.oneOf<DeployMode>(root, "deployMode", path, "cluster", ["cluster", "client"]);

  // Executor policy.
  const ep = `${path}.executor`;
  const eo = r.object(root?.executor, ep, KEYS.executor);
  const executor: ExecutorPolicy = {
    executorsPerNode: r.number(eo, "executorsPerNode", ep, 1, { integer: true, min: 1 }),
    coresLeftForSystem: r.number(eo, "coresLeftForSystem", ep, 1, { min: 0 }),
    memoryOverheadFactor: r.number(eo, "memoryOverheadFactor", ep, DEFAULT_OVERHEAD_FACTOR[appType], { exclusiveMin: 0, max: 10 }),
    minMemoryOverheadMiB: r.number(eo, "minMemoryOverheadMiB", ep, 384, { integer: true, min: 0 }),
    heapGranularityGiB: r.number(eo, "heapGranularityGiB", ep, 1, { integer: true, min: 1 }),
    offHeapMiB: r.number(eo, "offHeapMiB", ep, 0, { integer: true, min: 0 }),
    pysparkMemoryMiB: r.number(eo, "pysparkMemoryMiB", ep, 0, { integer: true, min: 0 }),
  };
  const instances = r.optNumber(eo, "instances", ep, { integer: true, min: 1 });
  const cores = r.optNumber(eo, "cores", ep, { integer: true, min: 1 });
  const memory = r.optString(eo, "memory", ep, sparkMemory);
  if (instances !== undefined) executor.instances = instances;
  if (cores !== undefined) executor.cores = cores;
  if (memory !== undefined) executor.memory = memory;
  if (executor.pysparkMemoryMiB > 0 && appType !== "python") {
    r.err(`${ep}.pysparkMemoryMiB`, `applies to Python apps only (appType is "${appType}")`);
  }

  const dp = `${path}.driver`;
  const dro = r.object(root?.driver, dp, KEYS.driver);
  const driver: DriverSettings = {
    memory: r.string(dro, "memory", dp, "40g", sparkMemory),
    cores: r.number(dro, "cores", dp, 1, { integer: true, min: 1 }),
    memoryOverheadFactor: r.number(dro, "memoryOverheadFactor", dp, DEFAULT_OVERHEAD_FACTOR[appType], { exclusiveMin: 0, max: 10 }),
    minMemoryOverheadMiB: r.number(dro, "minMemoryOverheadMiB", dp, 384, { integer: true, min: 0 }),
  };

  const dap = `${path}.dynamicAllocation`;
  const dao = r.object(root?.dynamicAllocation, dap, KEYS.dynamicAllocation);
  const dynamicAllocation: DynamicAllocationSettings = {
    enabled: r.boolean(dao, "enabled", dap, false),
    shuffleTrackingTimeout: r.string(dao, "shuffleTrackingTimeout", dap, "30min", sparkTime),
    executorIdleTimeout: r.string(dao, "executorIdleTimeout", dap, "60s", sparkTime),
  };
  for (const k of ["minExecutors", "maxExecutors", "initialExecutors"] as const) {
    const n = r.optNumber(dao, k, dap, { integer: true, min: k === "maxExecutors" ? 1 : 0 });
    if (n !== undefined) dynamicAllocation[k] = n;
  }
  const { minExecutors: dmin, maxExecutors: dmax, initialExecutors: dinit } = dynamicAllocation;
  if (dmin !== undefined && dmax !== undefined && dmin > dmax) r.err(`${dap}.minExecutors`, `(${dmin}) is more than maxExecutors (${dmax})`);
  if (dinit !== undefined && dmin !== undefined && dinit < dmin) r.err(`${dap}.initialExecutors`, `(${dinit}) is less than minExecutors (${dmin})`);
  if (dinit !== undefined && dmax !== undefined && dinit > dmax) r.err(`${dap}.initialExecutors`, `(${dinit}) is more than maxExecutors (${dmax})`);
  if (dynamicAllocation.enabled && executor.instances !== undefined) {
    r.err(`${ep}.instances`, "cannot be set with dynamic allocation; set dynamicAllocation.initialExecutors instead");
  }

  const dcp = `${path}.decommission`;
  const dco = r.object(root?.decommission, dcp, KEYS.decommission);
  const decommission: DecommissionSettings = {
    enabled: r.boolean(dco, "enabled", dcp, false),
    shuffleBlocks: r.boolean(dco, "shuffleBlocks", dcp, true),
    rddBlocks: r.boolean(dco, "rddBlocks", dcp, true),
    gracePeriodSeconds: r.number(dco, "gracePeriodSeconds", dcp, 120, { integer: true, min: 1, max: 86400 }),
  };

  // Priority class: null disables it.
  const pcp = `${path}.priorityClass`;
  let priorityClass: PriorityClassSettings | null;
  if (root?.priorityClass === null) {
    priorityClass = null;
  } else {
    const pco = r.object(root?.priorityClass, pcp, KEYS.priorityClass);
    priorityClass = {
      create: r.boolean(pco, "create", pcp, true),
      name: r.string(pco, "name", pcp, "spark", dnsSubdomain("priority class name")),
      value: r.number(pco, "value", pcp, 1000, { integer: true, min: -2147483648, max: 1000000000 }),
      preemptionPolicy: r.oneOf(pco, "preemptionPolicy", pcp, "Never", ["Never", "PreemptLowerPriority"] as const),
    };
    if (priorityClass.name.startsWith("system-")) r.err(`${pcp}.name`, `"${priorityClass.name}": the "system-" prefix is reserved by Kubernetes`);
  }

  // Placement.
  const pp = `${path}.placement`;
  const po = r.object(root?.placement, pp, KEYS.placement);
  const oneExecutorPerNode = r.oneOf<OneExecutorPerNode>(po, "oneExecutorPerNode", pp, executor.executorsPerNode === 1 ? "required" : "none", ["required", "preferred", "none"]);
  if (oneExecutorPerNode !== "none" && executor.executorsPerNode > 1 && po?.oneExecutorPerNode !== undefined) {
    r.err(`${pp}.oneExecutorPerNode`, `is "${oneExecutorPerNode}" but executor.executorsPerNode is ${executor.executorsPerNode}; use "none"`);
  }
  const nodeSelector = r.stringMap(po, "nodeSelector", pp, (k, v, p) => {
    const ke = labelKeyError(k);
    if (ke) r.err(p, ke);
    const ve = labelValueError(v);
    if (ve) r.err(p, ve);
  });
  const tolerations: Toleration[] = [];
  const rawTol = po?.tolerations;
  if (rawTol !== undefined) {
    if (!Array.isArray(rawTol)) {
      r.err(`${pp}.tolerations`, `must be a list, got ${describeValue(rawTol)}`);
    } else {
      rawTol.forEach((t, i) => {
        const tp = `${pp}.tolerations[${i}]`;
        const to = r.object(t, tp, KEYS.toleration);
        if (!to) return;
        const tol: Toleration = {};
        const key = r.optString(to, "key", tp, (s) => labelKeyError(s));
        const operator = to.operator === undefined ? undefined : r.oneOf(to, "operator", tp, "Equal", ["Exists", "Equal"] as const);
        const value = r.optString(to, "value", tp, (s) => labelValueError(s));
        const effect = to.effect === undefined ? undefined : r.oneOf(to, "effect", tp, "NoSchedule", ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const);
        const seconds = r.optNumber(to, "tolerationSeconds", tp, { integer: true });
        if (key !== undefined) tol.key = key;
        if (operator !== undefined) tol.operator = operator;
        if (value !== undefined) tol.value = value;
        if (effect !== undefined) tol.effect = effect;
        if (seconds !== undefined) tol.tolerationSeconds = seconds;
        if (operator === "Exists" && value !== undefined) r.err(`${tp}.value`, 'must be empty when operator is "Exists"');
        if (key === undefined && operator !== "Exists") r.err(`${tp}.key`, 'is required unless operator is "Exists"');
        if (seconds !== undefined && effect !== "NoExecute") r.err(`${tp}.tolerationSeconds`, 'applies only with effect "NoExecute"');
        tolerations.push(tol);
      });
    }
  }
  const zone = r.optString(po, "zone", pp, (s) => labelValueError(s));
  const zoneSpread = r.oneOf(po, "zoneSpread", pp, "none", ["required", "preferred", "none"] as const);
  if (zone !== undefined && zoneSpread !== "none") r.err(`${pp}.zoneSpread`, `is "${zoneSpread}" but ${pp}.zone pins the executors to zone "${zone}": spread or pin, not both`);
  if (zone !== undefined && nodeSelector[ZONE_LABEL] !== undefined && nodeSelector[ZONE_LABEL] !== zone) {
    r.err(`${pp}.nodeSelector.${ZONE_LABEL}`, `is "${nodeSelector[ZONE_LABEL]}" but ${pp}.zone is "${zone}": set the zone in one place`);
  }
  const placement: PlacementSettings = { oneExecutorPerNode, nodeSelector, tolerations, zoneSpread, ...(zone !== undefined ? { zone } : {}) };

  const psp = `${path}.podSecurity`;
  const pso = r.object(root?.podSecurity, psp, KEYS.podSecurity);
  const podSecurity: PodSecuritySettings = {
    enforce: r.oneOf(pso, "enforce", psp, "baseline", LEVELS),
    warn: r.oneOf(pso, "warn", psp, "restricted", LEVELS),
    audit: r.oneOf(pso, "audit", psp, "restricted", LEVELS),
    runAsUser: pso?.runAsUser === null ? null : r.number(pso, "runAsUser", psp, SPARK_IMAGE_UID, { integer: true, min: 1, max: 2147483647 }),
  };
  if (podSecurity.enforce === "restricted" && podSecurity.runAsUser === null) {
    r.err(`${psp}.runAsUser`, 'is required (a non-root uid) when enforce is "restricted"');
  }

  const qp = `${path}.quota`;
  const qo = r.object(root?.quota, qp, KEYS.quota);
  const quota: QuotaSettings = {
    enabled: r.boolean(qo, "enabled", qp, true),
    applications: r.number(qo, "applications", qp, 1, { integer: true, min: 1 }),
  };

  let registryCredentials: RegistryCredentials | undefined;
  if (root?.registryCredentials !== undefined) {
    const rp = `${path}.registryCredentials`;
    const ro = r.object(root.registryCredentials, rp, KEYS.registryCredentials);
    if (ro) {
      for (const k of ["server", "username"]) if (ro[k] === undefined) r.err(`${rp}.${k}`, "is required");
      registryCredentials = {
        server: r.string(ro, "server", rp, "", (s) => (s.trim() === "" ? "must not be empty" : undefined)),
        username: r.string(ro, "username", rp, "", (s) => (s.trim() === "" ? "must not be empty" : undefined)),
      };
      const email = r.optString(ro, "email", rp);
      if (email !== undefined) registryCredentials.email = email;
    }
  }

  const clusterRoleBindingEdit = r.boolean(root, "clusterRoleBindingEdit", path, false);

  const sp = `${path}.smokeTest`;
  const so = r.object(root?.smokeTest, sp, KEYS.smokeTest);
  const smokeTest: SmokeTestSettings = {
    enabled: r.boolean(so, "enabled", sp, false),
    iterations: r.number(so, "iterations", sp, 100, { integer: true, min: 1 }),
    executorInstances: r.number(so, "executorInstances", sp, 2, { integer: true, min: 1 }),
  };

  const hp = `${path}.historyServer`;
  const ho = r.object(root?.historyServer, hp, KEYS.historyServer);
  const historyServer: HistoryServerSettings = {
    enabled: r.boolean(ho, "enabled", hp, false),
    storageSize: r.string(ho, "storageSize", hp, "10Gi", k8sQuantity),
    accessMode: r.oneOf(ho, "accessMode", hp, "ReadWriteMany", ["ReadWriteMany", "ReadWriteOnce"] as const),
  };
  const storageClassName = r.optString(ho, "storageClassName", hp, dnsSubdomain("storage class name"));
  if (storageClassName !== undefined) historyServer.storageClassName = storageClassName;
  const logDirectory = r.optString(ho, "logDirectory", hp, (s) =>
    /^[a-z][a-z0-9+.-]*:\/\/\S+$/.test(s) && !s.startsWith("file:") && !s.startsWith("local:")
      ? undefined
      : `"${s}" is not a shared log location: give a URI every driver and the server reach, such as "s3a://bucket/spark-events" or "hdfs://namenode/spark-events"`,
  );
  if (logDirectory !== undefined) historyServer.logDirectory = logDirectory;
  if (historyServer.enabled && logDirectory !== undefined) {
    const e = logDirectoryImageError(logDirectory, image);
    if (e) r.err(`${hp}.logDirectory`, e);
  }
  if (historyServer.enabled && ho?.logDirectory === undefined) {
    const e = eventLogAccessModeError(historyServer.accessMode);
    if (e) r.err(`${hp}.accessMode`, e);
  }
  if (historyServer.enabled && ho?.logDirectory === undefined) {
    if (deployMode === "client") {
      r.err(`${hp}.logDirectory`, "is required in client mode: the driver runs on the submit host, which cannot mount the event-log claim; give a shared URI (e.g. hdfs://namenode/spark-events, or s3a://bucket/spark-events with an image that has the s3a connector)");
    } else if (storageClassName === undefined) {
      r.err(
        `${hp}.storageClassName`,
        `is required for the event-log claim: this cluster installs no default StorageClass, so a claim without one stays Pending and every driver mounting it waits forever; name a class that offers ${historyServer.accessMode}, or set logDirectory to a shared URI`,
      );
    }
  }
  if (logDirectory !== undefined && storageClassName !== undefined) {
    r.err(`${hp}.storageClassName`, "is for the event-log claim, but logDirectory is set, so there is none: remove one of them");
  }

  const ap = `${path}.sparkApplication`;
  const ao = r.object(root?.sparkApplication, ap, KEYS.sparkApplication);
  const sparkApplication: SparkApplicationSettings = {
    enabled: r.boolean(ao, "enabled", ap, false),
    apply: r.boolean(ao, "apply", ap, false),
    name: r.string(ao, "name", ap, "spark-pi", dnsLabel("SparkApplication name")),
  };
  if (sparkApplication.apply && !sparkApplication.enabled) r.err(`${ap}.apply`, "needs sparkApplication.enabled = true");

  let nodeAllocatable: { cpu: number; memoryMiB: number } | undefined;
  if (root?.nodeAllocatable !== undefined) {
    const np = `${path}.nodeAllocatable`;
    const no = r.object(root.nodeAllocatable, np, KEYS.nodeAllocatable);
    if (no) {
      for (const k of ["cpu", "memoryMiB"]) if (no[k] === undefined) r.err(`${np}.${k}`, "is required");
      nodeAllocatable = {
        cpu: r.number(no, "cpu", np, 1, { exclusiveMin: 0 }),
        memoryMiB: r.number(no, "memoryMiB", np, 1, { integer: true, min: 1 }),
      };
    }
  }

  const extraConf = r.stringMap(root, "extraConf", path, (k, _v, p) => {
    const instead = podSizeKeyInstead(k);
    if (!/^spark\.[A-Za-z0-9_.-]+$/.test(k)) r.err(p, `"${k}" is not a Spark property name (spark.…)`);
    else if (HOST_PATH_VOLUME_KEY.test(k) && podSecurity.enforce !== "privileged") {
      r.err(
        p,
        `"${k}" mounts a hostPath volume, which the namespace's Pod Security level "${podSecurity.enforce}" forbids (baseline and restricted allow no hostPath volumes): the API server would reject every pod Spark creates. For executor scratch space give the workers a disk mounted at /var/lib/kubelet (the layer then sizes a spark-local-dir-1 emptyDir on it), or set podSecurity.enforce to "privileged"`,
      );
    }
    else if (instead) r.err(p, `"${k}" changes the pod size, which the sizing must know; use ${instead}`);
    else if (MANAGED_KEY_PATTERN.test(k)) r.err(p, `"${k}" is decided by this layer's sizing and settings; set it through them instead`);
  });

  if (registryCredentials && image.registry && registryCredentials.server.replace(/^https?:\/\//, "").replace(/\/.*$/, "") !== image.registry) {
    r.err(`${path}.registryCredentials.server`, `"${registryCredentials.server}" is not the registry of the image (${formatImageRef(image)})`);
  }

  const settings: SparkSettings = {
    namespace,
    serviceAccount,
    image,
    imagePullPolicy,
    sparkVersion,
    appType,
    deployMode,
    executor,
    driver,
    dynamicAllocation,
    decommission,
    priorityClass,
    placement,
    podSecurity,
    quota,
    clusterRoleBindingEdit,
    smokeTest,
    historyServer,
    sparkApplication,
    extraConf,
  };
  if (registryCredentials) settings.registryCredentials = registryCredentials;
  if (nodeAllocatable) settings.nodeAllocatable = nodeAllocatable;
  const gpu = readSparkGpuSettings(r, root?.gpu, `${path}.gpu`);
  if (gpu) settings.gpu = gpu;
  return { settings, errors: r.errors };
}
