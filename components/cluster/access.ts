/**
 * KubeadmClusterAccess: waits for the API through the endpoint, installs the CNI through the
 * cluster's provider, then waits until every control plane and worker is a Ready node; hands out
 * the admin kubeconfig (resolving only after that gate), the provider and the CNI release.
 * A thin shell: `createClusterAccess` makes the children; readiness.ts, kubeconfig.ts and cni.ts decide.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { KubeadmBootstrap } from "./bootstrap";
import { keptNodeWarnings, readNodeReadiness, waitForNodesReady, waitForReadyz } from "./readiness";
import { apiServerUrl, renderKubeconfig } from "./kubeconfig";
import { cniRelease } from "./cni";
import { DEVICE_PLUGIN_CHART, devicePluginValues } from "./gpu";
import { bootstrapTokenSecret } from "./pki";
import { ValidationError } from "../validation";
import { DATA_MUTABLE } from "./backend";

export interface KubeadmClusterAccessArgs {
  readonly bootstrap: KubeadmBootstrap;
  /** The VMs: the readiness gate starts once they exist. */
  readonly dependsOn: pulumi.Resource[];
  /** Default: the settings' readinessTimeoutMinutes. */
  readonly readinessTimeoutMinutes?: number;
  /**
   * Which nodes the gate waits for (`readinessTargets` in lifecycle.ts): creating a cluster, all of
   * them; updating one, the added ones, and the kept ones are only reported when NotReady.
   * Default: wait for every control plane and worker.
   */
  readonly readiness?: { waitFor: string[]; reportOnly: string[] };
}

const READYZ_INTERVAL_MS = 10_000;
const NODES_INTERVAL_MS = 15_000;

export interface ClusterAccessChildren {
  ready: pulumi.Output<string>;
  nodesReady: pulumi.Output<string[]>;
  kubeconfig: pulumi.Output<string>;
  provider: k8s.Provider;
  cni: k8s.helm.v3.Release;
  joinToken: k8s.core.v1.Secret;
  /** The NVIDIA device plugin (only when some node has GPUs; components/cluster/gpu.ts). */
  devicePlugin?: k8s.helm.v3.Release;
}

/** The timeout in minutes, or a ValidationError naming the argument. */
export function accessTimeoutMinutes(name: string, args: KubeadmClusterAccessArgs): number {
  const minutes = args.readinessTimeoutMinutes ?? args.bootstrap.settings.readinessTimeoutMinutes;
  if (!(typeof minutes === "number" && minutes > 0 && Number.isFinite(minutes)))
    throw new ValidationError([{ path: "args.readinessTimeoutMinutes", message: `must be a positive number, got ${String(minutes)}` }], `KubeadmClusterAccess ${name}: invalid arguments`);
  return minutes;
}

/**
 * The Kubernetes provider's clusterIdentifier: the cluster name and the kubeadm CA pin
 * (`sha256:<hex>` of the CA certificate, not a secret). It changes exactly when the cluster CA is
 * replaced, i.e. when the cluster is a new one.
 */
export function clusterIdentifier(clusterName: string, caCertHash: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.interpolate`kubeadm/${clusterName}/${caCertHash}`;
}

/** Creates the provider and the CNI under `parent`, and the two readiness gates (children named `<name>-…`). */
export function createClusterAccess(parent: pulumi.Resource, name: string, args: KubeadmClusterAccessArgs, minutes: number): ClusterAccessChildren {
  const b = args.bootstrap;
  const url = apiServerUrl(b.endpoint);
  const timeoutMs = minutes * 60_000;

  const created = pulumi.all(args.dependsOn.map((r) => (pulumi.CustomResource.isInstance(r) ? r.id : r.urn)));
  const ready = pulumi.all([created, b.caCertPem]).apply(async ([, caPem]) => {
    if (!pulumi.runtime.isDryRun()) await waitForReadyz({ url: `${url}/readyz`, caPem, timeoutMs, intervalMs: READYZ_INTERVAL_MS });
    return url;
  });
  const credentials = pulumi.all([b.caCertPem, b.adminCertPem, b.adminKeyPem]);
  const render = ([caPem, certPem, keyPem]: [string, string, string]) =>
    renderKubeconfig({ clusterName: b.clusterName, endpoint: b.endpoint, caPem, clientCertPem: certPem, clientKeyPem: keyPem });

  // The provider needs the API only (the CNI it installs is what makes nodes Ready).
  const apiKubeconfig = pulumi.secret(pulumi.all([ready, credentials]).apply(([, c]) => render(c)));
  // A stable clusterIdentifier: the cluster is its CA. pulumi-kubernetes' DiffConfig
  // (provider/pkg/provider/provider.go @ 94977969) replaces the provider, and with it every
  // Kubernetes resource it manages (the engine's providerChanged), whenever the kubeconfig's active
  // cluster changes (server or CA) or the kubeconfig is unknown in a preview; an unchanged identifier
  // drops those replacements, a changed one forces one. Without it, moving the API endpoint (a new
  // load-balancer address) or adding a VM (the kubeconfig waits for every VM: unknown in a preview)
  // would delete and re-create the Spark namespace and everything in it, on the same cluster. With
  // it, only a new CA (a new cluster) replaces them. See clusterIdentifier().
  // Secrets and ConfigMaps are updated in place (DATA_MUTABLE): the workers' join-token Secret changes
  // its expiration on every update, and would otherwise be deleted and re-created every time.
  const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: apiKubeconfig, clusterIdentifier: clusterIdentifier(b.clusterName, b.caCertHash), ...DATA_MUTABLE }, { parent });

  const c = cniRelease(b.settings);
  const cni = new k8s.helm.v3.Release(
    `${name}-cni`,
    {
      name: c.name,
      chart: c.chart,
      version: c.version,
      namespace: c.namespace,
      createNamespace: c.createNamespace,
      repositoryOpts: { repo: c.repo },
      values: c.values,
      timeout: 600,
    },
    { parent, provider },
  );

  // GPU workers advertise nvidia.com/gpu only once the device plugin runs on them: installed only when there are some.
  const devicePlugin = b.spec.nodes.some((n) => n.gpus)
    ? new k8s.helm.v3.Release(
        `${name}-nvidia-device-plugin`,
        {
          name: "nvidia-device-plugin",
          chart: DEVICE_PLUGIN_CHART.chart,
          version: DEVICE_PLUGIN_CHART.version,
          namespace: DEVICE_PLUGIN_CHART.namespace,
          createNamespace: true,
          repositoryOpts: { repo: DEVICE_PLUGIN_CHART.repo },
          values: devicePluginValues(),
          timeout: 600,
        },
        { parent, provider, dependsOn: [cni] },
      )
    : undefined;

  // The workers' join token, valid for the TTL from this update on: workers added later join with it.
  // Only `token-secret` is a Pulumi secret; the id, usages, groups and expiration are not.
  const now = new Date();
  const description = `vsphere-spark worker join token for ${b.clusterName}`;
  const rendered = b.joinToken.apply((t) => bootstrapTokenSecret(t, b.settings.bootstrapTokenTtl, now, description));
  const keys = Object.keys(bootstrapTokenSecret("aaaaaa.aaaaaaaaaaaaaaaa", b.settings.bootstrapTokenTtl, now, description).stringData);
  const stringData = Object.fromEntries(
    keys.map((k) => {
      const v = rendered.apply((x) => x.stringData[k]);
      return [k, k === "token-secret" ? v : pulumi.unsecret(v)];
    }),
  );
  const joinToken = new k8s.core.v1.Secret(
    `${name}-join-token`,
    {
      metadata: { name: pulumi.unsecret(rendered.apply((x) => x.metadata.name)), namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData,
    },
    { parent, provider },
  );

  // Then every control plane and worker must be a Ready node: one control plane and no workers is not a cluster.
  const expected = b.spec.nodes.filter((n) => n.role !== "load-balancer").map((n) => n.name);
  // On an update only the nodes it adds must become Ready; a kept node that is NotReady is reported.
  const targets = args.readiness ?? { waitFor: expected, reportOnly: [] };
  const nodesReady = pulumi.all([cni.id, credentials]).apply(async ([, [caPem, certPem, keyPem]]) => {
    if (!pulumi.runtime.isDryRun()) {
      const o = { apiUrl: url, caPem, clientCertPem: certPem, clientKeyPem: keyPem, timeoutMs, intervalMs: NODES_INTERVAL_MS };
      if (targets.waitFor.length > 0) await waitForNodesReady({ ...o, nodes: targets.waitFor });
      if (targets.reportOnly.length > 0) {
        const seen = await readNodeReadiness(o, targets.reportOnly).catch((e: Error) => e.message);
        for (const w of keptNodeWarnings(seen)) pulumi.log.warn(w, parent);
      }
    }
    return expected;
  });
  const kubeconfig = pulumi.secret(pulumi.all([nodesReady, credentials]).apply(([, cr]) => render(cr)));
  return { ready, nodesReady, kubeconfig, provider, cni, joinToken, ...(devicePlugin ? { devicePlugin } : {}) };
}

export class KubeadmClusterAccess extends pulumi.ComponentResource {
  /** Resolves to the API URL once `/readyz` answered `ok` (immediately in a preview). */
  readonly ready: pulumi.Output<string>;
  /** The control-plane and worker names, once every one is a Ready node (immediately in a preview). */
  readonly nodesReady: pulumi.Output<string[]>;
  /** Admin kubeconfig (secret); resolves only after every node is Ready. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly cni: k8s.helm.v3.Release;
  /** The workers' bootstrap token Secret (kube-system), renewed on every update. */
  readonly joinToken: k8s.core.v1.Secret;

  constructor(name: string, args: KubeadmClusterAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    const minutes = accessTimeoutMinutes(name, args);
    super("vsphere-spark:cluster:KubeadmClusterAccess", name, {}, opts);
    const out = createClusterAccess(this, name, args, minutes);
    this.ready = out.ready;
    this.nodesReady = out.nodesReady;
    this.kubeconfig = out.kubeconfig;
    this.provider = out.provider;
    this.cni = out.cni;
    this.joinToken = out.joinToken;
    this.registerOutputs({ ready: this.ready, nodesReady: this.nodesReady, kubeconfig: this.kubeconfig });
  }
}
