/**
 * The stack program: validates the whole configuration, then builds the three layers:
 * the VMs on vSphere, Kubernetes on them, Spark on Kubernetes. `src/main.ts` runs it under
 * `pulumi up`; the offline plan runs the very same function under the SDK's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "../components/artifacts";
import { KubeadmBootstrap, KubeadmClusterAccess, clusterArtifacts } from "../components/cluster";
import { SparkPlatform, sparkArtifacts, sparkPlanSection } from "../components/spark";
import { formatFieldErrors } from "../components/validation";
import { VsphereTopology } from "../components/vsphere/topology";
import { StackDecisions, decideStack } from "./config/decisions";
import { PROJECT } from "./config/stack-config";
import { renderSparkSection } from "./plan/spark-section";


/** Reads the running stack's configuration and decides everything, or fails with every problem. */
export function loadStackDecisions(): StackDecisions {
  const flat = pulumi.runtime.allConfig();
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  const secretKeys = Object.keys(flat).filter((k) => isSecret?.(k) ?? false);
  const { decisions, errors } = decideStack(flat, secretKeys);
  if (!decisions) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    throw new pulumi.RunError(`invalid stack configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n${formatFieldErrors(errors)}`);
  }
  return decisions;
}

export async function deployStack(): Promise<Record<string, unknown>> {
  const d = loadStackDecisions();
  const { config } = d;

  // Layer 2, first half: PKI, bootstrap token and each VM's cloud-init (needed to create the VMs).
  const bootstrap = new KubeadmBootstrap(config.clusterName, d.cluster);

  // Layer 1: the VMs, each receiving its cloud-init through guestinfo.
  const topology = new VsphereTopology(config.clusterName, {
    clusterName: config.clusterName,
    inventory: config.inventory,
    hosts: config.topology.hosts.map((h) => ({ id: h.id, name: h.name })),
    slots: config.slots,
    addresses: config.addresses,
    guestinfo: bootstrap.guestinfo,
    drs: config.drs,
  });

  // Layer 2, second half: wait for the API through the endpoint, then kubeconfig, provider, CNI.
  const access = new KubeadmClusterAccess(config.clusterName, {
    bootstrap,
    dependsOn: Object.values(topology.machines),
  });

  // Layer 3: Spark on the cluster, through the provider only.
  const registryPassword = d.registryPasswordSet ? new pulumi.Config(PROJECT).requireSecret("registryPassword") : undefined;
  const spark = new SparkPlatform(
    "spark",
    { provider: access.provider, apiEndpoint: d.apiEndpoint, workers: d.workers, settings: d.spark, registryPassword },
    { dependsOn: [access.cni] },
  );

  return {
    vms: topology.vms,
    apiEndpoint: d.apiEndpoint,
    kubeconfig: access.kubeconfig,
    caCertHash: bootstrap.caCertHash,
    bootstrapToken: bootstrap.token,
    nodeAllocatable: access.nodeAllocatable,
    sparkNamespace: spark.namespace,
    sparkDefaults: spark.sparkDefaults,
    sparkSubmitCluster: spark.submitCluster,
    sparkSubmitClient: spark.submitClient,
    sparkSizing: spark.sizing,
  };
}

/** Every review artifact the layers render for this configuration (what `plan --out` writes). */
export function stackArtifacts(d: StackDecisions): Artifact[] {
  return [...clusterArtifacts(d.cluster), ...sparkArtifacts(d.spark, d.workers, d.apiEndpoint)];
}

/** Plan sections contributed by the layers: JSON under their key, and text. */
export function stackSections(d: StackDecisions): { json: Record<string, unknown>; text: string[] } {
  const spark = sparkPlanSection(d.spark, d.workers);
  return { json: { spark }, text: [renderSparkSection(spark, d.workers)] };
}
