/**
 * The stack program: read and decide the configuration (every problem at once, before anything is
 * registered), then create the whole environment as one component. `src/main.ts` runs it under
 * `pulumi up`; the offline plan runs the very same function under the SDK's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Artifact } from "../components/artifacts";
import type { BackendPlan } from "../components/cluster/backend";
import { sparkArtifacts, sparkPlanSection } from "../components/spark";
import { VsphereSpark } from "../components/stack/vsphere-spark";
import { formatFieldErrors } from "../components/validation";
import { lastAppliedRollout } from "../components/tanzu/rollout";
import { lastAppliedClusterState } from "../components/cluster/lifecycle";
import { StackDecisions, StackRuntime, decideStack } from "./config/decisions";
import { PROJECT } from "./config/stack-config";
import { renderSparkSection } from "./plan/spark-section";

export interface DeployOptions {
  /** The offline plan: no Supervisor login and no reference to the stack's own outputs. */
  offline?: boolean;
  /** Offline: the last applied cluster state to check against (`plan --previous`); online it is read from the stack. */
  previousCluster?: unknown;
}

/**
 * The change rules of the cluster back end against the last applied state, before anything is
 * registered: refusals stop the program (a RunError naming each key and its steps), notes are warnings.
 */
export async function checkRunningClusterChange(d: StackDecisions, opts: DeployOptions): Promise<{ previous?: unknown; now?: Date }> {
  const lifecycle = d.cluster.lifecycle;
  if (!lifecycle) return {};
  const previous = opts.offline ? opts.previousCluster : await lastAppliedClusterState();
  const now = opts.offline ? undefined : new Date();
  const c = lifecycle.check(previous, now);
  if (c.refusals.length > 0) {
    throw new pulumi.RunError(`refused change to a running cluster (${c.refusals.length} change${c.refusals.length === 1 ? "" : "s"}); nothing was changed:\n${formatFieldErrors(c.refusals)}`);
  }
  for (const n of c.notes) pulumi.log.warn(n);
  return { previous, now };
}

/**
 * The live infrastructure against what the stack names (the back end's `checkInfrastructure`: for
 * kubeadm on vSphere, every datacenter, compute cluster, datastore, network, host and the template),
 * before anything is registered: every problem at once, each naming its key.
 */
export async function checkInfrastructure(d: StackDecisions): Promise<void> {
  const problems = (await d.cluster.checkInfrastructure?.()) ?? [];
  if (problems.length > 0) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    throw new pulumi.RunError(`vCenter does not hold what the stack names (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n${formatFieldErrors(problems)}`);
  }
}

/** What only a running program has: secrets from the stack's configuration, its own last outputs. */
function stackRuntime(opts: DeployOptions): StackRuntime {
  return {
    offline: opts.offline ?? false,
    secret: (key) => {
      const [namespace, name] = key.split(":");
      const value = new pulumi.Config(namespace).getSecret(name);
      // The offline plan cannot decrypt secrets and never uses them: a placeholder stands in.
      return value ?? (opts.offline ? pulumi.secret("[secret]") : undefined);
    },
    previousTanzuRollout: () => lastAppliedRollout(),
  };
}

/** Reads the running stack's configuration and decides everything, or fails with every problem. */
export function loadStackDecisions(opts: DeployOptions = {}): StackDecisions {
  const flat = pulumi.runtime.allConfig();
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  const secretKeys = Object.keys(flat).filter((k) => isSecret?.(k) ?? false);
  const { decisions, errors } = decideStack(flat, secretKeys, stackRuntime(opts));
  if (!decisions) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    throw new pulumi.RunError(`invalid stack configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n${formatFieldErrors(errors)}`);
  }
  return decisions;
}

export async function deployStack(opts: DeployOptions = {}): Promise<Record<string, unknown>> {
  const d = loadStackDecisions(opts);
  if (!opts.offline) await checkInfrastructure(d);
  const clusterContext = await checkRunningClusterChange(d, opts);
  const registryPassword = d.registryPasswordSet ? new pulumi.Config(PROJECT).requireSecret("registryPassword") : undefined;
  const stack = new VsphereSpark(d.name, { cluster: d.cluster, spark: d.spark, registryPassword, clusterContext });
  return stack.outputs;
}

/**
 * Every review artifact the layers render for this configuration (what `plan --out` writes).
 * `backend` is `d.cluster.plan()`: a caller that already has it passes it in, since the kubeadm back
 * end renders every node's cloud-init and kubeadm files for it (most of the plan's own work at 200 hosts).
 */
export function stackArtifacts(d: StackDecisions, backend: BackendPlan = d.cluster.plan()): Artifact[] {
  return [...backend.artifacts, ...sparkArtifacts(d.spark, d.cluster.workerPool, d.apiEndpoint)];
}

/** Plan sections contributed by the layers: JSON under their key, and text. `backend` as for `stackArtifacts`. */
export function stackSections(d: StackDecisions, backend: BackendPlan = d.cluster.plan()): { json: Record<string, unknown>; text: string[] } {
  const spark = sparkPlanSection(d.spark, d.cluster.workerPool);
  const text = backend.text.length > 0 ? [backend.text.join("\n")] : [];
  return { json: { backend: backend.backend, ...backend.sections, spark }, text: [...text, renderSparkSection(spark, d.cluster.workerPool)] };
}
