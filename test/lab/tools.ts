/**
 * The real components the lab runs, found or built by `lab/build-tools.sh` (environment variable,
 * PATH, the cache outside the clone, or a build from the pinned wrapper modules under `lab/tools/`).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../../..");

export type ToolSource = "env" | "path" | "cache" | "built" | "missing" | "failed";
export interface Tool {
  name: string;
  path?: string;
  source: ToolSource;
  seconds: number;
}

/** Every binary of `tools` (all by default); builds what is missing unless the deadline forbids it. */
export function resolveTools(tools: string[] = [], deadline?: number): Record<string, Tool> {
  const args = [path.join(ROOT, "lab/build-tools.sh"), ...(deadline ? ["--deadline", String(deadline)] : []), ...tools];
  const r = spawnSync("bash", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`lab/build-tools.sh exited ${r.status}`);
  const out: Record<string, Tool> = {};
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [name, p, source, seconds] = line.split("\t");
    out[name] = { name, path: p === "-" ? undefined : p, source: source as ToolSource, seconds: Number(seconds) };
  }
  return out;
}

/** The paths of `names`, or the names of those missing. */
export function pick(tools: Record<string, Tool>, names: string[]): { paths: Record<string, string>; missing: string[] } {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const t = tools[n];
    if (t?.path) paths[n] = t.path;
    else missing.push(n);
  }
  return { paths, missing };
}
