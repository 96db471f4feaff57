/**
 * STAND-IN for vCenter's namespace REST API (not vCenter, not vcsim): the calls the Tanzu back end's
 * limits and access resources make (components/tanzu/vcenter-namespace.ts), served over HTTPS on
 * loopback with the semantics the vSphere Automation API reference gives them:
 * - `POST /api/session` (basic auth) → the session id as a JSON string;
 * - `GET|PATCH /api/vcenter/namespaces/instances/{ns}`: `resource_spec` is a
 *   `ResourceQuotaOptionsV1Update` (a value sets a limit, `<field>_unset: true` removes it, a field
 *   left out is unchanged; both at once is an invalid argument); GET answers the `Instances.Info`'s
 *   `resource_spec` and `access_list`;
 * - `POST|PUT|DELETE .../{ns}/access/{domain}/{subject}?type=USER|GROUP`: create (an existing entry
 *   is an error), set (a missing one is not found), delete.
 * Why a stand-in: govmomi's vcsim v0.46.3 (`vapi/namespace/simulator/simulator.go`) keeps only
 * `vm_service_spec` on PATCH and serves no `/access` calls.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface StandinNamespace {
  resource_spec: Record<string, number>;
  access_list: { domain: string; subject: string; subject_type: string; role: string }[];
}

export interface VcenterStandin {
  url: string;
  namespaces: Map<string, StandinNamespace>;
  calls: string[];
  /** Every PATCH body of a namespace, as sent (what the limits resource asked for). */
  patches: { namespace: string; body: unknown }[];
  close(): void;
}

const LIMIT_FIELDS = ["cpu_limit", "memory_limit", "storage_request_limit"];

export async function startVcenterStandin(user: string, password: string, namespaces: string[]): Promise<VcenterStandin> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vcenter-standin-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
  const key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  const state = new Map<string, StandinNamespace>(namespaces.map((n) => [n, { resource_spec: {}, access_list: [] }]));
  const sessions = new Set<string>();
  const calls: string[] = [];
  const patches: VcenterStandin["patches"] = [];
  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, body?: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(body === undefined ? "" : JSON.stringify(body));
      };
      const url = new URL(req.url ?? "/", "https://standin");
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      const text = Buffer.concat(chunks).toString("utf8");
      if (req.method === "POST" && url.pathname === "/api/session") {
        if (req.headers.authorization !== `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`) return send(401, { error_type: "UNAUTHENTICATED" });
        const id = `session-${sessions.size + 1}`;
        sessions.add(id);
        return send(201, id);
      }
      if (!sessions.has(String(req.headers["vmware-api-session-id"]))) return send(401, { error_type: "UNAUTHENTICATED" });
      const m = /^\/api\/vcenter\/namespaces\/instances\/([^/]+)(?:\/access\/([^/]+)\/([^/]+))?$/.exec(url.pathname);
      const ns = m ? state.get(decodeURIComponent(m[1])) : undefined;
      if (!m || !ns) return send(404, { error_type: "NOT_FOUND" });
      if (!m[2]) {
        if (req.method === "GET") return send(200, ns);
        if (req.method !== "PATCH") return send(405);
        const parsed = JSON.parse(text) as { resource_spec?: Record<string, unknown> };
        patches.push({ namespace: decodeURIComponent(m[1]), body: parsed });
        const spec = parsed.resource_spec ?? {};
        const next = { ...ns.resource_spec };
        for (const f of LIMIT_FIELDS) {
          if (spec[f] !== undefined && spec[`${f}_unset`] === true) return send(400, { error_type: "INVALID_ARGUMENT", messages: [`${f} and ${f}_unset`] });
          if (spec[`${f}_unset`] === true) delete next[f];
          else if (typeof spec[f] === "number") next[f] = spec[f] as number;
        }
        ns.resource_spec = next;
        return send(204);
      }
      const type = url.searchParams.get("type");
      if (type !== "USER" && type !== "GROUP") return send(400, { error_type: "INVALID_ARGUMENT", messages: ["type"] });
      const domain = decodeURIComponent(m[2]);
      const subject = decodeURIComponent(m[3]);
      const i = ns.access_list.findIndex((a) => a.domain === domain && a.subject === subject && a.subject_type === type);
      if (req.method === "POST") {
        if (i >= 0) return send(400, { error_type: "ALREADY_EXISTS" });
        ns.access_list.push({ domain, subject, subject_type: type, role: (JSON.parse(text) as { role: string }).role });
        return send(204);
      }
      if (i < 0) return send(404, { error_type: "NOT_FOUND" });
      if (req.method === "PUT") {
        ns.access_list[i].role = (JSON.parse(text) as { role: string }).role;
        return send(204);
      }
      if (req.method === "DELETE") {
        ns.access_list.splice(i, 1);
        return send(204);
      }
      return send(405);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, namespaces: state, calls, patches, close: () => server.close() };
}
