/**
 * Access to the Supervisor's Kubernetes API: a session token from `POST https://<supervisor>/wcp/login`
 * (HTTP basic auth with the vCenter SSO user; answers `{"session_id": "<token>"}`, valid about ten
 * hours) and a kubeconfig carrying it. The endpoint is undocumented; it is what `kubectl vsphere login`
 * calls, and what kubernetes-sigs/vsphere-csi-driver's e2e tests use (`tests/e2e/util.go`,
 * `GetWCPSessionId`). The token expires, so the component logs in again on every run and keeps the
 * token a secret.
 */
import * as https from "node:https";
import { stringify } from "yaml";

export interface WcpLoginRequest {
  /** Base URL, `https://<supervisor address>` (the login is served on 443). */
  url: string;
  user: string;
  password: string;
  /** PEM of the CA of the Supervisor's certificate; unset = the system trust store. */
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
  timeoutMs?: number;
}

/** Logs in and returns the session token; rejects with a message that never contains the password. */
export function wcpLogin(req: WcpLoginRequest): Promise<string> {
  const target = new URL("/wcp/login", req.url);
  return new Promise((resolve, reject) => {
    const r = https.request(
      target,
      {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          Authorization: `Basic ${Buffer.from(`${req.user}:${req.password}`, "utf8").toString("base64")}`,
        },
        ca: req.caPem,
        rejectUnauthorized: !req.insecureSkipTlsVerify,
        timeout: req.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return reject(new Error(`Supervisor login at ${target.href} as ${req.user} failed: HTTP ${res.statusCode}`));
          let token: unknown;
          try {
            token = (JSON.parse(body) as { session_id?: unknown }).session_id;
          } catch {
            token = undefined;
          }
          if (typeof token !== "string" || token.length === 0) return reject(new Error(`Supervisor login at ${target.href}: the answer has no session_id`));
          resolve(token);
        });
      },
    );
    r.on("timeout", () => r.destroy(new Error(`Supervisor login at ${target.href}: no answer within ${req.timeoutMs ?? 30_000} ms`)));
    r.on("error", (e) => reject(new Error(`Supervisor login at ${target.href} failed: ${e.message}`)));
    r.end("{}");
  });
}

/** A login for runs without a Supervisor (the offline plan): no request, a placeholder token. */
export async function offlineLogin(): Promise<string> {
  return "offline-plan-no-supervisor-session";
}

/** A kubeconfig for the Supervisor with a bearer token (the session token). */
export function tokenKubeconfig(opts: {
  name: string;
  server: string;
  token: string;
  namespace: string;
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
}): string {
  const cluster: Record<string, unknown> = { server: opts.server };
  if (opts.caPem) cluster["certificate-authority-data"] = Buffer.from(opts.caPem, "utf8").toString("base64");
  if (opts.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: opts.name, cluster }],
    users: [{ name: `${opts.name}-user`, user: { token: opts.token } }],
    contexts: [{ name: opts.name, context: { cluster: opts.name, user: `${opts.name}-user`, namespace: opts.namespace } }],
    "current-context": opts.name,
  });
}

/** `host:port` of the current context's server in a kubeconfig (the workload cluster's API). */
export function kubeconfigEndpoint(kubeconfig: string): string {
  const m = /^\s*server:\s*["']?(https?:\/\/[^\s"']+)["']?\s*$/m.exec(kubeconfig);
  if (!m) throw new Error("the workload cluster's kubeconfig has no server");
  const u = new URL(m[1]);
  // URL keeps the brackets of an IPv6 host name.
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}
