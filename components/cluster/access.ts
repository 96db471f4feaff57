/**
 * KubeadmClusterAccess: waits for the API through the endpoint, then hands out an admin kubeconfig,
 * a `k8s.Provider` and the CNI. A thin shell over readiness.ts, kubeconfig.ts and cni.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { KubeadmBootstrap } from "./bootstrap";
import { waitForReadyz } from "./readiness";
import { apiServerUrl, renderKubeconfig } from "./kubeconfig";
import { cniRelease } from "./cni";
import { ValidationError } from "../validation";

export interface KubeadmClusterAccessArgs {
  bootstrap: KubeadmBootstrap;
  /** The VMs: the readiness gate starts once they exist. */
  dependsOn: pulumi.Resource[];
  /** Default: the settings' readinessTimeoutMinutes. */
  readinessTimeoutMinutes?: number;
}

const READYZ_INTERVAL_MS = 10_000;

export class KubeadmClusterAccess extends pulumi.ComponentResource {
  /** Resolves to the API URL once `/readyz` answered `ok` (immediately in a preview). */
  readonly ready: pulumi.Output<string>;
  /** Admin kubeconfig (secret); resolves only after the readiness gate. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly cni: k8s.helm.v3.Release;

  constructor(name: string, args: KubeadmClusterAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    const minutes = args.readinessTimeoutMinutes ?? args.bootstrap.settings.readinessTimeoutMinutes;
    if (!(typeof minutes === "number" && minutes > 0 && Number.isFinite(minutes)))
      throw new ValidationError([{ path: "args.readinessTimeoutMinutes", message: `must be a positive number, got ${String(minutes)}` }], `KubeadmClusterAccess ${name}: invalid arguments`);
    super("vsphere-spark:cluster:KubeadmClusterAccess", name, {}, opts);
    const b = args.bootstrap;
    const url = apiServerUrl(b.endpoint);

    const created = pulumi.all(args.dependsOn.map((r) => (pulumi.CustomResource.isInstance(r) ? r.id : r.urn)));
    this.ready = pulumi.all([created, b.caCertPem]).apply(async ([, caPem]) => {
      if (!pulumi.runtime.isDryRun()) {
        await waitForReadyz({ url: `${url}/readyz`, caPem, timeoutMs: minutes * 60_000, intervalMs: READYZ_INTERVAL_MS });
      }
      return url;
    });

    this.kubeconfig = pulumi.secret(
      pulumi.all([this.ready, b.caCertPem, b.adminCertPem, b.adminKeyPem]).apply(([, caPem, certPem, keyPem]) =>
        renderKubeconfig({ clusterName: b.clusterName, endpoint: b.endpoint, caPem, clientCertPem: certPem, clientKeyPem: keyPem }),
      ),
    );

    this.provider = new k8s.Provider(`${b.clusterName}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });

    const cni = cniRelease(b.settings);
    this.cni = new k8s.helm.v3.Release(
      `${b.clusterName}-cni`,
      {
        name: cni.name,
        chart: cni.chart,
        version: cni.version,
        namespace: cni.namespace,
        createNamespace: cni.createNamespace,
        repositoryOpts: { repo: cni.repo },
        values: cni.values,
        timeout: 600,
      },
      { parent: this, provider: this.provider },
    );

    this.registerOutputs({
      ready: this.ready,
      kubeconfig: this.kubeconfig,
    });
  }
}
