/**
 * Every decision the stack makes from its configuration, before any resource exists: each layer's
 * resolver runs once (Kubernetes; then the chosen back end's: vSphere VMs for kubeadm, told which
 * pod and service networks to avoid, or the Tanzu Supervisor's; then Spark), the back end is
 * decided, and the Spark sizing is checked against its worker pool. The program (`deployStack`)
 * and the offline plan both start here.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DecidedCluster } from "../../components/cluster/backend";
import { KubernetesSettings, resolveKubernetesSettings } from "../../components/cluster/settings";
import { ConfigReader } from "../../components/config-reader";
import { SizingError, SparkSettings, planSpark, resolveSparkSettings } from "../../components/spark";
import { kubeadmOnVsphere } from "../../components/stack/kubeadm-on-vsphere";
import { resolveLifecycleSettings } from "../../components/cluster/lifecycle";
import { offlineLogin } from "../../components/tanzu/supervisor";
import { resolveTanzuSettings } from "../../components/tanzu/settings";
import { tanzuOnSupervisor } from "../../components/tanzu/backend";
import { zonePlacementProblems } from "../../components/spark/zones";
import { FieldError, ValidationError, describeValue } from "../../components/validation";
import { readClusterName, readHosts, resolveVsphereSettings } from "../../components/vsphere/settings";
import { BACKENDS, BACKEND_ONLY_KEYS, BackendName, KUBEADM_ONLY_KUBERNETES_KEYS, StackValues, projectKey, splitStackConfig, vsphereValues } from "./stack-config";

export interface StackDecisions {
  /** The stack's name for its components (`vsphere-spark:clusterName`). */
  name: string;
  backend: BackendName;
  kubernetes: KubernetesSettings;
  spark: SparkSettings;
  /** The cluster back end with its spec decided: plan, endpoint, worker pool, create. */
  cluster: DecidedCluster;
  /** `host:port` of the Kubernetes API. */
  apiEndpoint: string;
  /** Whether `vsphere-spark:registryPassword` is set (a secret). */
  registryPasswordSet: boolean;
}

/**
 * What only a running program has: secrets and the stack's own last outputs. The offline plan
 * gives none of them (`offline`), so nothing reaches a Supervisor or a backend.
 */
export interface StackRuntime {
  /** A secret configuration value (`vsphere:password`, `vsphere-spark:tanzuSupervisorKubeconfig`). */
  secret(key: string): pulumi.Output<string> | undefined;
  /** The stack's own last `tanzuRollout` output (for the release/replicas rule). */
  previousTanzuRollout(): pulumi.Input<unknown> | undefined;
  /** True under the offline plan: no Supervisor login. */
  offline: boolean;
}

/**
 * The leaf key a sizing problem is about, e.g. `vsphere-spark:spark.executor.memory`; a problem
 * with the worker shape itself is the Kubernetes settings' (reservations leave no room).
 */
function sizingPath(e: SizingError): string {
  return e.scope === "workers" ? projectKey("kubernetes") : `${projectKey("spark")}.${e.field}`;
}

/** The kubeadm-on-vSphere back end from the vSphere keys. */
function decideKubeadm(values: StackValues, kubernetes: ReturnType<typeof resolveKubernetesSettings>): { cluster?: DecidedCluster; errors: FieldError[] } {
  // Only networks that are themselves valid are held against the VM network.
  const kPath = (leaf: string) => `${projectKey("kubernetes")}.${leaf}`;
  const clusterCidrs = [
    { name: "pod network (podCidr)", cidr: kubernetes.settings.podCidr, path: kPath("podCidr") },
    { name: "service network (serviceCidr)", cidr: kubernetes.settings.serviceCidr, path: kPath("serviceCidr") },
  ].filter((c) => !kubernetes.errors.some((e) => e.path === c.path));
  const v = resolveVsphereSettings(vsphereValues(values), projectKey, { clusterCidrs });
  const lifecycle = resolveLifecycleSettings(values.project.lifecycle, projectKey("lifecycle"));
  if (!v.decisions || kubernetes.errors.length > 0 || lifecycle.errors.length > 0) return { errors: [...v.errors, ...lifecycle.errors] };
  try {
    return { errors: [], cluster: kubeadmOnVsphere({ vsphere: v.decisions, kubernetes: kubernetes.settings, lifecycle: lifecycle.settings }) };
  } catch (e) {
    // The resolvers cover these rules; a failure here is a gap between the layers, shown as it is.
    if (!(e instanceof ValidationError)) throw e;
    return { errors: e.fieldErrors.map((x) => ({ path: projectKey("kubernetes"), message: `${x.path}: ${x.message}` })) };
  }
}

/** The vSphere-with-Tanzu back end from `vsphere-spark:tanzu` (and the hosts, for capacity). */
function decideTanzu(values: StackValues, kubernetes: ReturnType<typeof resolveKubernetesSettings>, runtime?: StackRuntime): { cluster?: DecidedCluster; errors: FieldError[] } {
  const r = new ConfigReader();
  const raw = values.project;
  const hosts = raw.hosts === undefined ? undefined : readHosts(r, raw.hosts, projectKey("hosts"));
  const context = hosts?.ok ? { hosts: hosts.hosts.map((h) => ({ id: h.id, cpuThreads: h.cpuThreads, memoryMiB: h.memoryMiB })) } : {};
  const t = resolveTanzuSettings(raw.tanzu, projectKey("tanzu"), context);
  const errors = [...r.errors, ...t.errors];
  const kubeconfigKey = projectKey("tanzuSupervisorKubeconfig");
  const wantsKubeconfig = t.settings.supervisor.access === "kubeconfig";
  if (t.errors.length === 0 && wantsKubeconfig && !values.secretsSet.includes("tanzuSupervisorKubeconfig")) {
    errors.push({
      path: kubeconfigKey,
      message:
        `is required when ${projectKey("tanzu")}.supervisor.access is "kubeconfig": run \`pulumi config set --secret ${kubeconfigKey} < supervisor.kubeconfig\`. ` +
        `A kubeconfig from \`kubectl vsphere login\` stops working after about 10 hours (its SSO session token expires); access "sso" (the default) logs in on every run`,
    });
  }
  if (t.errors.length === 0 && !wantsKubeconfig && values.secretsSet.includes("tanzuSupervisorKubeconfig")) {
    errors.push({ path: kubeconfigKey, message: `is set but ${projectKey("tanzu")}.supervisor.access is "${t.settings.supervisor.access}"` });
  }
  const password = runtime?.secret("vsphere:password");
  const needsPassword = t.settings.supervisor.access === "sso" || t.settings.namespace.limits !== undefined || t.settings.namespace.access.length > 0;
  if (runtime && t.errors.length === 0 && needsPassword && password === undefined) {
    errors.push({ path: "vsphere:password", message: "is required with the tanzu back end when supervisor.access is \"sso\" or namespace.limits or namespace.access is set (the Supervisor login and vCenter REST use it): run `pulumi config set --secret vsphere:password`" });
  }
  if (errors.length > 0 || kubernetes.errors.length > 0) return { errors };
  const server = values.provider.vsphereServer ?? values.provider.vcenterServer;
  const access = runtime && {
    password,
    supervisorKubeconfig: wantsKubeconfig ? runtime.secret(kubeconfigKey) : undefined,
    vcenter: server && values.provider.user ? { server, user: values.provider.user, insecureSkipTlsVerify: values.provider.allowUnverifiedSsl === "true" } : undefined,
    previous: runtime.offline ? undefined : runtime.previousTanzuRollout(),
    ...(runtime.offline ? { login: offlineLogin, skipNodePoolWait: true, skipReleaseCheck: true } : {}),
  };
  return { errors: [], cluster: tanzuOnSupervisor({ tanzu: t.settings, kubernetes: kubernetes.settings, context, access }) };
}

/** The layers' resolvers, once each, on values already split by namespace. */
export function decideFromValues(values: StackValues, runtime?: StackRuntime): { decisions?: StackDecisions; errors: FieldError[] } {
  const r = new ConfigReader();
  const raw = values.project;
  let backend: BackendName = "kubeadm";
  if (raw.backend !== undefined) {
    if ((BACKENDS as readonly unknown[]).includes(raw.backend)) backend = raw.backend as BackendName;
    else r.err(projectKey("backend"), `must be one of ${BACKENDS.map((b) => `"${b}"`).join(", ")}, got ${describeValue(raw.backend)}`);
  }
  const errors: FieldError[] = [...r.errors];
  if (errors.length > 0) return { errors }; // which back end's rules apply is unknown
  // The vSphere resolver reads (and reports) the cluster name itself; Tanzu's does not.
  const names = new ConfigReader();
  const name = readClusterName(names, raw.clusterName, projectKey("clusterName"));
  if (backend === "tanzu") errors.push(...names.errors);
  for (const other of BACKENDS.filter((b) => b !== backend)) {
    for (const k of BACKEND_ONLY_KEYS[other]) {
      if (raw[k] !== undefined || values.secretsSet.includes(k)) {
        errors.push({ path: projectKey(k), message: `is only used with ${projectKey("backend")}: ${other} (this stack's back end is ${backend})` });
      }
    }
  }

  const k = resolveKubernetesSettings(raw.kubernetes, projectKey("kubernetes"), { cniInstalledByStack: backend !== "tanzu" });
  errors.push(...k.errors);
  // On a Tanzu stack the kubeadm keys of `kubernetes` would be ignored: name each, and its counterpart.
  if (backend === "tanzu" && typeof raw.kubernetes === "object" && raw.kubernetes !== null && !Array.isArray(raw.kubernetes)) {
    for (const key of Object.keys(raw.kubernetes)) {
      if (!(key in KUBEADM_ONLY_KUBERNETES_KEYS)) continue;
      const other = KUBEADM_ONLY_KUBERNETES_KEYS[key];
      errors.push({
        path: `${projectKey("kubernetes")}.${key}`,
        message: other
          ? `is the kubeadm back end's; this stack's back end is tanzu, where ${projectKey(other)} says it (this key would be ignored)`
          : `is only used with ${projectKey("backend")}: kubeadm (this stack's back end is tanzu; it would be ignored)`,
      });
    }
  }
  const decided = backend === "tanzu" ? decideTanzu(values, k, runtime) : decideKubeadm(values, k);
  errors.push(...decided.errors);

  const s = resolveSparkSettings(raw.spark, projectKey("spark"));
  errors.push(...s.errors);

  const registryKey = projectKey("registryPassword");
  if (s.errors.length === 0 && s.settings.registryCredentials && !values.registryPasswordSet) {
    errors.push({ path: registryKey, message: `is required when ${projectKey("spark")}.registryCredentials is set: run \`pulumi config set --secret ${registryKey}\`` });
  }
  if (s.errors.length === 0 && !s.settings.registryCredentials && values.registryPasswordSet) {
    errors.push({ path: registryKey, message: `is set but ${projectKey("spark")}.registryCredentials is not: say which registry and user it is for` });
  }
  const cluster = decided.cluster;
  if (!cluster) return { errors };

  // Pinning or spreading executors by zone needs the cluster's zones (the kubeadm back end knows them).
  if (s.errors.length === 0) errors.push(...zonePlacementProblems(s.settings.placement, cluster.workerPool.zones, `${projectKey("spark")}.placement`, projectKey("zones"), backend === "kubeadm"));
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
      name,
      backend,
      kubernetes: k.settings,
      spark: s.settings,
      cluster,
      apiEndpoint: `${cluster.endpoint.address}:${cluster.endpoint.port}`,
      registryPasswordSet: values.registryPasswordSet,
    },
  };
}

/**
 * Validates the whole configuration and makes every decision, or returns every problem.
 * `flat` is Pulumi's flat configuration map; `secretKeys` the keys whose values are secrets;
 * `runtime` what only a running program has (absent: decisions only, nothing can be created).
 */
export function decideStack(flat: Record<string, string>, secretKeys: readonly string[] = [], runtime?: StackRuntime): { decisions?: StackDecisions; errors: FieldError[] } {
  const split = splitStackConfig(flat, secretKeys);
  const decided = decideFromValues(split.values, runtime);
  const errors = [...split.errors, ...decided.errors];
  return errors.length > 0 ? { errors } : decided;
}
