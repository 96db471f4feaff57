/**
 * The program's change rules on a (previous, next) pair of plans, for `plan --compare`: the base
 * plan's `clusterLifecycle` output is the state a `pulumi up` of the base would have applied, and the
 * head's decisions are checked against it exactly as the program would check them
 * (components/cluster/lifecycle.ts). No such output in the base (a new stack, another back end, or a
 * plan JSON written before the output existed): nothing to check.
 */
import type { FieldError } from "../../components/validation";
import { LIFECYCLE_OUTPUT } from "../../components/cluster/lifecycle";
import type { StackDecisions } from "../config/decisions";
import type { Plan } from "./plan";

export interface PlanChanges {
  /** What `pulumi up` of the head would refuse on a cluster the base built (config key + steps). */
  refusals: FieldError[];
  /** What it would note (safe, or not reaching running nodes). */
  notes: string[];
}

export function planChanges(base: Pick<Plan, "outputs">, head: StackDecisions): PlanChanges | undefined {
  const previous = base.outputs?.[LIFECYCLE_OUTPUT];
  const lifecycle = head.cluster.lifecycle;
  if (previous === undefined || previous === null || typeof previous !== "object" || !lifecycle) return undefined;
  return lifecycle.check(previous);
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
