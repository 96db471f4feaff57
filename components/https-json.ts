/**
 * One HTTPS GET of a Kubernetes API list as JSON, with the cluster's CA and a client certificate or
 * a bearer token: the readiness gates of both back ends read their lists this way (Nodes on kubeadm,
 * MachineDeployments on the Supervisor).
 */
import * as https from "node:https";

export interface HttpsClient {
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
}

/** Resolves the parsed body of a 200 answer; rejects naming the status (also as `statusCode` on the error), `what` when the body is not JSON, or the timeout. */
export function getJson(url: string, c: HttpsClient, timeoutMs: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    const tls = { ca: c.caPem, cert: c.clientCertPem, key: c.clientKeyPem, rejectUnauthorized: !c.insecureSkipTlsVerify };
    const req = https.get(url, { ...tls, timeout: timeoutMs, agent: false, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`), { statusCode: res.statusCode }));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${what} is not JSON`));
        }
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
