/**
 * Deterministic answers to the vCenter lookups the program makes (VM inventory for kubeadm, storage
 * policies and content libraries for Tanzu), for the offline plan and the
 * tests. Ids are derived from the names asked for, so the same configuration always plans the same
 * graph. Nothing here talks to a vCenter.
 */
import { createHash } from "node:crypto";
import { InvokeHandler } from "./mock-runtime";

function moid(kind: string, ...parts: unknown[]): string {
  return `${kind}-${createHash("sha256").update(parts.map(String).join("/")).digest("hex").slice(0, 8)}`;
}

/** What the simulated VM template looks like (an Ubuntu cloud image with one 40 GiB disk). */
export const SIMULATED_TEMPLATE = {
  guestId: "ubuntu64Guest",
  firmware: "efi",
  scsiType: "pvscsi",
  disks: [{ label: "Hard disk 1", size: 40, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }],
  networkInterfaceTypes: ["vmxnet3"],
};

export const simulatedInventory: Record<string, InvokeHandler> = {
  "vsphere:index/getDatacenter:getDatacenter": (a) => ({ id: moid("datacenter", a.name), name: a.name, virtualMachines: [] }),
  "vsphere:index/getComputeCluster:getComputeCluster": (a) => ({
    id: moid("domain-c", a.datacenterId, a.name),
    name: a.name,
    datacenterId: a.datacenterId,
    resourcePoolId: moid("resgroup", a.datacenterId, a.name),
  }),
  "vsphere:index/getDatastore:getDatastore": (a) => ({ id: moid("datastore", a.datacenterId, a.name), name: a.name, stats: {} }),
  "vsphere:index/getNetwork:getNetwork": (a) => ({ id: moid("network", a.datacenterId, a.name), name: a.name, type: "Network" }),
  // No resourcePoolId: vCenter answers the root pool of the host's compute cluster, and this inventory
  // does not know which cluster a host is in (the program compares the two: components/vsphere/inventory-check.ts).
  "vsphere:index/getHost:getHost": (a) => ({
    id: moid("host", a.datacenterId, a.name),
    name: a.name,
    datacenterId: a.datacenterId,
  }),
  // vSphere with Tanzu: the storage policies and content libraries a vSphere Namespace uses.
  "vsphere:index/getPolicy:getPolicy": (a) => ({ id: moid("policy", a.name), name: a.name }),
  "vsphere:index/getContentLibrary:getContentLibrary": (a) => ({ id: moid("content-library", a.name), name: a.name }),
  "vsphere:index/getVirtualMachine:getVirtualMachine": (a) => ({
    id: `4210${createHash("sha256").update(String(a.name)).digest("hex").slice(0, 4)}-0000-0000-0000-000000000000`,
    name: a.name,
    datacenterId: a.datacenterId,
    ...SIMULATED_TEMPLATE,
  }),
};

/** Output properties vCenter reports for created resources (so that outputs resolve in the plan). */
export const simulatedOutputs = {
  "vsphere:index/virtualMachine:VirtualMachine": (name: string) => ({
    moid: moid("vm", name),
    uuid: moid("uuid", name),
    powerState: "on",
  }),
};
