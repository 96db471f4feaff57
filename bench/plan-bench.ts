/**
 * `npm run bench`: wall time and peak memory of `plan --json`, against the cost of registering as
 * many bare resources with the SDK's mocks, for the reference stack and generated larger stacks.
 *
 *   --runs N          repetitions of every measurement; medians are reported (default 5)
 *   --cli-runs N      repetitions of the whole-process `plan --json` CLI run (default 3, at most --runs)
 *   --skip-cli        do not spawn the CLI (in-process and worker-process numbers only)
 *   --shaped-runs N   repetitions of the shape-matched baseline (default 3, at most --runs)
 *   --skip-shaped     no shape-matched baseline
 *   --hosts LIST      host counts of the generated stacks, comma-separated (default 16,32,64)
 *   --write           put the results between the markers in BENCHMARKS.md
 *   --out FILE        file for --write (default BENCHMARKS.md at the repo root)
 *   --raw FILE        also write every sample as JSON
 *   --keep            keep the temp dir with the generated stack files
 *
 * Every measurement runs in a fresh `node --expose-gc` child (see worker.ts), so its peak RSS is
 * its own; the work is timed in the child with process.hrtime.bigint(), the whole child from here.
 * Resource counts are never hard-coded: the baseline registers as many resources as the plan's
 * JSON lists (`resources.length`) for that stack, in the same run.
 *
 * A second, diagnostic baseline ("shape-matched") registers bare resources with as many input keys
 * as the plan's resources hand the SDK (read from one untimed run of the stack program): the SDK's
 * per-resource work grows with the number of keys, so this says how much of the plan's time is the
 * SDK's registration of a graph of that shape, and how much is the project's own code.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BenchStack, referenceStack, writeGeneratedStack } from "./stacks";
import { fitLine, marginalSlopes, median } from "./stats";
import type { WorkerResult } from "./worker";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const WORKER = path.join(__dirname, "worker.js");
const RSS_HOOK = path.join(__dirname, "rss-hook.js");
const CLI = path.join(REPO_ROOT, "dist", "src", "plan", "cli.js");
export const MARK_START = "<!-- bench:start -->";
export const MARK_END = "<!-- bench:end -->";
/** Target: the plan within this factor of the bare registration cost. */
export const TARGET_RATIO = 1.5;

interface Spawned {
  stdout: string;
  stdoutBytes: number;
  wallMs: number;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env, keepStdout = true): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let bytes = 0;
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      bytes += b.length;
      if (keepStdout) out.push(b);
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`node ${args.join(" ")} exited with ${code}\n${err}`));
      resolve({ stdout: Buffer.concat(out).toString(), stdoutBytes: bytes, wallMs });
    });
  });
}

interface Sample extends WorkerResult {
  /** The child process, spawn to exit, measured here. */
  processMs: number;
}

async function worker(args: string[]): Promise<Sample> {
  const r = await run(["--expose-gc", WORKER, ...args]);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return { ...(JSON.parse(line) as WorkerResult), processMs: r.wallMs };
}

interface CliSample {
  processMs: number;
  maxRssKiB: number;
  stdoutBytes: number;
}

async function cli(stack: BenchStack, tmp: string): Promise<CliSample> {
  const rssFile = path.join(tmp, `rss-${process.pid}-${Date.now()}.json`);
  const r = await run(
    ["--require", RSS_HOOK, CLI, "--json", "--stack", stack.stack, "--config-file", stack.configFile],
    { ...process.env, BENCH_RSS_FILE: rssFile },
    false,
  );
  const { maxRssKiB } = JSON.parse(fs.readFileSync(rssFile, "utf8")) as { maxRssKiB: number };
  fs.rmSync(rssFile, { force: true });
  return { processMs: r.wallMs, maxRssKiB, stdoutBytes: r.stdoutBytes };
}

interface StackResult {
  stack: BenchStack;
  vms: number;
  resources: number;
  plan: Sample[];
  baseline: Sample[];
  cli: CliSample[];
  shaped: Sample[];
}

const optMed = <T>(xs: T[], f: (x: T) => number) => (xs.length ? median(xs.map(f)) : NaN);
const mib = (kib: number) => kib / 1024;
const med = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "—");

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${os.availableParallelism?.() ?? cpus.length} logical cores (\`nproc\`), ${cpus[0]?.model ?? "unknown model"}`,
    `- memory: ${fmt(os.totalmem() / 2 ** 30, 1)} GiB`,
    `- node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}`,
    `- load average at the end of the run: ${os.loadavg().map((x) => x.toFixed(2)).join(", ")} (other work on the machine skews the numbers)`,
  ];
}

export function renderResults(results: StackResult[], opts: { runs: number; cliRuns: number; shapedRuns: number; date: Date }): string {
  const L: string[] = [];
  L.push(`Run of ${opts.date.toISOString().slice(0, 16).replace("T", " ")} UTC, medians of ${opts.runs} runs (CLI: ${opts.cliRuns}, shape-matched: ${opts.shapedRuns}), each in a fresh \`node --expose-gc\` process.`);
  L.push("");
  L.push(...machine());
  L.push("");
  L.push("**In-process work** (plan: `plan()` + `JSON.stringify`; baseline: registering as many bare resources under `runUnderMocks`):");
  L.push("");
  L.push("| stack | hosts | VMs | resources | plan ms | baseline ms | ratio | peak RSS plan MiB | peak RSS baseline MiB | RSS ratio | plan RSS MiB/VM (Δ from previous row) | shape-matched SDK ms | plan / shape-matched |");
  L.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const sorted = [...results].sort((a, b) => a.vms - b.vms);
  let prev: StackResult | undefined;
  for (const r of sorted) {
    const p = med(r.plan, (s) => s.workMs);
    const b = med(r.baseline, (s) => s.workMs);
    const pr = mib(med(r.plan, (s) => s.maxRssKiB));
    const br = mib(med(r.baseline, (s) => s.maxRssKiB));
    const slope = prev && r.vms !== prev.vms ? (pr - mib(med(prev.plan, (s) => s.maxRssKiB))) / (r.vms - prev.vms) : NaN;
    const sh = optMed(r.shaped, (s) => s.workMs);
    L.push(`| ${r.stack.label} | ${r.stack.hosts} | ${r.vms} | ${r.resources} | ${fmt(p)} | ${fmt(b)} | **${fmt(p / b, 2)}×** | ${fmt(pr, 1)} | ${fmt(br, 1)} | ${fmt(pr / br, 2)}× | ${fmt(slope, 3)} | ${fmt(sh)} | ${fmt(p / sh, 2)}× |`);
    prev = r;
  }
  L.push("");
  L.push("**Whole processes** (spawn to exit, measured by the parent; includes node start-up and module loading):");
  L.push("");
  L.push("| stack | VMs | plan worker ms | baseline worker ms | ratio | CLI `plan --json` ms | CLI peak RSS MiB | plan JSON KiB | retained heap plan / baseline MiB |");
  L.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of sorted) {
    const pw = med(r.plan, (s) => s.processMs);
    const bw = med(r.baseline, (s) => s.processMs);
    const cw = optMed(r.cli, (s) => s.processMs);
    const cr = mib(optMed(r.cli, (s) => s.maxRssKiB));
    const jsonKiB = med(r.plan, (s) => s.jsonBytes ?? NaN) / 1024;
    const hp = med(r.plan, (s) => s.heapRetained) / 2 ** 20;
    const hb = med(r.baseline, (s) => s.heapRetained) / 2 ** 20;
    L.push(`| ${r.stack.label} | ${r.vms} | ${fmt(pw)} | ${fmt(bw)} | ${fmt(pw / bw, 2)}× | ${fmt(cw)} | ${fmt(cr, 1)} | ${fmt(jsonKiB)} | ${fmt(hp, 1)} / ${fmt(hb, 1)} |`);
  }
  L.push("");

  // Memory against VM count.
  if (sorted.length >= 2) {
    const vms = sorted.map((r) => r.vms);
    const res = sorted.map((r) => r.resources);
    const rssPlan = sorted.map((r) => mib(med(r.plan, (s) => s.maxRssKiB)));
    const rssBase = sorted.map((r) => mib(med(r.baseline, (s) => s.maxRssKiB)));
    const heapPlan = sorted.map((r) => med(r.plan, (s) => s.heapRetained) / 2 ** 20);
    const fp = fitLine(vms, rssPlan);
    const fb = fitLine(vms, rssBase);
    const fh = fitLine(vms, heapPlan);
    const fr = fitLine(vms, res);
    const ms = marginalSlopes(vms, rssPlan);
    const mh = marginalSlopes(vms, heapPlan);
    L.push("**Memory against VM count** (least squares over the rows above):");
    L.push("");
    L.push(`- plan peak RSS ≈ ${fmt(fp.intercept, 1)} MiB + ${fmt(fp.slope, 3)} MiB × VMs (R² ${fmt(fp.r2, 4)}); interval slopes ${ms.map((x) => fmt(x, 3)).join(" → ")} MiB/VM`);
    L.push(`- plan retained heap ≈ ${fmt(fh.intercept, 1)} MiB + ${fmt(fh.slope, 3)} MiB × VMs (R² ${fmt(fh.r2, 4)}); interval slopes ${mh.map((x) => fmt(x, 3)).join(" → ")} MiB/VM`);
    L.push(`- baseline peak RSS ≈ ${fmt(fb.intercept, 1)} MiB + ${fmt(fb.slope, 3)} MiB × VMs (R² ${fmt(fb.r2, 4)})`);
    L.push(`- resources ≈ ${fmt(fr.intercept, 1)} + ${fmt(fr.slope, 2)} × VMs (R² ${fmt(fr.r2, 4)})`);
    L.push("");
  }
  const ratios = sorted.map((r) => med(r.plan, (s) => s.workMs) / med(r.baseline, (s) => s.workMs));
  const worst = Math.max(...ratios);
  L.push(`Time target (plan ≤ ${TARGET_RATIO}× baseline): ${worst <= TARGET_RATIO ? "met" : "**not met**"} — ratios ${ratios.map((x) => `${fmt(x, 2)}×`).join(", ")}.`);
  return L.join("\n");
}

export function writeBetweenMarkers(file: string, body: string): void {
  const block = `${MARK_START}\n${body}\n${MARK_END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const a = text.indexOf(MARK_START);
  const b = text.indexOf(MARK_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + MARK_END.length);
  else text = `${text.replace(/\n*$/, "\n\n")}${block}\n`;
  fs.writeFileSync(file, text);
}

function positiveInt(s: string | undefined, name: string, def: number): number {
  if (s === undefined) return def;
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--${name} must be a positive integer, got "${s}"`);
  return Number(s);
}

async function main(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      "cli-runs": { type: "string" },
      "skip-cli": { type: "boolean", default: false },
      "shaped-runs": { type: "string" },
      "skip-shaped": { type: "boolean", default: false },
      hosts: { type: "string", default: "16,32,64" },
      write: { type: "boolean", default: false },
      out: { type: "string" },
      raw: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (o.help) {
    process.stdout.write(
      "usage: npm run bench -- [--runs N] [--cli-runs N] [--skip-cli] [--shaped-runs N] [--skip-shaped] [--hosts 16,32,64] [--write] [--out FILE] [--raw FILE] [--keep]\n",
    );
    return 0;
  }
  const runs = positiveInt(o.runs, "runs", 5);
  const cliRuns = o["skip-cli"] ? 0 : positiveInt(o["cli-runs"], "cli-runs", Math.min(3, runs));
  const shapedRuns = o["skip-shaped"] ? 0 : positiveInt(o["shaped-runs"], "shaped-runs", Math.min(3, runs));
  const hostCounts = o.hosts!.split(",").filter((s) => s.trim() !== "").map((s) => positiveInt(s.trim(), "hosts", 0));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-bench-"));
  const reference = referenceStack(REPO_ROOT);
  const referenceText = fs.readFileSync(reference.configFile, "utf8");
  const stacks = [reference, ...hostCounts.map((h) => writeGeneratedStack(tmp, referenceText, h))];
  const started = process.hrtime.bigint();
  const results: StackResult[] = [];
  try {
    for (const stack of stacks) {
      const r: StackResult = { stack, vms: 0, resources: 0, plan: [], baseline: [], cli: [], shaped: [] };
      const shapeFile = path.join(tmp, `shape-${stack.stack}.json`);
      if (shapedRuns > 0) await run(["--expose-gc", WORKER, "shape", "--stack", stack.stack, "--config-file", stack.configFile, "--out", shapeFile]);
      for (let i = 0; i < Math.max(runs, cliRuns, shapedRuns); i++) {
        if (i < runs) {
          const p = await worker(["plan", "--stack", stack.stack, "--config-file", stack.configFile]);
          if (i === 0) {
            r.resources = p.resources;
            r.vms = p.vms ?? 0;
            if (r.vms !== stack.expectedVms) throw new Error(`${stack.label}: the plan has ${r.vms} VMs, expected ${stack.expectedVms}`);
          } else if (p.resources !== r.resources) {
            throw new Error(`${stack.label}: the plan's resource count changed between runs (${r.resources} → ${p.resources})`);
          }
          r.plan.push(p);
          r.baseline.push(await worker(["baseline", "--count", String(r.resources)]));
        }
        if (i < shapedRuns) {
          const s = await worker(["shaped", "--shape", shapeFile]);
          if (s.resources !== r.resources) throw new Error(`${stack.label}: the shape run saw ${s.resources} resources, the plan ${r.resources}`);
          r.shaped.push(s);
        }
        if (i < cliRuns) r.cli.push(await cli(stack, tmp));
      }
      results.push(r);
      process.stderr.write(
        `bench: ${stack.label}: ${r.vms} VMs, ${r.resources} resources, plan ${fmt(med(r.plan, (s) => s.workMs))} ms, baseline ${fmt(med(r.baseline, (s) => s.workMs))} ms\n`,
      );
    }
  } finally {
    if (!o.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else process.stderr.write(`bench: generated stacks kept in ${tmp}\n`);
  }
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write(`bench: ${fmt(totalS, 1)} s in all\n`);

  const body = renderResults(results, { runs, cliRuns, shapedRuns, date: new Date() });
  process.stdout.write(`${body}\n`);
  if (o.raw) fs.writeFileSync(o.raw, JSON.stringify(results, null, 2));
  if (o.write) {
    const file = path.resolve(o.out ?? path.join(REPO_ROOT, "BENCHMARKS.md"));
    writeBetweenMarkers(file, body);
    process.stderr.write(`bench: results written to ${file}\n`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bench failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
