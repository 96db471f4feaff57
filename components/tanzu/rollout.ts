/**
 * The rule "never change the Kubernetes release and a node pool's replicas in the same update".
 *
 * Why: a ClusterClass upgrade rolls the control plane first, then each MachineDeployment; a replica
 * change in the same topology update makes the topology controller scale a MachineDeployment whose
 * template is being replaced, which is a known way to wedge the upgrade (machines stuck between the
 * old and the new release). Do one, apply, then the other.
 *
 * How it is used: the check needs the previous state, which a fresh plan does not have.
 * - `TanzuCluster` exports the state it applied as the stack output `tanzuRollout`
 *   (`rolloutState(settings)`); the program hands the last deployed value back as `args.previous`
 *   (`lastAppliedRollout()`: a StackReference to the stack itself). The component refuses to
 *   register the cluster when the check fails, so nothing is sent to the Supervisor.
 * - The offline plan calls `planTanzu(settings, kubernetes, previous)` with a previous state (for
 *   example the JSON the last `pulumi stack output tanzuRollout --json` printed) and shows the error.
 */
import * as pulumi from "@pulumi/pulumi";
import { selfStackReference } from "../self-reference";
import type { FieldError } from "../validation";
import type { TanzuSettings } from "./types";

/** What the rule compares between two updates (plain JSON, stored as a stack output). */
export interface TanzuRolloutState {
  release: string;
  controlPlaneReplicas: number;
  /** Node pool name → replicas. */
  pools: Record<string, number>;
  /** The vSphere Namespace and the content libraries it links (for the KB 311962 warning, plan.ts); absent in states written before. */
  namespace?: string;
  contentLibraries?: string[];
}

export function rolloutState(settings: TanzuSettings): TanzuRolloutState {
  return {
    release: settings.cluster.release,
    controlPlaneReplicas: settings.cluster.controlPlane.replicas,
    pools: Object.fromEntries(settings.cluster.nodePools.map((p) => [p.name, p.replicas])),
    namespace: settings.namespace.name,
    contentLibraries: [...settings.namespace.contentLibraries],
  };
}

/** A previous state read back from a stack output; `undefined` when absent or not one. */
export function parseRolloutState(v: unknown): TanzuRolloutState | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.release !== "string" || typeof o.controlPlaneReplicas !== "number") return undefined;
  if (typeof o.pools !== "object" || o.pools === null || Array.isArray(o.pools)) return undefined;
  const pools: Record<string, number> = {};
  for (const [k, n] of Object.entries(o.pools as Record<string, unknown>)) {
    if (typeof n !== "number") return undefined;
    pools[k] = n;
  }
  const state: TanzuRolloutState = { release: o.release, controlPlaneReplicas: o.controlPlaneReplicas, pools };
  if (typeof o.namespace === "string") state.namespace = o.namespace;
  if (Array.isArray(o.contentLibraries) && o.contentLibraries.every((l) => typeof l === "string")) state.contentLibraries = [...(o.contentLibraries as string[])];
  return state;
}

/**
 * Errors when `next` changes the release and any replica count (control plane, a pool's, or adds or
 * removes a pool) compared with `previous`. No previous state (first deployment): nothing to check.
 */
/** `major.minor.patch` of a release name (`v1.31.4---vmware.1-fips-vkr.3` → [1, 31, 4]). */
function releaseVersion(release: string): [number, number, number] | undefined {
  const m = /^v(\d+)\.(\d+)\.(\d+)---/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Cluster API's own rule for a topology version change, checked offline: the version may not go
 * down, nor up by two minors or more (cluster-api `internal/webhooks/cluster.go` v1.10.10,
 * `validateTopologyVersion`: "version cannot be decreased", "A +2 minor version upgrade is not
 * allowed"). Build metadata (the `---vmware…` part) only orders releases of one Kubernetes version,
 * which this check leaves to the Supervisor.
 */
export function checkReleaseStep(previous: string, next: string, path = "vsphere-spark:tanzu"): FieldError[] {
  const a = releaseVersion(previous);
  const b = releaseVersion(next);
  if (!a || !b || previous === next) return [];
  const cmp = a[0] !== b[0] ? b[0] - a[0] : a[1] !== b[1] ? b[1] - a[1] : b[2] - a[2];
  const at = `${path}.cluster.release`;
  if (cmp < 0) return [{ path: at, message: `${next} is older than the running ${previous}: Cluster API refuses a version decrease` }];
  if (b[0] === a[0] && b[1] >= a[1] + 2)
    return [{ path: at, message: `${previous} → ${next} skips ${b[1] - a[1] - 1} minor version(s): Cluster API upgrades one minor at a time (first a v1.${a[1] + 1} release)` }];
  return [];
}

export function checkRollout(previous: TanzuRolloutState | undefined, next: TanzuRolloutState, path = "vsphere-spark:tanzu"): FieldError[] {
  if (!previous || previous.release === next.release) return [];
  const step = checkReleaseStep(previous.release, next.release, path);
  if (step.length > 0) return step;
  const changes: string[] = [];
  if (previous.controlPlaneReplicas !== next.controlPlaneReplicas) changes.push(`control plane ${previous.controlPlaneReplicas} → ${next.controlPlaneReplicas}`);
  for (const name of new Set([...Object.keys(previous.pools), ...Object.keys(next.pools)])) {
    const a = previous.pools[name];
    const b = next.pools[name];
    if (a === b) continue;
    changes.push(a === undefined ? `pool ${name} added (${b})` : b === undefined ? `pool ${name} removed (was ${a})` : `pool ${name} ${a} → ${b}`);
  }
  if (changes.length === 0) return [];
  return [
    {
      path: `${path}.cluster.release`,
      message:
        `changes the release (${previous.release} → ${next.release}) and replicas (${changes.join(", ")}) in one update, ` +
        `a known way to wedge a ClusterClass upgrade: apply the replica change first with the old release, then the release`,
    },
  ];
}

/** The stack output that carries the applied rollout state. */
export const ROLLOUT_OUTPUT = "tanzuRollout";

/**
 * The rollout state the last `pulumi up` of this very stack exported (`undefined` before the first
 * one), read through a StackReference to the stack itself: pass it as `TanzuCluster`'s `previous`.
 */
export function lastAppliedRollout(opts?: pulumi.CustomResourceOptions): pulumi.Output<unknown> {
  const self = selfStackReference(opts);
  return self.getOutput(ROLLOUT_OUTPUT);
}
