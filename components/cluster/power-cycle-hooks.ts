/**
 * Rolling power cycles as Pulumi resource hooks: a thin shell around components/cluster/power-cycle.ts.
 *
 * Bound to every worker and control-plane VM on every run: `beforeUpdate`, `afterUpdate` and an
 * `onError` hook. The engine runs an update step's hooks inside the step, around the provider's
 * Update (pulumi/pulumi pkg/resource/deploy/step.go, UpdateStep.Apply: RunHooks(BeforeUpdate), then
 * prov.Update with RunErrorHooks(OnError) on each failure, then RunHooks(AfterUpdate); a failing
 * before hook fails the step before the provider is called; hooks do not run in a preview). So for
 * an update that powers the VM off and on (`reasons`, from the vSphere provider's rules):
 *
 * - before: wait for the program's lock (one node at a time over the whole update, whatever the
 *   engine's parallelism), then (a control plane) check etcd keeps its quorum without this member and
 *   hand its leadership over, and drain the node (cordon, evictions with PodDisruptionBudgets
 *   honoured, as retiring it does); remember its boot ID.
 * - the provider powers the VM off (a graceful guest shutdown), reconfigures it and powers it on.
 * - after: wait until the Node is Ready with a new boot ID (a control plane: its API server answers
 *   `/readyz` and every etcd member is healthy), uncordon it, release the lock.
 * - on error (the provider's Update failed): release the lock (the node stays cordoned: its state is
 *   unknown), do not retry; the update fails with the provider's error.
 *
 * A failure before the provider is called (the drain timed out, etcd would lose quorum) releases the
 * lock and leaves the VM as it was. Credentials are Pulumi secrets, read inside the program, never
 * logged.
 */
import * as pulumi from "@pulumi/pulumi";
import { DrainPolicy } from "./retire";
import { EtcdApi, KubeApi, RetireCredentials, drainNode, handOverLeadership, resolvedCredentials, surveyEtcd } from "./retire-hooks";
import { NodeStatus, bootIdOf, decidePowerCycleQuorum, nodeBack, notBackMessage, powerCycleDecision } from "./power-cycle";
import { etcdClientUrl, etcdPeerUrl } from "./etcd-member";
import { APISERVER_PORT } from "./types";

export interface PowerCycleHooksArgs {
  credentials: pulumi.Input<RetireCredentials>;
  /** The nodes this run has. */
  nodes: string[];
  /** The control planes this run has, with their addresses (etcd and `/readyz` are asked there). */
  controlPlanes: { name: string; address: string }[];
  /** `vsphere-spark:lifecycle.preparedNodes`: resized by hand, not touched. */
  preparedNodes: string[];
  drain: DrainPolicy;
  /** How long a node may take to come back after its power cycle. */
  rebootTimeoutMs: number;
  /** Why an update of the VM from `oldInputs` to `newInputs` powers it off and on (empty: it does not). */
  reasons: (oldInputs: Record<string, unknown> | undefined, newInputs: Record<string, unknown> | undefined) => string[];
  /** How often the node, `/readyz` and etcd are polled after the update (default 2 s). */
  pollMs?: number;
  /** A control plane's own API server, by its address (default `https://<address>:6443`). */
  apiServerOf?: (address: string) => string;
}

export interface PowerCycleHooks {
  beforeUpdate: pulumi.ResourceHook;
  afterUpdate: pulumi.ResourceHook;
  onError: pulumi.ErrorHook;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/** A FIFO lock whose holder releases it explicitly (from another hook call). */
class RollingLock {
  private tail: Promise<void> = Promise.resolve();
  waiting = 0;
  acquire(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => mine);
    this.waiting++;
    return before.then(() => {
      this.waiting--;
      let done = false;
      return () => {
        if (!done) (done = true), release();
      };
    });
  }
}

async function readNode(api: KubeApi, node: string): Promise<NodeStatus | undefined> {
  const r = await api.request("GET", `/api/v1/nodes/${enc(node)}`);
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new Error(`reading Node ${node}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body) as NodeStatus;
}

const nodeOf = (h: { newInputs?: Record<string, any>; oldInputs?: Record<string, any>; name: string }): string => {
  const n = h.newInputs?.name ?? h.oldInputs?.name;
  return typeof n === "string" && n ? n : h.name;
};

interface InFlight {
  node: string;
  role: "worker" | "control-plane";
  address?: string;
  bootId?: string;
  hadNode: boolean;
  release: () => void;
  t0: number;
}

export function createPowerCycleHooks(name: string, args: PowerCycleHooksArgs): PowerCycleHooks {
  const credentials = resolvedCredentials(args.credentials);
  const program = {
    nodes: new Set(args.nodes),
    controlPlanes: new Map(args.controlPlanes.map((c) => [c.name, c.address])),
    prepared: new Set(args.preparedNodes),
  };
  const pollMs = args.pollMs ?? 2_000;
  const log = (s: string) => void pulumi.log.info(s);
  const lock = new RollingLock();
  const inFlight = new Map<string, InFlight>();
  /** Set once a node's power cycle failed (update or comeback): no further node goes down in this run. */
  let failed: string | undefined;

  const before = async (h: pulumi.ResourceHookArgs): Promise<void> => {
    const node = nodeOf(h);
    const d = powerCycleDecision(node, args.reasons(h.oldInputs, h.newInputs), program);
    if (d.kind === "skip") return;
    if (lock.waiting > 0 || inFlight.size > 0) log(`power cycle ${node}: waiting for the node before it (one node at a time)`);
    const release = await lock.acquire();
    const t0 = Date.now();
    try {
      if (failed) throw new Error(`not powering ${node} off: ${failed}; the VM was not changed`);
      const c = await credentials;
      const api = new KubeApi(c.apiUrl, c.kube);
      if (d.role === "control-plane") {
        if (!c.etcd) throw new Error(`powering control plane ${node} off: no etcd client credentials`);
        const etcd = new EtcdApi(c.etcd);
        const endpoints = args.controlPlanes.map((n) => etcdClientUrl(n.address));
        const { members, healthy, errors } = await surveyEtcd(etcd, endpoints);
        if (!members)
          throw new Error(
            `powering control plane ${node} off: no control plane's etcd answered (${endpoints.join(", ")}): ${errors.join("; ")}. ` +
              "The program reaches etcd on the control planes' port 2379 from this machine; the VM was not changed",
          );
        const peerUrl = d.address ? etcdPeerUrl(d.address) : undefined;
        const q = decidePowerCycleQuorum(members, healthy, { name: node, ...(peerUrl ? { peerUrl } : {}) });
        if (q.kind === "refuse") throw new Error(`refusing to power control plane ${node} off: ${q.why}. The VM was not changed; bring the other members back, then \`pulumi up\` again`);
        log(`power cycle ${node}: etcd keeps its quorum without it (${q.why})`);
        const via = members.filter((m) => healthy.has(m.ID) && !q.ids.includes(m.ID)).map((m) => m.clientURLs![0]);
        await handOverLeadership(etcd, members, healthy, q.ids, via, (m) => !q.ids.includes(m.ID), log, 10_000, "it goes down");
      }
      const n = await readNode(api, node);
      if (n) await drainNode(api, node, args.drain, log);
      else log(`power cycle ${node}: no Node object (never joined, or deleted by hand): nothing to drain`);
      inFlight.set(h.urn, { node, role: d.role, ...(d.address ? { address: d.address } : {}), bootId: bootIdOf(n), hadNode: n !== undefined, release, t0 });
      log(`power cycle ${node} (${d.reasons.join("; ")}): drained; the vSphere provider powers it off and on now`);
    } catch (e) {
      release();
      throw e;
    }
  };

  const after = async (h: pulumi.ResourceHookArgs): Promise<void> => {
    const f = inFlight.get(h.urn);
    if (!f) return;
    try {
      const c = await credentials;
      const api = new KubeApi(c.apiUrl, c.kube);
      const deadline = Date.now() + args.rebootTimeoutMs;
      if (f.hadNode) {
        let last = "";
        for (;;) {
          const b = nodeBack(f.bootId, await readNode(api, f.node).catch(() => undefined));
          last = b.why;
          if (b.back) break;
          if (Date.now() > deadline) throw new Error(notBackMessage(f.node, args.rebootTimeoutMs, last));
          await sleep(pollMs);
        }
        log(`power cycle ${f.node}: back (${last})`);
      }
      if (f.role === "control-plane" && f.address) {
        const readyz = new KubeApi(args.apiServerOf ? args.apiServerOf(f.address) : `https://${f.address}:${APISERVER_PORT}`, c.kube);
        const etcd = c.etcd ? new EtcdApi(c.etcd) : undefined;
        let last = "";
        for (;;) {
          const r = await readyz.request("GET", "/readyz").catch((e: Error) => ({ status: 0, body: String(e.message ?? e) }));
          let ok = r.status === 200;
          last = ok ? "" : `its API server's /readyz: ${r.status || r.body.slice(0, 120)}`;
          if (ok && etcd) {
            const { members, healthy } = await surveyEtcd(etcd, [etcdClientUrl(f.address)]);
            const sick = members ? members.filter((m) => !healthy.has(m.ID)).map((m) => m.name || m.ID) : ["(no member list)"];
            ok = sick.length === 0;
            if (!ok) last = `etcd members not healthy: ${sick.join(", ")}`;
          }
          if (ok) break;
          if (Date.now() > deadline) throw new Error(notBackMessage(f.node, args.rebootTimeoutMs, last));
          await sleep(pollMs);
        }
        log(`power cycle ${f.node}: its API server is ready and every etcd member healthy`);
      }
      if (f.hadNode) await api.json("PATCH", `/api/v1/nodes/${enc(f.node)}`, { spec: { unschedulable: false } }, "application/merge-patch+json");
      log(`power cycle ${f.node}: done in ${((Date.now() - f.t0) / 1000).toFixed(1)} s (drained, powered off and on, back, uncordoned)`);
    } catch (e) {
      failed ??= `${f.node}'s power cycle failed before it`;
      throw e;
    } finally {
      inFlight.delete(h.urn);
      f.release();
    }
  };

  const onError = async (h: pulumi.ErrorHookArgs): Promise<boolean> => {
    const f = inFlight.get(h.urn);
    if (f) {
      failed ??= `the vSphere provider's update of ${f.node} failed before it`;
      inFlight.delete(h.urn);
      f.release();
      log(`power cycle ${f.node}: the vSphere provider's update failed (${(h.errors[0] ?? "").slice(0, 200)}); it stays cordoned, and no further node is powered off in this update`);
    }
    return false;
  };

  return {
    beforeUpdate: new pulumi.ResourceHook(`${name}-power-cycle-drain`, before),
    afterUpdate: new pulumi.ResourceHook(`${name}-power-cycle-uncordon`, after),
    onError: new pulumi.ErrorHook(`${name}-power-cycle-release`, onError),
  };
}
