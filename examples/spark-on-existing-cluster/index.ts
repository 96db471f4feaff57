/**
 * Applies the vsphere-spark Spark layer to a cluster that already exists, reached through a
 * kubeconfig. Nothing here creates VMs or Kubernetes: the layer takes a provider and the shape of
 * the worker nodes, so it runs on any conformant cluster.
 *
 * Config (see README.md):
 *   kubeconfig        secret   the cluster's kubeconfig (YAML text)
 *   apiEndpoint       string   host:port of the API server, for the rendered spark-submit commands
 *   workers           object   { count, vm: { cpus, memoryMiB }, allocatable: { cpu, memoryMiB }, daemonSetRequests: { cpu, memoryMiB } }
 *   spark             object   Spark settings (same shape as the stack key vsphere-spark:spark); optional
 *   registryPassword  secret   only with spark.registryCredentials
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SparkPlatform, WorkerShape, resolveSparkSettings } from "vsphere-spark";

const config = new pulumi.Config();

// Validate every Spark setting at once, with this program's config paths, before anything is
// registered. (SparkPlatform takes partial settings and resolves them itself; resolving here only
// makes its errors name `<project>:spark.…` instead of `settings.…`.)
const { settings, errors } = resolveSparkSettings(config.getObject<unknown>("spark"), `${pulumi.getProject()}:spark`);
if (errors.length > 0) {
  // A RunError prints its message alone, without a stack trace.
  throw new pulumi.RunError(`invalid configuration:\n${errors.map((e) => `  - ${e.path}: ${e.message}`).join("\n")}`);
}

const provider = new k8s.Provider("existing-cluster", {
  kubeconfig: config.requireSecret("kubeconfig"),
});

const spark = new SparkPlatform("spark", {
  provider,
  apiEndpoint: config.require("apiEndpoint"),
  workers: config.requireObject<WorkerShape>("workers"),
  settings,
  registryPassword: config.getSecret("registryPassword"),
});

export const namespace = spark.namespace;
export const serviceAccount = spark.serviceAccount;
export const sizing = spark.sizing;
export const sparkDefaults = spark.sparkDefaults;
export const submitCluster = spark.submitCluster;
export const submitClient = spark.submitClient;
export const sparkApplication = spark.sparkApplication;
