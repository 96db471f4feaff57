/** Pairs of stacks for the compare tests: variants of Pulumi.dev.yaml written to a temp dir. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { Plan, plan } from "../../../src/plan/plan";

export const ROOT = path.resolve(__dirname, "../../../..");

type Config = Record<string, any>;

/** Writes Pulumi.<stack>.yaml (default dev), changed by `mutate`, into a temp dir; returns the file. */
export function variant(mutate: (config: Config) => void, stack = "dev"): string {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Config };
  mutate(doc.config);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-test-"));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

const cache = new Map<string, { plan: Plan; contents: Map<string, string> }>();

async function planned(sets: string[], configFile: string | undefined, stack: string) {
  const k = JSON.stringify([sets, configFile, stack]);
  const hit = cache.get(k);
  if (hit) return hit;
  const r = await plan({ stack, cwd: ROOT, sets, configFile });
  if (!r.ok) assert.fail(`plan failed:\n${JSON.stringify(r.errors, null, 2)}`);
  const v = { plan: r.plan, contents: new Map(r.artifacts.map((a) => [a.path, a.content])) };
  cache.set(k, v);
  return v;
}

/** The plan of the reference stack with `--set` overrides, or of a variant file. Cached per input. */
export async function planOf(sets: string[] = [], configFile?: string, stack = "dev"): Promise<Plan> {
  return (await planned(sets, configFile, stack)).plan;
}

/** The rendered artifacts (path → text, secrets as placeholders) of the same plan. */
export async function contentsOf(sets: string[] = [], configFile?: string, stack = "dev"): Promise<Map<string, string>> {
  return (await planned(sets, configFile, stack)).contents;
}
