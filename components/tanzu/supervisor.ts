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

/**
 * What is wrong with a stored Supervisor kubeconfig (`access: kubeconfig`), or when its token stops
 * working. `kubectl vsphere login` writes a kubeconfig whose bearer token is the vCenter SSO session
 * (a JWT) and lasts about ten hours (VMware vSphere with Tanzu docs, "Connect to the Supervisor as a
 * vCenter Single Sign-On User": the token expires after 10 hours; log in again). Stored once as a
 * config secret, it makes every `preview`/`up` after that fail with 401. Pure: `now` in ms.
 */
export function storedKubeconfigTokenState(kubeconfig: string, now: number): { expired: boolean; expiresAt?: Date } | undefined {
  const m = /^\s*token:\s*["']?([A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*)["']?\s*$/m.exec(kubeconfig);
  if (!m) return undefined;
  let exp: unknown;
  try {
    exp = (JSON.parse(Buffer.from(m[2], "base64url").toString("utf8")) as { exp?: unknown }).exp;
  } catch {
    return undefined;
  }
  if (typeof exp !== "number") return undefined;
  const expiresAt = new Date(exp * 1000);
  return { expired: expiresAt.getTime() <= now, expiresAt };
}

/** The message for a stored kubeconfig whose token has expired (or the warning for one that will). */
export function storedKubeconfigMessage(state: { expired: boolean; expiresAt?: Date }, key: string): string {
  const when = state.expiresAt?.toISOString() ?? "(unknown)";
  return state.expired
    ? `the Supervisor kubeconfig in ${key} carries a session token that expired at ${when} (tokens from \`kubectl vsphere login\` last about 10 hours). ` +
        `Use supervisor.access: sso (the stack logs in on every run), or log in again and \`pulumi config set --secret ${key} < supervisor.kubeconfig\``
    : `the Supervisor kubeconfig in ${key} carries a session token that expires at ${when}; after that every preview and up fails with 401 until it is replaced. supervisor.access: sso logs in on every run instead`;
}
