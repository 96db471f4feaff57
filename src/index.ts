/**
 * vsphere-spark: Apache Spark on Kubernetes on VMware vSphere, as Pulumi components and the pure
 * functions that decide them. Each layer is usable alone:
 *  - vSphere: `resolveVsphereSettings`, `planSlots`, `assignAddresses`, `VsphereTopology`;
 *  - cluster: `resolveKubernetesSettings`, `workerPool`, `KubeadmBootstrap`, `KubeadmClusterAccess`,
 *    `checkClusterChange` and `lastAppliedClusterState` (the change rules for a running cluster);
 *  - Spark (on any cluster): `resolveSparkSettings`, `planSpark`, `sizeExecutors`, `SparkPlatform`;
 *  - vSphere with Tanzu: `resolveTanzuSettings`, `planTanzu`, `TanzuCluster`, `tanzuOnSupervisor`;
 *  - the whole environment: a decided back end (`kubeadmOnVsphere`, `tanzuOnSupervisor`) and `VsphereSpark`;
 *  - the stack configuration: `decideStack` (validation of a whole `Pulumi.<stack>.yaml`), `deployStack`.
 * The offline plan and the strict mock runtime are in `vsphere-spark/testing`.
 */
export * from "../components/validation";
export * from "../components/artifacts";
export * from "../components/quantity";
export * from "../components/control-plane";
export * from "../components/vsphere";
export * from "../components/cluster";
export * from "../components/spark";
export * from "../components/stack";
export * from "../components/tanzu";
export { PROJECT, PROJECT_KEYS, VSPHERE_PROVIDER_KEYS, splitStackConfig } from "./config/stack-config";
export type { StackValues } from "./config/stack-config";
export { decideStack, decideFromValues } from "./config/decisions";
export type { StackDecisions } from "./config/decisions";
export { checkInfrastructure, deployStack, loadStackDecisions, stackArtifacts } from "./stack";
