/**
 * `pulumi up` returns when the workers exist: a wait for the workload cluster's MachineDeployments,
 * read from the Supervisor's Kubernetes API.
 *
 * Why the Cluster's `Ready` condition is not enough: Cluster API builds it from `ControlPlaneReady`
 * and `InfrastructureReady` only (cluster-api `internal/controllers/cluster/cluster_controller.go`
 * v1.10.10, `patchCluster`: `conditions.SetSummary` with those two), and on an update it is True already, so neither a new node pool nor a rolling replacement
 * would be awaited. What is awaited here, per node pool, on the MachineDeployment the topology
 * controller made for it (labels `cluster.x-k8s.io/cluster-name` and
 * `topology.cluster.x-k8s.io/deployment-name`, cluster-api `api/v1beta1/common_types.go` v1.10.10):
 * - `metadata.generation` observed (`status.observedGeneration`) and `spec.replicas` as configured;
 * - `status.updatedReplicas`, `status.readyReplicas`, `status.availableReplicas` all equal to the
 *   replicas, and `status.replicas` too (no old machine left: a rolling update surges, maxSurge 1);
 * - and, where Cluster API writes them (v1.9 and later: `status.v1beta2`), `readyReplicas`,
 *   `availableReplicas` and `upToDateReplicas` there as well (`api/v1beta1/machinedeployment_types.go`
 *   v1.10.10, `MachineDeploymentV1Beta2Status`).
 * The control plane's rollout is not read here (its KubeadmControlPlane is behind the ClusterClass).
 */
import { parse } from "yaml";
import { getJson } from "../https-json";

/** A pool's replicas, or for an autoscaled pool the autoscaler's bounds (any count within them is rolled out). */
export type ExpectedReplicas = number | { min: number; max: number };

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
export const DEPLOYMENT_NAME_LABEL = "topology.cluster.x-k8s.io/deployment-name";

interface MachineDeployment {
  metadata?: { name?: string; generation?: number; labels?: Record<string, string> };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    v1beta2?: { readyReplicas?: number; availableReplicas?: number; upToDateReplicas?: number };
  };
}

/** What each node pool still lacks (pure): an empty list when every pool is rolled out. */
export function nodePoolsNotReady(list: unknown, cluster: string, expected: Record<string, ExpectedReplicas>): string[] {
  const items = ((list as { items?: MachineDeployment[] })?.items ?? []).filter((m) => m?.metadata?.labels?.[CLUSTER_NAME_LABEL] === cluster);
  const out: string[] = [];
  for (const [pool, wantOrBounds] of Object.entries(expected)) {
    const mds = items.filter((m) => m.metadata?.labels?.[DEPLOYMENT_NAME_LABEL] === pool);
    if (mds.length === 0) {
      out.push(`${pool}: no MachineDeployment yet`);
      continue;
    }
    if (mds.length > 1) {
      out.push(`${pool}: ${mds.length} MachineDeployments (${mds.map((m) => m.metadata?.name).join(", ")})`);
      continue;
    }
    const md = mds[0];
    const s = md.status ?? {};
    const why: string[] = [];
    // An autoscaled pool: whatever the autoscaler set within the bounds is what must be rolled out.
    const bounds = typeof wantOrBounds === "number" ? undefined : wantOrBounds;
    const specReplicas = md.spec?.replicas ?? 1;
    const want = bounds ? Math.min(Math.max(specReplicas, bounds.min), bounds.max) : (wantOrBounds as number);
    if (bounds && (specReplicas < bounds.min || specReplicas > bounds.max)) why.push(`spec.replicas ${specReplicas}, outside the autoscaler's bounds ${bounds.min}..${bounds.max}`);
    if ((s.observedGeneration ?? 0) < (md.metadata?.generation ?? 0)) why.push(`generation ${md.metadata?.generation} not yet observed (at ${s.observedGeneration ?? 0})`);
    if (!bounds && specReplicas !== want) why.push(`spec.replicas ${specReplicas}, not yet ${want}`);
    const count = (what: string, n: number | undefined) => {
      if ((n ?? 0) !== want) why.push(`${n ?? 0} of ${want} ${what}`);
    };
    count("up to date", s.updatedReplicas);
    count("ready", s.readyReplicas);
    count("available", s.availableReplicas);
    if ((s.replicas ?? 0) > want) why.push(`${(s.replicas ?? 0) - want} old machine(s) not yet deleted`);
    if (s.v1beta2) {
      count("Ready (v1beta2)", s.v1beta2.readyReplicas);
      count("Available (v1beta2)", s.v1beta2.availableReplicas);
      count("UpToDate (v1beta2)", s.v1beta2.upToDateReplicas);
    }
    if (why.length > 0) out.push(`${pool} (${md.metadata?.name}): ${why.join(", ")}`);
  }
  return out;
}

/** The parts of a kubeconfig's current context a plain HTTPS request needs. */
export interface KubeconfigAccess {
  server: string;
  caPem?: string;
  insecureSkipTlsVerify: boolean;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

/** Reads the current context of a kubeconfig (token or client certificate; no exec plugins). */
export function kubeconfigAccess(kubeconfig: string): KubeconfigAccess {
  const doc = parse(kubeconfig) as Record<string, any>;
  const ctxName = doc?.["current-context"];
  const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === ctxName)?.context ?? doc?.contexts?.[0]?.context;
  const cluster = (doc?.clusters ?? []).find((c: any) => c?.name === ctx?.cluster)?.cluster;
  const user = (doc?.users ?? []).find((u: any) => u?.name === ctx?.user)?.user ?? {};
  if (typeof cluster?.server !== "string") throw new Error("the Supervisor kubeconfig has no server in its current context");
  if (user.exec || user["auth-provider"]) throw new Error("the Supervisor kubeconfig authenticates with an exec plugin or auth provider, which the readiness wait cannot run: give one with a token or a client certificate");
  const b64 = (v: unknown) => (typeof v === "string" ? Buffer.from(v, "base64").toString("utf8") : undefined);
  const out: KubeconfigAccess = { server: cluster.server.replace(/\/+$/, ""), insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true };
  const ca = b64(cluster["certificate-authority-data"]);
  if (ca) out.caPem = ca;
  if (typeof user.token === "string") out.token = user.token;
  const cert = b64(user["client-certificate-data"]);
  const key = b64(user["client-key-data"]);
  if (cert && key) {
    out.clientCertPem = cert;
    out.clientKeyPem = key;
  }
  return out;
}

export interface WaitForNodePoolsOptions {
  /** The Supervisor's kubeconfig (token or client certificate). */
  kubeconfig: string;
  namespace: string;
  cluster: string;
  /** Node pool name → replicas, or the autoscaler's bounds of an autoscaled pool. */
  expected: Record<string, ExpectedReplicas>;
  timeoutMs: number;
  intervalMs: number;
}

/** The list request for one cluster's MachineDeployments (the v1beta1 API every Supervisor serves). */
export function machineDeploymentsPath(namespace: string, cluster: string): string {
  return `/apis/cluster.x-k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/machinedeployments?labelSelector=${encodeURIComponent(`${CLUSTER_NAME_LABEL}=${cluster}`)}`;
}

/**
 * Resolves once every node pool's MachineDeployment is rolled out; rejects after the timeout naming
 * what each pool still lacks.
 */
export async function waitForNodePools(o: WaitForNodePoolsOptions): Promise<void> {
  const access = kubeconfigAccess(o.kubeconfig);
  const url = `${access.server}${machineDeploymentsPath(o.namespace, o.cluster)}`;
  const deadline = Date.now() + o.timeoutMs;
  let state = "no MachineDeployment list read yet";
  let failure = "";
  for (;;) {
    try {
      const missing = nodePoolsNotReady(await getJson(url, access, Math.min(10_000, Math.max(1, deadline - Date.now())), "the MachineDeployment list"), o.cluster, o.expected);
      if (missing.length === 0) return;
      state = missing.join("; ");
      failure = "";
    } catch (e) {
      failure = `; the last request failed: ${(e as Error).message}`;
    }
    if (Date.now() + o.intervalMs > deadline) {
      const minutes = o.timeoutMs / 60_000;
      throw new Error(
        `the node pools of cluster ${o.cluster} in ${o.namespace} were not rolled out within ${Number.isInteger(minutes) ? `${minutes} min` : `${o.timeoutMs / 1000} s`} (${state}${failure}). ` +
          `On the Supervisor: \`kubectl get machinedeployments,machines -n ${o.namespace} -l ${CLUSTER_NAME_LABEL}=${o.cluster}\` and \`kubectl describe\` the ones not ready; ` +
          "raise cluster.readyTimeoutMinutes if the rollout is only slow.",
      );
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}
