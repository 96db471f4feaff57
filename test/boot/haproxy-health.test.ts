/**
 * The boot lab's reading of HAProxy's health checks (haproxy-health.ts), on recorded runs: the
 * events of two load balancer boots on 2026-12-05 (haproxy-health-run.jsonl, -run-2.jsonl: the
 * stand-ins' log, HAProxy's `show stat` cut to the columns read here; TCP connection events left
 * out). Each rule broken in the first recording is caught.
 * No QEMU: runs in `npm test`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderHaproxyConfig } from "../../components/cluster/haproxy";
import { StandinEvent, backendsOf, checkSettings, expectedTransition, healthProblems, healthScenario, serverStatus, summarize } from "./haproxy-health";

const HERE = path.resolve(__dirname, "../../../test/boot");
const CFG = renderHaproxyConfig({
  port: 6443,
  backends: [
    { name: "esxi-01-control-plane", address: "192.168.1.10", port: 6443 },
    { name: "esxi-02-control-plane", address: "192.168.1.30", port: 6443 },
    { name: "esxi-03-control-plane", address: "192.168.1.50", port: 6443 },
  ],
});
const BACKENDS = backendsOf(CFG);
const SCENARIO = healthScenario(BACKENDS);
const LB = "192.168.1.2";
const [P1, P2, P3] = SCENARIO.phases.map((p) => p.name);
const recorded = (file = "haproxy-health-run.jsonl"): StandinEvent[] =>
  fs.readFileSync(path.join(HERE, file), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as StandinEvent);
const problems = (events: StandinEvent[], cfg = CFG) => healthProblems(events, SCENARIO, BACKENDS, { lbAddress: LB, haproxyCfg: cfg });

describe("boot lab: reading HAProxy's health checks", () => {
  it("the generated configuration's servers and check settings", () => {
    assert.deepEqual(BACKENDS.map((b) => b.address), ["192.168.1.10", "192.168.1.30", "192.168.1.50"]);
    assert.deepEqual(checkSettings(CFG), { fall: 3, rise: 2, interSeconds: 5 });
  });

  // HAProxy's src/stats.c (haproxy/haproxy, srv_hlt_st, stats_fill_sv_stats): going down shows
  // "UP <health - rise + 1>/<fall>", going up "DOWN <health>/<rise>"; health moves one per check.
  const transitions: [from: "UP" | "DOWN", fall: number, rise: number, expected: string[]][] = [
    ["UP", 3, 2, ["UP", "UP 2/3", "UP 1/3", "DOWN"]],
    ["DOWN", 3, 2, ["DOWN", "DOWN 1/2", "UP"]],
    ["UP", 1, 1, ["UP", "DOWN"]],
    ["DOWN", 2, 3, ["DOWN", "DOWN 1/3", "DOWN 2/3", "UP"]],
  ];
  for (const [from, fall, rise, expected] of transitions) {
    it(`from ${from} with fall ${fall}, rise ${rise}: ${expected.join(" → ")}`, () => assert.deepEqual(expectedTransition(from, fall, rise), expected));
  }

  it("the recorded run has no problem: 3 checks answered 500 to go down, 2 answered 200 to come up, clients on the UP ones", () => {
    const events = recorded();
    assert.deepEqual(problems(events), []);
    const s = summarize(events, SCENARIO, BACKENDS);
    assert.deepEqual(s.checksToChange[P2], { "esxi-01-control-plane": 0, "esxi-02-control-plane": 3, "esxi-03-control-plane": 2 });
    assert.equal(s.checksToChange[P3]["esxi-02-control-plane"], 2);
    assert.deepEqual(s.probedServers[P1], ["esxi-01-control-plane", "esxi-02-control-plane"]);
    assert.deepEqual(s.riseFall, ["2/3"]);
  });

  it("the second recorded run: a check answered 200 right after phase 3's change, before its first sample; the transition counts from phase 2's last sample", () => {
    const events = recorded("haproxy-health-run-2.jsonl");
    assert.deepEqual(problems(events), []);
    const firstOf3 = events.find((e) => e.phase === P3 && e.kind === "sample")!;
    assert.equal(serverStatus(firstOf3.stat!)["esxi-02-control-plane"].status, "DOWN 1/2");
    const s = summarize(events, SCENARIO, BACKENDS);
    assert.deepEqual(s.sequences[P3]["esxi-02-control-plane"], ["DOWN", "DOWN 1/2", "UP"]);
    assert.equal(s.checksToChange[P3]["esxi-02-control-plane"], 2);
  });

  const broken: [what: string, edit: (e: StandinEvent[]) => StandinEvent[], expected: RegExp, cfg?: string][] = [
    [
      "the not-ready stand-in still UP at the end of phase 1 (a TCP-only check)",
      (ev) => ev.map((e) => (e.phase === P1 && e.kind === "sample" ? { ...e, stat: e.stat!.replace(/(esxi-03-control-plane,)DOWN,/g, "$1UP,") } : e)),
      /1: third not ready: HAProxy says esxi-03-control-plane is UP, its stand-in is not-ready/,
    ],
    [
      "checks without TLS",
      (ev) => ev.map((e) => (e.kind === "request" && e.path === "/readyz" ? { ...e, tls: null } : e)),
      /a \/readyz request that is not an HTTPS GET from 192\.168\.1\.2/,
    ],
    [
      "a fourth check answered 500 before the second went down",
      (ev) => {
        const i = ev.findIndex((e) => e.phase === P2 && e.kind === "request" && e.address === "192.168.1.30" && e.path === "/readyz");
        return [...ev.slice(0, i), { ...ev[i], t: ev[i].t - 0.5 }, ...ev.slice(i)];
      },
      /esxi-02-control-plane changed after 4 checks answered not-ready, expected 3/,
    ],
    [
      "a client request through the frontend reaching the not-ready one",
      (ev) => {
        const i = ev.findIndex((e) => e.phase === P1 && e.kind === "request" && e.path?.startsWith("/lab/client"));
        return [...ev.slice(0, i), { ...ev[i], address: "192.168.1.50" }, ...ev.slice(i + 1)];
      },
      /1: third not ready: client requests through the frontend reached esxi-01-control-plane, esxi-02-control-plane, esxi-03-control-plane/,
    ],
    ["a configuration saying rise 3", (ev) => ev, /HAProxy reports rise\/fall 2\/3, the configuration says 3\/3/, CFG.replace("rise 2", "rise 3")],
    ["a run cut short", (ev) => ev.filter((e) => e.phase !== P3 && e.kind !== "end"), /did not reach its end/],
  ];
  for (const [what, edit, expected, cfg] of broken) {
    it(`caught: ${what}`, () => {
      const p = problems(edit(recorded()), cfg);
      assert.ok(p.some((x) => expected.test(x)), p.join("\n"));
    });
  }
});
