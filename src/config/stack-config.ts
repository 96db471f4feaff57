/**
 * The stack configuration (`Pulumi.<stack>.yaml`) as Pulumi hands it to a program: a flat map of
 * `namespace:key` to text. This module only splits it by namespace, checks the keys and the
 * provider's values, and hands each layer its raw values; each layer's own resolver applies its
 * defaults and rules (components/vsphere/settings.ts, components/cluster/settings.ts,
 * components/spark/settings.ts). `decisions.ts` calls those resolvers, once each.
 */
import { VSPHERE_SETTING_KEYS, VsphereSettingKey } from "../../components/vsphere/settings";
import { FieldError, closestMatch, didYouMean, editDistance } from "../../components/validation";

export const PROJECT = "vsphere-spark";
export const projectKey = (k: string): string => `${PROJECT}:${k}`;

/** Every key this project reads from its own namespace. */
export const PROJECT_KEYS = [
  "backend",
  ...VSPHERE_SETTING_KEYS,
  "tanzu",
  "kubernetes",
  "spark",
  "registryPassword",
  "tanzuSupervisorKubeconfig",
  "lifecycle",
] as const;
export type ProjectKey = (typeof PROJECT_KEYS)[number];

/** Project keys whose values must be Pulumi secrets. */
export const SECRET_PROJECT_KEYS: readonly ProjectKey[] = ["registryPassword", "tanzuSupervisorKubeconfig"];

/** The cluster back ends a stack can choose (`vsphere-spark:backend`). */
export const BACKENDS = ["kubeadm", "tanzu"] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * `vsphere-spark:kubernetes` keys the Tanzu back end does not read, with the Tanzu key that says the
 * same thing (or null: a kubeadm matter with no counterpart). Tanzu reads the rest: the kubelet's
 * reservations, eviction thresholds, DaemonSet requests and kernel share (the worker pool model).
 */
export const KUBEADM_ONLY_KUBERNETES_KEYS: Readonly<Record<string, string | null>> = {
  version: "tanzu.cluster.release",
  podCidr: "tanzu.cluster.podCidr",
  serviceCidr: "tanzu.cluster.serviceCidr",
  dnsDomain: "tanzu.cluster.serviceDomain",
  cni: "tanzu.cluster.cni",
  storageClass: "tanzu.cluster.storageClass",
  readinessTimeoutMinutes: "tanzu.cluster.readyTimeoutMinutes",
  installMode: null,
  packageRevision: null,
  bootstrapTokenTtl: null,
  adminUser: null,
  sshAuthorizedKeys: null,
  kubeVipVersion: null,
  certificateRenewal: null,
  etcdBackup: null,
};

/** Keys only one back end reads; setting them for the other is a mistake worth naming. */
export const BACKEND_ONLY_KEYS: Readonly<Record<BackendName, readonly ProjectKey[]>> = {
  kubeadm: ["inventory", "vmProfiles", "workersPerHost", "controlPlane", "endpoint", "network", "drs", "overcommit", "lifecycle", "ha", "zones"],
  tanzu: ["tanzu", "tanzuSupervisorKubeconfig"],
};

/**
 * Configuration keys of the pulumi-vsphere 4.17.0 provider and their types (`config.variables` in
 * its schema; a test holds this table against the schema). Pulumi passes every value as text.
 */
export const VSPHERE_PROVIDER_CONFIG: Readonly<Record<string, "string" | "boolean" | "integer">> = {
  allowUnverifiedSsl: "boolean",
  apiTimeout: "integer",
  clientDebug: "boolean",
  clientDebugPath: "string",
  clientDebugPathRun: "string",
  password: "string",
  persistSession: "boolean",
  restSessionPath: "string",
  vcenterServer: "string",
  vimKeepAlive: "integer",
  vimSessionPath: "string",
  vsphereServer: "string",
  user: "string",
};
export const VSPHERE_PROVIDER_KEYS = Object.keys(VSPHERE_PROVIDER_CONFIG);

/** Namespaces whose keys are checked; a near miss of one of them is refused as a typo. */
const CHECKED_NAMESPACES = [PROJECT, "vsphere"];

/** The project's values, by layer key, parsed the way `pulumi.Config.getObject` would. */
export interface StackValues {
  project: Partial<Record<ProjectKey, unknown>>;
  /** Whether `vsphere-spark:registryPassword` is set (a secret; its value is never read here). */
  registryPasswordSet: boolean;
  /** The secret project keys that are set (as secrets); their values are never read here. */
  secretsSet: ProjectKey[];
  /** The vSphere provider's plain (non-secret) values, e.g. `vsphereServer`. */
  provider: Record<string, string>;
}

/** Parses one flat config value the way `pulumi.Config.getObject`/`getNumber` would. */
export function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function providerValueProblem(type: "string" | "boolean" | "integer", text: string): string | undefined {
  if (type === "boolean" && text !== "true" && text !== "false") return `must be "true" or "false", got ${JSON.stringify(text)}`;
  if (type === "integer" && !/^-?\d+$/.test(text)) return `must be a whole number, got ${JSON.stringify(text)}`;
  return undefined;
}

/**
 * Splits the flat configuration by namespace and checks what no layer owns: unknown keys (with a
 * suggestion), near-miss namespaces (`vsphere-sprak:`), the provider's keys and values, and secrets
 * stored in clear text.
 */
export function splitStackConfig(flat: Record<string, string>, secretKeys: readonly string[] = []): { values: StackValues; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const err = (path: string, message: string) => errors.push({ path, message });
  const project: Partial<Record<ProjectKey, unknown>> = {};
  const secretsSet: ProjectKey[] = [];
  const provider: Record<string, string> = {};
  for (const [key, text] of Object.entries(flat)) {
    const colon = key.indexOf(":");
    const namespace = colon < 0 ? "" : key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (namespace === PROJECT) {
      if (!(PROJECT_KEYS as readonly string[]).includes(name)) {
        err(key, `unknown configuration key${didYouMean(name, PROJECT_KEYS)}; known keys: ${PROJECT_KEYS.map(projectKey).join(", ")}`);
      } else if ((SECRET_PROJECT_KEYS as readonly string[]).includes(name)) {
        if (!secretKeys.includes(key)) err(key, `is stored in clear text: remove it and run \`pulumi config set --secret ${key}\``);
        else secretsSet.push(name as ProjectKey);
      } else {
        project[name as ProjectKey] = parseConfigValue(text);
      }
    } else if (namespace === "vsphere") {
      const type = VSPHERE_PROVIDER_CONFIG[name];
      if (type === undefined) err(key, `not a configuration key of the vSphere provider${didYouMean(name, VSPHERE_PROVIDER_KEYS)}`);
      else if (name === "password" && !secretKeys.includes(key)) err(key, "is stored in clear text: remove it and run `pulumi config set --secret vsphere:password`");
      else if (!secretKeys.includes(key)) {
        const problem = providerValueProblem(type, text);
        if (problem) err(key, problem);
        else provider[name] = text;
      }
    } else {
      // Another program's or provider's namespace is none of our business, unless it is a typo of ours.
      const near = closestMatch(namespace, CHECKED_NAMESPACES);
      if (near && editDistance(namespace, near) <= 2) {
        err(key, `unknown namespace "${namespace}" (did you mean "${near}:${name}"?); this key would be ignored`);
      }
    }
  }
  return { values: { project, registryPasswordSet: secretsSet.includes("registryPassword"), secretsSet, provider }, errors };
}

/** The vSphere layer's raw values, out of the project's. */
export function vsphereValues(values: StackValues): Partial<Record<VsphereSettingKey, unknown>> {
  return Object.fromEntries(VSPHERE_SETTING_KEYS.filter((k) => values.project[k] !== undefined).map((k) => [k, values.project[k]]));
}

