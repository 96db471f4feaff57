/**
 * `npm run bench:compare`: the time of `plan --compare` as a ratio to one `plan --json` of the same
 * stack, measured in the same run, each as a whole CLI process (what a user or CI waits for).
 *
 *   --runs N       repetitions, interleaved; medians are reported (default 5)
 *   --write        put the result between the compare-bench markers in BENCHMARKS.md
 *
 * Each is timed twice: wall clock from here, and the CPU time the process itself used (user +
 * system, written at exit by bench/cpu-hook.js), which a shared, loaded machine disturbs far less.
 *
 * Three commands on the reference stack (Pulumi.dev.yaml, 4 hosts, 20 VMs, 94 resources), with the
 * head changed by `--set vsphere-spark:workersPerHost=3` so the diff has work to do:
 *   plan     node dist/src/plan/cli.js --json
 *   vs-json  node dist/src/plan/cli.js --compare BASE.json --format markdown   (one plan + diff)
 *   vs-rev   node dist/src/plan/cli.js --compare HEAD --format markdown        (two plans + diff)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { median } from "./stats";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join(REPO_ROOT, "dist", "src", "plan", "cli.js");
const CPU_HOOK = path.join(__dirname, "cpu-hook.js");
export const MARK_START = "<!-- compare-bench:start -->";
export const MARK_END = "<!-- compare-bench:end -->";
/** Target from issue 11: two plans and a diff, under 2.2 × one plan. */
export const TARGET_RATIO = 2.2;

function timed(args: string[], cpuFile: string): { ms: number; cpuMs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--require", CPU_HOOK, CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { ...process.env, BENCH_CPU_FILE: cpuFile },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`plan ${args.join(" ")} exited with ${r.status}\n${r.stderr}`);
  const cpuMs = (JSON.parse(fs.readFileSync(cpuFile, "utf8")) as { cpuUs: number }).cpuUs / 1000;
  return { ms, cpuMs, stdout: r.stdout };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, write: { type: "boolean", default: false } } });
  const runs = Number(values.runs);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-bench-"));
  const base = path.join(dir, "base.json");
  const cpuFile = path.join(dir, "cpu.json");
  fs.writeFileSync(base, timed(["--json"], cpuFile).stdout); // also warms the file cache
  const head = ["--set", "vsphere-spark:workersPerHost=3"];
  type Key = "plan" | "vsJson" | "vsRev";
  const commands: Record<Key, string[]> = {
    plan: ["--json", ...head],
    vsJson: ["--compare", base, "--format", "markdown", ...head],
    vsRev: ["--compare", "HEAD", "--format", "markdown", ...head],
  };
  const samples: Record<Key, number[]> = { plan: [], vsJson: [], vsRev: [] };
  const cpu: Record<Key, number[]> = { plan: [], vsJson: [], vsRev: [] };
  for (let i = 0; i < runs; i++) {
    for (const k of Object.keys(commands) as Key[]) {
      const t = timed(commands[k], cpuFile);
      samples[k].push(t.ms);
      cpu[k].push(t.cpuMs);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const m = { plan: median(samples.plan), vsJson: median(samples.vsJson), vsRev: median(samples.vsRev) };
  const c = { plan: median(cpu.plan), vsJson: median(cpu.vsJson), vsRev: median(cpu.vsRev) };
  const load = os.loadavg().map((x) => x.toFixed(1)).join(", ");
  const fmt = (x: number) => `${Math.round(x)} ms`;
  const r = (x: number) => (x / m.plan).toFixed(2);
  const rc = (x: number) => (x / c.plan).toFixed(2);
  const met = (x: number) => (x < TARGET_RATIO ? "met" : "**not met**");
  const block = [
    `Run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, medians of ${runs} interleaved runs, each a fresh \`node\` process; ` +
      `${os.cpus().length} logical cores, node ${process.version}, load average ${load} at the end.`,
    "",
    "| command | CPU time (median) | ratio to one plan | wall clock (median) | ratio to one plan |",
    "|---|---|---|---|---|",
    `| \`plan --json\` (one plan) | ${fmt(c.plan)} | 1.00 | ${fmt(m.plan)} | 1.00 |`,
    `| \`plan --compare base.json --format markdown\` (one plan + diff) | ${fmt(c.vsJson)} | ${rc(c.vsJson)} | ${fmt(m.vsJson)} | ${r(m.vsJson)} |`,
    `| \`plan --compare HEAD --format markdown\` (two plans + diff) | ${fmt(c.vsRev)} | **${rc(c.vsRev)}** | ${fmt(m.vsRev)} | **${r(m.vsRev)}** |`,
    "",
    `Target: a compare against a git revision under ${TARGET_RATIO} × one plan: by CPU time ${met(c.vsRev / c.plan)}, by wall clock ${met(m.vsRev / m.plan)}.`,
    "",
    `Wall-clock samples (ms): plan ${samples.plan.map(Math.round).join(", ")}; vs-json ${samples.vsJson.map(Math.round).join(", ")}; vs-rev ${samples.vsRev.map(Math.round).join(", ")}.`,
    `CPU-time samples (ms): plan ${cpu.plan.map(Math.round).join(", ")}; vs-json ${cpu.vsJson.map(Math.round).join(", ")}; vs-rev ${cpu.vsRev.map(Math.round).join(", ")}.`,
  ].join("\n");
  process.stdout.write(`${block}\n`);
  if (values.write) {
    const file = path.join(REPO_ROOT, "BENCHMARKS.md");
    const text = fs.readFileSync(file, "utf8");
    const a = text.indexOf(MARK_START);
    const b = text.indexOf(MARK_END);
    if (a < 0 || b < a) throw new Error(`${file} has no ${MARK_START} … ${MARK_END} block`);
    fs.writeFileSync(file, `${text.slice(0, a + MARK_START.length)}\n${block}\n${text.slice(b)}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
