/**
 * Live: the generated HAProxy configuration, rewritten only to use loopback addresses (bind and
 * servers) and a shorter check interval, in front of three local TLS "API servers". One backend
 * is stopped in the middle of a bounded request stream; once the health check marks it down,
 * every request must succeed.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { haproxyConfigFor } from "../../components/cluster/topology";
import { localServerPki, referenceSpec, requireTool, tmpDir } from "./helpers";
import { freePort } from "../support/net";

const TOTAL_REQUESTS = 600;
const STOP_AFTER = 100;
const INTERVAL_MS = 10;
const STREAM_DEADLINE_MS = 40_000;
const CHECK_INTER = "300ms";
/** fall 3 × inter + check timeout margin: after this, the stopped server must be out of rotation. */
const MARK_DOWN_MS = 3000;

function get(port: number, caPem: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: "127.0.0.1", port, path: urlPath, ca: caPem, agent: false, timeout: 2000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

describe("HAProxy live failover (loopback)", function () {
  this.timeout(90_000);
  const servers: https.Server[] = [];
  let proxy: ChildProcess | undefined;
  let dir: string | undefined;
  let proxyLog = "";

  after(async () => {
    if (proxy && proxy.exitCode === null) {
      const exited = new Promise((r) => proxy!.once("exit", r));
      proxy.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proxy.exitCode === null) proxy.kill("SIGKILL");
    }
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps answering through the load balancer when one API server stops", async function () {
    requireTool(this, "haproxy", "haproxy");
    requireTool(this, "openssl", "openssl");
    const pki = localServerPki();

    // Three API-server stand-ins: /readyz → ok, anything else names the backend.
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
        if (req.url === "/readyz") res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ backend: i }));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      servers.push(server);
      ports.push((server.address() as net.AddressInfo).port);
    }
    const frontPort = await freePort();

    // The generated configuration, with only addresses/ports and the check interval rewritten.
    const spec = referenceSpec("haproxy", "packages", 1);
    let cfg = haproxyConfigFor(spec);
    const rewrite = (from: RegExp, to: string) => {
      assert.match(cfg, from, `rewrite target missing: ${from}`);
      cfg = cfg.replace(from, to);
    };
    rewrite(/bind \*:6443/, `bind 127.0.0.1:${frontPort}`);
    spec.nodes.filter((n) => n.role === "control-plane").forEach((n, i) => {
      rewrite(new RegExp(`server ${n.name} ${n.address.replace(/\./g, "\\.")}:6443 `), `server ${n.name} 127.0.0.1:${ports[i]} `);
    });
    rewrite(/inter 5s downinter 5s/, `inter ${CHECK_INTER} downinter ${CHECK_INTER}`);
    assert.doesNotMatch(cfg, /192\.168\./);
    dir = tmpDir("haproxy-live");
    rewrite(/stats socket \/run\/haproxy\/admin\.sock/, `stats socket ${dir}/admin.sock`);
    const cfgPath = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(cfgPath, cfg);

    proxy = spawn("haproxy", ["-db", "-f", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
    let downReported = "";
    const keep = (b: Buffer) => {
      const text = b.toString();
      downReported ||= /^.*cp-2 is DOWN.*$/m.exec(text)?.[0] ?? "";
      proxyLog = (proxyLog + text).slice(-20_000);
    };
    proxy.stdout!.on("data", keep);
    proxy.stderr!.on("data", keep);

    // Wait (bounded) until all three backends have answered through the proxy.
    const seen = new Set<number>();
    const warmupEnd = Date.now() + 15_000;
    while (seen.size < 3) {
      assert.ok(Date.now() < warmupEnd, `backends never all answered through haproxy; log:\n${proxyLog}`);
      assert.equal(proxy.exitCode, null, `haproxy exited:\n${proxyLog}`);
      try {
        const r = await get(frontPort, pki.caPem, "/version");
        if (r.status === 200) seen.add(JSON.parse(r.body).backend);
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }

    // Bounded stream: TOTAL_REQUESTS requests or STREAM_DEADLINE_MS, whichever comes first.
    const results: { t: number; ok: boolean; backend?: number; error?: string }[] = [];
    const deadline = Date.now() + STREAM_DEADLINE_MS;
    let stoppedAt = 0;
    for (let i = 0; i < TOTAL_REQUESTS && Date.now() < deadline; i++) {
      if (i === STOP_AFTER) {
        stoppedAt = Date.now();
        servers[1].close();
        servers[1].closeAllConnections();
      }
      const t = Date.now();
      try {
        const r = await get(frontPort, pki.caPem, "/version");
        results.push({ t, ok: r.status === 200, backend: r.status === 200 ? JSON.parse(r.body).backend : undefined, error: r.status === 200 ? undefined : `HTTP ${r.status}` });
      } catch (e) {
        results.push({ t, ok: false, error: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }

    assert.ok(stoppedAt > 0, "the stream ended before a backend was stopped");
    const before = results.filter((r) => r.t < stoppedAt);
    const during = results.filter((r) => r.t >= stoppedAt && r.t < stoppedAt + MARK_DOWN_MS);
    const afterDown = results.filter((r) => r.t >= stoppedAt + MARK_DOWN_MS);
    const failed = (xs: typeof results) => xs.filter((r) => !r.ok);
    console.log(
      `      haproxy failover: ${results.length} requests; failed before stop ${failed(before).length}/${before.length}, ` +
        `during the switch (first ${MARK_DOWN_MS} ms) ${failed(during).length}/${during.length}, ` +
        `after mark-down ${failed(afterDown).length}/${afterDown.length}` +
        (failed(during).length ? ` (errors: ${[...new Set(failed(during).map((r) => r.error))].join(", ")})` : ""),
    );
    assert.equal(failed(before).length, 0, "requests failed before any backend was stopped");
    assert.ok(afterDown.length >= 50, `too few requests after mark-down to judge (${afterDown.length})`);
    assert.deepEqual(failed(afterDown), [], "requests failed after the health check marked the backend down");
    assert.ok(afterDown.every((r) => r.backend !== 1), "the stopped backend still answered");
    assert.deepEqual(new Set(afterDown.map((r) => r.backend)), new Set([0, 2]), "traffic should be balanced over the two live servers");
    assert.ok(downReported, "haproxy should have reported cp-2 DOWN");
    console.log(`      haproxy: ${downReported.trim()}`);
  });
});
