/**
 * Node retirement, decided (docs/lifecycle.md, "Retiring a node"): what happens before a worker's or
 * a control plane's VM is deleted. Pure; the resource hooks that run these decisions are a thin shell
 * (components/cluster/retire-hooks.ts); the table tests are test/cluster/retire.test.ts, and the
 * real-systems lab runs them against a real kube-apiserver and a real etcd
 * (test/lab/node-retirement.lab.ts).
 *
 * Draining follows kubectl's drain (kubernetes/kubectl @ 97f0e109d6c043924ae799c68d2c8c095f3de179):
 * - pkg/drain/filters.go: DaemonSet pods are skipped (their controller ignores the cordon and would
 *   put them back), mirror pods (annotation `kubernetes.io/config.mirror`, static pods) cannot be
 *   deleted through the API and are skipped; everything else is evicted (this program drains as
 *   `--ignore-daemonsets --delete-emptydir-data --force` would: the VM and its disks go anyway).
 * - pkg/drain/drain.go evictPods: one Eviction per pod (POST pods/<pod>/eviction); 404 means the
 *   pod is gone; 429 TooManyRequests (a PodDisruptionBudget allows no disruption now) is retried
 *   after a delay (`EvictErrorRetryDelay`, 5 s in kubectl drain) until the global timeout; any other
 *   error fails. waitForDelete: a pod is gone when it is not found or its UID changed.
 * - The eviction API answers 500 when more than one PodDisruptionBudget selects a pod
 *   (kubernetes/kubernetes pkg/registry/core/pod/storage/eviction.go: "This pod has more than one
 *   PodDisruptionBudget, which the eviction subresource does not support."): not retried.
 *
 * Member removal keeps etcd's quorum (a cluster of n voting members needs floor(n/2)+1 of them):
 * a member is removed only when the cluster has its quorum now and the remaining voters that are
 * healthy are a quorum of the remaining cluster; learners do not vote. etcd itself refuses a removal
 * that leaves fewer started members than the new quorum (`--strict-reconfig-check`, on by default;
 * server/etcdserver/server.go mayRemoveMember), this check says why before asking.
 *
 * A leader is not removed as the leader: its leadership is handed to a healthy remaining voter first
 * (etcd's MoveLeader, `POST /v3/maintenance/transfer-leadership` on the leader, etcd-io/etcd
 * api/etcdserverpb/rpc.proto; the transferee must be a voting member, server/etcdserver/server.go
 * MoveLeader → ErrBadLeaderTransferee). Removed as the leader, it stops leading only once the removal
 * commits, and the rest wait an election timeout (1 to 2 s by default) without a leader: writes and
 * linearizable reads stall, and the lab's quorum sampler sees no member healthy
 * (test/lab/node-retirement.lab.ts). Handed over first, the rest always have a leader.
 */

/** What the drain needs of a pod (a subset of core/v1 Pod). */
export interface PodInfo {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: { nodeName?: string; priority?: number };
  status?: { phase?: string };
}

/** What the drain needs of a PodDisruptionBudget (policy/v1). */
export interface PdbInfo {
  metadata: { name: string; namespace: string };
  spec?: { selector?: LabelSelector };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export interface DrainPlan {
  /** Pods to evict, in this order (lowest priority first: system-critical pods go last). */
  evict: PodInfo[];
  /** Pods left on the node, each with why (DaemonSet, mirror pod). */
  skipped: { pod: string; why: string }[];
  /** Pods already terminating: only waited for. */
  terminating: PodInfo[];
}

const podKey = (p: PodInfo) => `${p.metadata.namespace}/${p.metadata.name}`;

/** Which pods on the node to evict, in which order, and which stay (kubectl drain's filters). */
export function drainPlan(pods: PodInfo[], node: string): DrainPlan {
  const evict: PodInfo[] = [];
  const skipped: DrainPlan["skipped"] = [];
  const terminating: PodInfo[] = [];
  for (const p of pods) {
    if (p.spec?.nodeName !== undefined && p.spec.nodeName !== node) continue;
    const owner = (p.metadata.ownerReferences ?? []).find((o) => o.controller);
    if (p.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) skipped.push({ pod: podKey(p), why: "mirror pod (static pod of the node)" });
    else if (owner?.kind === "DaemonSet") skipped.push({ pod: podKey(p), why: `DaemonSet ${owner.name}` });
    else if (p.metadata.deletionTimestamp) terminating.push(p);
    else evict.push(p);
  }
  evict.sort((a, b) => (a.spec?.priority ?? 0) - (b.spec?.priority ?? 0) || (podKey(a) < podKey(b) ? -1 : podKey(a) > podKey(b) ? 1 : 0));
  return { evict, skipped, terminating };
}

/** The retry policy: kubectl drain's (5 s between evictions a budget refused), with a global timeout. */
export interface DrainPolicy {
  timeoutMs: number;
  retryDelayMs: number;
  /** How often a pod's deletion is checked after its eviction was accepted (kubectl: 1 s). */
  pollMs: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MINUTES = 15;
export function drainPolicy(timeoutMinutes = DEFAULT_DRAIN_TIMEOUT_MINUTES): DrainPolicy {
  return { timeoutMs: timeoutMinutes * 60_000, retryDelayMs: 5_000, pollMs: 1_000 };
}

/** What to do with an eviction's answer (HTTP status). */
export type EvictionOutcome = { kind: "accepted" } | { kind: "gone" } | { kind: "retry" } | { kind: "fail"; why: string };

export function evictionOutcome(status: number, body = ""): EvictionOutcome {
  if (status === 200 || status === 201) return { kind: "accepted" };
  if (status === 404) return { kind: "gone" };
  if (status === 429) return { kind: "retry" };
  return { kind: "fail", why: `HTTP ${status}${body ? `: ${messageOf(body)}` : ""}` };
}

function messageOf(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof m === "string") return m;
  } catch {
    /* not JSON */
  }
  return body.slice(0, 300);
}

/** Whether a label selector selects these labels (metav1.LabelSelectorAsSelector; an empty selector selects all). */
export function selects(sel: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!sel) return false; // a PDB without a selector selects nothing (policy/v1)
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values ?? [];
    if (e.operator === "In" && !(has && vals.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && vals.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** The budgets of the pod's namespace that select it. */
export function budgetsFor(pod: PodInfo, pdbs: PdbInfo[]): PdbInfo[] {
  return pdbs.filter((b) => b.metadata.namespace === pod.metadata.namespace && selects(b.spec?.selector, pod.metadata.labels));
}

/** The error a drain that ran out of time fails with: the node, each pod left, and what holds it. */
export function drainTimeoutMessage(node: string, timeoutMs: number, left: PodInfo[], pdbs: PdbInfo[]): string {
  const why = left.map((p) => {
    const held = budgetsFor(p, pdbs);
    const by = held.map((b) => `PodDisruptionBudget ${b.metadata.namespace}/${b.metadata.name} (disruptionsAllowed ${b.status?.disruptionsAllowed ?? "?"}, currentHealthy ${b.status?.currentHealthy ?? "?"}, desiredHealthy ${b.status?.desiredHealthy ?? "?"})`);
    return `${podKey(p)}${by.length ? ` is held by ${by.join(" and ")}` : " did not terminate"}`;
  });
  return (
    `draining node ${node} timed out after ${Math.round(timeoutMs / 1000)} s: ${why.join("; ")}. ` +
    `Its VM was not deleted. Let the budget allow a disruption (more replicas elsewhere, or a lower minAvailable), or raise vsphere-spark:lifecycle.drainTimeoutMinutes, then \`pulumi up\` again; ` +
    `or drain it by hand and list it in vsphere-spark:lifecycle.preparedNodes`
  );
}

// ---------------------------------------------------------------------------------------------
// etcd membership

/** A member as etcd's v3 JSON API lists it (POST /v3/cluster/member/list; IDs are uint64 as strings). */
export interface EtcdMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export type MemberRemoval =
  | { kind: "absent"; why: string }
  | { kind: "remove"; ids: string[]; why: string }
  | { kind: "refuse"; why: string };

/** Votes needed by a cluster of n voting members. */
export const quorum = (voters: number): number => Math.floor(voters / 2) + 1;

/**
 * Whether the leaving node's member may be removed now. `healthy` holds the IDs of members whose
 * /health said true. The leaving member is matched by kubeadm's peer URL (https://<address>:2380),
 * or by name (kubeadm names the member after the node) when its address is not known.
 */
export function decideMemberRemoval(members: EtcdMember[], healthy: ReadonlySet<string>, leaving: { name: string; peerUrl?: string }): MemberRemoval {
  const mine = members.filter((m) => (leaving.peerUrl !== undefined && (m.peerURLs ?? []).includes(leaving.peerUrl)) || m.name === leaving.name);
  if (mine.length === 0) return { kind: "absent", why: `${leaving.name} is not an etcd member (${members.length} members listed)` };
  const voters = members.filter((m) => !m.isLearner);
  const leavingVoters = mine.filter((m) => !m.isLearner);
  const ids = mine.map((m) => m.ID);
  if (leavingVoters.length === 0) return { kind: "remove", ids, why: `${leaving.name} is a learner: it does not count towards quorum` };
  const remaining = voters.filter((m) => !ids.includes(m.ID));
  if (remaining.length === 0) return { kind: "refuse", why: `${leaving.name} is the last voting etcd member: removing it would delete the cluster's data` };
  const healthyNow = voters.filter((m) => healthy.has(m.ID)).length;
  if (healthyNow < quorum(voters.length))
    return { kind: "refuse", why: `etcd has no quorum now: ${healthyNow} of ${voters.length} voting members healthy, ${quorum(voters.length)} needed` };
  const healthyAfter = remaining.filter((m) => healthy.has(m.ID)).length;
  if (healthyAfter < quorum(remaining.length))
    return {
      kind: "refuse",
      why: `removing ${leaving.name} would leave ${healthyAfter} healthy of ${remaining.length} voting members, ${quorum(remaining.length)} needed (unhealthy: ${remaining.filter((m) => !healthy.has(m.ID)).map((m) => m.name || m.ID).join(", ")})`,
    };
  return { kind: "remove", ids, why: `${remaining.length} voting members remain, ${healthyAfter} healthy, quorum ${quorum(remaining.length)}` };
}

export type LeadershipHandoff = { kind: "none"; why: string } | { kind: "move"; from: EtcdMember; to: EtcdMember; why: string };

/**
 * Whether leadership must move before the members `ids` are removed, and to whom: when the leader
 * (`leaderId`, from /v3/maintenance/status; "0" or absent when unknown) is one of them, to the first
 * healthy remaining voter in member-list order that `keeps` (the program's control planes of this
 * run), else to the first healthy remaining voter. `keeps` matters when one update retires several
 * control planes: their hooks run one at a time, and a member whose own removal is next must not be
 * handed the leadership (it would have to hand it over again). `healthy` as for decideMemberRemoval.
 */
export function decideLeadershipHandoff(
  members: EtcdMember[],
  healthy: ReadonlySet<string>,
  ids: readonly string[],
  leaderId: string | undefined,
  keeps: (m: EtcdMember) => boolean = () => true,
): LeadershipHandoff {
  const name = (m: EtcdMember) => m.name || m.ID;
  if (!leaderId || leaderId === "0") return { kind: "none", why: "no leader reported: nothing to hand over" };
  const leader = members.find((m) => m.ID === leaderId);
  if (!ids.includes(leaderId)) return { kind: "none", why: `the leader is ${leader ? name(leader) : leaderId}, which stays` };
  const candidates = members.filter((m) => !m.isLearner && healthy.has(m.ID) && !ids.includes(m.ID));
  const to = candidates.find(keeps) ?? candidates[0];
  if (!leader || !to) return { kind: "none", why: `the leaving member ${leader ? name(leader) : leaderId} leads and no healthy voter remains to take over` };
  return { kind: "move", from: leader, to, why: `${name(leader)} leads: leadership moves to ${name(to)} before it is removed` };
}

/** The member list after a removal is what it should be: the node's member gone. */
export function memberGone(members: EtcdMember[], leaving: { name: string; peerUrl?: string }): boolean {
  return !members.some((m) => (leaving.peerUrl !== undefined && (m.peerURLs ?? []).includes(leaving.peerUrl)) || m.name === leaving.name);
}

// ---------------------------------------------------------------------------------------------
// Which node a hook retires

export type RetireDecision = { kind: "retire"; role: "worker" | "control-plane"; address?: string } | { kind: "skip"; why: string };

/**
 * What the hook does for the VM of `node` being deleted. It retires only a node the program no
 * longer has (a scale-in): a node still in the program is being replaced, or the whole stack is
 * destroyed (`pulumi destroy --run-program` runs the program, which still lists every node), and
 * there is nowhere to drain to. A node listed in `vsphere-spark:lifecycle.preparedNodes` was
 * prepared by hand.
 */
export function retireDecision(
  node: string,
  role: "worker" | "control-plane",
  program: { nodes: ReadonlySet<string>; prepared: ReadonlySet<string>; previousAddresses: ReadonlyMap<string, string> },
): RetireDecision {
  if (program.nodes.has(node)) return { kind: "skip", why: `${node} is still in the program (a replacement, or \`pulumi destroy\`): not retired` };
  if (program.prepared.has(node)) return { kind: "skip", why: `${node} is listed in vsphere-spark:lifecycle.preparedNodes: prepared by hand` };
  const address = program.previousAddresses.get(node);
  return { kind: "retire", role, ...(address ? { address } : {}) };
}
