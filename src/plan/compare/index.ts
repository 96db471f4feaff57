/**
 * `plan --compare BASE`: the head plan of the stack against a base, which is either a plan JSON
 * written earlier (`plan --json > base.json`) or a git revision of the stack file (its plan is
 * computed in the same run from `git show REV:./Pulumi.<stack>.yaml`).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FieldError } from "../../../components/validation";
import { Plan, PlanOptions, plan } from "../plan";
import { PlanDiff, diffPlans, emptyPlan } from "./diff";
import { PlanFileError, readPlanFile } from "./read-plan";

export { PlanDiff, diffPlans } from "./diff";
export { PlanFileError, asPlan, readPlanFile } from "./read-plan";
export { renderDiffJson, renderDiffMarkdown, renderDiffText, renderInvalidJson, renderInvalidMarkdown } from "./render";
export { renderMermaid } from "./mermaid";

export type CompareResult =
  | { ok: true; diff: PlanDiff; base: Plan; head: Plan }
  | { ok: false; side: "base" | "head"; errors: FieldError[] }
  | { ok: false; side: "base"; message: string };

/** The stack file at a git revision, or undefined when the file does not exist there. */
function stackFileAtRevision(file: string, rev: string): string | undefined {
  const dir = path.dirname(file);
  try {
    return execFileSync("git", ["show", `${rev}:./${path.basename(file)}`], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (e) {
    const err = String((e as { stderr?: unknown }).stderr ?? (e as Error).message);
    if (/does not exist in|exists on disk, but not in/.test(err)) return undefined;
    throw new PlanFileError(`--compare ${rev}: neither a plan JSON file nor a git revision of ${path.basename(file)} (${err.trim().split("\n")[0]})`);
  }
}

function isRevision(rev: string, cwd: string): boolean {
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { cwd, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function compare(opts: PlanOptions & { base: string }): Promise<CompareResult> {
  const baseIsFile = fs.existsSync(opts.base) && fs.statSync(opts.base).isFile();
  // Refuse a base that is neither before spending a plan on the head.
  if (!baseIsFile) {
    const file = path.resolve(opts.cwd ?? process.cwd(), opts.configFile ?? `Pulumi.${opts.stack}.yaml`);
    if (!isRevision(opts.base, path.dirname(file))) {
      return { ok: false, side: "base", message: `--compare ${opts.base}: neither a plan JSON file nor a git revision of ${path.basename(file)} (in ${path.dirname(file)})` };
    }
  }
  const head = await plan(opts);
  if (!head.ok) return { ok: false, side: "head", errors: head.errors };
  let base: Plan;
  let baseContents: Map<string, string> | undefined;
  try {
    if (baseIsFile) {
      const read = readPlanFile(opts.base);
      base = { ...read, configFile: `${path.relative(opts.cwd ?? process.cwd(), opts.base) || opts.base} (plan of ${path.basename(String(read.configFile ?? "?"))})` };
    } else {
      const file = head.plan.configFile;
      const text = stackFileAtRevision(file, opts.base);
      const shown = `${opts.base}:${path.basename(file)}`;
      if (text === undefined) {
        base = emptyPlan(opts.stack, `${shown} (absent)`);
      } else {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-base-"));
        try {
          const tmp = path.join(dir, path.basename(file));
          fs.writeFileSync(tmp, text);
          // --set overrides are the change under review: they apply to the head only.
          const b = await plan({ ...opts, configFile: tmp, sets: [] });
          if (!b.ok) return { ok: false, side: "base", errors: b.errors };
          base = { ...b.plan, configFile: shown };
          baseContents = new Map(b.artifacts.map((a) => [a.path, a.content]));
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } catch (e) {
    if (e instanceof PlanFileError) return { ok: false, side: "base", message: e.message };
    throw e;
  }
  // Shown relative to where the command runs (a CI runner's absolute paths say nothing to a reviewer).
  const shownHead = { ...head.plan, configFile: path.relative(opts.cwd ?? process.cwd(), head.plan.configFile) || head.plan.configFile };
  const contents = { base: baseContents, head: new Map(head.artifacts.map((a) => [a.path, a.content])) };
  return { ok: true, diff: diffPlans(base, shownHead, { contents }), base, head: head.plan };
}
