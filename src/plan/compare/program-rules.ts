/**
 * The one place where `plan --compare` re-runs the program's own rules on the pair (base = what the
 * last `pulumi up` applied, head = this change), so that the preview is never quieter than
 * `pulumi up`: a change the program would refuse is shown as refused. Pure.
 *
 * Each rule reads the two plans (their stack outputs carry the state the program hands back to
 * itself as `previous`) and returns refusals, each naming the config key to change.
 *
 * Rules:
 * - Tanzu rollout (components/tanzu/rollout.ts, checkRollout on the `tanzuRollout` outputs): the same
 *   function `pulumi up` runs in TanzuCluster, so a refusal here is a refusal there.
 * - Version skew of nodes added by the change (kubeadm): existing VMs keep the Kubernetes version
 *   they were first booted with (their user-data is first-boot only), new VMs install the head's
 *   version. Kubernetes version-skew policy (kubernetes/website content/en/releases/
 *   version-skew-policy.md): "kubelet must not be newer than kube-apiserver", and HA kube-apiserver
 *   instances may differ by at most one minor version.
 * - The kubeadm lifecycle check (components/cluster/lifecycle.ts, checkClusterChange on the
 *   `clusterLifecycle` outputs, through src/plan/lifecycle.ts): the function `pulumi up` runs before
 *   registering anything. Where it refuses a key, a fact-of-the-system refusal of the same key (the
 *   version-skew rule) adds nothing and is left out.
 *
 * Notes: what the program itself says of an accepted change that the diff does not word from the
 * resources (`runProgramNotes`): control planes joining a running cluster (automated, one after the
 * other, with the shared CA files and the join token) and what HAProxy's first-boot backends need.
 */
import { Plan } from "../plan";
import { ROLLOUT_OUTPUT, checkRollout, parseRolloutState } from "../../../components/tanzu/rollout";
import { kubeadmLifecycleNotes, kubeadmLifecycleRule } from "../lifecycle";

export interface Refusal {
  /** The config key to change (leaf), e.g. `vsphere-spark:tanzu.cluster.release`. */
  path: string;
  message: string;
  /** The rule, for the report: where it lives. */
  rule: string;
  /** True when `pulumi up` itself refuses (the program runs the rule); false when it is a fact of the real system the program does not check yet. */
  enforcedByProgram: boolean;
}

export interface RuleContext {
  /** VM names created or replaced by the change (new nodes that boot with the head's settings). */
  newVms: { name: string; role: string }[];
}

export type ProgramRule = (base: Plan, head: Plan, ctx: RuleContext) => Refusal[];

const parse = (x: string | undefined): Record<string, unknown> => {
  try {
    const v = x ? (JSON.parse(x) as unknown) : {};
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

export const tanzuRolloutRule: ProgramRule = (base, head) => {
  const prev = parseRolloutState(base.outputs?.[ROLLOUT_OUTPUT]);
  const next = parseRolloutState(head.outputs?.[ROLLOUT_OUTPUT]);
  if (!next) return [];
  return checkRollout(prev, next, "vsphere-spark:tanzu").map((e) => ({ ...e, rule: "components/tanzu/rollout.ts (checkRollout)", enforcedByProgram: true }));
};

const minor = (v: unknown): [number, number] | undefined => {
  const m = /^v?(\d+)\.(\d+)/.exec(String(v ?? ""));
  return m ? [Number(m[1]), Number(m[2])] : undefined;
};

export const versionSkewRule: ProgramRule = (base, head, ctx) => {
  const vb = parse(base.config?.["vsphere-spark:kubernetes"]).version;
  const va = parse(head.config?.["vsphere-spark:kubernetes"]).version;
  if (vb === undefined || va === undefined || vb === va || ctx.newVms.length === 0) return [];
  const b = minor(vb);
  const a = minor(va);
  if (!a || !b) return [];
  const newer = a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  const out: Refusal[] = [];
  const nodes = ctx.newVms.filter((v) => v.role !== "load-balancer");
  if (nodes.length === 0) return [];
  if (newer) {
    out.push({
      path: "vsphere-spark:kubernetes.version",
      message:
        `changes the version ${vb} → ${va} in the same update that adds ${nodes.length} node(s) (${nodes.slice(0, 4).map((v) => v.name).join(", ")}${nodes.length > 4 ? ", …" : ""}): ` +
        `they install ${va} while the running API servers stay at ${vb} (first-boot only), and a kubelet must not be newer than kube-apiserver (version-skew policy); ` +
        "add the nodes with the old version first, then upgrade",
      rule: "Kubernetes version-skew policy",
      enforcedByProgram: false,
    });
  }
  if (nodes.some((v) => v.role === "control-plane") && (Math.abs(a[1] - b[1]) > 1 || a[0] !== b[0])) {
    out.push({
      path: "vsphere-spark:kubernetes.version",
      message: `a new control plane at ${va} beside API servers at ${vb}: HA kube-apiserver instances may differ by at most one minor version`,
      rule: "Kubernetes version-skew policy",
      enforcedByProgram: false,
    });
  }
  return out;
};

/** The kubeadm back end's change rules, as `pulumi up` runs them (components/cluster/lifecycle.ts). */
export const kubeadmChangeRule: ProgramRule = (base, head) => kubeadmLifecycleRule(base, head);

/** Every rule, in order. */
export const PROGRAM_RULES: ProgramRule[] = [tanzuRolloutRule, kubeadmChangeRule, versionSkewRule];

export interface ProgramNote {
  message: string;
  /** Where the rule lives. */
  rule: string;
}

/** The program's own notes on the pair (kubeadm: control planes joining, HAProxy's backends). */
export function runProgramNotes(base: Plan, head: Plan): ProgramNote[] {
  return kubeadmLifecycleNotes(base, head);
}

export function runProgramRules(base: Plan, head: Plan, ctx: RuleContext, rules: ProgramRule[] = PROGRAM_RULES): Refusal[] {
  const all = rules.flatMap((r) => r(base, head, ctx));
  const enforced = new Set(all.filter((r) => r.enforcedByProgram).map((r) => r.path));
  return all.filter((r) => r.enforcedByProgram || !enforced.has(r.path));
}

/** Refusals of one kind: the same rule on keys that differ only in a VM name or an index. */
export interface RefusalGroup {
  /** The keys' shape, e.g. `vsphere-spark:network.addresses.<vm>`. */
  key: string;
  rule: string;
  enforcedByProgram: boolean;
  refusals: Refusal[];
}

/**
 * Groups refusals by rule and key shape (an index as `[*]`, a VM name as `<vm>`), in first-seen
 * order: a host inserted early in `hosts` refuses every later node's address change, one refusal per
 * node (hundreds on a large stack); the report shows each group once, so its length is bounded by the
 * number of kinds, not of nodes.
 */
export function groupRefusals(refusals: readonly Refusal[], vmNames: ReadonlySet<string>): RefusalGroup[] {
  const groups = new Map<string, RefusalGroup>();
  for (const r of refusals) {
    const key = r.path
      .replace(/\[\d+\]/g, "[*]")
      .split(".")
      .map((seg) => (vmNames.has(seg) ? "<vm>" : seg))
      .join(".");
    const id = `${r.rule}\u0000${key}`;
    const g = groups.get(id) ?? { key, rule: r.rule, enforcedByProgram: r.enforcedByProgram, refusals: [] };
    g.refusals.push(r);
    groups.set(id, g);
  }
  return [...groups.values()];
}
