/** The layers wired together: the kubeadm-on-vSphere back end and the whole-environment component. */
export * from "./kubeadm-on-vsphere";
export * from "./vsphere-spark";
