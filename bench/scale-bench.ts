/**
 * `npm run bench:scale`: how the plan's time and peak memory grow with the number of hosts (issue 21:
 * "a single stack of 200 hosts plans in seconds; the growth stays linear"), for `plan --json` and
 * for `plan --compare`, each as a whole CLI process (what a user or CI waits for).
 *
 *   --hosts LIST   host counts of the generated stacks (bench/stacks.ts: 5 VMs per host), default 4,16,48,96,200,320
 *   --runs N       repetitions per stack and command, interleaved; medians are reported (default 3)
 *   --zones N      spread each generated stack's hosts over N zones, each its own compute cluster
 *                  (issue 21: "200 hosts over three clusters"); default 0 (one cluster, no zones)
 *   --change C     the head of the compare runs: `workers` (default: one worker fewer per host) or
 *                  `template` (a new template in the stack's inventory: every VM is replaced, and
 *                  every VM group and rule that holds a VM's id follows it)
 *   --rev          also time `plan --compare HEAD` (two plans and a diff; the stack file is committed
 *                  in a temp git repository), which doubles the run's time
 *   --write        put the result between the scale-bench markers in BENCHMARKS.md
 *
 * Per stack and run, in fresh `node` processes with bench/cpu-hook.js and bench/rss-hook.js preloaded:
 *   plan     cli.js --json
 *   vs-json  cli.js --compare BASE.json --format markdown --set vsphere-spark:workersPerHost=4
 *            (one plan, the versioned read of BASE and the diff; BASE is this stack's own plan JSON,
 *            so the diff has a worker to remove on every host past the fourth)
 *   vs-rev   cli.js --compare HEAD --format markdown --set ... (with --rev: two plans and a diff)
 * and, once per run, the baseline measured in the same run: `cli.js --help`, which loads the CLI's
 * modules and plans nothing (node start-up and module loading: most of the fixed cost; the SDKs'
 * modules loaded lazily on first use are not in it).
 *
 * Reported (no assertion on milliseconds anywhere; the figures to read are ratios):
 *   - CPU time (user + system of the process itself; far steadier than wall clock on a shared
 *     machine) and wall clock;
 *   - net CPU = CPU − the baseline's CPU, per host (it falls with size while fixed costs the baseline
 *     does not cover, such as the SDK's lazily loaded modules, are spread over more hosts);
 *   - the CPU time and the peak RSS each added host costs (from the previous row), as a ratio to the
 *     first interval's: near 1.0 all the way down is linear growth, a ratio that climbs with the
 *     hosts is superlinear;
 *   - a least-squares line of net CPU and of peak RSS against hosts, with R², and the slope of each
 *     interval between consecutive sizes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
import { PROJECT_NS, writeGeneratedStack } from "./stacks";
import { fitLine, marginalSlopes, median } from "./stats";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join(REPO_ROOT, "dist", "src", "plan", "cli.js");
const CPU_HOOK = path.join(__dirname, "cpu-hook.js");
const RSS_HOOK = path.join(__dirname, "rss-hook.js");
export const MARK_START = "<!-- scale-bench:start -->";
export const MARK_END = "<!-- scale-bench:end -->";
/** Issue 21's size: a stack of this many hosts should plan in seconds. */
export const TARGET_HOSTS = 200;
/** The heads of the compare runs. */
export type Change = "workers" | "template";
/** `--set` arguments that make a stack's head: one worker fewer per host than the generated stacks' 5, or a new template. */
export function headSet(change: Change, stackText: string): string[] {
  if (change === "workers") return ["--set", `${PROJECT_NS}:workersPerHost=4`];
  const inventory = (YAML.parse(stackText) as { config?: Record<string, unknown> }).config?.[`${PROJECT_NS}:inventory`] as Record<string, unknown> | undefined;
  if (!inventory || typeof inventory.template !== "string") throw new Error(`--change template: the stack has no ${PROJECT_NS}:inventory.template`);
  return ["--set", `${PROJECT_NS}:inventory=${JSON.stringify({ ...inventory, template: `${inventory.template}-next` })}`];
}

export interface Measured {
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
}

function measure(args: string[], dir: string, cwd: string): Measured & { stdout: string } {
  const cpuFile = path.join(dir, "cpu.json");
  const rssFile = path.join(dir, "rss.json");
  fs.rmSync(cpuFile, { force: true });
  fs.rmSync(rssFile, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--require", CPU_HOOK, "--require", RSS_HOOK, CLI, ...args], {
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    env: { ...process.env, BENCH_CPU_FILE: cpuFile, BENCH_RSS_FILE: rssFile },
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`plan ${args.join(" ")} exited with ${r.status}\n${r.stderr}`);
  const cpuMs = (JSON.parse(fs.readFileSync(cpuFile, "utf8")) as { cpuUs: number }).cpuUs / 1000;
  const { maxRssKiB } = JSON.parse(fs.readFileSync(rssFile, "utf8")) as { maxRssKiB: number };
  return { wallMs, cpuMs, maxRssKiB, stdout: r.stdout };
}

export type Command = "plan" | "vsJson" | "vsRev";
export const COMMAND_LABEL: Record<Command, string> = {
  plan: "`plan --json`",
  vsJson: "`plan --compare BASE.json --format markdown` (one plan + diff)",
  vsRev: "`plan --compare HEAD --format markdown` (two plans + diff)",
};

export interface StackRow {
  hosts: number;
  vms: number;
  resources: number;
  samples: Partial<Record<Command, Measured[]>>;
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "—");
const med = (xs: Measured[], f: (m: Measured) => number) => median(xs.map(f));
const mib = (kib: number) => kib / 1024;

/** The markdown block: one table per command, then the fits. Pure (tests feed it made-up samples). */
export function renderScale(rows: StackRow[], baseline: Measured[], opts: { runs: number; date: Date; loadStart: number[]; loadEnd: number[]; commands: Command[]; zones?: number; change?: Change }): string {
  const L: string[] = [];
  const sorted = [...rows].sort((a, b) => a.hosts - b.hosts);
  const baseCpu = med(baseline, (m) => m.cpuMs);
  const baseRss = mib(med(baseline, (m) => m.maxRssKiB));
  const load = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  L.push(
    `Run of ${opts.date.toISOString().slice(0, 16).replace("T", " ")} UTC, medians of ${opts.runs} interleaved runs, each a fresh \`node\` process; ` +
      `${os.availableParallelism?.() ?? os.cpus().length} logical cores, node ${process.version}; load average ${load(opts.loadStart)} at the start, ${load(opts.loadEnd)} at the end. ` +
      (opts.zones ? `Each stack's hosts are spread over ${opts.zones} zones, each its own compute cluster.` : "One compute cluster, no zones.") +
      (opts.change === "template" ? " The compare's head is a new template: every VM is replaced." : ""),
  );
  L.push("");
  L.push(
    `Baseline measured in the same run (\`plan --help\`: node start-up and loading the CLI's modules): CPU ${fmt(baseCpu)} ms, wall ${fmt(med(baseline, (m) => m.wallMs))} ms, peak RSS ${fmt(baseRss, 1)} MiB.`,
  );
  for (const c of opts.commands) {
    const withC = sorted.filter((r) => (r.samples[c]?.length ?? 0) > 0);
    if (withC.length === 0) continue;
    const cpuOf = (r: StackRow) => med(r.samples[c]!, (m) => m.cpuMs);
    const rssOf = (r: StackRow) => mib(med(r.samples[c]!, (m) => m.maxRssKiB));
    // The marginal cost of a host: from the previous row to this one. Linear growth keeps it flat,
    // so its ratio to the first interval's stays near 1; superlinear growth makes the ratio climb.
    const slope = (f: (r: StackRow) => number, k: number) => (k === 0 ? NaN : (f(withC[k]) - f(withC[k - 1])) / (withC[k].hosts - withC[k - 1].hosts));
    L.push("");
    L.push(`**${COMMAND_LABEL[c]}**`);
    L.push("");
    L.push("| hosts | VMs | resources | CPU ms | wall ms | net CPU ms per host (− baseline) | CPU ms per added host (from previous row) | vs first interval | peak RSS MiB | MiB per added host | vs first interval |");
    L.push("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    withC.forEach((r, k) => {
      const s = r.samples[c]!;
      L.push(
        `| ${r.hosts} | ${r.vms} | ${r.resources} | ${fmt(cpuOf(r))} | ${fmt(med(s, (m) => m.wallMs))} | ${fmt((cpuOf(r) - baseCpu) / r.hosts, 1)} | ${fmt(slope(cpuOf, k), 1)} | ${k === 0 ? "—" : `**${fmt(slope(cpuOf, k) / slope(cpuOf, 1), 2)}×**`} | ${fmt(rssOf(r), 1)} | ${fmt(slope(rssOf, k), 2)} | ${k === 0 ? "—" : `${fmt(slope(rssOf, k) / slope(rssOf, 1), 2)}×`} |`,
      );
    });
    if (withC.length >= 2) {
      const hosts = withC.map((r) => r.hosts);
      const net = withC.map((r) => med(r.samples[c]!, (m) => m.cpuMs) - baseCpu);
      const rss = withC.map((r) => mib(med(r.samples[c]!, (m) => m.maxRssKiB)));
      const ft = fitLine(hosts, net);
      const fr = fitLine(hosts, rss);
      L.push("");
      L.push(`- net CPU ≈ ${fmt(ft.intercept)} ms + ${fmt(ft.slope, 1)} ms × hosts (R² ${fmt(ft.r2, 4)}); interval slopes ${marginalSlopes(hosts, net).map((x) => fmt(x, 1)).join(" → ")} ms/host`);
      L.push(`- peak RSS ≈ ${fmt(fr.intercept, 1)} MiB + ${fmt(fr.slope, 2)} MiB × hosts (R² ${fmt(fr.r2, 4)}); interval slopes ${marginalSlopes(hosts, rss).map((x) => fmt(x, 2)).join(" → ")} MiB/host`);
      const at = withC.find((r) => r.hosts === TARGET_HOSTS);
      if (at) L.push(`- at ${TARGET_HOSTS} hosts: ${fmt(med(at.samples[c]!, (m) => m.cpuMs) / 1000, 1)} s of CPU, ${fmt(med(at.samples[c]!, (m) => m.wallMs) / 1000, 1)} s wall clock in this run`);
    }
  }
  return L.join("\n");
}

export function writeBetweenMarkers(file: string, body: string): void {
  const block = `${MARK_START}\n${body}\n${MARK_END}`;
  const text = fs.readFileSync(file, "utf8");
  const a = text.indexOf(MARK_START);
  const b = text.indexOf(MARK_END);
  fs.writeFileSync(file, a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + MARK_END.length) : `${text.replace(/\n*$/, "\n\n")}${block}\n`);
}

function positiveInt(s: string, name: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--${name} must be a positive integer, got "${s}"`);
  return Number(s);
}

async function main(argv: string[]): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      hosts: { type: "string", default: "4,16,48,96,200,320" },
      runs: { type: "string", default: "3" },
      zones: { type: "string", default: "0" },
      change: { type: "string", default: "workers" },
      rev: { type: "boolean", default: false },
      write: { type: "boolean", default: false },
    },
    strict: true,
  });
  const runs = positiveInt(o.runs!, "runs");
  if (o.change !== "workers" && o.change !== "template") throw new Error(`--change must be workers or template, got "${o.change}"`);
  const change: Change = o.change;
  const hostCounts = o.hosts!.split(",").map((s) => positiveInt(s.trim(), "hosts"));
  const commands: Command[] = o.rev ? ["plan", "vsJson", "vsRev"] : ["plan", "vsJson"];
  const loadStart = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scale-bench-"));
  try {
    const referenceText = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
    const zones = o.zones === "0" ? 0 : positiveInt(o.zones!, "zones");
    const stacks = hostCounts.map((h) => writeGeneratedStack(dir, referenceText, h, zones));
    if (o.rev) {
      const git = (...a: string[]) => execFileSync("git", a, { cwd: dir, stdio: "ignore" });
      git("init", "-q");
      git("add", ...stacks.map((s) => path.basename(s.configFile)));
      git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "generated stacks");
    }
    const rows: StackRow[] = [];
    const baseline: Measured[] = [];
    for (const s of stacks) {
      // This stack's own plan JSON: the base of its compare runs, and its counts (checked).
      const first = measure(["--json", "--stack", s.stack, "--config-file", s.configFile], dir, dir);
      const base = path.join(dir, `base-${s.stack}.json`);
      fs.writeFileSync(base, first.stdout);
      const p = JSON.parse(first.stdout) as { resources: unknown[]; hosts: { vms: unknown[] }[] };
      const vms = p.hosts.reduce((n, h) => n + h.vms.length, 0);
      if (vms !== s.expectedVms) throw new Error(`${s.label}: the plan has ${vms} VMs, expected ${s.expectedVms}`);
      rows.push({ hosts: s.hosts, vms, resources: p.resources.length, samples: {} });
    }
    const args: Record<Command, (s: (typeof stacks)[number]) => string[]> = {
      plan: (s) => ["--json", "--stack", s.stack, "--config-file", s.configFile],
      vsJson: (s) => ["--compare", path.join(dir, `base-${s.stack}.json`), "--format", "markdown", "--stack", s.stack, "--config-file", s.configFile, ...headSet(change, fs.readFileSync(s.configFile, "utf8"))],
      vsRev: (s) => ["--compare", "HEAD", "--format", "markdown", "--stack", s.stack, "--config-file", s.configFile, ...headSet(change, fs.readFileSync(s.configFile, "utf8"))],
    };
    for (let i = 0; i < runs; i++) {
      const { stdout: _, ...b } = measure(["--help"], dir, dir);
      baseline.push(b);
      stacks.forEach((s, k) => {
        for (const c of commands) {
          const { stdout: _out, ...m } = measure(args[c](s), dir, dir);
          (rows[k].samples[c] ??= []).push(m);
          process.stderr.write(`scale-bench: run ${i + 1}/${runs}, ${s.hosts} hosts, ${c}: ${fmt(m.cpuMs)} ms CPU, ${fmt(m.wallMs)} ms wall, ${fmt(mib(m.maxRssKiB))} MiB\n`);
        }
      });
    }
    const body = renderScale(rows, baseline, { runs, date: new Date(), loadStart, loadEnd: os.loadavg(), commands, zones, change });
    process.stdout.write(`${body}\n`);
    if (o.write) writeBetweenMarkers(path.join(REPO_ROOT, "BENCHMARKS.md"), body);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`scale-bench failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
