/**
 * The stack program: reads and validates the whole configuration, then builds the layers.
 * `src/main.ts` runs it under `pulumi up`; the offline plan runs the very same function under the
 * SDK's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "../components/artifacts";
import { formatFieldErrors } from "../components/validation";
import { VsphereTopology } from "../components/vsphere/topology";
import { LayerCheck, StackConfig, parseStackConfig } from "./config/stack-config";

/** Validation contributed by the layers above the VMs. */
export const layerChecks: LayerCheck[] = [];

/** Reads the flat Pulumi configuration of the running stack and validates it all at once. */
export function loadStackConfig(): StackConfig {
  const flat = pulumi.runtime.allConfig();
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  const secretKeys = Object.keys(flat).filter((k) => isSecret?.(k) ?? false);
  const { config, errors } = parseStackConfig(flat, secretKeys, layerChecks);
  if (!config) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    throw new pulumi.RunError(`invalid stack configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n${formatFieldErrors(errors)}`);
  }
  return config;
}

export async function deployStack(): Promise<Record<string, unknown>> {
  const config = loadStackConfig();
  const topology = new VsphereTopology(config.clusterName, {
    clusterName: config.clusterName,
    inventory: config.inventory,
    hosts: config.topology.hosts.map((h) => ({ id: h.id, name: h.name })),
    slots: config.slots,
    addresses: config.addresses,
    drs: config.drs,
  });
  return {
    vms: topology.vms,
    apiEndpoint: `${config.endpointAddress}:${config.endpoint.port}`,
  };
}

/** Every review artifact the layers render for this configuration (what `plan --out` writes). */
export function stackArtifacts(_config: StackConfig): Artifact[] {
  return [];
}

/** Plan sections contributed by the layers (e.g. `spark`): JSON under their key, and text. */
export function stackSections(_config: StackConfig): { json: Record<string, unknown>; text: string[] } {
  return { json: {}, text: [] };
}
