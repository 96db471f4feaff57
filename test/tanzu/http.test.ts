/**
 * The two HTTP calls of the Tanzu back end, executed here against a local HTTPS server with a
 * throw-away certificate: the Supervisor login (`POST /wcp/login`) and the namespace limits
 * (`POST /api/session`, `PATCH /api/vcenter/namespaces/instances/{ns}`), TLS verification included.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { applyNamespaceLimits, kubeconfigEndpoint, namespaceLimitsBody, namespaceLimitsProvider, tokenKubeconfig, wcpLogin } from "../../components/tanzu";
import { requireTool, tmpDir } from "../cluster/helpers";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

type Handler = (req: Seen) => { status: number; body?: string };

describe("Tanzu HTTP calls against a local HTTPS server", function () {
  this.timeout(60_000);
  let cert = "";
  let key = "";
  let server: https.Server;
  let base = "";
  let seen: Seen[] = [];
  let handler: Handler = () => ({ status: 500 });

  before(async function () {
    requireTool(this, "openssl", "openssl");
    const dir = tmpDir("tanzu-tls");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
    fs.rmSync(dir, { recursive: true, force: true });
    server = https.createServer({ cert, key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const s: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
        seen.push(s);
        const out = handler(s);
        res.writeHead(out.status, { "Content-Type": "application/json" });
        res.end(out.body ?? "");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server?.close());
  beforeEach(() => (seen = []));

  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

  describe("POST /wcp/login", () => {
    it("answers the session_id; sends basic auth and JSON; trusts the given CA", async () => {
      handler = () => ({ status: 200, body: JSON.stringify({ session_id: "jwt-abc" }) });
      const token = await wcpLogin({ url: base, user: "administrator@vsphere.local", password: "p@ss:word", caPem: cert });
      assert.equal(token, "jwt-abc");
      assert.equal(seen.length, 1);
      assert.equal(seen[0].method, "POST");
      assert.equal(seen[0].url, "/wcp/login");
      assert.equal(seen[0].headers.authorization, basic("administrator@vsphere.local", "p@ss:word"));
      assert.equal(seen[0].headers["content-type"], "application/json");
    });

    it("verifies TLS by default (a self-signed certificate is refused) and skips it only when told", async () => {
      handler = () => ({ status: 200, body: JSON.stringify({ session_id: "jwt-abc" }) });
      await assert.rejects(wcpLogin({ url: base, user: "u@x", password: "p" }), /Supervisor login at .* failed: .*(self-signed|self signed)/);
      assert.equal(await wcpLogin({ url: base, user: "u@x", password: "p", insecureSkipTlsVerify: true }), "jwt-abc");
    });

    it("a refused login or an answer without session_id is an error that never shows the password", async () => {
      handler = () => ({ status: 401, body: "{}" });
      await assert.rejects(wcpLogin({ url: base, user: "u@x", password: "hunter2", caPem: cert }), (e: Error) => /HTTP 401/.test(e.message) && !e.message.includes("hunter2"));
      handler = () => ({ status: 200, body: "{\"token\":\"x\"}" });
      await assert.rejects(wcpLogin({ url: base, user: "u@x", password: "hunter2", caPem: cert }), /has no session_id/);
    });
  });

  describe("namespace limits through vCenter REST", () => {
    const limits = { cpuMHz: 700000, memoryMiB: 2252800, storageMiB: 2048000, vcpuMHz: 2400 };
    const vcenter: Handler = (s) => {
      if (s.method === "POST" && s.url === "/api/session") return s.headers.authorization === basic("administrator@vsphere.local", "pw") ? { status: 201, body: "\"sess-1\"" } : { status: 401 };
      if (s.method === "PATCH" && s.url === "/api/vcenter/namespaces/instances/spark") return s.headers["vmware-api-session-id"] === "sess-1" ? { status: 204 } : { status: 401 };
      return { status: 404, body: "not found" };
    };

    it("the body carries only the limits set, in vCenter's units", () => {
      assert.deepEqual(namespaceLimitsBody(limits), { resource_spec: { cpu_limit: 700000, memory_limit: 2252800, storage_request_limit: 2048000 } });
      assert.deepEqual(namespaceLimitsBody({ vcpuMHz: 2400, memoryMiB: 1024 }), { resource_spec: { memory_limit: 1024 } });
    });

    it("logs in, then PATCHes the namespace with the session id", async () => {
      handler = vcenter;
      await applyNamespaceLimits({ server: base, user: "administrator@vsphere.local", password: "pw", namespace: "spark", limits, insecureSkipTlsVerify: false, caPem: cert });
      assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ["POST /api/session", "PATCH /api/vcenter/namespaces/instances/spark"]);
      assert.deepEqual(JSON.parse(seen[1].body), namespaceLimitsBody(limits));
      assert.equal(seen[1].headers["content-type"], "application/json");
    });

    it("a wrong password, an unknown namespace: errors naming the call", async () => {
      handler = vcenter;
      await assert.rejects(applyNamespaceLimits({ server: base, user: "administrator@vsphere.local", password: "bad", namespace: "spark", limits, insecureSkipTlsVerify: true }), /vCenter login as administrator@vsphere.local failed: HTTP 401/);
      await assert.rejects(applyNamespaceLimits({ server: base, user: "administrator@vsphere.local", password: "pw", namespace: "other", limits, insecureSkipTlsVerify: true }), /PATCH \/api\/vcenter\/namespaces\/instances\/other failed: HTTP 404/);
    });

    it("the dynamic provider: create and update apply; diff replaces on a namespace change", async () => {
      handler = vcenter;
      const inputs = { server: base, user: "administrator@vsphere.local", password: "pw", namespace: "spark", limits, insecureSkipTlsVerify: true };
      const created = await namespaceLimitsProvider.create(inputs);
      assert.equal(created.id, "spark");
      assert.equal(seen.filter((s) => s.method === "PATCH").length, 1);
      const p = namespaceLimitsProvider;
      assert.deepEqual(await p.diff!("spark", inputs, inputs), { changes: false, replaces: [] });
      assert.deepEqual(await p.diff!("spark", inputs, { ...inputs, limits: { ...limits, cpuMHz: 1 } }), { changes: true, replaces: [] });
      assert.deepEqual(await p.diff!("spark", inputs, { ...inputs, namespace: "x" }), { changes: true, replaces: ["namespace"] });
      await p.update!("spark", inputs, { ...inputs, limits: { ...limits, memoryMiB: 1024 } });
      assert.deepEqual(JSON.parse(seen[seen.length - 1].body), { resource_spec: { cpu_limit: 700000, memory_limit: 1024, storage_request_limit: 2048000 } });
    });
  });

  it("the Supervisor kubeconfig carries the token and the CA; the workload endpoint is read from its kubeconfig", () => {
    const k = tokenKubeconfig({ name: "spark-supervisor", server: "https://192.168.10.2:6443", token: "jwt-abc", namespace: "spark", caPem: cert });
    assert.match(k, /token: jwt-abc/);
    assert.match(k, /certificate-authority-data: /);
    assert.match(k, /namespace: spark/);
    assert.equal(kubeconfigEndpoint(k), "192.168.10.2:6443");
    assert.equal(kubeconfigEndpoint("clusters:\n- cluster:\n    server: https://[fd00::5]:6443\n"), "[fd00::5]:6443");
    assert.equal(kubeconfigEndpoint("    server: \"https://api.example\"\n"), "api.example:443");
    assert.throws(() => kubeconfigEndpoint("kind: Config\n"), /no server/);
  });
});
