/**
 * What every lab spec reads from a stack file the way `pulumi up` would decide it (offline: no engine,
 * no mocks, no previous deployment), and what a node's kubelet registers with according to the
 * kubeadm documents the plan renders for it.
 */
import { parseAllDocuments } from "yaml";
import { decideStack, StackDecisions } from "../../src/config/decisions";
import { loadFlatConfig } from "../../src/plan/plan";
import { ROOT } from "./tools";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface LabStack {
  decisions: StackDecisions;
  /** The stack's flat configuration values (`vsphere-spark:<key>` → JSON or text), as the engine hands them over. */
  values: Record<string, string>;
  secretKeys: string[];
}

/** `Pulumi.<stack>.yaml` (with `--config` style `sets`) decided offline; throws naming the file on any error. */
export function labStack(stack: string, sets: string[] = []): LabStack {
  const { flat, errors } = loadFlatConfig({ stack, cwd: ROOT, ...(sets.length ? { sets } : {}) });
  if (!flat || errors.length) throw new Error(`Pulumi.${stack}.yaml: ${JSON.stringify(errors)}`);
  const r = decideStack(flat.values, flat.secretKeys, { offline: true, secret: () => undefined, previousTanzuRollout: () => undefined });
  if (!r.decisions) throw new Error(`Pulumi.${stack}.yaml: ${JSON.stringify(r.errors)}`);
  return { decisions: r.decisions, values: flat.values, secretKeys: flat.secretKeys };
}

/** The stack's decisions only. */
export function labDecisions(stack: string, sets: string[] = []): StackDecisions {
  return labStack(stack, sets).decisions;
}

/** What a node's kubelet registers with: `--node-labels` and `nodeRegistration.taints` (node-role taints left out). */
export interface Registration {
  labels: Record<string, string>;
  taints: Obj[];
}

/** Reads the registration from a node's rendered kubeadm documents (its Init- or JoinConfiguration). */
export function registration(kubeadmYaml: string): Registration {
  const docs = parseAllDocuments(kubeadmYaml).map((d) => d.toJS() as Obj);
  const reg = docs.find((d) => d?.kind === "InitConfiguration" || d?.kind === "JoinConfiguration")?.nodeRegistration;
  if (!reg) throw new Error("no InitConfiguration or JoinConfiguration with nodeRegistration in the kubeadm documents");
  const args: { name: string; value: string }[] = Array.isArray(reg.kubeletExtraArgs) ? reg.kubeletExtraArgs : [];
  const value = args.find((a) => a.name === "node-labels")?.value ?? "";
  const labels = Object.fromEntries(value.split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
  const taints = ((reg.taints ?? []) as Obj[]).filter((t) => !String(t.key).startsWith("node-role.kubernetes.io/"));
  return { labels, taints };
}
