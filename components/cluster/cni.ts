/** The CNI Helm release, pinned (pure description; the component creates the Release). */
import type { KubernetesSettings } from "./settings";

export interface CniRelease {
  /** Helm release name. */
  name: string;
  chart: string;
  repo: string;
  version: string;
  namespace: string;
  createNamespace: boolean;
  values: Record<string, unknown>;
}

export const CNI_CHART_REPOS = {
  antrea: "https://charts.antrea.io",
  calico: "https://docs.tigera.io/calico/charts",
} as const;

export function cniRelease(settings: KubernetesSettings): CniRelease {
  if (settings.cni.kind === "antrea") {
    // Antrea takes each node's podCIDR from kube-controller-manager (kubeadm sets it from podSubnet).
    return { name: "antrea", chart: "antrea", repo: CNI_CHART_REPOS.antrea, version: settings.cni.version, namespace: "kube-system", createNamespace: false, values: {} };
  }
  return {
    name: "calico",
    chart: "tigera-operator",
    repo: CNI_CHART_REPOS.calico,
    version: settings.cni.version,
    namespace: "tigera-operator",
    createNamespace: true,
    values: {
      installation: {
        kubernetesProvider: "",
        calicoNetwork: {
          ipPools: [
            { cidr: settings.podCidr, blockSize: 26, encapsulation: "VXLANCrossSubnet", natOutgoing: "Enabled", nodeSelector: "all()" },
          ],
        },
      },
    },
  };
}
