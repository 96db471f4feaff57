/**
 * TanzuCluster: the vSphere with Tanzu back end. Creates the VM classes and the vSphere Namespace
 * with the typed vSphere binding, the workload cluster through a Kubernetes provider for the
 * Supervisor, reads the cluster's admin kubeconfig once it is Ready, and hands out a `ClusterHandle`.
 * A thin shell: the constructor validates, `createTanzuCluster` builds; every decision is in the
 * pure modules next to it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as vsphere from "../vsphere/binding";
import { DATA_MUTABLE, type ClusterHandle, type WorkerPool } from "../cluster/backend";
import type { KubernetesSettings } from "../cluster/settings";
import { DEFAULT_KUBERNETES_SETTINGS } from "../cluster/settings";
import { ValidationError, type FieldError } from "../validation";
import { resolveTanzuSettings, type TanzuSettings } from "./settings";
import { renderWorkloadCluster } from "./render";
import { managedClasses, vmClassArgs } from "./vm-classes";
import { TKC_DEPRECATION_WARNING, contentLibraryWarnings, tanzuWorkerPool } from "./plan";
import { ROLLOUT_OUTPUT, checkRollout, parseRolloutState, rolloutState, type TanzuRolloutState } from "./rollout";
import { kubeconfigEndpoint, storedKubeconfigMessage, storedKubeconfigTokenState, tokenKubeconfig, wcpLogin, type WcpLoginRequest } from "./supervisor";
import { NamespaceAccessResource, NamespaceLimitsResource } from "./vcenter-namespace";
import { waitForNodePools } from "./node-pools-ready";
import { checkSupervisorRelease, type SupervisorReleaseObjects } from "./release-check";
import { readSupervisorReleaseObjects } from "./release-read";

/** How often the node pools' MachineDeployments are read while waiting. */
const NODE_POOL_POLL_MS = 15_000;
/**
 * How long `pulumi up` looks for a ClusterClass that lives in the vSphere Namespace itself (VKS 3.3
 * and before) once the namespace exists: the Supervisor puts its classes into a new namespace itself,
 * not necessarily at once (an allowance of ours, not a documented figure).
 */
const CLASS_IN_NEW_NAMESPACE_MS = 120_000;
const CLASS_POLL_MS = 5_000;

export interface TanzuClusterArgs {
  /** `vsphere-spark:tanzu` as written in the stack file (resolved and validated here)... */
  readonly tanzu?: unknown;
  /** ...or settings already resolved by `resolveTanzuSettings` (not resolved again). */
  readonly settings?: TanzuSettings;
  /** The Kubernetes layer's settings (kubelet reservations and DaemonSet requests for the worker pool). */
  readonly kubernetes?: KubernetesSettings;
  /** A kubeconfig for the Supervisor (access `kubeconfig`); made a secret here. */
  readonly supervisorKubeconfig?: pulumi.Input<string>;
  /** The vCenter SSO password (access `sso`, and the namespace limits); made a secret here. */
  readonly password?: pulumi.Input<string>;
  /** vCenter and its SSO user (with `password`), for the namespace limits (vCenter REST); required when limits are set. */
  readonly vcenter?: { server: string; user: string; insecureSkipTlsVerify?: boolean };
  /** The last applied rollout state (the stack output `tanzuRollout`, e.g. `lastAppliedRollout()`), for the release/replicas rule. */
  readonly previous?: pulumi.Input<unknown>;
  /** The vSphere provider to use; default: the stack's default provider. */
  readonly vsphereProvider?: pulumi.ProviderResource;
  /**
   * The Supervisor login (default `wcpLogin`, which also runs in a preview so the Supervisor provider
   * can diff against the live cluster). An offline run without network passes `offlineLogin`.
   */
  readonly login?: (req: WcpLoginRequest) => Promise<string>;
  /** Do not wait for the node pools' MachineDeployments (offline runs and unit tests without a Supervisor). */
  readonly skipNodePoolWait?: boolean;
  /**
   * Reads the TanzuKubernetesRelease and the ClusterClass the release check decides on (default:
   * `readSupervisorReleaseObjects`, the Supervisor's API with its kubeconfig). Tests pass a stand-in.
   */
  readonly readReleaseObjects?: (kubeconfig: string, settings: TanzuSettings, which: { tkr: boolean; clusterClass: boolean }) => Promise<SupervisorReleaseObjects>;
  /** Do not check the release and the ClusterClass against the Supervisor (offline runs without one). */
  readonly skipReleaseCheck?: boolean;
}

export class TanzuCluster extends pulumi.ComponentResource implements ClusterHandle {
  readonly settings: TanzuSettings;
  readonly provider: k8s.Provider;
  readonly apiEndpoint: pulumi.Output<string>;
  readonly workerPool: WorkerPool;
  readonly readyFor: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  readonly outputs: Record<string, pulumi.Input<unknown>>;
  /** The workload cluster's admin kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly namespace: vsphere.Namespace;
  readonly vmClasses: Record<string, vsphere.VirtualMachineClass>;

  constructor(name: string, args: TanzuClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = validateTanzuArgs(name, args);
    super("vsphere-spark:tanzu:TanzuCluster", name, {}, opts);
    this.settings = settings;
    const built = createTanzuCluster(name, settings, args, this);
    this.provider = built.provider;
    this.apiEndpoint = built.apiEndpoint;
    this.workerPool = built.workerPool;
    this.readyFor = built.readyFor;
    this.outputs = built.outputs;
    this.kubeconfig = built.kubeconfig;
    this.namespace = built.namespace;
    this.vmClasses = built.vmClasses;
    this.registerOutputs(built.outputs);
  }
}

/** Every problem with the arguments at once, before any resource is registered. */
export function validateTanzuArgs(name: string, args: TanzuClusterArgs): TanzuSettings {
  const more: FieldError[] = [];
  if ((args.tanzu === undefined) === (args.settings === undefined)) more.push({ path: "args.tanzu", message: "give either tanzu (as written) or settings (resolved)" });
  const { settings, errors } = args.settings ? { settings: args.settings, errors: [] as FieldError[] } : resolveTanzuSettings(args.tanzu, "args.tanzu");
  if (settings.supervisor.access === "kubeconfig" && args.supervisorKubeconfig === undefined)
    more.push({ path: "args.supervisorKubeconfig", message: `is required when supervisor.access is "kubeconfig"` });
  if (settings.supervisor.access === "sso" && args.password === undefined)
    more.push({ path: "args.password", message: `is required when supervisor.access is "sso" (the vCenter SSO password)` });
  if ((settings.namespace.limits || settings.namespace.access.length > 0) && (args.password === undefined || args.vcenter === undefined))
    more.push({ path: "args.vcenter", message: "vcenter and password are required when namespace.limits or namespace.access is set (they are set through vCenter REST)" });
  if (errors.length + more.length > 0) throw new ValidationError([...errors, ...more], `TanzuCluster ${name}: invalid arguments`);
  return settings;
}

export function createTanzuCluster(name: string, settings: TanzuSettings, args: TanzuClusterArgs, parent: pulumi.ComponentResource) {
  const kubernetes = args.kubernetes ?? DEFAULT_KUBERNETES_SETTINGS;
  const keyPath = args.tanzu !== undefined ? "args.tanzu" : "vsphere-spark:tanzu";

  // The Supervisor's Kubernetes API: the user's kubeconfig, or a session token fetched on every run.
  const s = settings.supervisor;
  const login = args.login ?? wcpLogin;
  const supervisorKubeconfig = pulumi.secret(
    s.access === "kubeconfig"
      ? pulumi.output(args.supervisorKubeconfig!).apply((kc) => {
          // A stored kubeconfig from `kubectl vsphere login` expires after about ten hours (supervisor.ts).
          const t = storedKubeconfigTokenState(kc, Date.now());
          if (t?.expired) throw new ValidationError([{ path: "args.supervisorKubeconfig", message: storedKubeconfigMessage(t, "vsphere-spark:tanzuSupervisorKubeconfig") }], `TanzuCluster ${name}: invalid arguments`);
          if (t) pulumi.log.warn(storedKubeconfigMessage(t, "vsphere-spark:tanzuSupervisorKubeconfig"), parent);
          return kc;
        })
      : pulumi.output(args.password!).apply(async (password) => {
          const token = await login({ url: `https://${s.address}`, user: s.user ?? "", password, caPem: s.caPem, insecureSkipTlsVerify: s.insecureSkipTlsVerify });
          return tokenKubeconfig({ name: `${name}-supervisor`, server: `https://${s.address}:${s.port}`, token, namespace: settings.namespace.name, caPem: s.caPem, insecureSkipTlsVerify: s.insecureSkipTlsVerify });
        }),
  );

  // The release check (release-check.ts), against the Supervisor's own objects, in two steps so
  // that nothing is created when it fails. First, before the VM classes and the namespace: the
  // TanzuKubernetesRelease (cluster-scoped) and a ClusterClass that lives in another namespace
  // (`classNamespace`, e.g. vmware-system-vks-public). It runs in a preview too (the login does).
  const readObjects = args.readReleaseObjects ?? readSupervisorReleaseObjects;
  const classNs = settings.cluster.classNamespace;
  const classElsewhere = settings.cluster.api === "cluster" && classNs !== undefined && classNs !== settings.namespace.name;
  const previous = pulumi.output(args.previous ?? null) as pulumi.Output<unknown>;
  const warned = new Set<string>();
  const refuse = (objects: SupervisorReleaseObjects, prev: unknown) => {
    const { errors, warnings } = checkSupervisorRelease(settings, objects, keyPath, parseRolloutState(prev)?.release);
    for (const w of warnings.filter((x) => !warned.has(x))) {
      warned.add(w);
      pulumi.log.warn(w, parent);
    }
    if (errors.length > 0) throw new ValidationError(errors, `TanzuCluster ${name}: the Supervisor refuses cluster.release / cluster.clusterClass`);
  };
  const releaseChecked = pulumi.all([supervisorKubeconfig, previous]).apply(async ([kc, prev]) => {
    if (!args.skipReleaseCheck) refuse(await readObjects(kc, settings, { tkr: true, clusterClass: classElsewhere }), prev);
    return true;
  });
  const afterReleaseCheck = releaseChecked.apply((): pulumi.Resource[] => []);

  const vopts = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions => ({ parent, provider: args.vsphereProvider, dependsOn: afterReleaseCheck, ...extra });
  const iopts: pulumi.InvokeOutputOptions = { parent, provider: args.vsphereProvider };

  // VM classes: the name carries the namespace and the size (vm-classes.ts `vmClassName`), so no
  // other stack makes the same class and a resize is a new class; a changed name must replace the
  // class (the provider would otherwise update it in place). The replaced class is deleted at the
  // end of the update, after the cluster (which depends on it) has rolled its nodes off it: the
  // cluster's update waits for the rollout (readiness.ts). Adopted classes (`existing`) are only
  // bound to the namespace, never created or deleted here.
  const vmClasses = Object.fromEntries(
    managedClasses(settings).map(([key, spec]) => [key, new vsphere.VirtualMachineClass(`${name}-class-${key}`, vmClassArgs(settings.namespace.name, key, spec), vopts({ replaceOnChanges: ["name"] }))]),
  );
  const adopted = Object.values(settings.vmClasses).flatMap((spec) => (spec.existing === undefined ? [] : [spec.existing]));

  // Storage policies and content libraries by name → ids (what the namespace API takes).
  const policyIds = settings.namespace.storagePolicies.map((p) => vsphere.getPolicyOutput({ name: p }, iopts).id);
  const libraryIds = settings.namespace.contentLibraries.map((l) => vsphere.getContentLibraryOutput({ name: l }, iopts).id);

  // The namespace's name is set explicitly and a rename replaces it: the provider's update would
  // look the new name up (terraform-provider-vsphere `vsphere/resource_vsphere_namespace.go` at
  // 21aa606e, `resourceVSphereNamespaceUpdate` uses `d.Get("name")`), and the Supervisor cannot
  // rename a namespace. Delete before replace: the cluster inside is replaced with it, and creating
  // the new namespace and cluster first would need the cluster's capacity twice. A create that
  // outlasts the provider's 2-minute wait for RUNNING (`waitForNamespaceCreation`, same file) fails
  // having recorded nothing, and the resource has no importer: README "Troubleshooting (Tanzu)".
  const namespace = new vsphere.Namespace(
    `${name}-namespace`,
    {
      name: settings.namespace.name,
      supervisor: settings.supervisor.id,
      storagePolicies: policyIds,
      vmServices: [{ contentLibraries: libraryIds, vmClasses: [...Object.values(vmClasses).map((c) => c.name as pulumi.Output<string>), ...adopted] }],
    },
    // The Supervisor too: the provider does not mark `supervisor` ForceNew either (same file), so a
    // changed Supervisor id would be an update that does nothing.
    vopts({ replaceOnChanges: ["name", "supervisor"], deleteBeforeReplace: true }),
  );
  const ready: pulumi.Resource[] = [namespace, ...Object.values(vmClasses)];
  if (settings.cluster.api === "tkc") pulumi.log.warn(TKC_DEPRECATION_WARNING, parent);
  // Broadcom KB 311962 (plan.ts `contentLibraryWarnings`): with the previous state it names the change.
  previous.apply((prev) => {
    for (const w of contentLibraryWarnings(settings, parseRolloutState(prev))) pulumi.log.warn(w, parent);
  });
  if (args.vcenter && args.password !== undefined) {
    const conn = { server: args.vcenter.server, insecureSkipTlsVerify: args.vcenter.insecureSkipTlsVerify ?? false, user: args.vcenter.user, password: pulumi.secret(args.password), namespace: namespace.name as pulumi.Output<string> };
    // Limits: a limit removed from the stack is unset in vCenter; the whole section removed deletes
    // this resource, which unsets them all (vcenter-namespace.ts).
    if (settings.namespace.limits) ready.push(new NamespaceLimitsResource(`${name}-namespace-limits`, { ...conn, limits: settings.namespace.limits }, { parent, dependsOn: [namespace] }));
    // One resource per subject, named after it: a changed role is an update, a removed subject a revoke.
    for (const g of settings.namespace.access)
      ready.push(new NamespaceAccessResource(`${name}-access-${g.type.toLowerCase()}-${g.subject}@${g.domain}`, { ...conn, grant: g }, { parent, dependsOn: [namespace] }));
  }

  const supervisor = new k8s.Provider(`${name}-supervisor`, { kubeconfig: supervisorKubeconfig, namespace: settings.namespace.name }, { parent });

  // The workload cluster. The rollout rule runs on the spec: when it fails nothing is sent.
  const state = rolloutState(settings);
  const manifests = renderWorkloadCluster(settings, kubernetes.kubelet);
  const clusterManifest = manifests[manifests.length - 1];
  // Second step of the release check, once the namespace exists and before anything is sent to it:
  // a ClusterClass that lives in the vSphere Namespace itself (with the TKr, for the OS rule). A preview reads it once (only when
  // the namespace already exists: its name is unknown before); `up` gives a new namespace time to
  // receive its classes from the Supervisor.
  const classChecked = pulumi.all([namespace.name, supervisorKubeconfig, previous]).apply(async ([, kc, prev]) => {
    if (args.skipReleaseCheck || settings.cluster.api !== "cluster" || classElsewhere) return true;
    const deadline = Date.now() + (pulumi.runtime.isDryRun() ? 0 : CLASS_IN_NEW_NAMESPACE_MS);
    for (;;) {
      // The TKr again too: the OS rule needs the class and the TKr's images together.
      const objects = await readObjects(kc, settings, { tkr: true, clusterClass: true });
      if (objects.clusterClass?.state !== "missing" || Date.now() + CLASS_POLL_MS > deadline) {
        refuse(objects, prev);
        return true;
      }
      await new Promise((r) => setTimeout(r, CLASS_POLL_MS));
    }
  });
  // The check's result is a boolean: unsecret, or the Cluster's spec would become a secret (it reads the kubeconfig).
  const guarded = pulumi.all([previous, pulumi.unsecret(classChecked)]).apply(([prev]) => {
    const errors = checkRollout(parseRolloutState(prev) as TanzuRolloutState | undefined, state, "args.tanzu");
    if (errors.length > 0) throw new ValidationError(errors, `TanzuCluster ${name}: refused update`);
    return clusterManifest.spec as Record<string, unknown>;
  });
  const extra = manifests.slice(0, -1).map(
    (m, i) =>
      new k8s.core.v1.Secret(`${name}-trusted-cas${i === 0 ? "" : `-${i}`}`, m as k8s.core.v1.SecretArgs, { parent, provider: supervisor, dependsOn: classChecked.apply(() => ready) }),
  );
  const meta = clusterManifest.metadata as { name: string; annotations: Record<string, string> };
  const timeout = `${settings.cluster.readyTimeoutMinutes}m`;
  const cluster = new k8s.apiextensions.CustomResource(
    `${name}-cluster`,
    {
      apiVersion: clusterManifest.apiVersion as string,
      kind: clusterManifest.kind as string,
      metadata: { name: meta.name, namespace: namespace.name as pulumi.Output<string>, annotations: meta.annotations },
      spec: guarded,
    },
    { parent, provider: supervisor, dependsOn: [...ready, ...extra], customTimeouts: { create: timeout, update: timeout } },
  );

  // Cluster API writes the admin kubeconfig to `<cluster>-kubeconfig` (key `value`) in the namespace.
  // The id depends on the cluster's id, which a preview of its creation does not know: the Secret
  // is then not read (it does not exist yet); in `pulumi up` it is read once the cluster is Ready.
  // Then the node pools: the Cluster's Ready does not cover the workers (node-pools-ready.ts). On
  // every `pulumi up` (not in a preview) this waits until each pool's MachineDeployment is rolled
  // out, so what comes after (the kubeconfig, Spark, and the deletion of replaced VM classes at the
  // end of the update) finds the workers there.
  const poolsReady = pulumi.all([cluster.id, supervisorKubeconfig]).apply(async ([id, kc]) => {
    if (!pulumi.runtime.isDryRun() && !args.skipNodePoolWait)
      await waitForNodePools({ kubeconfig: kc, namespace: settings.namespace.name, cluster: settings.cluster.name, expected: Object.fromEntries(settings.cluster.nodePools.map((p) => [p.name, p.autoscale ?? p.replicas])), timeoutMs: settings.cluster.readyTimeoutMinutes * 60_000, intervalMs: NODE_POOL_POLL_MS });
    return id;
  });
  const secretId = pulumi.all([poolsReady, cluster.metadata.namespace, cluster.metadata.name]).apply(([, ns, n]) => `${ns}/${n}-kubeconfig`);
  const kubeconfigSecret = k8s.core.v1.Secret.get(`${name}-kubeconfig`, secretId, { parent, provider: supervisor, dependsOn: [cluster] });
  const kubeconfig = pulumi.secret(
    kubeconfigSecret.data.apply((d) => {
      const v = d?.value;
      if (v === undefined) throw new Error(`Secret ${meta.name}-kubeconfig in ${settings.namespace.name} has no key "value"`);
      return Buffer.from(v, "base64").toString("utf8");
    }),
  );
  // Secrets and ConfigMaps updated in place, as on the kubeadm back end (components/cluster/backend.ts, DATA_MUTABLE).
  const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig, ...DATA_MUTABLE }, { parent });
  const apiEndpoint = kubeconfig.apply(kubeconfigEndpoint);
  const workerPool = tanzuWorkerPool(settings, kubernetes);
  const outputs: Record<string, pulumi.Input<unknown>> = {
    kubeconfig,
    apiEndpoint,
    tanzuNamespace: namespace.name,
    tanzuVmClasses: Object.values(vmClasses).map((c) => c.name),
    [ROLLOUT_OUTPUT]: state,
  };
  return { provider, apiEndpoint, workerPool, readyFor: [cluster] as pulumi.Resource[], outputs, kubeconfig, namespace, vmClasses };
}
