/**
 * What the vSphere provider's `Namespace` cannot say, set through vCenter REST by small resources of
 * ours (Pulumi dynamic resources): the namespace's CPU, memory and storage limits, and who may use
 * the namespace. pulumi-vsphere 4.17.0's schema (terraform-provider-vsphere
 * `vsphere/resource_vsphere_namespace.go`) sends only storage policies and the VM service.
 *
 * vSphere Automation API (vCenter 7.0+), the calls used:
 * - `POST /api/session` with basic auth: the session id, as a JSON string.
 * - `PATCH /api/vcenter/namespaces/instances/{namespace}` with an `Instances.UpdateSpec` whose
 *   `resource_spec` is a `ResourceQuotaOptionsV1Update`: `cpu_limit` (MHz), `memory_limit` and
 *   `storage_request_limit` (MiB), each with its `*_unset` flag ("the intent of the change": true
 *   removes the limit; a field left out is left as it is). Answered with 204.
 * - `POST|PUT|DELETE /api/vcenter/namespaces/instances/{namespace}/access/{domain}/{subject}?type=USER|GROUP`:
 *   grant (`Access.CreateSpec` `{role}`), change (`Access.SetSpec` `{role}`) and revoke a subject's
 *   role on the namespace, `Access.Role` OWNER | EDIT | VIEW (OWNER since vSphere API 7.0.2.00100).
 *   Only an SSO administrator can use a namespace without such a grant: a developer needs EDIT (or
 *   OWNER) to create the cluster in it and to read its `<cluster>-kubeconfig` Secret.
 *
 * govmomi's vcsim (v0.46.3, `vapi/namespace/simulator/simulator.go`) serves the namespace instances
 * but its PATCH keeps only `vm_service_spec` and it has no `/access` calls: the lab executes these
 * calls against a stand-in handler (test/lab/vcenter-namespace-standin.ts) written from the API
 * reference, not against vcsim.
 *
 * Every function the dynamic providers call is in this module and requires its imports inside,
 * because Pulumi serializes the providers' code into the engine.
 */
import * as pulumi from "@pulumi/pulumi";
import type { NamespaceGrant, NamespaceLimits } from "./types";

/** The `ResourceQuotaOptionsV1Update` for the limits: every limit set, or unset (removed) when absent. */
export function namespaceLimitsBody(limits: NamespaceLimits | undefined): { resource_spec: Record<string, number | boolean> } {
  const spec: Record<string, number | boolean> = {};
  const one = (key: "cpu_limit" | "memory_limit" | "storage_request_limit", v: number | undefined) => {
    if (v === undefined) spec[`${key}_unset`] = true;
    else spec[key] = v;
  };
  one("cpu_limit", limits?.cpuMHz);
  one("memory_limit", limits?.memoryMiB);
  one("storage_request_limit", limits?.storageMiB);
  return { resource_spec: spec };
}

export interface VcenterConnection {
  /** vCenter host name or address (`https://<server>`), or a full base URL. */
  server: string;
  user: string;
  password: string;
  insecureSkipTlsVerify: boolean;
  caPem?: string;
}

interface Answer {
  status: number;
  body: string;
}

/** Logs in (`POST /api/session`) and returns a function making calls with that session. */
export async function vcenterSession(conn: VcenterConnection): Promise<(method: string, path: string, body?: unknown) => Promise<Answer>> {
  const https: typeof import("node:https") = require("node:https");
  const base = /^https?:\/\//.test(conn.server) ? conn.server : `https://${conn.server}`;
  const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const r = https.request(new URL(path, base), { method, headers, rejectUnauthorized: !conn.insecureSkipTlsVerify, ca: conn.caPem, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      });
      r.on("timeout", () => r.destroy(new Error("no answer within 30 s")));
      r.on("error", (e) => reject(new Error(`vCenter ${method} ${path} failed: ${e.message}`)));
      r.end(body);
    });
  const auth = `Basic ${Buffer.from(`${conn.user}:${conn.password}`, "utf8").toString("base64")}`;
  const login = await call("POST", "/api/session", { Authorization: auth });
  if (login.status !== 201 && login.status !== 200) throw new Error(`vCenter login as ${conn.user} failed: HTTP ${login.status}`);
  const session = JSON.parse(login.body) as string;
  return (method, path, body) =>
    call(method, path, { "vmware-api-session-id": session, ...(body === undefined ? {} : { "Content-Type": "application/json" }) }, body === undefined ? undefined : JSON.stringify(body));
}

function fail(method: string, path: string, res: Answer): never {
  throw new Error(`vCenter ${method} ${path} failed: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}

export interface NamespaceLimitsRequest extends VcenterConnection {
  namespace: string;
  /** Absent: every limit removed. */
  limits?: NamespaceLimits;
}

/** Logs in to vCenter and sets the namespace's limits (removing the ones not set). */
export async function applyNamespaceLimits(req: NamespaceLimitsRequest, options: { missingOk?: boolean } = {}): Promise<void> {
  const call = await vcenterSession(req);
  const path = `/api/vcenter/namespaces/instances/${encodeURIComponent(req.namespace)}`;
  const res = await call("PATCH", path, namespaceLimitsBody(req.limits));
  if (res.status === 404 && options.missingOk) return;
  if (res.status !== 204 && res.status !== 200) fail("PATCH", path, res);
}

type LimitsInputs = NamespaceLimitsRequest;

/** The limits' dynamic provider (exported for its tests). */
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
  async delete(_id: string, olds: LimitsInputs) {
    // Removing the limits from the stack removes them from vCenter (a namespace deleted with them is gone already).
    await applyNamespaceLimits({ ...olds, limits: undefined }, { missingOk: true });
  },
};

/** How both namespace resources reach vCenter, and which namespace they act on. */
export interface VcenterNamespaceConnection {
  server: pulumi.Input<string>;
  user: pulumi.Input<string>;
  /** Secret. */
  password: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  insecureSkipTlsVerify: boolean;
}

export interface NamespaceLimitsArgs extends VcenterNamespaceConnection {
  limits: NamespaceLimits;
}

/** Sets a vSphere Namespace's limits through vCenter REST (a Pulumi dynamic resource). */
export class NamespaceLimitsResource extends pulumi.dynamic.Resource {
  constructor(name: string, args: NamespaceLimitsArgs, opts?: pulumi.CustomResourceOptions) {
    super(namespaceLimitsProvider, name, { ...args, password: pulumi.secret(args.password) }, opts, "NamespaceLimits");
  }
}

/** The path of one subject's access entry (the query names the subject type). */
export function namespaceAccessPath(namespace: string, g: Pick<NamespaceGrant, "domain" | "subject" | "type">): string {
  return `/api/vcenter/namespaces/instances/${encodeURIComponent(namespace)}/access/${encodeURIComponent(g.domain)}/${encodeURIComponent(g.subject)}?type=${g.type}`;
}

export interface NamespaceAccessRequest extends VcenterConnection {
  namespace: string;
  grant: NamespaceGrant;
}

/** Grants (`POST`), changes (`PUT`) or revokes (`DELETE`, a missing entry is fine) one subject's role. */
export async function namespaceAccessCall(req: NamespaceAccessRequest, op: "grant" | "change" | "revoke"): Promise<void> {
  const call = await vcenterSession(req);
  const path = namespaceAccessPath(req.namespace, req.grant);
  const method = op === "grant" ? "POST" : op === "change" ? "PUT" : "DELETE";
  const res = await call(method, path, op === "revoke" ? undefined : { role: req.grant.role });
  if (op === "revoke" && res.status === 404) return;
  if (res.status !== 204 && res.status !== 200 && res.status !== 201) fail(method, path, res);
}

type AccessInputs = NamespaceAccessRequest;

/** The access grant's dynamic provider: a changed role is an update, a changed subject a replacement. */
export const namespaceAccessProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: AccessInputs) {
    await namespaceAccessCall(inputs, "grant");
    const g = inputs.grant;
    return { id: `${inputs.namespace}/${g.domain}/${g.subject}/${g.type}`, outs: inputs };
  },
  async diff(_id: string, olds: AccessInputs, news: AccessInputs) {
    const o = olds.grant;
    const n = news.grant;
    const replaces = [
      ...(olds.namespace !== news.namespace ? ["namespace"] : []),
      ...(o.domain !== n.domain || o.subject !== n.subject || o.type !== n.type ? ["grant"] : []),
    ];
    return { changes: replaces.length > 0 || o.role !== n.role || olds.server !== news.server, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: AccessInputs, news: AccessInputs) {
    await namespaceAccessCall(news, "change");
    return { outs: news };
  },
  async delete(_id: string, olds: AccessInputs) {
    await namespaceAccessCall(olds, "revoke");
  },
};

export interface NamespaceAccessArgs extends VcenterNamespaceConnection {
  grant: NamespaceGrant;
}

/** Grants one subject a role on a vSphere Namespace through vCenter REST (a Pulumi dynamic resource). */
export class NamespaceAccessResource extends pulumi.dynamic.Resource {
  constructor(name: string, args: NamespaceAccessArgs, opts?: pulumi.CustomResourceOptions) {
    super(namespaceAccessProvider, name, { ...args, password: pulumi.secret(args.password) }, opts, "NamespaceAccess");
  }
}
