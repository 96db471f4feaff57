/** The vSphere with Tanzu back end: settings, pure renderers and plan, and the TanzuCluster component. */
export * from "./settings";
export * from "./vm-classes";
export * from "./gpu";
export * from "./render";
export * from "./capacity";
export * from "./rollout";
export * from "./node-pools-ready";
export * from "./plan";
export * from "./supervisor";
export * from "./vcenter-namespace";
export * from "./cluster";
export * from "./backend";
export * from "./release-check";
export * from "./release-read";
