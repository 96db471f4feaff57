/** Admin kubeconfig from the cluster CA and a client certificate (pure). */
import { stringify } from "yaml";
import type { EndpointSpec } from "./types";

export interface KubeconfigInput {
  clusterName: string;
  endpoint: EndpointSpec;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  userName?: string;
}

export function apiServerUrl(endpoint: EndpointSpec): string {
  return `https://${endpoint.address}:${endpoint.port}`;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export function renderKubeconfig(input: KubeconfigInput): string {
  const user = input.userName ?? `${input.clusterName}-admin`;
  const context = `${user}@${input.clusterName}`;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: input.clusterName, cluster: { server: apiServerUrl(input.endpoint), "certificate-authority-data": b64(input.caPem) } },
      ],
      users: [{ name: user, user: { "client-certificate-data": b64(input.clientCertPem), "client-key-data": b64(input.clientKeyPem) } }],
      contexts: [{ name: context, context: { cluster: input.clusterName, user } }],
      "current-context": context,
      preferences: {},
    },
    { lineWidth: 0 },
  );
}
