/**
 * A running node whose VM the vSphere provider powers off and on (a vCPU or memory resize without
 * hot-add, a passthrough GPU change: the provider's `reboot_required`, components/vsphere/reboot.ts),
 * decided (docs/lifecycle.md, "Resizing a running node"). Pure; the resource hooks that run it are
 * components/cluster/power-cycle-hooks.ts; tables: test/cluster/power-cycle.test.ts; the real-systems
 * lab runs them through the real engine (test/lab/node-retirement.lab.ts, part (e)).
 *
 * The rolling order, as Cluster API's MachineDeployment and KubeadmControlPlane roll machines, but in
 * place: one node at a time over the whole update (control planes and workers alike), each drained
 * (kubectl drain's rules, components/cluster/retire.ts) before its VM goes down, and back (Ready with
 * a new boot ID; a control plane also serving `/readyz` and every etcd member healthy) and uncordoned
 * before the next one starts. A control plane goes down only while the other voting members are a
 * quorum of all of them (it stays a member while it is down), and never as the etcd leader.
 */
import { EtcdMember, quorum } from "./retire";

export type PowerCycleDecision =
  | { kind: "skip"; why: string }
  | { kind: "roll"; node: string; role: "worker" | "control-plane"; reasons: string[]; address?: string };

/**
 * What the hook does for the update of `node`'s VM. `reasons` are why the vSphere provider powers
 * the VM off and on (empty: it does not, the update is in place and the node keeps running). A node
 * in `vsphere-spark:lifecycle.preparedNodes` was resized by hand. A node the program does not list
 * (no node of this cluster) is left alone.
 */
export function powerCycleDecision(
  node: string,
  reasons: string[],
  program: { nodes: ReadonlySet<string>; controlPlanes: ReadonlyMap<string, string>; prepared: ReadonlySet<string> },
): PowerCycleDecision {
  if (reasons.length === 0) return { kind: "skip", why: `${node} is updated in place (nothing that powers it off)` };
  if (!program.nodes.has(node)) return { kind: "skip", why: `${node} is not a node of this cluster` };
  if (program.prepared.has(node)) return { kind: "skip", why: `${node} is listed in vsphere-spark:lifecycle.preparedNodes: resized by hand` };
  const address = program.controlPlanes.get(node);
  return address !== undefined ? { kind: "roll", node, role: "control-plane", reasons, address } : { kind: "roll", node, role: "worker", reasons };
}

export type PowerCycleQuorum = { kind: "go"; why: string; ids: string[] } | { kind: "refuse"; why: string };

/**
 * May the control plane `node` (its etcd member) be powered off now? It stays a member while it is
 * down, so the other voting members that are healthy must be a quorum of all voting members; etcd
 * must have its quorum now. A learner (still joining) does not vote: its node may go. A node without
 * a member has nothing to keep.
 */
export function decidePowerCycleQuorum(members: EtcdMember[], healthy: ReadonlySet<string>, node: { name: string; peerUrl?: string }): PowerCycleQuorum {
  const mine = members.filter((m) => (node.peerUrl !== undefined && (m.peerURLs ?? []).includes(node.peerUrl)) || m.name === node.name);
  const ids = mine.map((m) => m.ID);
  if (mine.length === 0) return { kind: "go", ids, why: `${node.name} is not an etcd member (${members.length} listed)` };
  if (mine.every((m) => m.isLearner)) return { kind: "go", ids, why: `${node.name} is a learner: it does not count towards quorum` };
  const voters = members.filter((m) => !m.isLearner);
  const need = quorum(voters.length);
  const healthyNow = voters.filter((m) => healthy.has(m.ID)).length;
  if (healthyNow < need) return { kind: "refuse", why: `etcd has no quorum now: ${healthyNow} of ${voters.length} voting members healthy, ${need} needed` };
  const others = voters.filter((m) => !ids.includes(m.ID));
  const othersHealthy = others.filter((m) => healthy.has(m.ID)).length;
  if (othersHealthy < need)
    return {
      kind: "refuse",
      why:
        `powering ${node.name} off would leave ${othersHealthy} healthy of ${voters.length} voting members, ${need} needed` +
        (others.length > othersHealthy ? ` (unhealthy: ${others.filter((m) => !healthy.has(m.ID)).map((m) => m.name || m.ID).join(", ")})` : ""),
    };
  return { kind: "go", ids, why: `${othersHealthy} of the other ${others.length} voting members healthy, quorum ${need} of ${voters.length}` };
}

/** What the hook reads of a Node (a subset of core/v1 Node). */
export interface NodeStatus {
  spec?: { unschedulable?: boolean };
  status?: { nodeInfo?: { bootID?: string }; conditions?: { type: string; status: string }[] };
}

export const bootIdOf = (n: NodeStatus | undefined): string | undefined => n?.status?.nodeInfo?.bootID || undefined;

/**
 * Is the node back from its power cycle? Its kubelet reports a new boot ID
 * (`status.nodeInfo.bootID`, /proc/sys/kernel/random/boot_id) and Ready: a Node that still says
 * Ready with the old boot ID has not gone down yet, or its status is stale (the node lifecycle
 * controller marks it Unknown only after its grace period, 40 s by default). Without a boot ID from
 * before (none reported), Ready alone.
 */
export function nodeBack(bootIdBefore: string | undefined, now: NodeStatus | undefined): { back: boolean; why: string } {
  if (!now) return { back: false, why: "no Node object" };
  const ready = (now.status?.conditions ?? []).find((c) => c.type === "Ready")?.status === "True";
  const boot = bootIdOf(now);
  if (bootIdBefore !== undefined && boot === bootIdBefore) return { back: false, why: `boot ID still ${bootIdBefore} (not rebooted yet)` };
  if (!ready) return { back: false, why: `not Ready (boot ID ${boot ?? "none"})` };
  return { back: true, why: bootIdBefore !== undefined ? `Ready, boot ID ${bootIdBefore} → ${boot}` : "Ready" };
}

/** The failure when a node does not come back in time; it stays cordoned. */
export function notBackMessage(node: string, timeoutMs: number, last: string): string {
  return (
    `${node} was powered off and on by the vSphere provider and did not come back within ${Math.round(timeoutMs / 60_000)} min (${last}); it stays cordoned and no further node was touched. ` +
    "Look at its console in vCenter; once it is Ready: `kubectl uncordon " + node + "`, then `pulumi up` again to roll the rest " +
    "(or raise vsphere-spark:lifecycle.rebootTimeoutMinutes)"
  );
}

export const DEFAULT_REBOOT_TIMEOUT_MINUTES = 15;
