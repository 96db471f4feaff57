/**
 * When a change of the Kubernetes provider's configuration replaces every Kubernetes resource it
 * manages. Pure: reads two plans and the resource changes already classified.
 *
 * Sources:
 * - pulumi/pulumi-kubernetes @ 94977969d64112b04e19945818a7d5d5f38f631d, provider/pkg/provider/
 *   provider.go, kubeProvider.DiffConfig:
 *   - a changed `clusterIdentifier` (set on both sides) replaces the provider; an unchanged one that
 *     the new configuration sets drops every replacement ("we ignore replacements when the
 *     identifier is unchanged"); adding or removing it does not replace by itself;
 *   - a `kubeconfig`, `context` or `cluster` that is unknown (computed) in a preview replaces
 *     ("We can't tell for sure if a computed value has changed, so we make the conservative choice");
 *   - otherwise the provider is replaced iff the active cluster of the kubeconfig changed (its
 *     `server`, `certificate-authority-data`, …: getActiveClusterFromConfig); a change of the user's
 *     credentials alone is an update of the provider, no replacement.
 * - pulumi/pulumi, pkg/resource/deploy/step_generator.go, stepGenerator.diff → providerChanged: when
 *   the new provider's DiffConfig reports a replacement, every resource it manages is replaced
 *   (ReplaceKeys ["provider"]).
 */
import { Plan } from "../plan";

export const PROVIDER_TYPE = "pulumi:providers:kubernetes";
export const PROVIDER_SOURCE = "pulumi-kubernetes DiffConfig; pulumi engine step_generator providerChanged";

const UNKNOWN = "[known after pulumi up]";
type PlanResource = Plan["resources"][number];
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

export interface ProviderChange {
  /** The provider resource's name (e.g. `spark-k8s`). */
  name: string;
  /** What happens to the provider: replaced (and everything it manages), updated, or only in a preview. */
  action: "replace" | "update" | "preview-replace";
  /** Why, in words (non-secret parts only). */
  because: string[];
  /** The API server (address:port) before → after, when the plan knows it. */
  server?: { before: string; after: string };
  caChanged: boolean;
  credentialsChanged: boolean;
  /** Whether the kubeconfig is unknown in a preview (VMs or certificates created in the same update). */
  unknownInPreview: boolean;
  identifier: "unchanged" | "changed" | "added" | "removed" | "none";
  /** Names of the resources this provider manages (in the head). */
  manages: string[];
}

/** The resources a provider manages: the recorded `provider` option, or (older plans) every Kubernetes resource when it is the only provider. */
export function managedBy(p: Plan, provider: string): string[] {
  const providers = p.resources.filter((r) => r.type === PROVIDER_TYPE);
  return p.resources
    .filter((r) => r.type.startsWith("kubernetes:"))
    .filter((r) => {
      const via = (r as { provider?: string }).provider;
      return via !== undefined ? via === provider : providers.length === 1 && providers[0].name === provider;
    })
    .map((r) => r.name);
}

/** The API server a provider talks to, from what the plan knows (kubeadm: the endpoint; Tanzu: the Supervisor's address). */
function serverOf(p: Plan, provider: string): string | undefined {
  if (provider.endsWith("-supervisor")) {
    try {
      const t = JSON.parse(p.config?.["vsphere-spark:tanzu"] ?? "{}") as { supervisor?: { address?: string; port?: number } };
      return t.supervisor?.address ? `${t.supervisor.address}:${t.supervisor.port ?? 443}` : undefined;
    } catch {
      return undefined;
    }
  }
  if (p.backend === "tanzu") return undefined; // read from Cluster API's Secret at run time
  return p.endpoint && p.endpoint.kind !== "none" ? `${p.endpoint.address}:${p.endpoint.port}` : undefined;
}

export interface ResourceActionView {
  type: string;
  name: string;
  action: "create" | "update" | "replace" | "delete";
}

/**
 * The provider changes between two plans. `actions` are the resource changes already classified
 * (the CA and admin certificate, the VMs: what the kubeadm kubeconfig is made of).
 */
export function diffProviders(base: Plan, head: Plan, actions: ResourceActionView[], clusterName: string): ProviderChange[] {
  const out: ProviderChange[] = [];
  const before = new Map(base.resources.filter((r) => r.type === PROVIDER_TYPE).map((r) => [r.name, r]));
  const act = (type: string, name: string) => actions.find((a) => a.type === type && a.name === name)?.action;
  for (const h of head.resources.filter((r) => r.type === PROVIDER_TYPE)) {
    const b = before.get(h.name);
    if (!b) continue; // a new provider: its resources are created anyway
    const kubeadm = head.backend !== "tanzu" && h.name.endsWith("-k8s");
    // kubeadm's kubeconfig: server from the endpoint, CA `<cluster>-ca`, credentials `<cluster>-admin-cert`/`-admin-key`.
    const caAction = kubeadm ? act("tls:index/selfSignedCert:SelfSignedCert", `${clusterName}-ca`) : undefined;
    const caChanged = caAction === "replace";
    const credentialsChanged =
      kubeadm &&
      (["replace", "update"].includes(act("tls:index/locallySignedCert:LocallySignedCert", `${clusterName}-admin-cert`) ?? "") ||
        act("tls:index/privateKey:PrivateKey", `${clusterName}-admin-key`) === "replace");
    const sb = serverOf(base, h.name);
    const sa = serverOf(head, h.name);
    const serverChanged = sb !== undefined && sa !== undefined && sb !== sa;
    // The kubeadm kubeconfig resolves after every VM exists (the /readyz gate waits on their ids).
    const unknownInPreview = kubeadm && (caChanged || actions.some((a) => a.type.endsWith(":VirtualMachine") && (a.action === "create" || a.action === "replace")));
    const ib = isObj(b.inputs) ? b.inputs.clusterIdentifier : undefined;
    const ia = isObj(h.inputs) ? h.inputs.clusterIdentifier : undefined;
    // The program derives the identifier from the cluster CA (components/cluster/access.ts): it changes with the CA.
    const identifier: ProviderChange["identifier"] =
      ib === undefined && ia === undefined
        ? "none"
        : ib === undefined
          ? "added"
          : ia === undefined
            ? "removed"
            : ib !== ia || caChanged || (ia === UNKNOWN && ib !== UNKNOWN)
              ? "changed"
              : "unchanged";
    const because: string[] = [];
    // Tanzu: the workload kubeconfig is read from Cluster API's Secret, whose id waits for the
    // Cluster's id: a replaced Cluster makes it unknown, and an unknown kubeconfig replaces.
    const tanzuCluster = head.backend === "tanzu" && h.name.endsWith("-k8s") && actions.some((a) => /cluster\.x-k8s\.io\/[^:]+:Cluster$/.test(a.type) && a.action === "replace");
    if (tanzuCluster) because.push("workload cluster replaced: its kubeconfig is unknown until the new cluster exists");
    if (serverChanged) because.push(`API server ${sb} → ${sa}`);
    if (caChanged) because.push(`cluster CA ${clusterName}-ca replaced`);
    if (credentialsChanged) because.push("admin credentials renewed");
    let action: ProviderChange["action"] | undefined;
    if (identifier === "changed") {
      action = "replace";
      because.unshift("clusterIdentifier changed");
    } else if (identifier === "unchanged") {
      action = because.length > 0 ? "update" : undefined;
      if (because.length > 0) because.push("clusterIdentifier unchanged: DiffConfig drops the replacement");
    } else if (serverChanged || caChanged || tanzuCluster) {
      action = "replace";
    } else if (unknownInPreview) {
      action = "preview-replace";
      because.push("kubeconfig unknown until the new VMs exist: pulumi preview shows every Kubernetes resource replaced; pulumi up replaces nothing if the server and CA stay the same");
    } else if (credentialsChanged || identifier === "added" || identifier === "removed") {
      action = "update";
      if (identifier !== "none") because.push(`clusterIdentifier ${identifier}`);
    }
    if (!action) continue;
    out.push({
      name: h.name,
      action,
      because,
      ...(sb !== undefined && sa !== undefined ? { server: { before: sb, after: sa } } : {}),
      caChanged,
      credentialsChanged,
      unknownInPreview,
      identifier,
      manages: managedBy(head, h.name),
    });
  }
  return out;
}

export type { PlanResource };
