/**
 * A standalone Pulumi program that uses vsphere-spark as a library: two ESXi hosts, one
 * control-plane VM, two workers per host, no load-balancer VM (the endpoint is the control plane's
 * own address). Everything is decided by the package's pure functions, then created by its
 * VsphereTopology component.
 *
 *   pulumi config set --secret vsphere:password
 *   pulumi config set vsphere:vsphereServer vcenter.example.com
 *   pulumi config set vsphere:user administrator@vsphere.local
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { HostSpec, VsphereTopology, assignAddresses, formatIpv4, parseCidr, planSlots } from "vsphere-spark";

const config = new pulumi.Config();
const hosts: HostSpec[] = [
  { id: "esx-a", name: config.get("hostA") ?? "esx-a.example.com", cpuThreads: 64, memoryMiB: 512 * 1024, workers: 2 },
  { id: "esx-b", name: config.get("hostB") ?? "esx-b.example.com", cpuThreads: 64, memoryMiB: 512 * 1024, workers: 2 },
];
const spec = {
  hosts,
  profiles: {
    worker: { cpus: 8, memoryMiB: 32 * 1024, diskGiB: 80 },
    small: { cpus: 4, memoryMiB: 16 * 1024, diskGiB: 40 },
  },
  controlPlaneHosts: ["esx-a"],
};
const slots = planSlots(spec);
const cidr = parseCidr("10.20.0.0/24")!;
const addresses = assignAddresses(
  { cidr, gateway: cidr.network + 1, firstOffset: 100, blockSize: 10, overrides: {} },
  hosts.map((h) => h.id),
  slots,
);

const topology = new VsphereTopology("small", {
  clusterName: "small",
  inventory: {
    datacenter: "dc-lab",
    computeCluster: "lab-cluster",
    datastore: "lab-ds",
    network: "lab-net",
    template: "ubuntu-2404-template",
    folder: "small-spark",
    resourcePool: "small-spark",
  },
  hosts: hosts.map((h) => ({ id: h.id, name: h.name })),
  slots,
  addresses: Object.fromEntries([...addresses].map(([name, ip]) => [name, formatIpv4(ip)])),
  drs: { enabled: false, mandatory: false },
});

export const vms = topology.vms;
