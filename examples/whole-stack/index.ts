/**
 * The whole environment from a Pulumi program of your own, without a stack file: the paper's four
 * hosts, decided by the library's resolvers (every problem at once), then one component.
 *
 *   pulumi config set --secret vsphere:password
 *   pulumi config set vsphere:vsphereServer vcenter.lab.local
 *   pulumi config set vsphere:user administrator@vsphere.local
 *   pulumi up
 */
import {
  ValidationError,
  VsphereSpark,
  kubeadmOnVsphere,
  resolveKubernetesSettings,
  resolveVsphereSettings,
} from "vsphere-spark";

const host = (n: number) => ({ name: `esxi-0${n}.lab.local`, cpuThreads: 96, memoryGiB: 768 });

// Layer 1: the VMs. Defaults: 4 workers of 16 vCPU / 120 GiB per host, 3 control planes, HAProxy.
const vsphere = resolveVsphereSettings({
  inventory: {
    datacenter: "Datacenter",
    computeCluster: "Spark-Cluster",
    datastore: "vsanDatastore",
    network: "VM Network",
    template: "ubuntu-2404-kube-template",
    folder: "spark-on-k8s",
    resourcePool: "spark-on-k8s",
  },
  hosts: [host(1), host(2), host(3), host(4)],
  // A 400 GiB disk per worker at /var/lib/kubelet: the executors' shuffle and spill off the boot disk.
  vmProfiles: { worker: { scratchDiskGiB: 400 } },
  network: { cidr: "192.168.1.0/24", gateway: "192.168.1.254", dnsServers: ["192.168.1.254"], addresses: { "esxi-04-load-balancer": "192.168.1.2" } },
});
// Layer 2: Kubernetes settings, defaults applied (kubelet reservations, the kernel's share of RAM).
const kubernetes = resolveKubernetesSettings({});
const errors = [...vsphere.errors, ...kubernetes.errors];
if (!vsphere.decisions || errors.length > 0) throw new ValidationError(errors, "whole-stack example");

// The cluster back end decides its worker pool; Spark is sized from it, whatever the back end.
// Spark settings are any subset: the driver on the submit host, the paper's 10 GiB heap step.
const cluster = kubeadmOnVsphere({ vsphere: vsphere.decisions, kubernetes: kubernetes.settings });
const stack = new VsphereSpark("spark", { cluster, spark: { deployMode: "client", executor: { heapGranularityGiB: 10 } } });

export const apiEndpoint = stack.outputs.apiEndpoint;
export const sparkSizing = stack.spark.sizing;
export const workerPool = cluster.workerPool;
