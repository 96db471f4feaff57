/** The Kubernetes cluster layer: kubeadm on vSphere VMs, behind HAProxy, kube-vip or an external LB. */
export * from "./types";
export * from "./settings";
export * from "./allocatable";
export * from "./pki";
export * from "./haproxy";
export * from "./kubeadm";
export * from "./kube-vip";
export * from "./cloud-init";
export * from "./topology";
export * from "./kubeconfig";
export * from "./readiness";
export * from "./cni";
export * from "./artifacts";
export * from "./bootstrap";
export * from "./access";
export * from "./backend";
export * from "./worker-pool";
