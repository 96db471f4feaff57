/**
 * The program's change rules on a (previous, next) pair of plans, for `plan --compare`: the base
 * plan's `clusterLifecycle` output is the state a `pulumi up` of the base applied, the head's is the
 * state this change would apply, and the head's `vsphere-spark:lifecycle` holds the acknowledgements;
 * the check is the very function `pulumi up` runs before registering anything
 * (components/cluster/lifecycle.ts, checkClusterChange). No such output on either side (a new stack,
 * the Tanzu back end, or a plan JSON written before the output existed): nothing to check. Pure.
 *
 * `kubeadmLifecycleRule` has the shape of `plan --compare`'s program rules (a rule per
 * `(base, head) → refusals`, each naming the config key and the rule), listed in
 * src/plan/compare/program-rules.ts.
 */
import type { FieldError } from "../../components/validation";
import { LIFECYCLE_OUTPUT, checkClusterChange, parseClusterLifecycleState, resolveLifecycleSettings } from "../../components/cluster/lifecycle";
import { parseConfigValue, projectKey } from "../config/stack-config";
import type { Plan } from "./plan";

export interface PlanChanges {
  /** What `pulumi up` of the head would refuse on a cluster the base built (config key + steps). */
  refusals: FieldError[];
  /** What it would note (safe, or not reaching running nodes). */
  notes: string[];
  /** Of `notes`, those on control planes joining and HAProxy's backends (`ChangeCheck.membershipNotes`). */
  membershipNotes?: string[];
}

type PlanSide = Pick<Plan, "outputs" | "config">;

export function planChanges(base: PlanSide, head: PlanSide): PlanChanges | undefined {
  const prev = parseClusterLifecycleState(base.outputs?.[LIFECYCLE_OUTPUT]);
  const next = parseClusterLifecycleState(head.outputs?.[LIFECYCLE_OUTPUT]).state;
  if (!next) return undefined;
  if (prev.problem) return { refusals: [{ path: projectKey("lifecycle"), message: `base plan: ${prev.problem}` }], notes: [] };
  if (!prev.state) return undefined;
  const raw = head.config?.[projectKey("lifecycle")];
  const ack = resolveLifecycleSettings(raw === undefined ? undefined : parseConfigValue(raw), projectKey("lifecycle"));
  if (ack.errors.length > 0) return { refusals: ack.errors, notes: [] };
  return checkClusterChange(prev.state, next, { lifecycle: ack.settings, key: projectKey });
}

/** `plan --compare`'s program-rule shape: the refusals, each with where the rule lives. */
export function kubeadmLifecycleRule(base: PlanSide, head: PlanSide): (FieldError & { rule: string; enforcedByProgram: boolean })[] {
  return (planChanges(base, head)?.refusals ?? []).map((e) => ({ ...e, rule: "components/cluster/lifecycle.ts (checkClusterChange)", enforcedByProgram: true }));
}

/**
 * What the same check notes on control planes joining and on HAProxy's backends
 * (`ChangeCheck.membershipNotes`), for `plan --compare`: the program's own words, so the preview says
 * what `pulumi up` will. None when the check refuses (nothing would happen).
 */
export function kubeadmLifecycleNotes(base: PlanSide, head: PlanSide): { message: string; rule: string }[] {
  const c = planChanges(base, head);
  if (!c || c.refusals.length > 0) return [];
  return (c.membershipNotes ?? []).map((message) => ({ message, rule: "components/cluster/lifecycle.ts (checkClusterChange)" }));
}

/** The text form (also fine as Markdown): refusals first, each with its steps, then the notes. */
export function renderPlanChanges(c: PlanChanges): string {
  const lines: string[] = [];
  if (c.refusals.length > 0) {
    lines.push(`Refused on a running cluster (${c.refusals.length}): \`pulumi up\` would stop before changing anything`);
    for (const r of c.refusals) lines.push(`  - ${r.path}: ${r.message}`);
  }
  if (c.notes.length > 0) {
    lines.push("Changes to the running cluster:");
    for (const n of c.notes) lines.push(`  - ${n}`);
  }
  return lines.join("\n");
}
