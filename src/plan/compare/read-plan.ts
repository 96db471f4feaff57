/**
 * Reads a plan JSON written by `plan --json`, checking its `formatVersion`: a newer version than this
 * release writes is refused (its fields may mean something else); a plan without the field was
 * written before it existed and is read as version 0 (same shape, no `config` section).
 */
import * as fs from "node:fs";
import { PLAN_FORMAT_VERSION, Plan } from "../plan";

export class PlanFileError extends Error {}

const REQUIRED: [string, string][] = [
  ["stack", "string"],
  ["resources", "array"],
  ["hosts", "array"],
  ["endpoint", "object"],
];

/** Checks the parsed JSON and returns it as a Plan, or throws PlanFileError with every problem. */
export function asPlan(data: unknown, where: string): Plan {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new PlanFileError(`${where}: not a plan (expected a JSON object from \`plan --json\`)`);
  const o = data as Record<string, unknown>;
  const v = o.formatVersion ?? 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new PlanFileError(`${where}: formatVersion must be a whole number, got ${JSON.stringify(v)}`);
  if (v > PLAN_FORMAT_VERSION) {
    throw new PlanFileError(
      `${where}: plan formatVersion ${v} is newer than this release reads (${PLAN_FORMAT_VERSION}); ` +
        "write the base plan with this release (or compare against a git revision of the stack file instead)",
    );
  }
  const problems: string[] = [];
  for (const [k, kind] of REQUIRED) {
    const x = o[k];
    const ok = kind === "array" ? Array.isArray(x) : kind === "object" ? typeof x === "object" && x !== null && !Array.isArray(x) : typeof x === kind;
    if (!ok) problems.push(`"${k}" must be ${kind === "array" ? "an array" : `a${kind === "object" ? "n" : ""} ${kind}`}`);
  }
  if (Array.isArray(o.resources)) {
    o.resources.forEach((r, i) => {
      const rr = r as Record<string, unknown>;
      if (typeof rr?.type !== "string" || typeof rr?.name !== "string") problems.push(`resources[${i}] must have string "type" and "name"`);
    });
  }
  if (Array.isArray(o.hosts)) {
    o.hosts.forEach((h, i) => {
      const hh = h as Record<string, unknown>;
      if (typeof hh?.id !== "string" || !Array.isArray(hh?.vms)) problems.push(`hosts[${i}] must have a string "id" and a "vms" array`);
    });
  }
  if (problems.length > 0) throw new PlanFileError(`${where}: not a plan of this project (formatVersion ${v}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return { ...(o as unknown as Plan), formatVersion: v };
}

export function readPlanFile(file: string): Plan {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new PlanFileError(`cannot read the base plan ${file}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`${file} is not JSON (${(e as Error).message}); write it with \`npm run plan -- --json > ${file}\``);
  }
  return asPlan(data, file);
}
