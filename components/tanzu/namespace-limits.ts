/**
 * The vSphere Namespace's CPU, memory and storage limits. The provider's `Namespace` has no limits
 * (pulumi-vsphere 4.17.0 schema; terraform-provider-vsphere `vsphere/resource_vsphere_namespace.go`
 * sends only storage policies and the VM service), so a small resource of ours sets them through
 * vCenter REST: `POST /api/session` (basic auth; answers the session id as a JSON string), then
 * `PATCH /api/vcenter/namespaces/instances/{namespace}` with an `UpdateSpec` whose `resource_spec`
 * is a `ResourceQuotaOptionsV1` (`cpu_limit` in MHz, `memory_limit` and `storage_request_limit` in
 * MiB), answered with 204. Deleting the resource leaves the limits as they are (deleting the
 * namespace removes them with it).
 */
import * as pulumi from "@pulumi/pulumi";
import type { NamespaceLimits } from "./types";

/** The REST body for the limits (unset limits are left out, i.e. unchanged). */
export function namespaceLimitsBody(limits: NamespaceLimits): { resource_spec: Record<string, number> } {
  const spec: Record<string, number> = {};
  if (limits.cpuMHz !== undefined) spec.cpu_limit = limits.cpuMHz;
  if (limits.memoryMiB !== undefined) spec.memory_limit = limits.memoryMiB;
  if (limits.storageMiB !== undefined) spec.storage_request_limit = limits.storageMiB;
  return { resource_spec: spec };
}

export interface NamespaceLimitsRequest {
  /** vCenter host name or address (`https://<server>`), or a full base URL. */
  server: string;
  user: string;
  password: string;
  namespace: string;
  limits: NamespaceLimits;
  insecureSkipTlsVerify: boolean;
  caPem?: string;
}

/**
 * Logs in to vCenter and patches the namespace's limits. Self-contained (its imports are required
 * inside) because Pulumi serializes it into the dynamic provider.
 */
export async function applyNamespaceLimits(req: NamespaceLimitsRequest): Promise<void> {
  const https: typeof import("node:https") = require("node:https");
  const base = /^https?:\/\//.test(req.server) ? req.server : `https://${req.server}`;
  const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = https.request(new URL(path, base), { method, headers, rejectUnauthorized: !req.insecureSkipTlsVerify, ca: req.caPem, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      });
      r.on("timeout", () => r.destroy(new Error("no answer within 30 s")));
      r.on("error", (e) => reject(new Error(`vCenter ${method} ${path} failed: ${e.message}`)));
      r.end(body);
    });
  const auth = `Basic ${Buffer.from(`${req.user}:${req.password}`, "utf8").toString("base64")}`;
  const login = await call("POST", "/api/session", { Authorization: auth });
  if (login.status !== 201 && login.status !== 200) throw new Error(`vCenter login as ${req.user} failed: HTTP ${login.status}`);
  const session = JSON.parse(login.body) as string;
  const body = JSON.stringify(namespaceLimitsBody(req.limits));
  const path = `/api/vcenter/namespaces/instances/${encodeURIComponent(req.namespace)}`;
  const res = await call("PATCH", path, { "vmware-api-session-id": session, "Content-Type": "application/json" }, body);
  if (res.status !== 204 && res.status !== 200) throw new Error(`vCenter PATCH ${path} failed: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}

type LimitsInputs = NamespaceLimitsRequest;

/** The dynamic provider (exported for its tests). */
export const namespaceLimitsProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LimitsInputs) {
    await applyNamespaceLimits(inputs);
    return { id: inputs.namespace, outs: inputs };
  },
  async diff(_id: string, olds: LimitsInputs, news: LimitsInputs) {
    const replaces = olds.namespace !== news.namespace ? ["namespace"] : [];
    const changes = replaces.length > 0 || JSON.stringify(olds.limits) !== JSON.stringify(news.limits) || olds.server !== news.server;
    return { changes, replaces };
  },
  async update(_id: string, _olds: LimitsInputs, news: LimitsInputs) {
    await applyNamespaceLimits(news);
    return { outs: news };
  },
  async delete() {
    // Leaves the limits: the namespace (deleted with it, or kept) owns them.
  },
};

export interface NamespaceLimitsArgs {
  server: pulumi.Input<string>;
  user: pulumi.Input<string>;
  /** Secret. */
  password: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  limits: NamespaceLimits;
  insecureSkipTlsVerify: boolean;
}

/** Sets a vSphere Namespace's limits through vCenter REST (a Pulumi dynamic resource). */
export class NamespaceLimitsResource extends pulumi.dynamic.Resource {
  constructor(name: string, args: NamespaceLimitsArgs, opts?: pulumi.CustomResourceOptions) {
    super(namespaceLimitsProvider, name, { ...args, password: pulumi.secret(args.password) }, opts, "NamespaceLimits");
  }
}
