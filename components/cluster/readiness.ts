/** Waits for a Kubernetes API endpoint to report ready (`GET /readyz` → 200 `ok`), verifying with the cluster CA. */
import * as https from "node:https";

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
    try {
      const remaining = Math.max(1, deadline - Date.now());
      const r = await probe(opts.url, opts.caPem, Math.min(perRequest, remaining));
      if (r.status === 200 && r.body.trim() === "ok") return;
      last = `HTTP ${r.status}: ${r.body.trim().slice(0, 200) || "(empty body)"}`;
    } catch (e) {
      last = (e as Error).message;
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
