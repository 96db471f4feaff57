/**
 * Every decision the stack makes from its configuration, across the three layers, before any
 * resource exists: the validated configuration, the Kubernetes and Spark settings, the cluster
 * specification handed to the cluster layer, and the worker shape handed to the Spark layer.
 * The program (`deployStack`) and the offline plan both start here.
 */
import { ClusterNode, ClusterSpec, KubernetesSettings, nodeAllocatable, resolveKubernetesSettings, validateClusterSpec } from "../../components/cluster";
import { parseQuantity } from "../../components/quantity";
import { SparkSettings, WorkerShape, planSpark, resolveSparkSettings } from "../../components/spark";
import { FieldError } from "../../components/validation";
import { LayerCheck, PROJECT, StackConfig, parseStackConfig } from "./stack-config";

export interface StackDecisions {
  config: StackConfig;
  kubernetes: KubernetesSettings;
  spark: SparkSettings;
  cluster: ClusterSpec;
  /** The worker node shape the Spark sizing works from (allocatable after kubelet reservations). */
  workers: WorkerShape;
  /** `host:port` of the Kubernetes API. */
  apiEndpoint: string;
  /** Whether `vsphere-spark:registryPassword` is set (a secret). */
  registryPasswordSet: boolean;
}

const path = (k: string) => `${PROJECT}:${k}`;

/** Validation of the layers above the VMs, run with the rest of the configuration. */
export const layerChecks: LayerCheck[] = [
  {
    key: "kubernetes",
    check: (raw, p) => resolveKubernetesSettings(raw, p).errors,
    clusterCidrs: (raw) => {
      const { settings } = resolveKubernetesSettings(raw);
      return [
        { name: "pod network (podCidr)", cidr: settings.podCidr, path: `${path("kubernetes")}.podCidr` },
        { name: "service network (serviceCidr)", cidr: settings.serviceCidr, path: `${path("kubernetes")}.serviceCidr` },
      ];
    },
  },
  { key: "spark", check: (raw, p) => resolveSparkSettings(raw, p).errors },
];

function mib(quantity: string): number {
  return Math.ceil((parseQuantity(quantity) ?? 0) / 2 ** 20);
}

/** The worker shape: the smallest worker's allocatable after the kubelet's reservations. */
export function workerShape(config: StackConfig, kubernetes: KubernetesSettings): WorkerShape {
  const worker = config.topology.profiles.worker;
  const count = config.slots.filter((s) => s.role === "worker").length;
  return {
    count,
    vm: { cpus: worker.cpus, memoryMiB: worker.memoryMiB },
    allocatable: nodeAllocatable({ cpus: worker.cpus, memoryMiB: worker.memoryMiB }, kubernetes.kubelet),
    daemonSetRequests: {
      cpu: parseQuantity(kubernetes.workerDaemonSetRequests.cpu) ?? 0,
      memoryMiB: mib(kubernetes.workerDaemonSetRequests.memory),
    },
  };
}

export function clusterSpec(config: StackConfig, kubernetes: KubernetesSettings): ClusterSpec {
  const nodes: ClusterNode[] = config.slots.map((s) => ({
    name: s.name,
    role: s.role,
    address: config.addresses[s.name],
    cpus: s.cpus,
    memoryMiB: s.memoryMiB,
  }));
  return {
    clusterName: config.clusterName,
    nodes,
    network: {
      prefixLength: config.network.prefixLength,
      gateway: config.network.gateway,
      dnsServers: config.network.dnsServers,
      searchDomains: config.network.searchDomains,
    },
    endpoint: { kind: config.endpoint.kind, address: config.endpointAddress, port: config.endpoint.port },
    settings: kubernetes,
  };
}

/**
 * Validates the whole configuration and makes every decision, or returns every problem.
 * `flat` is Pulumi's flat configuration map; `secretKeys` the keys whose values are secrets.
 */
export function decideStack(flat: Record<string, string>, secretKeys: readonly string[]): { decisions?: StackDecisions; errors: FieldError[] } {
  const parsed = parseStackConfig(flat, secretKeys, layerChecks);
  const registryKey = path("registryPassword");
  const registryPasswordSet = flat[registryKey] !== undefined;
  if (!parsed.config) return { errors: parsed.errors };
  const config = parsed.config;
  const kubernetes = resolveKubernetesSettings(config.raw.kubernetes).settings;
  const spark = resolveSparkSettings(config.raw.spark).settings;
  const errors: FieldError[] = [];

  if (spark.registryCredentials && !registryPasswordSet) {
    errors.push({
      path: registryKey,
      message: `is required when ${path("spark")}.registryCredentials is set: run \`pulumi config set --secret ${registryKey}\``,
    });
  }
  if (!spark.registryCredentials && registryPasswordSet) {
    errors.push({ path: registryKey, message: `is set but ${path("spark")}.registryCredentials is not: say which registry and user it is for` });
  }

  const cluster = clusterSpec(config, kubernetes);
  // The configuration checks above cover these; a failure here is a gap between the layers.
  for (const e of validateClusterSpec(cluster, "cluster")) errors.push({ path: path("kubernetes"), message: `${e.path}: ${e.message}` });

  const workers = workerShape(config, kubernetes);
  try {
    planSpark(spark, workers);
  } catch (e) {
    errors.push({ path: `${path("spark")}.executor`, message: (e as Error).message });
  }
  if (errors.length > 0) return { errors };
  return {
    errors: [],
    decisions: {
      config,
      kubernetes,
      spark,
      cluster,
      workers,
      apiEndpoint: `${config.endpointAddress}:${config.endpoint.port}`,
      registryPasswordSet,
    },
  };
}
