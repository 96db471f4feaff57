/**
 * The first cluster back end: kubeadm on vSphere VMs. It joins the vSphere layer (VMs, hosts,
 * addresses) and the cluster layer (PKI, guestinfo bootstrap, readiness gate, kubeconfig, CNI) and
 * hands out the back end seam (`ClusterHandle`). Pure decisions first (`kubeadmOnVsphere`), then a
 * thin component (`KubeadmVsphereCluster`) that creates them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { missingInventory, providerLookup } from "../vsphere/inventory-check";
import type { BackendLifecycle, BackendPlan, ClusterHandle, CreateContext, DecidedCluster, PlannedHost, WorkerPool } from "../cluster/backend";
import { KubeadmBootstrap } from "../cluster/bootstrap";
import { KubeadmClusterAccess } from "../cluster/access";
import { clusterArtifacts } from "../cluster/artifacts";
import type { KubernetesSettings } from "../cluster/settings";
import { ClusterSpec, validateClusterSpec, workerNodes } from "../cluster/topology";
import type { ClusterNode } from "../cluster/types";
import { workerPool } from "../cluster/worker-pool";
import { gpuWorkerPool } from "../cluster/gpu";
import { ValidationError, throwIfErrors } from "../validation";
import {
  ChangeCheck,
  ClusterLifecycleState,
  DEFAULT_LIFECYCLE_SETTINGS,
  LEGACY_VMS,
  LIFECYCLE_OUTPUT,
  LifecycleSettings,
  checkClusterChange,
  clusterLifecycleState,
  joinTokenGeneration,
  parseClusterLifecycleState,
  readinessTargets,
  stateFromVmsOutput,
  type NodeDevices,
} from "../cluster/lifecycle";
import { hostAllocations } from "../vsphere/placement";
import type { VsphereDecisions } from "../vsphere/settings";
import { VsphereTopology, topologyArgs } from "../vsphere/topology";
import { clusterKey, zoneOfHost } from "../vsphere/zones";
import { withZones, zonesPlanSection, zonesPlanText } from "../vsphere/zones-plan";
import { RetireCredentials, RetireHooksArgs, createRetireHooks } from "../cluster/retire-hooks";
import { drainPolicy } from "../cluster/retire";
import { PowerCycleHooksArgs, createPowerCycleHooks } from "../cluster/power-cycle-hooks";
import { DEFAULT_REBOOT_TIMEOUT_MINUTES } from "../cluster/power-cycle";
import { rebootReasons } from "../vsphere/reboot";
import { apiServerUrl } from "../cluster/kubeconfig";
import { controlPlaneNodes } from "../cluster/topology";

/** What the retirement hooks are given: this run's nodes, the last run's addresses, the acknowledgements, the credentials (secret). */
export function retireHooksArgs(args: KubeadmVsphereClusterArgs, bootstrap: KubeadmBootstrap, previous?: ClusterLifecycleState): RetireHooksArgs {
  const c = args.cluster;
  const lifecycle = args.spec.lifecycle ?? DEFAULT_LIFECYCLE_SETTINGS;
  const credentials: pulumi.Output<RetireCredentials> = pulumi.secret(
    pulumi.all([bootstrap.caCertPem, bootstrap.adminCertPem, bootstrap.adminKeyPem, bootstrap.etcdClient]).apply(([caPem, certPem, keyPem, etcd]) => ({
      apiUrl: apiServerUrl(c.endpoint),
      kube: { caPem, certPem, keyPem },
      etcd,
    })),
  );
  return {
    credentials,
    nodes: c.nodes.map((n) => n.name),
    controlPlanes: controlPlaneNodes(c).map((n) => ({ name: n.name, address: n.address })),
    previousAddresses: Object.fromEntries((previous?.nodes ?? []).map((n) => [n.name, n.address])),
    preparedNodes: [...lifecycle.preparedNodes],
    drain: drainPolicy(lifecycle.drainTimeoutMinutes),
  };
}

/**
 * What the rolling power-cycle hooks are given: the retirement hooks' nodes and credentials, the
 * comeback timeout, and the vSphere provider's rule for which updates power a VM off and on (the
 * VMs' `extraConfig` is ignoreChanges: never sent to the provider).
 */
export function powerCycleHooksArgs(retire: RetireHooksArgs, args: KubeadmVsphereClusterArgs): PowerCycleHooksArgs {
  const lifecycle = args.spec.lifecycle ?? DEFAULT_LIFECYCLE_SETTINGS;
  return {
    credentials: retire.credentials,
    nodes: retire.nodes,
    controlPlanes: retire.controlPlanes,
    preparedNodes: retire.preparedNodes,
    drain: retire.drain,
    rebootTimeoutMs: (lifecycle.rebootTimeoutMinutes ?? DEFAULT_REBOOT_TIMEOUT_MINUTES) * 60_000,
    reasons: (before, after) => rebootReasons(before, after, ["extraConfig"]),
  };
}

export interface KubeadmOnVsphereSpec {
  readonly vsphere: VsphereDecisions;
  readonly kubernetes: KubernetesSettings;
  /** The acknowledgements for changes to a running cluster (`vsphere-spark:lifecycle`); default none. */
  readonly lifecycle?: LifecycleSettings;
}

/**
 * The change rules against the last applied state (components/cluster/lifecycle.ts): a previous
 * output this program does not understand is refused too, never taken for a new cluster.
 */
export function checkKubeadmChange(spec: KubeadmOnVsphereSpec, cluster: ClusterSpec, previous: unknown, now?: Date): ChangeCheck & { previous?: ClusterLifecycleState } {
  const next = clusterLifecycleState(cluster, lifecycleContext(spec.vsphere));
  const legacy = typeof previous === "object" && previous !== null && LEGACY_VMS in previous ? (previous as Record<string, unknown>)[LEGACY_VMS] : undefined;
  const parsed = legacy !== undefined ? { state: stateFromVmsOutput(legacy, next), problem: undefined } : parseClusterLifecycleState(previous);
  if (legacy !== undefined && !parsed.state) {
    return { refusals: [{ path: "vsphere-spark:lifecycle", message: "the stack's `vms` output is not what this program wrote, and it has no clusterLifecycle output: compare it with docs/lifecycle.md" }], notes: [] };
  }
  if (parsed.problem) {
    return {
      refusals: [{ path: `vsphere-spark:lifecycle`, message: `${parsed.problem}: compare it with docs/lifecycle.md, or run this program's version that wrote it` }],
      notes: [],
    };
  }
  return { ...checkClusterChange(parsed.state, next, { lifecycle: spec.lifecycle ?? DEFAULT_LIFECYCLE_SETTINGS, now }), previous: parsed.state };
}

/** What the change rules record besides the cluster spec: the template and the GPU workers' passthrough devices (components/vsphere/gpu.ts). */
export function lifecycleContext(v: VsphereDecisions): { template: string; devices: Record<string, NodeDevices> } {
  const devices: Record<string, NodeDevices> = {};
  for (const s of v.slots) if (s.gpus) devices[s.name] = { pciDeviceIds: [...s.gpus.pciIds], mmioSizeGiB: s.gpus.mmioSizeGiB };
  return { template: v.inventory.template, devices };
}

/** The cluster layer's view of the VMs: one node per VM, with its address and shape. */
export function kubeadmClusterSpec(spec: KubeadmOnVsphereSpec): ClusterSpec {
  const v = spec.vsphere;
  // The same MACs VsphereTopology gives the VMs (derived from the cluster and VM names).
  const nodes: ClusterNode[] = v.slots.map((s) => ({
    name: s.name,
    role: s.role,
    address: v.addresses[s.name],
    macAddress: v.macAddresses[s.name],
    cpus: s.cpus,
    memoryMiB: s.memoryMiB,
    ...(s.scratchDiskGiB ? { scratchDiskGiB: s.scratchDiskGiB } : {}),
    ...(s.gpus ? { gpus: s.gpus.count } : {}),
    ...nodeZone(v, s.hostId),
  }));
  return {
    clusterName: v.clusterName,
    nodes,
    network: {
      prefixLength: v.network.prefixLength,
      gateway: v.network.gateway,
      dnsServers: v.network.dnsServers,
      searchDomains: v.network.searchDomains,
    },
    endpoint: v.endpoint,
    settings: spec.kubernetes,
  };
}

/** A node's zone labels and, when its zone's subnet is not the network's, its own subnet. */
function nodeZone(v: VsphereDecisions, hostId: string): Pick<ClusterNode, "topology" | "subnet"> {
  const z = v.zones?.find((x) => x.hosts.includes(hostId));
  if (!z) return {};
  const prefixLength = Number(z.cidr.split("/")[1]);
  const own = z.cidr !== v.network.cidr || z.gateway !== v.network.gateway;
  return { topology: { zone: z.name, region: z.region }, ...(own ? { subnet: { prefixLength, gateway: z.gateway } } : {}) };
}

/** Each host with its VMs and what they add up to, as the plan shows it. */
export function plannedHosts(v: VsphereDecisions): PlannedHost[] {
  const zoneOf = v.zones ? zoneOfHost(v.zones) : undefined;
  return hostAllocations(v.topology, v.slots).map((a) => ({
    ...(zoneOf ? { zone: zoneOf.get(a.host.id)!.name, computeCluster: clusterKey(zoneOf.get(a.host.id)!) } : {}),
    id: a.host.id,
    name: a.host.name,
    cpuThreads: a.host.cpuThreads,
    memoryMiB: a.host.memoryMiB,
    allocated: { cpus: a.cpus, memoryMiB: a.memoryMiB },
    vms: a.vms.map((s) => ({ name: s.name, role: s.role, cpus: s.cpus, memoryMiB: s.memoryMiB, diskGiB: s.diskGiB, ...(s.scratchDiskGiB ? { scratchDiskGiB: s.scratchDiskGiB } : {}), address: v.addresses[s.name] })),
  }));
}

/** Where a kubeadm stack gets GPU workers: the GPU worker VMs each host carries (components/vsphere/gpu.ts). */
export const KUBEADM_GPU_WORKERS_KEY = "vsphere-spark:hosts[i].gpuWorkers (GPU worker VMs of vsphere-spark:vmProfiles.gpu)";

/**
 * Decides the kubeadm-on-vSphere cluster: its cluster specification (checked), its worker pool and
 * endpoint, its plan, and how to create it. Throws a ValidationError when the spec is inconsistent
 * (the stack's resolvers rule that out; a library caller gets every problem at once).
 */
export function kubeadmOnVsphere(spec: KubeadmOnVsphereSpec): DecidedCluster {
  const cluster = kubeadmClusterSpec(spec);
  throwIfErrors(validateClusterSpec(cluster, "cluster"), "kubeadm on vSphere: inconsistent cluster");
  // GPU workers are tainted (components/cluster/gpu.ts): CPU executors size on the other workers only.
  const gpuNodes = workerNodes(cluster).filter((n) => n.gpus);
  // Zones: the CPU workers' zones (components/vsphere/zones-plan.ts), where the CPU executors run.
  const cpuNodes = workerNodes(cluster).filter((n) => !n.gpus);
  const pool: WorkerPool = {
    ...withZones(workerPool(cpuNodes, spec.kubernetes), cpuNodes, spec.vsphere.zones),
    // GPU workers per zone too: the application's zone placement applies to its GPU executors (components/spark/plan.ts).
    ...(gpuNodes.length > 0 ? { gpuWorkers: withZones(gpuWorkerPool(gpuNodes, spec.kubernetes), gpuNodes, spec.vsphere.zones) } : {}),
    gpuWorkersKey: KUBEADM_GPU_WORKERS_KEY,
  };
  const endpoint = { ...spec.vsphere.endpoint };
  const lifecycle: BackendLifecycle = {
    output: LIFECYCLE_OUTPUT,
    state: clusterLifecycleState(cluster, lifecycleContext(spec.vsphere)),
    check: (previous, now) => {
      const c = checkKubeadmChange(spec, cluster, previous, now);
      return { refusals: c.refusals, notes: c.notes };
    },
  };
  return {
    backend: "kubeadm",
    endpoint,
    workerPool: pool,
    lifecycle,
    checkInfrastructure: () => missingInventory(spec.vsphere, providerLookup),
    plan: (): BackendPlan => ({
      backend: "kubeadm",
      endpoint,
      workerPool: pool,
      hosts: plannedHosts(spec.vsphere),
      artifacts: clusterArtifacts(cluster),
      sections: spec.vsphere.zones ? { zones: zonesPlanSection(spec.vsphere) } : {},
      text: spec.vsphere.zones ? zonesPlanText(zonesPlanSection(spec.vsphere)) : [],
    }),
    create: (name, opts, context?: CreateContext) => new KubeadmVsphereCluster(name, { spec, cluster, workerPool: pool, previous: context?.previous, now: context?.now }, opts),
  };
}

export interface KubeadmVsphereClusterArgs {
  readonly spec: KubeadmOnVsphereSpec;
  /** From `kubeadmClusterSpec(spec)`. */
  readonly cluster: ClusterSpec;
  /** From `workerPool(...)`. */
  readonly workerPool: WorkerPool;
  /**
   * The state the last `pulumi up` applied: the stack output `clusterLifecycle`, already read (e.g.
   * `await lastAppliedClusterState()`). Checked before anything is registered; absent: a new cluster.
   */
  readonly previous?: unknown;
  /** Now: when the cluster is first created, its date goes into the applied state (certificate expiry). */
  readonly now?: Date;
}

/** The kubeadm-on-vSphere cluster as a component: bootstrap material, the VMs, then access. */
export class KubeadmVsphereCluster extends pulumi.ComponentResource implements ClusterHandle {
  readonly provider: k8s.Provider;
  readonly apiEndpoint: pulumi.Output<string>;
  readonly workerPool: WorkerPool;
  readonly readyFor: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  readonly outputs: Record<string, pulumi.Input<unknown>>;
  readonly topology: VsphereTopology;
  readonly bootstrap: KubeadmBootstrap;
  readonly access: KubeadmClusterAccess;

  constructor(name: string, args: KubeadmVsphereClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // The change rules run before anything is registered: a refused change touches nothing.
    const check = checkKubeadmChange(args.spec, args.cluster, args.previous, args.now);
    if (check.refusals.length > 0) throw new ValidationError(check.refusals, `KubeadmVsphereCluster ${name}: refused change to a running cluster`);
    super("vsphere-spark:stack:KubeadmVsphereCluster", name, {}, opts);
    const createdAt = check.previous ? check.previous.createdAt : args.now?.toISOString();
    const state = clusterLifecycleState(args.cluster, { ...lifecycleContext(args.spec.vsphere), createdAt });
    // A previous applied state: the cluster exists, so a replaced first control plane joins it.
    const out = createKubeadmVsphereCluster(this, name, args, readinessTargets(check.previous, state), check.previous !== undefined, check.previous);
    this.bootstrap = out.bootstrap;
    this.topology = out.topology;
    this.access = out.access;
    this.provider = out.access.provider;
    this.apiEndpoint = pulumi.output(`${args.cluster.endpoint.address}:${args.cluster.endpoint.port}`);
    this.workerPool = args.workerPool;
    // Spark waits for every control plane and worker to be a Ready node, not only for the CNI.
    const cni = out.access.cni;
    this.readyFor = out.access.nodesReady.apply(() => [cni]);
    this.outputs = {
      vms: out.topology.vms,
      apiEndpoint: this.apiEndpoint,
      kubeconfig: out.access.kubeconfig,
      caCertHash: out.bootstrap.caCertHash,
      bootstrapToken: out.bootstrap.token,
      nodeAllocatable: args.workerPool.allocatable,
      [LIFECYCLE_OUTPUT]: state,
    };
    this.registerOutputs(this.outputs);
  }
}

/**
 * Creates the children: PKI and guestinfo, the node-retirement hooks, the VMs (each with its
 * guestinfo, workers and control planes with their retirement hook), then the access gate.
 */
export function createKubeadmVsphereCluster(
  parent: pulumi.Resource,
  name: string,
  args: KubeadmVsphereClusterArgs,
  readiness?: { waitFor: string[]; reportOnly: string[] },
  clusterExists = false,
  previous?: ClusterLifecycleState,
) {
  const v = args.spec.vsphere;
  const c = args.cluster;
  const child = { parent };
  const bootstrap = new KubeadmBootstrap(
    name,
    {
      clusterName: c.clusterName,
      nodes: c.nodes,
      network: c.network,
      endpoint: c.endpoint,
      settings: c.settings,
      joinTokenGeneration: joinTokenGeneration(args.now, c.settings.bootstrapTokenTtl),
      clusterExists,
      // The control planes already running (etcd members): the added ones join one after the other.
      ...(clusterExists && previous ? { runningControlPlanes: previous.nodes.filter((n) => n.role === "control-plane").map((n) => n.name) } : {}),
    },
    child,
  );
  // Registered on every run, so the engine finds them for a VM that is gone from the program.
  const retireArgs = retireHooksArgs(args, bootstrap, previous);
  const retire = createRetireHooks(c.clusterName, name, retireArgs);
  // An update that powers a VM off and on rolls: one node at a time, drained first, back and uncordoned after.
  const roll = createPowerCycleHooks(c.clusterName, powerCycleHooksArgs(retireArgs, args));
  const rolling = { beforeUpdate: [roll.beforeUpdate], afterUpdate: [roll.afterUpdate], onError: [roll.onError] };
  const topology = new VsphereTopology(
    name,
    {
      ...topologyArgs(v, bootstrap.guestinfo),
      hooks: { worker: { beforeDelete: [retire.worker], ...rolling }, "control-plane": { beforeDelete: [retire.controlPlane], ...rolling } },
      // The hooks' credentials resolve before any VM step starts (an update hook runs inside it).
      vmDependsOn: bootstrap.clientResources,
    },
    child,
  );
  const access = new KubeadmClusterAccess(name, { bootstrap, dependsOn: Object.values(topology.machines), readiness }, child);
  return { bootstrap, topology, access };
}
