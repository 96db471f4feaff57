import * as assert from "node:assert/strict";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { waitForReadyz } from "../../components/cluster/readiness";
import { localServerPki, requireTool } from "./helpers";

function serve(pki: { certPem: string; keyPem: string }, answer: (n: number) => [number, string]): Promise<{ server: https.Server; port: number; hits: () => number }> {
  let n = 0;
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    n++;
    const [status, body] = req.url === "/readyz" ? answer(n) : [404, "not found"];
    res.writeHead(status, { "content-type": "text/plain" }).end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port, hits: () => n })));
}

describe("readiness gate (waitForReadyz)", function () {
  let pki: ReturnType<typeof localServerPki>;
  const servers: https.Server[] = [];
  before(function () {
    requireTool(this, "openssl", "openssl");
    pki = localServerPki();
  });
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it("resolves once /readyz answers 200 ok, verifying with the cluster CA", async () => {
    const s = await serve(pki, (n) => (n < 3 ? [503, "[-]etcd failed: reason withheld\nreadyz check failed"] : [200, "ok"]));
    servers.push(s.server);
    await waitForReadyz({ url: `https://127.0.0.1:${s.port}/readyz`, caPem: pki.caPem, timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(s.hits(), 3);
  });

  it("rejects after the timeout, naming the endpoint, the timeout and the last answer", async () => {
    const s = await serve(pki, () => [503, "readyz check failed"]);
    servers.push(s.server);
    const url = `https://127.0.0.1:${s.port}/readyz`;
    const t0 = Date.now();
    await assert.rejects(waitForReadyz({ url, caPem: pki.caPem, timeoutMs: 1500, intervalMs: 200 }), (e: Error) => {
      assert.ok(e.message.includes(url), e.message);
      assert.match(e.message, /not ready within 1\.5 s/);
      assert.match(e.message, /HTTP 503: readyz check failed/);
      return true;
    });
    assert.ok(Date.now() - t0 < 4000);
  });

  it("does not trust a server whose certificate is not from the cluster CA", async () => {
    const other = localServerPki();
    const s = await serve(other, () => [200, "ok"]);
    servers.push(s.server);
    await assert.rejects(
      waitForReadyz({ url: `https://127.0.0.1:${s.port}/readyz`, caPem: pki.caPem, timeoutMs: 600, intervalMs: 100 }),
      /last result: .*(self[- ]signed|unable to verify|certificate)/i,
    );
    assert.ok(s.hits() === 0, "no request may be sent to an unverified server");
  });

  it("rejects when nothing listens", async () => {
    const s = await serve(pki, () => [200, "ok"]);
    const port = s.port;
    await new Promise((r) => s.server.close(r));
    await assert.rejects(
      waitForReadyz({ url: `https://127.0.0.1:${port}/readyz`, caPem: pki.caPem, timeoutMs: 500, intervalMs: 100 }),
      /https:\/\/127\.0\.0\.1:\d+\/readyz was not ready within 500 ms .*ECONNREFUSED/,
    );
  });
});
