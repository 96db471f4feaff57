/**
 * Boot lab STAND-INS for the control planes' kube-apiservers behind HAProxy (run inside the load
 * balancer's lab network namespace). Not API servers: on each control plane's address, port 6443,
 * over TLS, `GET /readyz` answers 200 `ok` (`ready`) or 500 (`not-ready`: what a real API server
 * says while a readiness check fails), or nothing listens (`closed`: connection refused), as the
 * current phase of the scenario (`<dir>/scenario.json`, see haproxy-health.ts) says; any other path
 * answers 200 "served by <address>" (client traffic HAProxy passed through).
 *
 * The scenario moves on by the clock: a phase ends once the clock server (always ready) has had
 * `minChecks` checks (`GET /readyz`), or `maxSeconds` have passed (a check the stand-ins cannot see:
 * HAProxy's bare TCP check never completed a handshake with them in the negative control), and the
 * guest has sent `minSamples` samples in it; then `probes` client requests through the load balancer. The guest's `lab-haproxy-watch` POSTs HAProxy's `show stat`
 * (read from its stats socket) each second to `http://<gateway>:8080/sample`; the answer says what
 * to do next: `{}` (keep sampling), `{"probe": n, "tag": phase}` (n client requests through the
 * frontend first), `{"done": true}`.
 *
 * Everything is logged as JSON lines to `<dir>/events.jsonl`: `phase` (its behaviours), `tcp` (a
 * connection accepted), `request` (source address, method, path, HTTP version, TLS protocol,
 * status), `sample` (the guest's `show stat`, the results of its probes).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import type { TLSSocket } from "node:tls";
import { localServerPki } from "../cluster/helpers";
import type { HealthScenario, StandinBehaviour } from "./haproxy-health";

const [dir, gateway] = process.argv.slice(2);
const scenario = JSON.parse(fs.readFileSync(path.join(dir, "scenario.json"), "utf8")) as HealthScenario;
const events = path.join(dir, "events.jsonl");
const pki = localServerPki();
const log = (e: Record<string, unknown>) => fs.appendFileSync(events, `${JSON.stringify({ t: Date.now() / 1000, phase: scenario.phases[phase]?.name ?? "done", ...e })}\n`);

let phase = 0;
let checks = 0;
let samples = 0;
let probing = false;
let started = Date.now();
const behaviour = new Map<string, StandinBehaviour>();
const servers = new Map<string, https.Server>();

function listen(address: string): void {
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const status = req.url === "/readyz" ? (behaviour.get(address) === "ready" ? 200 : 500) : 200;
    const sock = req.socket as TLSSocket;
    log({ kind: "request", address, source: sock.remoteAddress, method: req.method, path: req.url, httpVersion: req.httpVersion, tls: sock.encrypted ? sock.getProtocol() : null, status });
    if (req.url === "/readyz" && address === scenario.clock) checks++;
    res.writeHead(status).end(req.url === "/readyz" ? (status === 200 ? "ok" : "[-]etcd failed: reason withheld\nreadyz check failed\n") : `served by ${address}\n`);
  });
  server.on("connection", (s: import("node:net").Socket) => log({ kind: "tcp", address, source: s.remoteAddress }));
  server.on("tlsClientError", () => undefined); // a plain TCP check connects and closes: logged as tcp
  server.listen(6443, address);
  servers.set(address, server);
}

function apply(): void {
  const p = scenario.phases[phase];
  log({ kind: "phase", behaviour: p.behaviour });
  for (const [address, b] of Object.entries(p.behaviour)) {
    behaviour.set(address, b);
    const s = servers.get(address);
    if (b === "closed" && s) {
      s.close();
      s.closeAllConnections();
      servers.delete(address);
    } else if (b !== "closed" && !s) listen(address);
  }
  checks = 0;
  started = Date.now();
  samples = 0;
  probing = false;
}

apply();

http
  .createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/sample") return void res.writeHead(404).end();
      const done = phase >= scenario.phases.length;
      log({ kind: "sample", ...(JSON.parse(body || "{}") as Record<string, unknown>) });
      if (done) return void res.end(JSON.stringify({ done: true }));
      samples++;
      const p = scenario.phases[phase];
      let answer: Record<string, unknown> = {};
      if (probing) {
        // This sample was taken after the probes: the phase's last.
        phase++;
        if (phase < scenario.phases.length) apply();
        else {
          log({ kind: "end" });
          answer = { done: true };
        }
      } else if ((checks >= p.minChecks || Date.now() - started >= p.maxSeconds * 1000) && samples >= p.minSamples) {
        probing = true;
        answer = { probe: p.probes, tag: p.name };
      }
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(answer));
    });
  })
  .listen(8080, gateway);
