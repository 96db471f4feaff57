/**
 * kube-vip as a static pod on every control plane (ARP mode, control-plane VIP only, leader
 * election through a Lease). Rendered to a staging path; the bootstrap script moves it into
 * /etc/kubernetes/manifests (before `kubeadm init` on the first node, after `kubeadm join` on the
 * others, because join's preflight requires an empty manifests directory).
 */
import { stringify } from "yaml";

export const KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip";
export const KUBE_VIP_STAGING_PATH = "/etc/kubernetes/vsphere-spark/kube-vip.yaml";
export const KUBE_VIP_MANIFEST_PATH = "/etc/kubernetes/manifests/kube-vip.yaml";

export interface KubeVipInput {
  vip: string;
  port: number;
  interfaceName: string;
  version: string;
}

export function renderKubeVipManifest(input: KubeVipInput): string {
  const env: Record<string, string> = {
    vip_arp: "true",
    port: String(input.port),
    vip_interface: input.interfaceName,
    vip_cidr: "32",
    cp_enable: "true",
    cp_namespace: "kube-system",
    vip_leaderelection: "true",
    vip_leasename: "plndr-cp-lock",
    vip_leaseduration: "5",
    vip_renewdeadline: "3",
    vip_retryperiod: "1",
    address: input.vip,
  };
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kube-vip", namespace: "kube-system" },
    spec: {
      containers: [
        {
          name: "kube-vip",
          image: `${KUBE_VIP_IMAGE}:${input.version}`,
          imagePullPolicy: "IfNotPresent",
          args: ["manager"],
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
          volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf" }],
        },
      ],
      hostAliases: [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }],
      hostNetwork: true,
      // admin.conf; on the first node the bootstrap script points this at super-admin.conf until
      // `kubeadm init` is done (from 1.29, admin.conf has no rights before init finishes).
      volumes: [{ name: "kubeconfig", hostPath: { path: "/etc/kubernetes/admin.conf" } }],
    },
  };
  return stringify(pod, { version: "1.1", lineWidth: 0 });
}
