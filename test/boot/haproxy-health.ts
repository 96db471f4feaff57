/**
 * The load balancer's health checks, executed: the scenario the kube-apiserver stand-ins
 * (apiserver-standins.ts) play on the control planes' addresses, and what the lab reads from the
 * run: the stand-ins' log (each check: source, method, path, TLS) and HAProxy's own view of its
 * servers (`show stat` from its stats socket, relayed each second by the guest's lab-haproxy-watch).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type StandinBehaviour = "ready" | "not-ready" | "closed";

export interface HealthPhase {
  name: string;
  /** Control plane address → what its stand-in does in this phase. */
  behaviour: Record<string, StandinBehaviour>;
  /** The phase lasts until the clock server (always ready) has had this many checks (`GET /readyz`)… */
  minChecks: number;
  /** … or this many seconds have passed (checks the stand-ins cannot see: a bare TCP check)… */
  maxSeconds: number;
  /** … and this many samples of HAProxy's view; then `probes` client requests through the frontend. */
  minSamples: number;
  probes: number;
}

export interface HealthScenario {
  /** The address whose checks time the phases (a server that is ready throughout). */
  clock: string;
  phases: HealthPhase[];
}

export interface Backend {
  name: string;
  address: string;
}

/**
 * Three control planes: the first ready throughout (the clock); the third not ready (500), then
 * ready while the second answers 500; then the second ready again while the third closes its port.
 * Each of the three behaviours, and each server going down and coming back up, by HAProxy's checks.
 */
export function healthScenario(backends: Backend[]): HealthScenario {
  if (backends.length !== 3) throw new Error(`healthScenario: three control planes expected, got ${backends.length}`);
  const [a, b, c] = backends.map((x) => x.address);
  const phase = (name: string, bb: StandinBehaviour, cb: StandinBehaviour, minChecks: number): HealthPhase => ({
    name,
    behaviour: { [a]: "ready", [b]: bb, [c]: cb },
    minChecks,
    // Twice the checks' time at inter 5s.
    maxSeconds: minChecks * 10,
    minSamples: 3,
    probes: 4,
  });
  return {
    clock: a,
    phases: [
      // From HAProxy's start: its servers start UP with health `rise` (one failed check marks them down).
      phase("1: third not ready", "ready", "not-ready", 4),
      // fall 3 and rise 2 at inter 5s: 15 s; five checks leave the end state a few samples to show.
      phase("2: second not ready, third ready", "not-ready", "ready", 5),
      phase("3: second ready, third closed", "ready", "closed", 5),
    ],
  };
}

/** `fall`, `rise` and `inter` (seconds) of the generated backend's `default-server` line. */
export function checkSettings(haproxyCfg: string): { fall: number; rise: number; interSeconds: number } {
  const line = /^\s*default-server (.*)$/m.exec(haproxyCfg)?.[1] ?? "";
  const num = (k: string) => {
    const m = new RegExp(`\\b${k} (\\d+)(s?)\\b`).exec(line);
    if (!m) throw new Error(`no ${k} on the default-server line: ${line}`);
    return Number(m[1]);
  };
  return { fall: num("fall"), rise: num("rise"), interSeconds: num("inter") };
}

export interface StandinEvent {
  t: number;
  phase: string;
  kind: "phase" | "tcp" | "request" | "sample" | "end";
  address?: string;
  source?: string;
  method?: string;
  path?: string;
  httpVersion?: string;
  tls?: string | null;
  status?: number;
  behaviour?: Record<string, StandinBehaviour>;
  stat?: string;
  error?: string;
  probes?: string[];
}

export function readEvents(dir: string): StandinEvent[] {
  const f = path.join(dir, "events.jsonl");
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as StandinEvent);
}

/**
 * Server name → `status` (and `check_status`) of `backend` in HAProxy's `show stat` CSV (first line
 * `# pxname,svname,…`; see HAProxy's management guide, "show stat").
 */
export function serverStatus(csv: string, backend = "kube-apiservers"): Record<string, { status: string; check: string; rise: string; fall: string }> {
  const lines = csv.split("\n").filter(Boolean);
  const header = (lines.shift() ?? "").replace(/^# /, "").split(",");
  const col = (k: string) => header.indexOf(k);
  const out: Record<string, { status: string; check: string; rise: string; fall: string }> = {};
  for (const l of lines) {
    const f = l.split(",");
    if (f[col("pxname")] !== backend || f[col("svname")] === "BACKEND" || f[col("svname")] === "FRONTEND") continue;
    out[f[col("svname")]] = { status: f[col("status")], check: f[col("check_status")], rise: f[col("check_rise")], fall: f[col("check_fall")] };
  }
  return out;
}

/**
 * The statuses HAProxy shows while a server goes from `from` to `to` (src/stats.c, srv_hlt_st and
 * stats_fill_sv_stats, haproxy/haproxy: "UP %d/%d" with health - rise + 1 of fall while going down,
 * "DOWN %d/%d" with health of rise while going up; health steps by one per check).
 */
export function expectedTransition(from: "UP" | "DOWN", fall: number, rise: number): string[] {
  if (from === "UP") return ["UP", ...Array.from({ length: fall - 1 }, (_, i) => `UP ${fall - 1 - i}/${fall}`), "DOWN"];
  return ["DOWN", ...Array.from({ length: rise - 1 }, (_, i) => `DOWN ${i + 1}/${rise}`), "UP"];
}

const want = (b: StandinBehaviour) => (b === "ready" ? "UP" : "DOWN");

export interface HealthSummary {
  /** Phase → server → HAProxy's status in the phase's last sample. */
  endStates: Record<string, Record<string, string>>;
  /** Phase → server → the statuses its samples went through, from the previous phase's last (repeats collapsed). */
  sequences: Record<string, Record<string, string[]>>;
  /** Phase → server → checks its stand-in answered in the phase before HAProxy first showed the end state. */
  checksToChange: Record<string, Record<string, number>>;
  /** Phase → server → seconds from the phase's start to HAProxy first showing the end state. */
  secondsToChange: Record<string, Record<string, number>>;
  /** Phase → servers that answered the client requests through the frontend. */
  probedServers: Record<string, string[]>;
  /** The `rise/fall` HAProxy reports for its servers (`check_rise`, `check_fall`), each distinct value once. */
  riseFall: string[];
  /** Median seconds between two checks of one server. */
  medianInterval: number;
  samples: number;
}

export function summarize(events: StandinEvent[], scenario: HealthScenario, backends: Backend[]): HealthSummary {
  const nameOf = new Map(backends.map((b) => [b.address, b.name]));
  const s: HealthSummary = { endStates: {}, sequences: {}, checksToChange: {}, secondsToChange: {}, probedServers: {}, riseFall: [], medianInterval: NaN, samples: 0 };
  const riseFall = new Set<string>();
  let before: Record<string, { status: string }> | undefined;
  for (const p of scenario.phases) {
    const inPhase = events.filter((e) => e.phase === p.name);
    const start = inPhase.find((e) => e.kind === "phase")?.t ?? NaN;
    const samples = inPhase.filter((e) => e.kind === "sample" && e.stat).map((e) => ({ t: e.t, st: serverStatus(e.stat!) }));
    s.samples += samples.length;
    for (const x of samples) for (const v of Object.values(x.st)) riseFall.add(`${v.rise}/${v.fall}`);
    const last = samples[samples.length - 1];
    s.endStates[p.name] = Object.fromEntries(backends.map((b) => [b.name, last?.st[b.name]?.status ?? "no sample"]));
    s.sequences[p.name] = {};
    s.checksToChange[p.name] = {};
    s.secondsToChange[p.name] = {};
    for (const b of backends) {
      // From the previous phase's last sample: a check may change the status before this phase's first.
      const seq: string[] = before?.[b.name] ? [before[b.name].status] : [];
      for (const x of samples) {
        const st = x.st[b.name]?.status ?? "?";
        if (seq[seq.length - 1] !== st) seq.push(st);
      }
      s.sequences[p.name][b.name] = seq;
      const end = want(p.behaviour[b.address]);
      const first = samples.find((x) => x.st[b.name]?.status === end);
      if (first) {
        s.checksToChange[p.name][b.name] = inPhase.filter((e) => e.kind === "request" && e.path === "/readyz" && e.address === b.address && e.t < first.t).length;
        s.secondsToChange[p.name][b.name] = Math.round((first.t - start) * 10) / 10;
      }
    }
    before = last?.st ?? before;
    const served = inPhase.filter((e) => e.kind === "request" && e.path?.startsWith("/lab/client")).map((e) => nameOf.get(e.address!) ?? e.address!);
    s.probedServers[p.name] = [...new Set(served)].sort();
  }
  s.riseFall = [...riseFall].sort();
  const checkTimes = events.filter((e) => e.kind === "request" && e.path === "/readyz" && e.address === scenario.clock).map((e) => e.t);
  const gaps = checkTimes.slice(1).map((t, i) => t - checkTimes[i]).sort((x, y) => x - y);
  s.medianInterval = gaps.length ? Math.round(gaps[Math.floor(gaps.length / 2)] * 10) / 10 : NaN;
  return s;
}

/**
 * What is wrong with a run, as sentences (none when HAProxy's checks did what the configuration
 * says): every request to a stand-in on /readyz is an HTTPS GET from the load balancer's address;
 * each non-closed server is checked in each phase; at each phase's end HAProxy says UP exactly for
 * the ready stand-ins; a server whose behaviour changed went through `fall` (`rise`) checks, each
 * step shown by HAProxy, to its new state (a closed one: within fall × inter, with slack); client
 * requests through the frontend reached exactly the UP servers; checks came `inter` apart.
 */
export function healthProblems(events: StandinEvent[], scenario: HealthScenario, backends: Backend[], o: { lbAddress: string; haproxyCfg: string; slackSeconds?: number }): string[] {
  const { fall, rise, interSeconds } = checkSettings(o.haproxyCfg);
  const slack = o.slackSeconds ?? interSeconds;
  const problems: string[] = [];
  const s = summarize(events, scenario, backends);
  if (events.some((e) => e.kind === "end") === false) problems.push("the scenario did not reach its end");
  if (JSON.stringify(s.riseFall) !== JSON.stringify([`${rise}/${fall}`])) problems.push(`HAProxy reports rise/fall ${s.riseFall.join(", ") || "nothing"}, the configuration says ${rise}/${fall}`);
  for (const e of events.filter((x) => x.kind === "request" && x.path === "/readyz")) {
    if (e.source !== o.lbAddress || e.method !== "GET" || !e.tls) problems.push(`a /readyz request that is not an HTTPS GET from ${o.lbAddress}: ${JSON.stringify(e)}`);
  }
  let previous: HealthPhase | undefined;
  for (const p of scenario.phases) {
    for (const b of backends) {
      const beh = p.behaviour[b.address];
      const checks = events.filter((e) => e.phase === p.name && e.kind === "request" && e.path === "/readyz" && e.address === b.address).length;
      if (beh !== "closed" && checks === 0) problems.push(`${p.name}: no HTTPS GET /readyz check reached ${b.name}`);
      const end = s.endStates[p.name][b.name];
      if (end !== want(beh)) problems.push(`${p.name}: HAProxy says ${b.name} is ${end}, its stand-in is ${beh}`);
      if (!previous || want(previous.behaviour[b.address]) === want(beh)) continue;
      const from = want(previous.behaviour[b.address]) as "UP" | "DOWN";
      const seq = s.sequences[p.name][b.name];
      const expected = expectedTransition(from, fall, rise);
      if (JSON.stringify(seq) !== JSON.stringify(expected)) problems.push(`${p.name}: ${b.name} went ${seq.join(" → ")}, expected ${expected.join(" → ")}`);
      const n = from === "UP" ? fall : rise;
      if (beh !== "closed") {
        const counted = s.checksToChange[p.name][b.name];
        if (counted !== n) problems.push(`${p.name}: ${b.name} changed after ${counted ?? "no"} checks answered ${beh}, expected ${n}`);
      } else {
        const secs = s.secondsToChange[p.name][b.name];
        if (secs === undefined || secs < (n - 1) * interSeconds - 1 || secs > n * interSeconds + slack) {
          problems.push(`${p.name}: ${b.name} (closed) marked down after ${secs ?? "never"} s, expected ${(n - 1) * interSeconds}–${n * interSeconds} s (+${slack} s)`);
        }
      }
    }
    const up = backends.filter((b) => p.behaviour[b.address] === "ready").map((b) => b.name).sort();
    const got = s.probedServers[p.name];
    if (p.probes > 0 && JSON.stringify(got) !== JSON.stringify(up)) problems.push(`${p.name}: client requests through the frontend reached ${got.join(", ") || "nothing"}, expected ${up.join(", ")}`);
    previous = p;
  }
  if (!(s.medianInterval >= interSeconds * 0.8 && s.medianInterval <= interSeconds * 1.5)) problems.push(`checks of one server came ${s.medianInterval} s apart (median), expected inter ${interSeconds} s`);
  return problems;
}

/** The servers of the generated backend (`server <name> <address>:<port> …`), in order. */
export function backendsOf(haproxyCfg: string): Backend[] {
  return [...haproxyCfg.matchAll(/^\s*server (\S+) (\d+\.\d+\.\d+\.\d+):\d+ /gm)].map((m) => ({ name: m[1], address: m[2] }));
}
