/**
 * vsphere-spark: Apache Spark on Kubernetes on VMware vSphere, as Pulumi components.
 *
 * Layers, each usable on its own:
 *  - vSphere: `planSlots`, `assignAddresses`, `VsphereTopology`, and `vsphere` (typed pulumi-vsphere 4.17.0 binding);
 *  - stack configuration: `parseStackConfig` (validation of a whole `Pulumi.<stack>.yaml`), `deployStack`;
 *  - testing: `runUnderMocks` (the strict recording mock runtime the offline plan uses).
 */
export * from "../components/validation";
export * from "../components/artifacts";
export * from "../components/quantity";
export * from "../components/vsphere";
export * from "../components/spark";
export * from "../components/cluster";
export { parseStackConfig, PROJECT, PROJECT_KEYS, VSPHERE_PROVIDER_KEYS } from "./config/stack-config";
export type { StackConfig, Inventory, EndpointConfig, NetworkConfig, LayerCheck } from "./config/stack-config";
export { deployStack, loadStackDecisions, stackArtifacts } from "./stack";
export { decideStack, layerChecks } from "./config/decisions";
export type { StackDecisions } from "./config/decisions";
export { runUnderMocks, redactSecrets, unwrapSecrets, isSecretMarker } from "./plan/mock-runtime";
export type { RecordedResource, RecordedInvoke, MockRunResult, MockRuntimeOptions } from "./plan/mock-runtime";
export { plan } from "./plan/plan";
export { simulatedInventory } from "./plan/simulated-inventory";
