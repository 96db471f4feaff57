/**
 * Node retirement as Pulumi resource hooks: a thin shell around components/cluster/retire.ts.
 *
 * The program registers two named hooks on every run (`<cluster>-retire-worker`,
 * `<cluster>-retire-control-plane`) and binds one of them as `beforeDelete` to each node's VM. The
 * engine stores the hook's name with the resource, and when a later `pulumi up` no longer has the VM
 * (a scale-in), it calls the hook of that name, registered by this very run, before it deletes the
 * VM; if the hook fails, the VM is not deleted and the update fails with the hook's message. Delete
 * hooks run only when the program runs: `pulumi destroy` needs `--run-program`
 * (pulumi/pulumi#19933 refuses a destroy without it once any resource has a delete hook).
 *
 * - Worker: cordon, evict every pod but DaemonSet and mirror pods through the eviction API
 *   (PodDisruptionBudgets honoured: a 429 is retried every 5 s until `drainTimeoutMinutes`, then the
 *   hook fails naming the node, the pods and the budgets holding them), then delete its Node.
 * - Control plane: the same drain, then its etcd member is removed through the remaining control
 *   planes' etcd client URLs (https://<address>:2379, the etcd v3 JSON API) with a client
 *   certificate the program signs with the cluster's etcd CA, refused when it would lose quorum,
 *   verified gone; then its Node is deleted. One control plane at a time (a lock in the program).
 *
 * The credentials (admin client certificate, etcd client certificate) stay Pulumi secrets: the
 * hooks read them inside the program and never log them.
 */
import * as https from "node:https";
import * as pulumi from "@pulumi/pulumi";
import {
  DrainPolicy,
  EtcdMember,
  PdbInfo,
  PodInfo,
  decideLeadershipHandoff,
  decideMemberRemoval,
  drainPlan,
  drainTimeoutMessage,
  evictionOutcome,
  memberGone,
  retireDecision,
} from "./retire";
import { etcdClientUrl, etcdPeerUrl } from "./etcd-member";

/** TLS client material (PEM) for one HTTPS server. */
export interface TlsClient {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTPS request with a client certificate; resolves any answer, rejects on transport errors. */
export function httpsRequest(url: string, tls: TlsClient, method: string, body?: unknown, contentType = "application/json", timeoutMs = 15_000): Promise<HttpAnswer> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: tls.caPem,
        cert: tls.certPem,
        key: tls.keyPem,
        agent: false,
        timeout: timeoutMs,
        headers: { accept: "application/json", ...(data !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** The Kubernetes API, as the drain uses it. */
export class KubeApi {
  constructor(
    readonly server: string,
    private readonly tls: TlsClient,
  ) {}
  request(method: string, p: string, body?: unknown, contentType?: string): Promise<HttpAnswer> {
    return httpsRequest(new URL(p, this.server).toString(), this.tls, method, body, contentType);
  }
  async json<T>(method: string, p: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request(method, p, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${p}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/** Cordons the node (spec.unschedulable), as `kubectl cordon`. */
export async function cordon(api: KubeApi, node: string): Promise<void> {
  await api.json("PATCH", `/api/v1/nodes/${enc(node)}`, { spec: { unschedulable: true } }, "application/merge-patch+json");
}

export async function podsOn(api: KubeApi, node: string): Promise<PodInfo[]> {
  return (await api.json<{ items: PodInfo[] }>("GET", `/api/v1/pods?fieldSelector=${enc(`spec.nodeName=${node}`)}`)).items;
}

/** A pod is gone when it is not found or its UID changed (kubectl drain's waitForDelete). */
async function podGone(api: KubeApi, p: PodInfo): Promise<boolean> {
  const r = await api.request("GET", `/api/v1/namespaces/${enc(p.metadata.namespace)}/pods/${enc(p.metadata.name)}`);
  if (r.status === 404) return true;
  if (r.status >= 300) return false;
  return (JSON.parse(r.body) as PodInfo).metadata.uid !== p.metadata.uid;
}

export interface DrainResult {
  evicted: string[];
  skipped: { pod: string; why: string }[];
  /** 429 answers (a budget allowed no disruption at that moment), retried. */
  retries: number;
  seconds: number;
}

/**
 * Drains `node` through the eviction API (see retire.ts for kubectl's rules it follows). Throws
 * `drainTimeoutMessage` when pods are still there at the deadline.
 */
export async function drainNode(api: KubeApi, node: string, policy: DrainPolicy, log: (s: string) => void = () => {}): Promise<DrainResult> {
  const t0 = Date.now();
  const deadline = t0 + policy.timeoutMs;
  await cordon(api, node);
  const plan = drainPlan(await podsOn(api, node), node);
  log(`draining ${node}: ${plan.evict.length} pod(s) to evict, ${plan.skipped.length} left (DaemonSet or mirror pods), ${plan.terminating.length} terminating`);
  let retries = 0;
  const left = new Set<PodInfo>([...plan.evict, ...plan.terminating]);
  const evictOne = async (p: PodInfo): Promise<void> => {
    const path = `/api/v1/namespaces/${enc(p.metadata.namespace)}/pods/${enc(p.metadata.name)}/eviction`;
    for (;;) {
      if (Date.now() > deadline) return;
      const r = await api.request("POST", path, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: p.metadata.name, namespace: p.metadata.namespace } });
      const o = evictionOutcome(r.status, r.body);
      if (o.kind === "gone") {
        left.delete(p);
        return;
      }
      if (o.kind === "accepted") break;
      if (o.kind === "fail") throw new Error(`draining node ${node}: evicting ${p.metadata.namespace}/${p.metadata.name} failed: ${o.why}`);
      retries++;
      await sleep(Math.min(policy.retryDelayMs, Math.max(0, deadline - Date.now())));
    }
    await waitGone(p);
  };
  const waitGone = async (p: PodInfo): Promise<void> => {
    while (Date.now() <= deadline) {
      if (await podGone(api, p)) {
        left.delete(p);
        return;
      }
      await sleep(policy.pollMs);
    }
  };
  // Evictions go out together (as kubectl's); the order decides which is asked first.
  const started: Promise<void>[] = [];
  for (const p of plan.evict) {
    started.push(evictOne(p));
    await sleep(10);
  }
  await Promise.all([...started, ...plan.terminating.map(waitGone)]);
  if (left.size > 0) {
    const pdbs = (await api.json<{ items: PdbInfo[] }>("GET", "/apis/policy/v1/poddisruptionbudgets")).items;
    throw new Error(drainTimeoutMessage(node, policy.timeoutMs, [...left], pdbs));
  }
  const seconds = (Date.now() - t0) / 1000;
  log(`drained ${node} in ${seconds.toFixed(1)} s (${plan.evict.length} evicted, ${retries} eviction(s) refused by a PodDisruptionBudget and retried)`);
  return { evicted: plan.evict.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), skipped: plan.skipped, retries, seconds };
}

/** Deletes the Node object (absent: nothing to do). */
export async function deleteNode(api: KubeApi, node: string): Promise<void> {
  const r = await api.request("DELETE", `/api/v1/nodes/${enc(node)}`);
  if (r.status >= 300 && r.status !== 404) throw new Error(`deleting Node ${node}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------
// etcd, through its v3 JSON API (the same calls as the guest's script, components/cluster/etcd-member.ts)

export class EtcdApi {
  constructor(
    private readonly tls: TlsClient,
    private readonly timeoutMs = 5_000,
  ) {}
  async call<T>(endpoint: string, p: string, body?: unknown): Promise<T> {
    const r = await httpsRequest(`${endpoint.replace(/\/$/, "")}${p}`, this.tls, body === undefined ? "GET" : "POST", body, "application/json", this.timeoutMs);
    if (r.status >= 300) throw new Error(`${endpoint}${p}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return (r.body ? JSON.parse(r.body) : {}) as T;
  }
  async members(endpoint: string): Promise<EtcdMember[]> {
    return (await this.call<{ members?: EtcdMember[] }>(endpoint, "/v3/cluster/member/list", {})).members ?? [];
  }
  /** `/health` is a linearizable read: true only while the cluster has quorum. */
  async healthy(endpoint: string): Promise<boolean> {
    try {
      return (await this.call<{ health?: string }>(endpoint, "/health")).health === "true";
    } catch {
      return false;
    }
  }
}

/** The leader as the members at `via` report it (/v3/maintenance/status), or undefined. */
async function leaderOf(etcd: EtcdApi, via: string[]): Promise<string | undefined> {
  for (const ep of via) {
    const st = await etcd.call<{ leader?: string }>(ep, "/v3/maintenance/status", {}).catch(() => undefined);
    if (st?.leader && st.leader !== "0") return String(st.leader);
  }
  return undefined;
}

/**
 * Hands leadership from a leaving member to a remaining one before the removal (decideLeadershipHandoff
 * in retire.ts says when and to whom). A handoff that fails is logged, not fatal: the removal keeps
 * quorum either way, and the rest elect a leader within an election timeout.
 */
export async function handOverLeadership(etcd: EtcdApi, members: EtcdMember[], healthy: ReadonlySet<string>, ids: string[], via: string[], keeps: (m: EtcdMember) => boolean, log: (s: string) => void, waitMs = 10_000, before = "its removal"): Promise<void> {
  const t0 = Date.now();
  const h = decideLeadershipHandoff(members, healthy, ids, await leaderOf(etcd, via), keeps);
  if (h.kind === "none") return;
  const name = (m: EtcdMember) => m.name || m.ID;
  const fromUrl = (h.from.clientURLs ?? [])[0];
  let err = "";
  if (fromUrl) {
    try {
      // MoveLeader is served by the leader only (ErrGRPCNotLeader elsewhere); etcd answers once the
      // transferee leads, or with ErrTimeoutLeaderTransfer.
      await etcd.call(fromUrl, "/v3/maintenance/transfer-leadership", { targetID: h.to.ID });
    } catch (e) {
      err = String((e as Error).message ?? e);
    }
  } else err = `${name(h.from)} lists no client URL`;
  // Verified, not assumed: the remaining members name a leader that stays.
  for (const end = Date.now() + waitMs; Date.now() < end; await sleep(200)) {
    const now = await leaderOf(etcd, via);
    if (now && !ids.includes(now)) {
      const m = members.find((x) => x.ID === now);
      log(`etcd: ${name(h.from)} led; leadership moved to ${m ? name(m) : now} before ${before} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return;
    }
  }
  log(`etcd: could not move leadership from ${name(h.from)} to ${name(h.to)}${err ? ` (${err.slice(0, 200)})` : ""}: going on with it as the leader (${before}); the rest elect a new one within the election timeout`);
}

/**
 * Removes the leaving control plane's member through `endpoints` (the remaining control planes'
 * client URLs): survey, decide (quorum), hand a leaving leader's leadership over, remove, verify. Throws with the reason when refused.
 */
/**
 * The membership as the first of `endpoints` that answers lists it, and which members answer `/health`
 * (each through its own client URL); `errors` says why the endpoints before it did not answer.
 */
export async function surveyEtcd(etcd: EtcdApi, endpoints: string[]): Promise<{ members?: EtcdMember[]; healthy: Set<string>; errors: string[] }> {
  let members: EtcdMember[] | undefined;
  const errors: string[] = [];
  for (const ep of endpoints) {
    try {
      members = await etcd.members(ep);
      break;
    } catch (e) {
      errors.push(String((e as Error).message ?? e));
    }
  }
  const healthy = new Set<string>();
  await Promise.all(
    (members ?? []).map(async (m) => {
      const url = (m.clientURLs ?? [])[0];
      if (url && (await etcd.healthy(url))) healthy.add(m.ID);
    }),
  );
  return { ...(members ? { members } : {}), healthy, errors };
}

export async function removeEtcdMember(etcd: EtcdApi, endpoints: string[], leaving: { name: string; peerUrl?: string }, log: (s: string) => void = () => {}, verifyMs = 30_000): Promise<string> {
  const { members, healthy, errors } = await surveyEtcd(etcd, endpoints);
  if (!members)
    throw new Error(
      `removing ${leaving.name}'s etcd member: no remaining control plane's etcd answered (${endpoints.join(", ")}): ${errors.join("; ")}. ` +
        "The program reaches etcd on the control planes' port 2379 from this machine; its VM was not deleted. Open that port to this machine, " +
        "or remove the member by hand (docs/lifecycle.md) and list the node in vsphere-spark:lifecycle.preparedNodes",
    );
  const d = decideMemberRemoval(members, healthy, leaving);
  if (d.kind === "refuse") throw new Error(`refusing to remove ${leaving.name}'s etcd member: ${d.why}. Its VM was not deleted`);
  if (d.kind === "absent") {
    log(`etcd: ${d.why}`);
    return d.why;
  }
  // Through a remaining member that is healthy (the leaving one may be asked too, but need not).
  const via = members.filter((m) => healthy.has(m.ID) && !d.ids.includes(m.ID)).map((m) => m.clientURLs![0]);
  // The leadership goes to a member the program keeps (`endpoints` are this run's control planes),
  // not to one whose own removal may be next in this update.
  const norm = (u: string) => u.replace(/\/$/, "");
  const keeps = (m: EtcdMember) => (m.clientURLs ?? []).some((u) => endpoints.map(norm).includes(norm(u)));
  await handOverLeadership(etcd, members, healthy, d.ids, via, keeps, log);
  for (const id of d.ids) {
    let done = false;
    const why: string[] = [];
    // etcd answers "unhealthy cluster" until every member has been connected for 5 s
    // (server/etcdserver mayRemoveMember with --strict-reconfig-check); kubeadm's RemoveMember
    // retries with a backoff, so does this, for up to `verifyMs`.
    const until = Date.now() + verifyMs;
    for (let retry = true; retry && !done; ) {
      retry = false;
      why.length = 0;
      for (const ep of via) {
        try {
          await etcd.call(ep, "/v3/cluster/member/remove", { ID: id });
          log(`etcd: member ${id} of ${leaving.name} removed through ${ep}; verifying`);
          done = true;
          break;
        } catch (e) {
          const msg = String((e as Error).message ?? e);
          if (/member not found/.test(msg)) {
            done = true;
            break;
          }
          why.push(msg);
          if (/unhealthy cluster/.test(msg) && Date.now() < until) retry = true;
        }
      }
      if (retry && !done) await sleep(1000);
    }
    if (!done) throw new Error(`removing ${leaving.name}'s etcd member ${id}: every remaining member refused: ${why.join("; ")}. Its VM was not deleted`);
  }
  const end = Date.now() + verifyMs;
  for (;;) {
    // The member list through the first remaining member that answers (not only the first one:
    // it may have gone down for another reason meanwhile).
    let after: EtcdMember[] | undefined;
    for (const ep of via) if (!after) after = await etcd.members(ep).catch(() => undefined);
    const ok = after && memberGone(after, leaving) && (await Promise.all(via.map((ep) => etcd.healthy(ep)))).filter(Boolean).length >= Math.floor(after.length / 2) + 1;
    if (ok) {
      const msg = `etcd: removed ${leaving.name}'s member (${d.why}); members now ${after!.map((m) => m.name || m.ID).join(", ")}`;
      log(msg);
      return msg;
    }
    if (Date.now() > end) throw new Error(`after removing ${leaving.name}'s etcd member: still listed, or the rest not healthy within ${verifyMs / 1000} s`);
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------------
// The hooks

/** What the hooks need from the cluster (every field a secret or derived from one). */
export interface RetireCredentials {
  /** The API server's URL through the cluster's endpoint. */
  apiUrl: string;
  kube: TlsClient;
  /** A client of the cluster's etcd (its CA; a certificate signed by the etcd CA). Absent: workers only. */
  etcd?: TlsClient;
}

export interface RetireHooksArgs {
  credentials: pulumi.Input<RetireCredentials>;
  /** The nodes this run of the program has (a node still here is not retired). */
  nodes: string[];
  /** The control planes this run has, with their addresses: etcd is asked through them. */
  controlPlanes: { name: string; address: string }[];
  /** Addresses of the previous run's nodes (the leaving member's peer URL). */
  previousAddresses: Record<string, string>;
  /** `vsphere-spark:lifecycle.preparedNodes`: nodes prepared by hand, not touched. */
  preparedNodes: string[];
  drain: DrainPolicy;
}

export interface RetireHooks {
  worker: pulumi.ResourceHook;
  controlPlane: pulumi.ResourceHook;
}

/** The VM's node name: the VM's `name` input (the VM is named after its node), else the resource name's tail. */
export function nodeOfHook(args: pulumi.ResourceHookArgs, prefix: string): string {
  const n = args.oldInputs?.name ?? args.oldOutputs?.name;
  if (typeof n === "string" && n) return n;
  return args.name.startsWith(`${prefix}-`) ? args.name.slice(prefix.length + 1) : args.name;
}

let controlPlaneLock: Promise<unknown> = Promise.resolve();
/** One control plane at a time: each removal re-reads the membership after the previous one. */
function serialized<T>(f: () => Promise<T>): Promise<T> {
  const run = controlPlaneLock.then(f, f);
  controlPlaneLock = run.catch(() => undefined);
  return run;
}

/**
 * The two named hooks. `resourcePrefix` is what precedes the node name in the VM's resource name
 * (`<cluster component name>`), for a VM whose inputs are not given to the hook.
 */
/**
 * The hooks' credentials as a promise (a hook runs outside the program's output graph). It resolves
 * once the resources behind them are registered: the VMs depend on those, so a hook never waits for a
 * step the engine has not run (components/cluster/bootstrap.ts, clientResources).
 */
export function resolvedCredentials(input: pulumi.Input<RetireCredentials>): Promise<RetireCredentials> {
  return new Promise<RetireCredentials>((resolve) => {
    pulumi.output(input).apply((c) => {
      resolve(c as RetireCredentials);
      return undefined;
    });
  });
}

export function createRetireHooks(name: string, resourcePrefix: string, args: RetireHooksArgs): RetireHooks {
  const credentials = resolvedCredentials(args.credentials);
  const program = {
    nodes: new Set(args.nodes),
    prepared: new Set(args.preparedNodes),
    previousAddresses: new Map(Object.entries(args.previousAddresses)),
  };
  const log = (s: string) => void pulumi.log.info(s);
  const hook = (role: "worker" | "control-plane") => async (h: pulumi.ResourceHookArgs) => {
    const node = nodeOfHook(h, resourcePrefix);
    const d = retireDecision(node, role, program);
    if (d.kind === "skip") {
      log(`retire ${role} ${node}: ${d.why}`);
      return;
    }
    const c = await credentials;
    const api = new KubeApi(c.apiUrl, c.kube);
    if (await nodeExists(api, node)) await drainNode(api, node, args.drain, log);
    else log(`retire ${role} ${node}: no Node object (never joined, or deleted by hand): nothing to drain`);
    if (role === "control-plane") {
      if (!c.etcd) throw new Error(`retiring control plane ${node}: no etcd client credentials`);
      const etcd = new EtcdApi(c.etcd);
      const endpoints = args.controlPlanes.filter((n) => n.name !== node).map((n) => etcdClientUrl(n.address));
      await serialized(() => removeEtcdMember(etcd, endpoints, { name: node, ...(d.address ? { peerUrl: etcdPeerUrl(d.address) } : {}) }, log));
    }
    await deleteNode(api, node);
    log(`retired ${role} ${node}: drained${role === "control-plane" ? ", etcd member removed" : ""}, Node deleted; its VM is deleted next`);
  };
  return {
    worker: new pulumi.ResourceHook(`${name}-retire-worker`, hook("worker")),
    controlPlane: new pulumi.ResourceHook(`${name}-retire-control-plane`, hook("control-plane")),
  };
}

export async function nodeExists(api: KubeApi, node: string): Promise<boolean> {
  const r = await api.request("GET", `/api/v1/nodes/${enc(node)}`);
  if (r.status === 404) return false;
  if (r.status >= 300) throw new Error(`reading Node ${node}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return true;
}
