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

/**
 * Every binary of `tools` (all by default); builds what is missing unless the deadline forbids it:
 * `VSPHERE_SPARK_LAB_DEADLINE` (epoch seconds, set by CI), read here for every spec.
 */
export function resolveTools(tools: string[] = []): Record<string, Tool> {
  const deadline = process.env.VSPHERE_SPARK_LAB_DEADLINE ? Number(process.env.VSPHERE_SPARK_LAB_DEADLINE) : undefined;
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

/**
 * The parts of a lab spec: which ran and which did not. `need` skips a test (pending, printed NOT RUN
 * with the reason) when a tool it needs is missing (not built before the deadline) or a service it
 * needs did not start for that reason, and fails it when a build failed: a part that did not run is
 * never reported as passed.
 */
export class Parts {
  readonly ran: string[] = [];
  readonly notRun: string[] = [];
  constructor(
    private readonly tools: () => Record<string, Tool>,
    private readonly log: (line: string) => void,
  ) {}

  need(ctx: Mocha.Context, part: string, names: string[], service?: { up: boolean; name: string }): Record<string, string> {
    const tools = this.tools();
    const { paths, missing } = pick(tools, names);
    const failed = names.filter((n) => tools[n]?.source === "failed");
    if (failed.length > 0) throw new Error(`${part}: building ${failed.join(", ")} failed (lab/build-tools.sh printed the log's tail above)`);
    if (missing.length > 0 || (service && !service.up)) {
      const why = missing.length ? `missing tools: ${missing.join(", ")}` : `${service!.name} did not start`;
      this.notRun.push(`${part} (${why})`);
      this.log(`NOT RUN: ${part}: ${why}`);
      ctx.skip();
    }
    this.ran.push(part);
    return paths;
  }

  summary(lab: string): void {
    this.log(`${lab}: parts run: ${this.ran.join(", ") || "none"}`);
    this.log(`${lab}: parts NOT RUN: ${this.notRun.join("; ") || "none"}`);
  }
}
