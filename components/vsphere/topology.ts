/**
 * VsphereTopology: the VMs of the cluster on vSphere, placed on their hosts. A thin shell over
 * the placement decisions in `placement.ts`: it looks up the existing inventory, creates a
 * resource pool and a VM folder, one VM per slot cloned from the template, and the DRS rules
 * that keep each VM on its host and the control-plane VMs apart.
 */
import * as pulumi from "@pulumi/pulumi";
import * as vsphere from "./binding";
import { VmRole, VmSlot } from "./placement";
import { FieldError, ValidationError, isDnsLabel } from "../validation";

export interface VsphereInventory {
  datacenter: string;
  computeCluster: string;
  datastore: string;
  network: string;
  template: string;
  /** VM folder path, relative to the datacenter's VM folder; created by the component. */
  folder: string;
  /** Resource pool created under the compute cluster's root pool. */
  resourcePool: string;
}

export interface VsphereTopologyArgs {
  /** Used in DRS rule and group names; a DNS label. */
  clusterName: string;
  inventory: VsphereInventory;
  /** Host id → the host's name in vCenter. Plain values: they decide how many lookups exist. */
  hosts: { id: string; name: string }[];
  /** Every VM to create (from `planSlots`). Plain values: they decide how many VMs exist. */
  slots: VmSlot[];
  /** Static IPv4 address per VM name, when addresses are decided ahead (reported as outputs). */
  addresses?: Record<string, string>;
  /** cloud-init guestinfo `extraConfig` keys per VM name (see the cluster layer). */
  guestinfo?: Record<string, pulumi.Input<Record<string, string>>>;
  /** DRS VM/host rules and control-plane anti-affinity (they need a DRS licence). Default true. */
  drs?: { enabled: boolean; mandatory: boolean };
}

export interface VmInfo {
  name: string;
  role: VmRole;
  host: string;
  cpus: number;
  memoryMiB: number;
  ipAddress: pulumi.Output<string>;
}

/** Checks the arguments before any resource exists; every problem at once. */
export function validateTopologyArgs(args: VsphereTopologyArgs): FieldError[] {
  const errors: FieldError[] = [];
  if (!isDnsLabel(args.clusterName)) errors.push({ path: "clusterName", message: `"${args.clusterName}" is not a DNS label` });
  const hostIds = new Set(args.hosts.map((h) => h.id));
  const names = new Set<string>();
  args.slots.forEach((s, i) => {
    if (!hostIds.has(s.hostId)) errors.push({ path: `slots[${i}].hostId`, message: `unknown host "${s.hostId}"` });
    if (!isDnsLabel(s.name)) errors.push({ path: `slots[${i}].name`, message: `"${s.name}" is not a DNS label` });
    if (names.has(s.name)) errors.push({ path: `slots[${i}].name`, message: `"${s.name}" is used twice` });
    names.add(s.name);
    if (!(s.cpus >= 1) || !(s.memoryMiB >= 4) || s.memoryMiB % 4 !== 0) {
      errors.push({ path: `slots[${i}]`, message: `needs at least 1 vCPU and a memory size in multiples of 4 MiB` });
    }
  });
  if (args.slots.length === 0) errors.push({ path: "slots", message: "no VMs to create" });
  for (const k of Object.keys(args.guestinfo ?? {})) {
    if (!names.has(k)) errors.push({ path: `guestinfo.${k}`, message: "no VM has this name" });
  }
  return errors;
}

export class VsphereTopology extends pulumi.ComponentResource {
  /** Per VM name: name, role, host, CPU, memory and IP address. */
  public readonly vms: Record<string, VmInfo>;
  /** The VM resources, for `dependsOn` in the layers above. */
  public readonly machines: Record<string, vsphere.VirtualMachine>;
  public readonly resourcePool: vsphere.ResourcePool;
  public readonly folder: vsphere.Folder;

  constructor(name: string, args: VsphereTopologyArgs, opts?: pulumi.ComponentResourceOptions) {
    const errors = validateTopologyArgs(args);
    if (errors.length > 0) throw new ValidationError(errors, `VsphereTopology ${name}`);
    super("vsphere-spark:vsphere:VsphereTopology", name, {}, opts);
    const parent = { parent: this };
    const inv = args.inventory;
    const drs = args.drs ?? { enabled: true, mandatory: false };

    // Existing inventory, looked up by name.
    const dc = vsphere.getDatacenterOutput({ name: inv.datacenter }, parent);
    const cluster = vsphere.getComputeClusterOutput({ name: inv.computeCluster, datacenterId: dc.id }, parent);
    const datastore = vsphere.getDatastoreOutput({ name: inv.datastore, datacenterId: dc.id }, parent);
    const network = vsphere.getNetworkOutput({ name: inv.network, datacenterId: dc.id }, parent);
    const template = vsphere.getVirtualMachineOutput({ name: inv.template, datacenterId: dc.id }, parent);
    const hosts = new Map(args.hosts.map((h) => [h.id, vsphere.getHostOutput({ name: h.name, datacenterId: dc.id }, parent)]));

    this.resourcePool = new vsphere.ResourcePool(
      `${args.clusterName}-pool`,
      { name: inv.resourcePool, parentResourcePoolId: cluster.resourcePoolId },
      parent,
    );
    this.folder = new vsphere.Folder(
      `${args.clusterName}-folder`,
      { path: inv.folder, type: "vm", datacenterId: dc.id },
      parent,
    );

    this.machines = {};
    this.vms = {};
    for (const slot of args.slots) {
      const host = hosts.get(slot.hostId)!;
      const vm = new vsphere.VirtualMachine(
        slot.name,
        {
          name: slot.name,
          resourcePoolId: this.resourcePool.id,
          folder: this.folder.path,
          datastoreId: datastore.id,
          hostSystemId: host.id,
          numCpus: slot.cpus,
          memory: slot.memoryMiB,
          guestId: template.guestId,
          firmware: template.apply((t) => t.firmware ?? "efi"),
          scsiType: template.apply((t) => t.scsiType ?? "pvscsi"),
          // Kubernetes CSI drivers need stable disk UUIDs.
          enableDiskUuid: true,
          networkInterfaces: [
            { networkId: network.id, adapterType: template.networkInterfaceTypes.apply((t) => t[0] ?? "vmxnet3") },
          ],
          disks: [
            {
              label: "disk0",
              // A clone's disk may grow but never shrink below the template's.
              size: template.disks.apply((d) => Math.max(slot.diskGiB, d[0]?.size ?? 0)),
              thinProvisioned: template.disks.apply((d) => d[0]?.thinProvisioned ?? true),
              eagerlyScrub: template.disks.apply((d) => d[0]?.eagerlyScrub ?? false),
            },
          ],
          clone: { templateUuid: template.id },
          extraConfig: args.guestinfo?.[slot.name],
        },
        {
          ...parent,
          // cloud-init reads its user-data at first boot only, and redacts it in vCenter afterwards:
          // a later change (a rotated bootstrap token) applies to new VMs, never reboots running ones.
          // To re-bootstrap a VM, replace it (`pulumi up --replace <urn>`).
          ignoreChanges: ["extraConfig"],
        },
      );
      this.machines[slot.name] = vm;
      const staticIp = args.addresses?.[slot.name];
      this.vms[slot.name] = {
        name: slot.name,
        role: slot.role,
        host: slot.hostName,
        cpus: slot.cpus,
        memoryMiB: slot.memoryMiB,
        ipAddress: staticIp !== undefined ? pulumi.output(staticIp) : vm.defaultIpAddress,
      };
    }

    if (drs.enabled) {
      // Pin each VM to its host: one host group per host, one VM group and one VM-host rule per VM,
      // so adding a VM adds its own group and rule and leaves every other one as it is.
      const hostGroups = new Map<string, vsphere.ComputeClusterHostGroup>();
      for (const h of args.hosts) {
        if (!args.slots.some((s) => s.hostId === h.id)) continue;
        hostGroups.set(
          h.id,
          new vsphere.ComputeClusterHostGroup(
            `${h.id}-hosts`,
            { name: `${args.clusterName}-${h.id}`, computeClusterId: cluster.id, hostSystemIds: [hosts.get(h.id)!.id] },
            parent,
          ),
        );
      }
      for (const slot of args.slots) {
        const group = new vsphere.ComputeClusterVmGroup(
          `${slot.name}-vm-group`,
          { name: `${args.clusterName}-${slot.name}`, computeClusterId: cluster.id, virtualMachineIds: [this.machines[slot.name].id] },
          parent,
        );
        new vsphere.ComputeClusterVmHostRule(
          `${slot.name}-on-host`,
          {
            name: `${args.clusterName}-${slot.name}-on-${slot.hostId}`,
            computeClusterId: cluster.id,
            vmGroupName: group.name,
            affinityHostGroupName: hostGroups.get(slot.hostId)!.name,
            mandatory: drs.mandatory,
          },
          parent,
        );
      }
      const controlPlane = args.slots.filter((s) => s.role === "control-plane");
      if (controlPlane.length > 1) {
        new vsphere.ComputeClusterVmAntiAffinityRule(
          `${args.clusterName}-control-plane-apart`,
          {
            name: `${args.clusterName}-control-plane-apart`,
            computeClusterId: cluster.id,
            virtualMachineIds: controlPlane.map((s) => this.machines[s.name].id),
            mandatory: drs.mandatory,
          },
          parent,
        );
      }
    }

    this.registerOutputs({ vms: this.vms });
  }
}
