/**
 * The whole environment as one component: a cluster from any back end (kubeadm on vSphere VMs, or
 * vSphere with Tanzu), then Spark on it through the back end seam only. A library user gets the
 * whole stack with one `new VsphereSpark(...)`, or takes any layer alone.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterHandle, CreateContext, DecidedCluster } from "../cluster/backend";
import { SparkPlatform } from "../spark/platform";
import type { SparkSettingsInput } from "../spark/settings";

export interface VsphereSparkArgs {
  /** The decided cluster (`kubeadmOnVsphere(...)` or the Tanzu back end's). */
  readonly cluster: DecidedCluster;
  /** The Spark layer's settings: any subset (the rest are defaults), resolved by SparkPlatform. */
  readonly spark?: SparkSettingsInput;
  /** Password of `spark.registryCredentials`, when set. */
  readonly registryPassword?: pulumi.Input<string>;
  /** What only a running program knows (the last applied lifecycle state, now), for the cluster back end. */
  readonly clusterContext?: CreateContext;
}

export class VsphereSpark extends pulumi.ComponentResource {
  readonly cluster: ClusterHandle;
  readonly spark: SparkPlatform;
  /** The stack outputs: the back end's, then the Spark layer's. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;

  constructor(name: string, args: VsphereSparkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("vsphere-spark:stack:VsphereSpark", name, {}, opts);
    const out = createVsphereSpark(this, name, args);
    this.cluster = out.cluster;
    this.spark = out.spark;
    this.outputs = out.outputs;
    this.registerOutputs(this.outputs);
  }
}

export function createVsphereSpark(parent: pulumi.Resource, name: string, args: VsphereSparkArgs) {
  const cluster = args.cluster.create(name, { parent }, args.clusterContext);
  const spark = new SparkPlatform(
    name,
    {
      provider: cluster.provider,
      apiEndpoint: cluster.apiEndpoint,
      workers: cluster.workerPool,
      settings: args.spark,
      registryPassword: args.registryPassword,
    },
    { parent, dependsOn: cluster.readyFor },
  );
  const outputs: Record<string, pulumi.Input<unknown>> = {
    ...cluster.outputs,
    sparkNamespace: spark.namespace,
    sparkDefaults: spark.sparkDefaults,
    sparkSubmitCluster: spark.submitCluster,
    sparkSubmitClient: spark.submitClient,
    sparkSizing: spark.sizing,
  };
  return { cluster, spark, outputs };
}
