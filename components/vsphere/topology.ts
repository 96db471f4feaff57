/**
 * VsphereTopology: the VMs of the cluster on vSphere, placed on their hosts. A thin shell over
 * the decisions in `placement.ts` (which VM on which host), `drs.ts` (the rules that keep them
 * there) and `mac.ts` (each VM's static MAC): the constructor validates, `createVsphereTopology`
 * looks up the existing inventory and creates a resource pool, a VM folder, one VM per slot cloned
 * from the template, and the DRS groups and rules.
 *
 * Every child's Pulumi name starts with the component's name, so two topologies in one program
 * never collide; the names in vCenter start with `clusterName`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as vsphere from "./binding";
import { DEFAULT_DRS, DrsSettings, planDrsRules } from "./drs";
import { assignMacAddresses } from "./mac";
import { gpuVmInputs } from "./gpu";
import { VmRole, VmSlot } from "./placement";
import { FieldError, ValidationError, isDnsLabel } from "../validation";
import type { VsphereDecisions } from "./settings";
import { KeepApartRule, ZoneSpec, clusterKey, planZonedDrsRules, zoneOfHost } from "./zones";

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
  /** Prefix of the DRS rule and group names in vCenter, and part of each VM's MAC identity; a DNS label. */
  readonly clusterName: string;
  readonly inventory: Readonly<VsphereInventory>;
  /** Host id → the host's name in vCenter. Plain values: they decide how many lookups exist. */
  readonly hosts: readonly { readonly id: string; readonly name: string }[];
  /** Every VM to create (from `planSlots`). Plain values: they decide how many VMs exist. */
  readonly slots: readonly VmSlot[];
  /** Static IPv4 address per VM name, when addresses are decided ahead (reported as outputs). */
  readonly addresses?: Readonly<Record<string, string>>;
  /** cloud-init guestinfo `extraConfig` keys per VM name (see the cluster layer). */
  readonly guestinfo?: Readonly<Record<string, pulumi.Input<Record<string, string>>>>;
  /** DRS VM/host rules and control-plane anti-affinity (they need a DRS licence). Default: on, not mandatory. */
  readonly drs?: DrsSettings;
  /**
   * Explicit MAC per VM name, instead of the one derived from `clusterName` and the VM name
   * (`assignMacAddresses`); inside 00:50:56:00:00:00–00:50:56:3f:ff:ff. Only needed when two
   * derived MACs collide (the error proposes a free one).
   */
  readonly macAddresses?: Readonly<Record<string, string>>;
  /**
   * Failure domains (zones.ts): each host's datacenter, compute cluster, datastore, network and
   * resource pool. Absent: one of each, as `inventory` names them.
   */
  readonly zones?: readonly ZoneSpec[];
  /** The user's anti-affinity rules (`drs.keepApart`), each inside one compute cluster (checked by the settings). */
  readonly keepApart?: readonly KeepApartRule[];
  /**
   * Named resource hooks bound to the VMs of a role (the cluster layer's: node retirement before a
   * VM is deleted; the rolling drain around an update that powers a VM off and on). The engine calls
   * a delete hook by the name stored with the VM, so the caller registers the same hooks on every run.
   */
  readonly hooks?: Readonly<Partial<Record<VmSlot["role"], pulumi.ResourceHookBinding>>>;
  /** Resources every VM waits for (the cluster layer's: what its hooks' credentials are made of). */
  readonly vmDependsOn?: readonly pulumi.Resource[];
}

/**
 * Set on every resource pool the topology creates. `scaleDescendantsShares` is Optional in the
 * provider, with no default, but its read sets it even when the program did not: to "disabled" on
 * vSphere before 7.0 and to vCenter's value from 7.0 on (terraform-provider-vsphere
 * vsphere/resource_vsphere_resource_pool.go, flattenResourcePoolConfigSpec). A pool without it
 * showed `- scaleDescendantsShares: "disabled"` on every preview after the first `pulumi up`
 * (test/lab/vsphere.lab.ts against pulumi-resource-vsphere 4.17.0). "disabled" is what that read
 * reports and vSphere's default (ResourceConfigSpec.scaleDescendantsShares).
 */
export const RESOURCE_POOL_SETTINGS = { scaleDescendantsShares: "disabled" } as const;

/** The topology's arguments from the layer's decisions, with each VM's guestinfo when a cluster layer renders one. */
export function topologyArgs(v: VsphereDecisions, guestinfo?: VsphereTopologyArgs["guestinfo"]): VsphereTopologyArgs {
  return {
    clusterName: v.clusterName,
    inventory: v.inventory,
    hosts: v.topology.hosts.map((h) => ({ id: h.id, name: h.name })),
    slots: v.slots,
    addresses: v.addresses,
    macAddresses: v.macAddresses,
    ...(guestinfo ? { guestinfo } : {}),
    drs: v.drs,
    ...(v.zones ? { zones: v.zones } : {}),
    ...(v.keepApart ? { keepApart: v.keepApart } : {}),
  };
}

export interface VmInfo {
  name: string;
  role: VmRole;
  host: string;
  cpus: number;
  memoryMiB: number;
  ipAddress: pulumi.Output<string>;
  /** The static MAC of the VM's first NIC (known before the VM exists). */
  macAddress: string;
}

/** Checks the arguments before any resource exists; every problem at once. */
export function validateTopologyArgs(args: VsphereTopologyArgs): FieldError[] {
  const errors: FieldError[] = [];
  if (!isDnsLabel(args.clusterName)) errors.push({ path: "clusterName", message: `"${args.clusterName}" is not a DNS label` });
  const hostIds = new Set<string>();
  args.hosts.forEach((h, i) => {
    if (hostIds.has(h.id)) errors.push({ path: `hosts[${i}].id`, message: `"${h.id}" is used twice` });
    hostIds.add(h.id);
  });
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
  errors.push(...assignMacAddresses(args.clusterName, [...names], args.macAddresses).errors);
  if (args.zones) {
    const of = zoneOfHost(args.zones);
    args.hosts.forEach((h, i) => {
      if (!of.has(h.id)) errors.push({ path: `hosts[${i}]`, message: `host "${h.id}" is in no zone` });
    });
  }
  return errors;
}

/** What `createVsphereTopology` makes, assigned to the component's fields. */
export interface VsphereTopologyOutputs {
  readonly vms: Record<string, VmInfo>;
  readonly machines: Record<string, vsphere.VirtualMachine>;
  readonly resourcePool: vsphere.ResourcePool;
  readonly folder: vsphere.Folder;
}

/**
 * Builds the topology's children under `parent` (arguments already validated). Pulumi names are
 * `<name>-pool`, `<name>-folder`, `<name>-<vm>`, and `<name>-<suffix>` for each DRS group and rule
 * (`planDrsRules`); vCenter names are as before: the pool, folder and VM names given, and
 * `<clusterName>-...` for DRS groups and rules.
 */
export function createVsphereTopology(parent: pulumi.Resource, name: string, args: VsphereTopologyArgs): VsphereTopologyOutputs {
  if (args.zones) return createZonedTopology(parent, name, args, args.zones);
  const opts = { parent };
  const inv = args.inventory;
  const macs = assignMacAddresses(args.clusterName, args.slots.map((s) => s.name), args.macAddresses).macs;

  // Existing inventory, looked up by name.
  const dc = vsphere.getDatacenterOutput({ name: inv.datacenter }, opts);
  const cluster = vsphere.getComputeClusterOutput({ name: inv.computeCluster, datacenterId: dc.id }, opts);
  const datastore = vsphere.getDatastoreOutput({ name: inv.datastore, datacenterId: dc.id }, opts);
  const network = vsphere.getNetworkOutput({ name: inv.network, datacenterId: dc.id }, opts);
  const template = vsphere.getVirtualMachineOutput({ name: inv.template, datacenterId: dc.id }, opts);
  const hosts = new Map(args.hosts.map((h) => [h.id, vsphere.getHostOutput({ name: h.name, datacenterId: dc.id }, opts)]));

  const resourcePool = new vsphere.ResourcePool(`${name}-pool`, { name: inv.resourcePool, parentResourcePoolId: cluster.resourcePoolId, ...RESOURCE_POOL_SETTINGS }, opts);
  const folder = new vsphere.Folder(`${name}-folder`, { path: inv.folder, type: "vm", datacenterId: dc.id }, opts);

  const { machines, vms } = createVms(name, args, macs, template, () => ({ resourcePoolId: resourcePool.id, folder: folder.path, datastoreId: datastore.id, networkId: network.id }), (slot) => hosts.get(slot.hostId)!.id, opts);

  const rules = planDrsRules(args.clusterName, args.hosts, args.slots, args.drs ?? DEFAULT_DRS);
  const hostGroups = new Map<string, vsphere.ComputeClusterHostGroup>();
  for (const g of rules.hostGroups) {
    hostGroups.set(
      g.suffix,
      new vsphere.ComputeClusterHostGroup(
        `${name}-${g.suffix}`,
        { name: g.name, computeClusterId: cluster.id, hostSystemIds: [hosts.get(g.hostId)!.id] },
        opts,
      ),
    );
  }
  const vmGroups = new Map<string, vsphere.ComputeClusterVmGroup>();
  for (const g of rules.vmGroups) {
    vmGroups.set(
      g.suffix,
      new vsphere.ComputeClusterVmGroup(
        `${name}-${g.suffix}`,
        { name: g.name, computeClusterId: cluster.id, virtualMachineIds: [machines[g.vm].id] },
        opts,
      ),
    );
  }
  for (const r of rules.vmHostRules) {
    new vsphere.ComputeClusterVmHostRule(
      `${name}-${r.suffix}`,
      {
        name: r.name,
        computeClusterId: cluster.id,
        // Both groups' names are set above (the binding registers an optional input only when set).
        vmGroupName: vmGroups.get(r.vmGroup)!.name!,
        affinityHostGroupName: hostGroups.get(r.hostGroup)!.name!,
        mandatory: r.mandatory,
      },
      opts,
    );
  }
  for (const r of rules.antiAffinityRules) {
    new vsphere.ComputeClusterVmAntiAffinityRule(
      `${name}-${r.suffix}`,
      { name: r.name, computeClusterId: cluster.id, virtualMachineIds: r.vms.map((v) => machines[v].id), mandatory: r.mandatory },
      opts,
    );
  }
  keepApartRules(name, args, machines, () => cluster.id, opts);

  return { vms, machines, resourcePool, folder };
}

/** Where a VM goes in vCenter: its resource pool, folder, datastore and network. */
interface VmPlacement {
  resourcePoolId: pulumi.Input<string>;
  folder: pulumi.Input<string>;
  datastoreId: pulumi.Input<string>;
  networkId: pulumi.Input<string>;
}

/** One VM per slot, cloned from the template, at `where(slot)` on its host (with and without zones alike). */
function createVms(
  name: string,
  args: VsphereTopologyArgs,
  macs: Record<string, string>,
  template: ReturnType<typeof vsphere.getVirtualMachineOutput>,
  where: (slot: VmSlot) => VmPlacement,
  hostId: (slot: VmSlot) => pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): { machines: Record<string, vsphere.VirtualMachine>; vms: Record<string, VmInfo> } {
  const machines: Record<string, vsphere.VirtualMachine> = {};
  const vms: Record<string, VmInfo> = {};
  for (const slot of args.slots) {
    // A GPU worker: its host's devices by passthrough, all memory reserved, EFI, the 64-bit MMIO window (gpu.ts).
    const gpu = slot.gpus ? gpuVmInputs(slot.memoryMiB, slot.gpus) : undefined;
    const guestinfo = args.guestinfo?.[slot.name];
    const extraConfig = gpu ? (guestinfo ? pulumi.output(guestinfo).apply((g) => ({ ...g, ...gpu.extraConfig })) : gpu.extraConfig) : guestinfo;
    const vm = new vsphere.VirtualMachine(
      `${name}-${slot.name}`,
      {
        name: slot.name,
        resourcePoolId: where(slot).resourcePoolId,
        folder: where(slot).folder,
        datastoreId: where(slot).datastoreId,
        hostSystemId: hostId(slot),
        numCpus: slot.cpus,
        memory: slot.memoryMiB,
        guestId: template.guestId,
        firmware: gpu ? gpu.firmware : template.apply((t) => t.firmware ?? "efi"),
        ...(gpu ? { pciDeviceIds: gpu.pciDeviceIds, memoryReservation: gpu.memoryReservation, memoryReservationLockedToMax: gpu.memoryReservationLockedToMax } : {}),
        scsiType: template.apply((t) => t.scsiType ?? "pvscsi"),
        // Kubernetes CSI drivers need stable disk UUIDs.
        enableDiskUuid: true,
        networkInterfaces: [
          {
            networkId: where(slot).networkId,
            adapterType: template.networkInterfaceTypes.apply((t) => t[0] ?? "vmxnet3"),
            // A MAC known before the VM exists, so the guest's network configuration can match
            // the NIC by it (see mac.ts).
            useStaticMac: true,
            macAddress: macs[slot.name],
          },
        ],
        disks: [
          {
            label: "disk0",
            // A clone's disk may grow but never shrink below the template's.
            size: template.disks.apply((d) => Math.max(slot.diskGiB, d[0]?.size ?? 0)),
            thinProvisioned: template.disks.apply((d) => d[0]?.thinProvisioned ?? true),
            eagerlyScrub: template.disks.apply((d) => d[0]?.eagerlyScrub ?? false),
          },
          // The scratch disk: the guest formats it and mounts it at /var/lib/kubelet (cloud-init.ts),
          // where emptyDirs live. Unit 1 on the template's controller (VirtualMachineDisk.unitNumber).
          ...(slot.scratchDiskGiB ? [{ label: "disk1", size: slot.scratchDiskGiB, unitNumber: 1, thinProvisioned: true }] : []),
        ],
        clone: { templateUuid: template.id },
        extraConfig,
      },
      {
        ...opts,
        // cloud-init reads its user-data at first boot only, and redacts it in vCenter afterwards:
        // a later change (a rotated bootstrap token) applies to new VMs, never reboots running ones.
        // To re-bootstrap a VM, replace it (`pulumi up --replace <urn>`).
        ignoreChanges: ["extraConfig"],
        // A VM and its replacement cannot exist side by side: the same name in the same folder (vCenter
        // refuses the clone with DuplicateName), the same static MAC and the same address. So the old
        // one is deleted first. Measured in the real-systems lab (test/lab/vsphere.lab.ts, the real
        // pulumi-resource-vsphere 4.17.0 against vcsim): without this, `pulumi up --replace <urn>` of a
        // worker failed with "error cloning virtual machine: *types.DuplicateName", the engine's
        // default order being create-before-delete.
        deleteBeforeReplace: true,
        ...(args.hooks?.[slot.role] ? { hooks: args.hooks[slot.role] } : {}),
        ...(args.vmDependsOn?.length ? { dependsOn: [...args.vmDependsOn] } : {}),
      },
    );
    machines[slot.name] = vm;
    const staticIp = args.addresses?.[slot.name];
    vms[slot.name] = {
      name: slot.name,
      role: slot.role,
      host: slot.hostName,
      cpus: slot.cpus,
      memoryMiB: slot.memoryMiB,
      ipAddress: staticIp !== undefined ? pulumi.output(staticIp) : vm.defaultIpAddress,
      macAddress: macs[slot.name],
    };
  }
  return { machines, vms };
}

/** The user's anti-affinity rules (`drs.keepApart`), each in the compute cluster of its VMs. */
function keepApartRules(
  name: string,
  args: VsphereTopologyArgs,
  machines: Record<string, vsphere.VirtualMachine>,
  clusterIdOf: (vm: string) => pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): void {
  if (!(args.drs ?? DEFAULT_DRS).enabled) return;
  for (const rule of args.keepApart ?? []) {
    new vsphere.ComputeClusterVmAntiAffinityRule(
      `${name}-keep-apart-${rule.name}`,
      { name: `${args.clusterName}-${rule.name}`, computeClusterId: clusterIdOf(rule.vms[0]), virtualMachineIds: rule.vms.map((v) => machines[v].id), mandatory: (args.drs ?? DEFAULT_DRS).mandatory },
      opts,
    );
  }
}

/** A resource-name part for a datacenter: its name, lower-case, runs of other characters as '-'. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "dc";
}

/**
 * The topology over failure domains. The lookups are per zone (one invoke per distinct datacenter,
 * compute cluster, datastore and network: a name is looked up in its zone's datacenter), the
 * template in `inventory.datacenter` (a clone may go to another datacenter of the same vCenter:
 * `clone.templateUuid`), one VM folder per datacenter (`inventory.folder` in each), one resource pool
 * per zone under its compute cluster's root pool, and the DRS groups and rules per compute cluster
 * (`planZonedDrsRules`). Pulumi names: `<name>-<zone>-pool`; the folder of `inventory.datacenter` is
 * `<name>-folder` as without zones, another datacenter's `<name>-folder-<datacenter>`; VMs and DRS
 * groups as without zones.
 */
function createZonedTopology(parent: pulumi.Resource, name: string, args: VsphereTopologyArgs, zones: readonly ZoneSpec[]): VsphereTopologyOutputs {
  const opts = { parent };
  const inv = args.inventory;
  const macs = assignMacAddresses(args.clusterName, args.slots.map((s) => s.name), args.macAddresses).macs;
  const zoneOf = zoneOfHost(zones);
  const memo = <T>(m: Map<string, T>, k: string, make: () => T): T => {
    if (!m.has(k)) m.set(k, make());
    return m.get(k)!;
  };
  const dcs = new Map<string, ReturnType<typeof vsphere.getDatacenterOutput>>();
  const dc = (n: string) => memo(dcs, n, () => vsphere.getDatacenterOutput({ name: n }, opts));
  const clusters = new Map<string, ReturnType<typeof vsphere.getComputeClusterOutput>>();
  const cluster = (z: ZoneSpec) => memo(clusters, clusterKey(z), () => vsphere.getComputeClusterOutput({ name: z.computeCluster, datacenterId: dc(z.datacenter).id }, opts));
  const datastores = new Map<string, ReturnType<typeof vsphere.getDatastoreOutput>>();
  const datastore = (z: ZoneSpec) => memo(datastores, `${z.datacenter}/${z.datastore}`, () => vsphere.getDatastoreOutput({ name: z.datastore, datacenterId: dc(z.datacenter).id }, opts));
  const networks = new Map<string, ReturnType<typeof vsphere.getNetworkOutput>>();
  const network = (z: ZoneSpec) => memo(networks, `${z.datacenter}/${z.network}`, () => vsphere.getNetworkOutput({ name: z.network, datacenterId: dc(z.datacenter).id }, opts));
  const template = vsphere.getVirtualMachineOutput({ name: inv.template, datacenterId: dc(inv.datacenter).id }, opts);
  const hosts = new Map(args.hosts.map((h) => [h.id, vsphere.getHostOutput({ name: h.name, datacenterId: dc(zoneOf.get(h.id)!.datacenter).id }, opts)]));
  for (const z of zones) {
    cluster(z);
    datastore(z);
    network(z);
  }

  const pools = new Map<string, vsphere.ResourcePool>();
  for (const z of zones) {
    pools.set(z.name, new vsphere.ResourcePool(`${name}-${z.name}-pool`, { name: z.resourcePool, parentResourcePoolId: cluster(z).resourcePoolId, ...RESOURCE_POOL_SETTINGS }, opts));
  }
  const folders = new Map<string, vsphere.Folder>();
  for (const d of [...new Set(zones.map((z) => z.datacenter))]) {
    const folderName = d === inv.datacenter ? `${name}-folder` : `${name}-folder-${slug(d)}`;
    folders.set(d, new vsphere.Folder(folderName, { path: inv.folder, type: "vm", datacenterId: dc(d).id }, opts));
  }

  const { machines, vms } = createVms(
    name,
    args,
    macs,
    template,
    (slot) => {
      const z = zoneOf.get(slot.hostId)!;
      return { resourcePoolId: pools.get(z.name)!.id, folder: folders.get(z.datacenter)!.path, datastoreId: datastore(z).id, networkId: network(z).id };
    },
    (slot) => hosts.get(slot.hostId)!.id,
    opts,
  );

  // DRS: per compute cluster (a group or rule lives in one).
  for (const c of planZonedDrsRules(args.clusterName, zones, args.slots, args.drs ?? DEFAULT_DRS)) {
    const clusterId = cluster(zones.find((z) => clusterKey(z) === c.key)!).id;
    const hostGroups = new Map<string, pulumi.Input<string>>();
    for (const g of c.plan.hostGroups) {
      hostGroups.set(g.suffix, new vsphere.ComputeClusterHostGroup(`${name}-${g.suffix}`, { name: g.name, computeClusterId: clusterId, hostSystemIds: [hosts.get(g.hostId)!.id] }, opts).name!);
    }
    const vmGroups = new Map<string, vsphere.ComputeClusterVmGroup>();
    for (const g of c.plan.vmGroups) {
      vmGroups.set(g.suffix, new vsphere.ComputeClusterVmGroup(`${name}-${g.suffix}`, { name: g.name, computeClusterId: clusterId, virtualMachineIds: [machines[g.vm].id] }, opts));
    }
    for (const r of c.plan.vmHostRules) {
      // A zone's existing host group is named, not created.
      const hostGroup = r.hostGroup.startsWith("existing:") ? r.hostGroup.slice("existing:".length) : hostGroups.get(r.hostGroup)!;
      new vsphere.ComputeClusterVmHostRule(
        `${name}-${r.suffix}`,
        { name: r.name, computeClusterId: clusterId, vmGroupName: vmGroups.get(r.vmGroup)!.name!, affinityHostGroupName: hostGroup, mandatory: r.mandatory },
        opts,
      );
    }
    for (const r of c.plan.antiAffinityRules) {
      new vsphere.ComputeClusterVmAntiAffinityRule(`${name}-${r.suffix}`, { name: r.name, computeClusterId: clusterId, virtualMachineIds: r.vms.map((v) => machines[v].id), mandatory: r.mandatory }, opts);
    }
  }
  const clusterOfVm = (vm: string) => cluster(zoneOf.get(args.slots.find((s) => s.name === vm)!.hostId)!).id;
  keepApartRules(name, args, machines, clusterOfVm, opts);

  // The resource pool and folder of the first zone stand for the component's single ones.
  return { vms, machines, resourcePool: pools.get(zones[0].name)!, folder: folders.get(zones[0].datacenter) ?? [...folders.values()][0] };
}

export class VsphereTopology extends pulumi.ComponentResource {
  /** Per VM name: name, role, host, CPU, memory, IP address and MAC address. */
  public readonly vms: Record<string, VmInfo>;
  /** The VM resources, for `dependsOn` in the layers above. */
  public readonly machines: Record<string, vsphere.VirtualMachine>;
  public readonly resourcePool: vsphere.ResourcePool;
  public readonly folder: vsphere.Folder;

  constructor(name: string, args: VsphereTopologyArgs, opts?: pulumi.ComponentResourceOptions) {
    const errors = validateTopologyArgs(args);
    if (errors.length > 0) throw new ValidationError(errors, `VsphereTopology ${name}`);
    super("vsphere-spark:vsphere:VsphereTopology", name, {}, opts);
    const out = createVsphereTopology(this, name, args);
    this.vms = out.vms;
    this.machines = out.machines;
    this.resourcePool = out.resourcePool;
    this.folder = out.folder;
    this.registerOutputs({ vms: this.vms });
  }
}
