/**
 * SparkPlatform: the Spark layer as a component. A thin shell: the pure functions in this folder
 * decide everything (plan → manifests, commands); this file validates the arguments, turns the
 * manifests into typed Kubernetes resources on the given provider, and registers outputs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FieldError, throwIfErrors } from "../validation";
import { SparkPlanSection, planSection } from "./artifacts";
import { registryError } from "./image";
import { dockerConfigJson, smokeTestAwaitSeconds, sparkManifests } from "./manifests";
import { SparkPlan, planSpark } from "./plan";
import { SparkSettings, SparkSettingsInput, resolveSparkSettings } from "./settings";
import { SizingError, WorkerShape, workerShapeErrors } from "./sizing";
import { renderSparkDefaults, renderSubmitScript, sparkApplication } from "./submit";

export interface SparkPlatformArgs {
  /** The cluster to deploy on; every child resource uses it. */
  readonly provider: k8s.Provider;
  /** The Kubernetes API endpoint users submit to, `host:port` (e.g. the HAProxy VM, `192.168.1.2:6443`). */
  readonly apiEndpoint: pulumi.Input<string>;
  /** The worker pool executors run on: the cluster back end's `workerPool`, unchanged. */
  readonly workers: WorkerShape;
  /**
   * Spark settings: any subset (the rest are defaults), validated and resolved by the component
   * (`resolveSparkSettings`); a resolved `SparkSettings` works as well. Default: all defaults.
   */
  readonly settings?: SparkSettingsInput;
  /** Password of `settings.registryCredentials`; required exactly when those are set. */
  readonly registryPassword?: pulumi.Input<string>;
}

/** `host:port` of the API server; returns a message when it is not one. */
export function apiEndpointError(endpoint: string): string | undefined {
  const m = /^(?:https:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]+)$/.exec(endpoint);
  if (!m) return `"${endpoint}" must be host:port, e.g. 192.168.1.2:6443`;
  return registryError(`${m[1]}:${m[2]}`);
}

/**
 * Every problem with the arguments, each with its path (`workers.count`, `settings.executor.memory`, …),
 * and the resolved settings when there is none.
 */
export function checkSparkPlatformArgs(args: SparkPlatformArgs): { errors: FieldError[]; settings?: SparkSettings } {
  const errors = validateSparkPlatformArgs(args);
  return errors.length > 0 ? { errors } : { errors, settings: resolveSparkSettings(args.settings, "settings").settings };
}

/** Every problem with the arguments, each with its path (`workers.count`, `settings.executor.cores`, …). */
export function validateSparkPlatformArgs(args: SparkPlatformArgs): FieldError[] {
  const errors: FieldError[] = [];
  if (!args || typeof args !== "object") return [{ path: "args", message: "are required" }];
  if (!args.provider || !pulumi.ProviderResource.isInstance(args.provider)) {
    errors.push({ path: "provider", message: "must be a kubernetes Provider (the cluster to deploy on)" });
  }
  if (args.apiEndpoint === undefined || args.apiEndpoint === null || args.apiEndpoint === "") {
    errors.push({ path: "apiEndpoint", message: "is required (host:port of the Kubernetes API)" });
  } else if (typeof args.apiEndpoint === "string") {
    const e = apiEndpointError(args.apiEndpoint);
    if (e) errors.push({ path: "apiEndpoint", message: e });
  }
  const shape = workerShapeErrors(args.workers);
  for (const e of shape) errors.push({ path: `workers.${e.field}`, message: e.message });
  const resolved = resolveSparkSettings(args.settings, "settings");
  errors.push(...resolved.errors);
  if (args.settings?.registryCredentials && args.registryPassword === undefined) {
    errors.push({ path: "registryPassword", message: "is required because settings.registryCredentials is set" });
  }
  if (!args.settings?.registryCredentials && args.registryPassword !== undefined) {
    errors.push({ path: "registryPassword", message: "is given but settings.registryCredentials is not set (server and username)" });
  }
  if (shape.length === 0 && resolved.errors.length === 0) {
    try {
      planSpark(resolved.settings, args.workers);
    } catch (e) {
      if (!(e instanceof SizingError)) throw e;
      errors.push({ path: `${e.scope}.${e.field}`, message: e.message });
    }
  }
  return errors;
}

export class SparkPlatform extends pulumi.ComponentResource {
  /** Name of the Spark namespace. */
  readonly namespace: pulumi.Output<string>;
  /** Name of the driver's service account. */
  readonly serviceAccount: pulumi.Output<string>;
  /** spark-defaults.conf content. */
  readonly sparkDefaults: pulumi.Output<string>;
  /** spark-submit script, cluster mode. */
  readonly submitCluster: pulumi.Output<string>;
  /** spark-submit script, client mode. */
  readonly submitClient: pulumi.Output<string>;
  /** Sizing, utilization and fit (the plan's `spark` section). */
  readonly sizing: pulumi.Output<SparkPlanSection>;
  /** The SparkApplication template, when `settings.sparkApplication.enabled`. */
  readonly sparkApplication: pulumi.Output<Record<string, unknown> | undefined>;

  constructor(name: string, args: SparkPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkSparkPlatformArgs(args);
    throwIfErrors(checked.errors, `SparkPlatform "${name}": invalid arguments`);
    super("vsphere-spark:spark:SparkPlatform", name, {}, opts);
    const plan = planSpark(checked.settings as SparkSettings, args.workers);
    const out = buildSparkPlatform(this, name, args, plan);
    this.namespace = out.namespace;
    this.serviceAccount = out.serviceAccount;
    this.sparkDefaults = pulumi.output(renderSparkDefaults(plan));
    this.submitCluster = pulumi.output(args.apiEndpoint).apply((ep) => renderSubmitScript(plan, "cluster", ep));
    this.submitClient = pulumi.output(args.apiEndpoint).apply((ep) => renderSubmitScript(plan, "client", ep));
    this.sizing = pulumi.output(planSection(plan));
    this.sparkApplication = pulumi.output(plan.settings.sparkApplication.enabled ? sparkApplication(plan) : undefined);
    this.registerOutputs({
      namespace: this.namespace,
      serviceAccount: this.serviceAccount,
      sparkDefaults: this.sparkDefaults,
      submitCluster: this.submitCluster,
      submitClient: this.submitClient,
      sizing: this.sizing,
      sparkApplication: this.sparkApplication,
    });
  }
}

/** Creates the children; names are `<component>-<what it is>`. */
function buildSparkPlatform(
  parent: pulumi.ComponentResource,
  name: string,
  args: SparkPlatformArgs,
  plan: SparkPlan,
): { namespace: pulumi.Output<string>; serviceAccount: pulumi.Output<string> } {
  const s = plan.settings;
  const m = sparkManifests(plan);
  const opts: pulumi.CustomResourceOptions = { provider: args.provider, parent };
  const ns = new k8s.core.v1.Namespace(`${name}-namespace`, m.namespace, opts);
  const inNs: pulumi.CustomResourceOptions = { ...opts, dependsOn: [ns] };
  const podPrereqs: pulumi.Resource[] = [];

  if (m.priorityClass) podPrereqs.push(new k8s.scheduling.v1.PriorityClass(`${name}-priority-class`, m.priorityClass, opts));
  if (m.resourceQuota) podPrereqs.push(new k8s.core.v1.ResourceQuota(`${name}-resource-quota`, m.resourceQuota, inNs));
  if (m.limitRange) podPrereqs.push(new k8s.core.v1.LimitRange(`${name}-limit-range`, m.limitRange, inNs));

  let registrySecret: k8s.core.v1.Secret | undefined;
  if (m.registrySecret && s.registryCredentials && args.registryPassword !== undefined) {
    const creds = s.registryCredentials;
    const password = pulumi.secret(args.registryPassword);
    registrySecret = new k8s.core.v1.Secret(
      `${name}-registry-secret`,
      { ...m.registrySecret, stringData: { ".dockerconfigjson": pulumi.secret(password.apply((p) => dockerConfigJson(creds, p))) } },
      inNs,
    );
    podPrereqs.push(registrySecret);
  }

  const sa = new k8s.core.v1.ServiceAccount(`${name}-service-account`, m.serviceAccount, {
    ...inNs,
    dependsOn: registrySecret ? [ns, registrySecret] : [ns],
  });
  const role = new k8s.rbac.v1.Role(`${name}-driver-role`, m.role, inNs);
  const binding = new k8s.rbac.v1.RoleBinding(`${name}-driver-role-binding`, m.roleBinding, { ...inNs, dependsOn: [ns, role, sa] });
  podPrereqs.push(sa, binding);
  if (m.clusterRoleBinding) {
    podPrereqs.push(new k8s.rbac.v1.ClusterRoleBinding(`${name}-edit-cluster-role-binding`, m.clusterRoleBinding, { ...opts, dependsOn: [sa] }));
  }

  const defaults = new k8s.core.v1.ConfigMap(`${name}-spark-defaults`, m.sparkDefaults, inNs);
  const templates = new k8s.core.v1.ConfigMap(`${name}-pod-templates`, m.podTemplates, inNs);
  podPrereqs.push(defaults, templates);

  // The claim exists only without a shared logDirectory; the History Server exists whenever it is
  // enabled (with the claim mounted, or reading the shared URI).
  if (m.eventLogClaim) {
    // A claim without a bound volume stays Pending until its first consumer on WaitForFirstConsumer classes.
    podPrereqs.push(new k8s.core.v1.PersistentVolumeClaim(`${name}-event-log-claim`, m.eventLogClaim, inNs));
  }
  if (m.historyServerDeployment && m.historyServerService) {
    const deployment = new k8s.apps.v1.Deployment(`${name}-history-server`, m.historyServerDeployment, {
      ...inNs,
      dependsOn: [ns, ...podPrereqs],
    });
    new k8s.core.v1.Service(`${name}-history-server-service`, m.historyServerService, { ...inNs, dependsOn: [ns, deployment] });
  }

  if (m.smokeTestJob) {
    // Pulumi waits for the Job to finish; it waits as long as the Job may run (its deadline).
    const wait = `${smokeTestAwaitSeconds()}s`;
    new k8s.batch.v1.Job(`${name}-smoke-test`, m.smokeTestJob, {
      ...inNs,
      dependsOn: [ns, ...podPrereqs],
      customTimeouts: { create: wait, update: wait },
    });
  }

  if (s.sparkApplication.enabled && s.sparkApplication.apply) {
    const app = sparkApplication(plan) as { apiVersion: string; kind: string; metadata: k8s.types.input.meta.v1.ObjectMeta; spec: unknown };
    new k8s.apiextensions.CustomResource(`${name}-spark-application`, { apiVersion: app.apiVersion, kind: app.kind, metadata: app.metadata, spec: app.spec }, {
      ...inNs,
      dependsOn: [ns, ...podPrereqs],
    });
  }

  return { namespace: ns.metadata.name, serviceAccount: sa.metadata.name };
}
