/**
 * The second cluster back end behind the seam (`DecidedCluster`, components/cluster/backend.ts):
 * vSphere with Tanzu. Pure decisions (worker pool, plan) bound to how the cluster is created
 * (`TanzuCluster`), so the stack and the Spark layer never ask which back end it is.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DecidedCluster } from "../cluster/backend";
import type { KubernetesSettings } from "../cluster/settings";
import type { TanzuContext, TanzuSettings } from "./types";
import { TANZU_ENDPOINT, planTanzu, tanzuWorkerPool } from "./plan";
import type { TanzuRolloutState } from "./rollout";
import { TanzuCluster, type TanzuClusterArgs } from "./cluster";

export interface TanzuBackendSpec {
  /** From `resolveTanzuSettings` (with the hosts as context, so capacity was checked). */
  readonly tanzu: TanzuSettings;
  readonly kubernetes: KubernetesSettings;
  /** The hosts the plan shows the VMs' totals against. */
  readonly context?: TanzuContext;
  /** The last applied rollout state, when the plan knows it (the release/replicas rule). */
  readonly previousState?: TanzuRolloutState;
  /** Secrets and connections `TanzuCluster` needs at `pulumi up` (password, kubeconfig, vCenter, previous). */
  readonly access?: Omit<TanzuClusterArgs, "tanzu" | "settings" | "kubernetes">;
}

export function tanzuOnSupervisor(spec: TanzuBackendSpec): DecidedCluster {
  const pool = tanzuWorkerPool(spec.tanzu, spec.kubernetes);
  return {
    backend: "tanzu",
    endpoint: { ...TANZU_ENDPOINT },
    workerPool: pool,
    plan: () => planTanzu(spec.tanzu, spec.kubernetes, { context: spec.context, previous: spec.previousState }),
    create: (name: string, opts?: pulumi.ComponentResourceOptions) =>
      new TanzuCluster(name, { ...spec.access, settings: spec.tanzu, kubernetes: spec.kubernetes }, opts),
  };
}
