/**
 * `vsphere-spark/testing`: the offline plan and the strict recording mock runtime it runs on, for
 * tests of your own programs. Not part of what a Pulumi program needs at run time.
 */
export { runUnderMocks, redactSecrets, unwrapSecrets, isSecretMarker } from "./plan/mock-runtime";
export type { RecordedResource, RecordedInvoke, MockRunResult, MockRuntimeOptions } from "./plan/mock-runtime";
export { plan } from "./plan/plan";
export type { Plan, PlanResult, PlanOptions } from "./plan/plan";
export { simulatedInventory } from "./plan/simulated-inventory";
