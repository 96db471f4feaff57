/**
 * Every decision the stack makes from its configuration, before any resource exists: each layer's
 * resolver runs once (Kubernetes, then vSphere with the pod and service networks to avoid, then
 * Spark), then the back end is decided and the Spark sizing is checked against its worker pool.
 * The program (`deployStack`) and the offline plan both start here.
 */
import type { DecidedCluster } from "../../components/cluster/backend";
import { KubernetesSettings, resolveKubernetesSettings } from "../../components/cluster/settings";
import { SizingError, SparkSettings, planSpark, resolveSparkSettings } from "../../components/spark";
import { kubeadmOnVsphere } from "../../components/stack/kubeadm-on-vsphere";
import { FieldError, ValidationError } from "../../components/validation";
import { VsphereDecisions, resolveVsphereSettings } from "../../components/vsphere/settings";
import { StackValues, projectKey, splitStackConfig, vsphereValues } from "./stack-config";

export interface StackDecisions {
  kubernetes: KubernetesSettings;
  spark: SparkSettings;
  /** The vSphere layer's decisions (kubeadm back end). */
  vsphere: VsphereDecisions;
  /** The cluster back end with its spec decided: plan, endpoint, worker pool, create. */
  cluster: DecidedCluster;
  /** `host:port` of the Kubernetes API. */
  apiEndpoint: string;
  /** Whether `vsphere-spark:registryPassword` is set (a secret). */
  registryPasswordSet: boolean;
}

/**
 * The leaf key a sizing problem is about, e.g. `vsphere-spark:spark.executor.memory`; a problem
 * with the worker shape itself is the Kubernetes settings' (reservations leave no room).
 */
function sizingPath(e: SizingError): string {
  return e.scope === "workers" ? projectKey("kubernetes") : `${projectKey("spark")}.${e.field}`;
}

/** The layers' resolvers, once each, on values already split by namespace. */
export function decideFromValues(values: StackValues): { decisions?: StackDecisions; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const raw = values.project;

  const k = resolveKubernetesSettings(raw.kubernetes, projectKey("kubernetes"));
  errors.push(...k.errors);
  // Only networks that are themselves valid are held against the VM network.
  const kPath = (leaf: string) => `${projectKey("kubernetes")}.${leaf}`;
  const clusterCidrs = [
    { name: "pod network (podCidr)", cidr: k.settings.podCidr, path: kPath("podCidr") },
    { name: "service network (serviceCidr)", cidr: k.settings.serviceCidr, path: kPath("serviceCidr") },
  ].filter((c) => !k.errors.some((e) => e.path === c.path));

  const v = resolveVsphereSettings(vsphereValues(values), projectKey, { clusterCidrs });
  errors.push(...v.errors);

  const s = resolveSparkSettings(raw.spark, projectKey("spark"));
  errors.push(...s.errors);

  const registryKey = projectKey("registryPassword");
  if (s.errors.length === 0 && s.settings.registryCredentials && !values.registryPasswordSet) {
    errors.push({ path: registryKey, message: `is required when ${projectKey("spark")}.registryCredentials is set: run \`pulumi config set --secret ${registryKey}\`` });
  }
  if (s.errors.length === 0 && !s.settings.registryCredentials && values.registryPasswordSet) {
    errors.push({ path: registryKey, message: `is set but ${projectKey("spark")}.registryCredentials is not: say which registry and user it is for` });
  }
  if (!v.decisions || k.errors.length > 0) return { errors };

  let cluster: DecidedCluster;
  try {
    cluster = kubeadmOnVsphere({ vsphere: v.decisions, kubernetes: k.settings });
  } catch (e) {
    // The resolvers cover these rules; a failure here is a gap between the layers, shown as it is.
    if (!(e instanceof ValidationError)) throw e;
    return { errors: [...errors, ...e.fieldErrors.map((x) => ({ path: projectKey("kubernetes"), message: `${x.path}: ${x.message}` }))] };
  }

  if (s.errors.length === 0) {
    try {
      planSpark(s.settings, cluster.workerPool);
    } catch (e) {
      if (!(e instanceof SizingError)) throw e;
      errors.push({ path: sizingPath(e), message: e.message });
    }
  }
  if (errors.length > 0) return { errors };
  return {
    errors: [],
    decisions: {
      kubernetes: k.settings,
      spark: s.settings,
      vsphere: v.decisions,
      cluster,
      apiEndpoint: `${cluster.endpoint.address}:${cluster.endpoint.port}`,
      registryPasswordSet: values.registryPasswordSet,
    },
  };
}

/**
 * Validates the whole configuration and makes every decision, or returns every problem.
 * `flat` is Pulumi's flat configuration map; `secretKeys` the keys whose values are secrets.
 */
export function decideStack(flat: Record<string, string>, secretKeys: readonly string[] = []): { decisions?: StackDecisions; errors: FieldError[] } {
  const split = splitStackConfig(flat, secretKeys);
  const decided = decideFromValues(split.values);
  const errors = [...split.errors, ...decided.errors];
  return errors.length > 0 ? { errors } : decided;
}
