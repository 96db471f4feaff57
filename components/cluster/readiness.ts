/** Waits for a Kubernetes API endpoint to report ready (`GET /readyz` → 200 `ok`), verifying with the cluster CA. */
import * as https from "node:https";
import { getJson } from "../https-json";

export interface WaitForReadyzOptions {
  /** e.g. `https://192.168.1.2:6443/readyz` */
  url: string;
  /** PEM of the cluster CA the API server certificate must chain to. */
  caPem: string;
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  /** Per-request timeout; default min(10s, timeoutMs). */
  requestTimeoutMs?: number;
}

/** One attempt: resolves with the status line and body, rejects on network/TLS errors. */
function probe(url: string, caPem: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: caPem, timeout: timeoutMs, agent: false, headers: { accept: "text/plain" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Resolves once the endpoint answers 200 `ok`; rejects with the endpoint, the timeout and the last result. */
export async function waitForReadyz(opts: WaitForReadyzOptions): Promise<void> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const perRequest = opts.requestTimeoutMs ?? Math.min(10_000, opts.timeoutMs);
  let last = "no attempt made";
  let attempts = 0;
  for (;;) {
    attempts++;
    const budget = Math.min(perRequest, Math.max(1, deadline - Date.now()));
    try {
      const r = await probe(opts.url, opts.caPem, budget);
      if (r.status === 200 && r.body.trim() === "ok") return;
      last = `HTTP ${r.status}: ${r.body.trim().slice(0, 200) || "(empty body)"}`;
    } catch (e) {
      // An attempt cut short by our own deadline says nothing about the endpoint: keep the answer
      // before it (a 503's reason is what the operator needs), unless there was none.
      const cutShort = budget < perRequest && (e as Error).message === `no answer within ${budget} ms`;
      if (!cutShort || attempts === 1) last = (e as Error).message;
    }
    const now = Date.now();
    if (now + opts.intervalMs > deadline) {
      throw new Error(
        `Kubernetes API ${opts.url} was not ready within ${formatDuration(opts.timeoutMs)} ` +
          `(${attempts} attempts; last result: ${last}). Check that the VMs booted, cloud-init finished ` +
          `(/var/log/cloud-init-output.log on the nodes) and that this machine can reach the endpoint.`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  return `${ms} ms`;
}

/** A node as `GET /api/v1/nodes` lists it (only what the gate reads). */
interface NodeItem {
  metadata?: { name?: string };
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

export interface NodeReadiness {
  ready: string[];
  /** Registered but not Ready, with the Ready condition's reason. */
  notReady: { name: string; reason: string }[];
  /** Expected but not registered at all. */
  missing: string[];
}

/** Which of the `expected` nodes a `/api/v1/nodes` answer shows Ready (pure). */
export function nodeReadiness(list: unknown, expected: readonly string[]): NodeReadiness {
  const items = ((list as { items?: NodeItem[] })?.items ?? []).filter((n) => typeof n?.metadata?.name === "string");
  const byName = new Map(items.map((n) => [n.metadata!.name!, n]));
  const out: NodeReadiness = { ready: [], notReady: [], missing: [] };
  for (const name of expected) {
    const n = byName.get(name);
    if (!n) {
      out.missing.push(name);
      continue;
    }
    const c = (n.status?.conditions ?? []).find((x) => x.type === "Ready");
    if (c?.status === "True") out.ready.push(name);
    else out.notReady.push({ name, reason: c ? `Ready=${c.status}${c.reason ? ` (${c.reason})` : ""}` : "no Ready condition yet" });
  }
  return out;
}

export interface WaitForNodesOptions {
  /** e.g. `https://192.168.1.2:6443` */
  apiUrl: string;
  caPem: string;
  /** The admin kubeconfig's client certificate and key. */
  clientCertPem: string;
  clientKeyPem: string;
  /** Every control plane and worker. */
  nodes: readonly string[];
  timeoutMs: number;
  intervalMs: number;
  requestTimeoutMs?: number;
}

/** One look at the node list (no retry): which of `nodes` are Ready, NotReady or missing. */
export async function readNodeReadiness(o: Omit<WaitForNodesOptions, "nodes">, nodes: readonly string[]): Promise<NodeReadiness> {
  const perRequest = o.requestTimeoutMs ?? Math.min(10_000, o.timeoutMs);
  return nodeReadiness(await getJson(`${o.apiUrl}/api/v1/nodes`, o, perRequest, "the node list"), nodes);
}

/**
 * Warnings for the nodes an update keeps (it does not wait for them): each one NotReady or missing,
 * or why the node list could not be read. Pure.
 */
export function keptNodeWarnings(seen: NodeReadiness | string): string[] {
  const hint = "on the node: `systemctl status kubelet`, `journalctl -u kubelet`; the update goes on (only nodes it adds must become Ready)";
  if (typeof seen === "string") return [`could not read the node list to check the running nodes (${seen}); the update goes on`];
  return [
    ...seen.notReady.map((n) => `running node ${n.name} is not Ready (${n.reason}): ${hint}`),
    ...seen.missing.map((n) => `running node ${n} is not registered in the cluster: ${hint}`),
  ];
}

/**
 * Resolves once every expected node is registered and Ready (through the admin credentials);
 * rejects after the timeout naming the nodes that are missing or not Ready.
 */
export async function waitForNodesReady(o: WaitForNodesOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const perRequest = o.requestTimeoutMs ?? Math.min(10_000, o.timeoutMs);
  // What the last node list said (kept when a later request fails), and the last request's failure.
  let nodes = "no node list read yet";
  let failure = "";
  for (;;) {
    try {
      const r = nodeReadiness(await getJson(`${o.apiUrl}/api/v1/nodes`, o, Math.min(perRequest, Math.max(1, deadline - Date.now())), "the node list"), o.nodes);
      if (r.missing.length === 0 && r.notReady.length === 0) return;
      const parts: string[] = [];
      if (r.missing.length > 0) parts.push(`not registered: ${r.missing.join(", ")}`);
      if (r.notReady.length > 0) parts.push(`not Ready: ${r.notReady.map((n) => `${n.name} ${n.reason}`).join(", ")}`);
      nodes = parts.join("; ");
      failure = "";
    } catch (e) {
      failure = `; the last request failed: ${(e as Error).message}`;
    }
    const last = `${nodes}${failure}`;
    if (Date.now() + o.intervalMs > deadline) {
      throw new Error(
        `Kubernetes nodes were not all Ready within ${formatDuration(o.timeoutMs)} (${last}). ` +
          "On a node: `cloud-init status --long`, `systemctl status vsphere-spark-bootstrap`, " +
          "`journalctl -u cloud-final -u vsphere-spark-bootstrap`.",
      );
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}
