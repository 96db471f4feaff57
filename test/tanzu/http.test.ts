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
import { applyNamespaceLimits, kubeconfigEndpoint, namespaceAccessPath, namespaceAccessProvider, namespaceLimitsBody, namespaceLimitsProvider, readSupervisorReleaseObjects, tokenKubeconfig, wcpLogin } from "../../components/tanzu";
import { requireTool, tmpDir } from "../cluster/helpers";
import { reference } from "./helpers";

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

    // ResourceQuotaOptionsV1Update: a value sets a limit, `<field>_unset: true` removes it, a field left out is unchanged.
    const bodies: [string, Parameters<typeof namespaceLimitsBody>[0], Record<string, number | boolean>][] = [
      ["all three set", limits, { cpu_limit: 700000, memory_limit: 2252800, storage_request_limit: 2048000 }],
      ["memory only: the others removed", { vcpuMHz: 2400, memoryMiB: 1024 }, { cpu_limit_unset: true, memory_limit: 1024, storage_request_limit_unset: true }],
      ["none (the resource deleted): all removed", undefined, { cpu_limit_unset: true, memory_limit_unset: true, storage_request_limit_unset: true }],
    ];
    for (const [what, l, spec] of bodies) it(`the body, ${what}, in vCenter's units`, () => assert.deepEqual(namespaceLimitsBody(l), { resource_spec: spec }));

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
      // A limit removed from the stack is removed in vCenter, not left behind.
      await p.update!("spark", inputs, { ...inputs, limits: { vcpuMHz: 2400, cpuMHz: 700000 } });
      assert.deepEqual(JSON.parse(seen[seen.length - 1].body), { resource_spec: { cpu_limit: 700000, memory_limit_unset: true, storage_request_limit_unset: true } });
      // delete() removes them all; a namespace already gone (404) is fine.
      seen = [];
      await p.delete!("spark", inputs);
      assert.deepEqual(seen.map((x) => `${x.method} ${x.url}`), ["POST /api/session", "PATCH /api/vcenter/namespaces/instances/spark"]);
      assert.deepEqual(JSON.parse(seen[1].body), { resource_spec: { cpu_limit_unset: true, memory_limit_unset: true, storage_request_limit_unset: true } });
      await p.delete!("other", { ...inputs, namespace: "other" });
      await assert.rejects(p.update!("other", inputs, { ...inputs, namespace: "other" }), /HTTP 404/);
    });
  });

  describe("namespace access through vCenter REST", () => {
    const grants = new Map<string, string>();
    const vcenter: Handler = (s) => {
      if (s.method === "POST" && s.url === "/api/session") return { status: 201, body: "\"sess-1\"" };
      if (s.headers["vmware-api-session-id"] !== "sess-1") return { status: 401 };
      const m = /^\/api\/vcenter\/namespaces\/instances\/spark\/access\/([^/]+)\/([^/?]+)\?type=(USER|GROUP)$/.exec(s.url);
      if (!m) return { status: 404 };
      const key = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}/${m[3]}`;
      if (s.method === "POST") return grants.has(key) ? { status: 400, body: "already exists" } : (grants.set(key, JSON.parse(s.body).role), { status: 204 });
      if (s.method === "PUT") return grants.has(key) ? (grants.set(key, JSON.parse(s.body).role), { status: 204 }) : { status: 404 };
      if (s.method === "DELETE") return grants.delete(key) ? { status: 204 } : { status: 404 };
      return { status: 405 };
    };
    const grant = { subject: "spark devs", domain: "vsphere.local", type: "GROUP" as const, role: "EDIT" as const };
    const inputs = () => ({ server: base, user: "administrator@vsphere.local", password: "pw", namespace: "spark", grant, insecureSkipTlsVerify: true });

    it("the path names domain, subject (escaped) and the subject type", () => {
      assert.equal(namespaceAccessPath("spark", grant), "/api/vcenter/namespaces/instances/spark/access/vsphere.local/spark%20devs?type=GROUP");
    });

    it("create grants (POST {role}), a changed role is an update (PUT), delete revokes; another subject replaces", async () => {
      handler = vcenter;
      grants.clear();
      const p = namespaceAccessProvider;
      const created = await p.create(inputs());
      assert.equal(created.id, "spark/vsphere.local/spark devs/GROUP");
      assert.deepEqual([...grants], [["vsphere.local/spark devs/GROUP", "EDIT"]]);
      assert.deepEqual(JSON.parse(seen[seen.length - 1].body), { role: "EDIT" });
      const owner = { ...inputs(), grant: { ...grant, role: "OWNER" as const } };
      assert.deepEqual(await p.diff!(created.id, inputs(), owner), { changes: true, replaces: [], deleteBeforeReplace: false });
      await p.update!(created.id, inputs(), owner);
      assert.equal(seen[seen.length - 1].method, "PUT");
      assert.deepEqual([...grants], [["vsphere.local/spark devs/GROUP", "OWNER"]]);
      assert.deepEqual((await p.diff!(created.id, inputs(), { ...inputs(), grant: { ...grant, type: "USER" } })).replaces, ["grant"]);
      assert.deepEqual(await p.diff!(created.id, inputs(), inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
      await p.delete!(created.id, owner);
      assert.deepEqual([...grants], []);
      // Revoked already: fine. Granting twice: vCenter's error, named.
      await p.delete!(created.id, owner);
      await p.create(inputs());
      await assert.rejects(p.create(inputs()), /vCenter POST \/api\/vcenter\/namespaces\/instances\/spark\/access\/vsphere.local\/spark%20devs\?type=GROUP failed: HTTP 400 already exists/);
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
  describe("the release check's reads (GET the TKr and the ClusterClass)", () => {
    const settings = () => reference();
    it("found, missing (404) and what the Supervisor said (403): the bearer token and the CA used", async () => {
      const kc = tokenKubeconfig({ name: "sup", server: base, token: "tok-1", namespace: "spark", caPem: cert });
      handler = (r) =>
        r.url.startsWith("/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/")
          ? { status: 200, body: JSON.stringify({ metadata: { name: "v1.31.4---vmware.1-fips-vkr.3" }, spec: { version: "v1.31.4+vmware.1-fips-vkr.3" }, status: { conditions: [{ type: "Ready", status: "True" }, { type: "Compatible", status: "True" }] } }) }
          : { status: 404, body: JSON.stringify({ kind: "Status", reason: "NotFound", code: 404 }) };
      const got = await readSupervisorReleaseObjects(kc, settings(), { tkr: true, clusterClass: true });
      assert.equal(got.tkr?.state, "found");
      assert.deepEqual(got.clusterClass, { state: "missing" });
      assert.deepEqual(seen.map((x) => [x.method, x.url, x.headers.authorization]), [
        ["GET", "/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/v1.31.4---vmware.1-fips-vkr.3", "Bearer tok-1"],
        ["GET", "/apis/cluster.x-k8s.io/v1beta1/namespaces/vmware-system-vks-public/clusterclasses/builtin-generic-v3.4.0", "Bearer tok-1"],
      ]);
      handler = () => ({ status: 403, body: JSON.stringify({ kind: "Status", message: "tanzukubernetesreleases.run.tanzu.vmware.com is forbidden", code: 403 }) });
      const denied = await readSupervisorReleaseObjects(kc, settings(), { tkr: true, clusterClass: false });
      assert.equal(denied.tkr?.state, "unreadable");
      assert.match((denied.tkr as { error: string }).error, /^HTTP 403: .*is forbidden/);
      assert.equal(denied.clusterClass, undefined, "not read when not asked");
      // The OS images the TKr lists: read one by one; one the Supervisor lacks (404) is left out, as the resolver leaves it out.
      handler = (r) =>
        r.url.includes("/tanzukubernetesreleases/")
          ? { status: 200, body: JSON.stringify({ metadata: { name: "v1.31.4---vmware.1-fips-vkr.3" }, spec: { version: "v1.31.4+vmware.1-fips-vkr.3", osImages: [{ name: "vmi-a" }, { name: "vmi-gone" }] } }) }
          : r.url.endsWith("/osimages/vmi-a")
            ? { status: 200, body: JSON.stringify({ metadata: { name: "vmi-a" }, spec: { os: { name: "ubuntu", version: "24.04" } } }) }
            : { status: 404, body: "{}" };
      seen = [];
      const withImages = await readSupervisorReleaseObjects(kc, settings(), { tkr: true, clusterClass: false });
      assert.deepEqual(withImages.osImages?.map((i) => i.metadata?.name), ["vmi-a"]);
      assert.deepEqual(seen.map((x) => x.url).slice(1), ["/apis/run.tanzu.vmware.com/v1alpha3/osimages/vmi-a", "/apis/run.tanzu.vmware.com/v1alpha3/osimages/vmi-gone"]);
      // Negative control: without the CA the certificate is refused (unreadable, not missing).
      const noCa = await readSupervisorReleaseObjects(tokenKubeconfig({ name: "sup", server: base, token: "tok-1", namespace: "spark" }), settings(), { tkr: true, clusterClass: false });
      assert.equal(noCa.tkr?.state, "unreadable");
    });
  });
});
