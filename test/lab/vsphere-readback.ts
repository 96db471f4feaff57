/**
 * The VM layer as the plan decides it and as vCenter (here vcsim) holds it, in one shape, and the
 * comparison of the two: every field that differs is named. Pure: `observedVmLayer` takes a reader
 * (govc in the lab), so the comparison and its negative controls need no vCenter.
 */
import { createHash } from "node:crypto";
import type { ClusterSpec } from "../../components/cluster/topology";
import { renderNode } from "../../components/cluster/topology";
import { guestinfo, GUESTINFO_KEYS } from "../../components/cluster/cloud-init";
import type { SharedPki } from "../../components/cluster/pki";
import { DEFAULT_DRS, DrsPlan, planDrsRules } from "../../components/vsphere/drs";
import { gpuVmInputs } from "../../components/vsphere/gpu";
import type { VsphereDecisions } from "../../components/vsphere/settings";
import { planZonedDrsRules, zoneOfHost } from "../../components/vsphere/zones";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface LayerVm {
  name: string;
  /** Inventory path of the VM's parent folder. */
  folder: string;
  resourcePool: string;
  host: string;
  cpus: number;
  memoryMiB: number;
  /** Disks by unit number: size in GiB, thin or not. */
  disks: { unit: number; sizeGiB: number; thin: boolean }[];
  nics: { network: string; mac: string; addressType: string; adapter: string }[];
  /** guestinfo keys present and a SHA-256 of each value (values are secret: never printed). */
  guestinfo: Record<string, string>;
  diskUuid: boolean;
  /** The compute cluster of the VM's host, and the datastores the VM is on (by name). */
  cluster: string;
  datastores: string[];
  /**
   * A GPU worker's passthrough (components/vsphere/gpu.ts, gpuVmInputs): its PCI devices' ids, the
   * memory reserved and locked, EFI, and the `pciPassthru.*` extraConfig; absent on a VM that has
   * neither a PCI passthrough device nor such a key.
   */
  gpu?: { pciIds: string[]; memoryReservationMiB: number; lockedToMax: boolean; firmware: string; extraConfig: Record<string, string> };
}

export interface LayerDrs {
  hostGroups: { name: string; hosts: string[] }[];
  vmGroups: { name: string; vms: string[] }[];
  vmHostRules: { name: string; vmGroup: string; hostGroup: string; mandatory: boolean; enabled: boolean }[];
  antiAffinityRules: { name: string; vms: string[]; mandatory: boolean; enabled: boolean }[];
}

export interface VmLayer {
  vms: LayerVm[];
  drs: LayerDrs;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/**
 * STAND-IN secrets for the guestinfo the cluster layer renders: the stack's KubeadmBootstrap makes
 * them with the tls and random providers, which the lab does not build. The VM layer only carries
 * them (vcsim runs no guest), so fixed values of the real shapes do.
 */
export const STAND_IN_SECRETS = {
  token: "abcdef.0123456789abcdef",
  caCertHash: `sha256:${"0".repeat(64)}`,
  certificateKey: "1".repeat(64),
  pki: Object.fromEntries(
    ["caCert", "caKey", "frontProxyCaCert", "frontProxyCaKey", "etcdCaCert", "etcdCaKey", "saKey", "saPub"].map((k) => [k, `-----BEGIN STAND-IN ${k}-----\nU1RBTkQtSU4=\n-----END STAND-IN ${k}-----\n`]),
  ) as unknown as SharedPki,
};

/** Each node's guestinfo as the cluster layer renders it for the first `pulumi up`, with the stand-in secrets. */
export function standInGuestinfo(cluster: ClusterSpec): Record<string, Record<string, string>> {
  return Object.fromEntries(
    cluster.nodes.map((n) => {
      const r = renderNode(cluster, n, STAND_IN_SECRETS, { clusterExists: false });
      return [n.name, guestinfo(r.userData, r.metaData)];
    }),
  );
}

/**
 * The VM layer the plan decides: `templateDiskGiB` is the template's first disk (a clone's boot disk
 * never shrinks below it, topology.ts), `guestinfo` what each VM is given.
 */
export function expectedVmLayer(v: VsphereDecisions, templateDiskGiB: number, guest: Record<string, Record<string, string>>): VmLayer {
  const inv = v.inventory;
  const hostName = new Map(v.topology.hosts.map((h) => [h.id, h.name]));
  const zoneOf = v.zones ? zoneOfHost(v.zones) : undefined;
  // Where each VM goes: its zone's datacenter, compute cluster, pool, datastore and network (zones.ts), or the inventory's.
  const where = (hostId: string) => {
    const z = zoneOf?.get(hostId);
    return z
      ? { dc: z.datacenter, cluster: z.computeCluster, pool: z.resourcePool, datastore: z.datastore, network: z.network }
      : { dc: inv.datacenter, cluster: inv.computeCluster, pool: inv.resourcePool, datastore: inv.datastore, network: inv.network };
  };
  const vms: LayerVm[] = v.slots.map((s) => {
    const w = where(s.hostId);
    const gpu = s.gpus ? gpuVmInputs(s.memoryMiB, s.gpus) : undefined;
    return {
      name: s.name,
      folder: `/${w.dc}/vm/${inv.folder}`,
      resourcePool: w.pool,
      host: s.hostName,
      cpus: s.cpus,
      memoryMiB: s.memoryMiB,
      disks: [{ unit: 0, sizeGiB: Math.max(s.diskGiB, templateDiskGiB), thin: true }, ...(s.scratchDiskGiB ? [{ unit: 1, sizeGiB: s.scratchDiskGiB, thin: true }] : [])],
      nics: [{ network: w.network, mac: v.macAddresses[s.name].toLowerCase(), addressType: "manual", adapter: "VirtualVmxnet3" }],
      guestinfo: Object.fromEntries(Object.entries(guest[s.name] ?? {}).map(([k, val]) => [k, sha(val)])),
      diskUuid: true,
      cluster: w.cluster,
      datastores: [w.datastore],
      ...(gpu
        ? { gpu: { pciIds: [...gpu.pciDeviceIds].sort(), memoryReservationMiB: gpu.memoryReservation, lockedToMax: gpu.memoryReservationLockedToMax, firmware: gpu.firmware, extraConfig: sortedKeys(gpu.extraConfig) } }
        : {}),
    };
  });
  // DRS: one plan per compute cluster with zones (planZonedDrsRules), else the cluster's.
  const plans: DrsPlan[] = v.zones
    ? planZonedDrsRules(v.clusterName, v.zones, v.slots, v.drs ?? DEFAULT_DRS).map((c) => c.plan)
    : [planDrsRules(v.clusterName, v.topology.hosts, v.slots, v.drs ?? DEFAULT_DRS)];
  const drs: LayerDrs = { hostGroups: [], vmGroups: [], vmHostRules: [], antiAffinityRules: [] };
  for (const plan of plans) {
    const hg = new Map(plan.hostGroups.map((g) => [g.suffix, g.name]));
    const vg = new Map(plan.vmGroups.map((g) => [g.suffix, g.name]));
    drs.hostGroups.push(...plan.hostGroups.map((g) => ({ name: g.name, hosts: [hostName.get(g.hostId)!] })));
    drs.vmGroups.push(...plan.vmGroups.map((g) => ({ name: g.name, vms: [g.vm] })));
    drs.vmHostRules.push(
      ...plan.vmHostRules.map((r) => ({ name: r.name, vmGroup: vg.get(r.vmGroup)!, hostGroup: hg.get(r.hostGroup) ?? r.hostGroup.replace(/^existing:/, ""), mandatory: r.mandatory, enabled: true })),
    );
    drs.antiAffinityRules.push(...plan.antiAffinityRules.map((r) => ({ name: r.name, vms: [...r.vms], mandatory: r.mandatory, enabled: true })));
  }
  return { vms, drs };
}

/**
 * What the lab needs from vCenter: the properties of an object (path or `Type:id`), the VMs of a
 * folder, and the types govc's JSON leaves out (it prints no `_typeName`): each VM's devices' types
 * in device order (`govc device.ls`), each DRS group's and rule's type by name (`govc
 * cluster.group.ls -l`, `govc cluster.rule.ls -l`).
 */
export interface InventoryReader {
  props(ref: string, ...names: string[]): Obj;
  vmsIn(folder: string): string[];
  deviceTypes(vm: string): string[];
  drsTypes(cluster: string): Record<string, string>;
}

/** govc prints an array property as `{ _value: [...] }` (or as the array itself). */
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? x : ((x as Obj | undefined)?._value ?? []));
const refKey = (r: Obj) => `${r.type}:${r.value}`;

/** The VM layer as vCenter holds it: the VMs of `folders` (inventory paths) and the DRS configuration of `clusters`. */
export function observedVmLayer(read: InventoryReader, folders: string | string[], clusters: string | string[]): VmLayer {
  const names = new Map<string, string>();
  const nameOf = (r: Obj) => {
    const k = refKey(r);
    if (!names.has(k)) names.set(k, read.props(k, "name").name);
    return names.get(k)!;
  };
  const clusterOfHost = new Map<string, string>();
  const clusterOf = (host: Obj) => {
    const k = refKey(host);
    if (!clusterOfHost.has(k)) clusterOfHost.set(k, nameOf(read.props(k, "parent").parent));
    return clusterOfHost.get(k)!;
  };
  const vms: LayerVm[] = [folders].flat().flatMap((folder) => read.vmsIn(folder).map((p): LayerVm => {
    const x = read.props(
      p,
      "name",
      "parent",
      "resourcePool",
      "runtime.host",
      "datastore",
      "config.hardware.numCPU",
      "config.hardware.memoryMB",
      "config.hardware.device",
      "config.extraConfig",
      "config.flags.diskUuidEnabled",
      "config.firmware",
      "config.memoryAllocation",
      "config.memoryReservationLockedToMax",
    );
    const types = read.deviceTypes(p);
    const devices = arr(x["config.hardware.device"]).map((d, i): Obj => ({ ...d, _typeName: types[i] }));
    const disks = devices
      .filter((d) => d._typeName === "VirtualDisk")
      .map((d) => ({ unit: d.unitNumber, sizeGiB: d.capacityInKB / 2 ** 20, thin: d.backing?.thinProvisioned === true }))
      .sort((a, b) => a.unit - b.unit);
    const nics = devices
      .filter((d) => typeof d.macAddress === "string")
      .map((d) => ({ network: d.deviceInfo?.summary ?? "", mac: String(d.macAddress).toLowerCase(), addressType: d.addressType, adapter: d._typeName }));
    const extra = arr(x["config.extraConfig"]).filter((o) => String(o.key).startsWith("guestinfo."));
    const passthrough = arr(x["config.extraConfig"]).filter((o) => String(o.key).startsWith("pciPassthru."));
    const pciIds = devices.filter((d) => d._typeName === "VirtualPCIPassthrough").map((d) => String(d.backing?.id));
    const parentPath = (() => {
      // The folder's inventory path: its name under the datacenter's vm folder.
      return `${folder.split("/").slice(0, -1).join("/")}/${nameOf(x.parent)}`;
    })();
    return {
      name: x.name,
      folder: parentPath,
      resourcePool: nameOf(x.resourcePool),
      host: nameOf(x["runtime.host"]),
      cpus: x["config.hardware.numCPU"],
      memoryMiB: x["config.hardware.memoryMB"],
      disks,
      nics,
      guestinfo: Object.fromEntries(extra.map((o) => [o.key, sha(String(o.value))])),
      diskUuid: x["config.flags.diskUuidEnabled"] === true,
      cluster: clusterOf(x["runtime.host"]),
      datastores: arr(x.datastore).map(nameOf).sort(),
      ...(pciIds.length || passthrough.length
        ? {
            gpu: {
              pciIds: pciIds.sort(),
              memoryReservationMiB: Number(x["config.memoryAllocation"]?.reservation ?? 0),
              lockedToMax: x["config.memoryReservationLockedToMax"] === true,
              firmware: String(x["config.firmware"]),
              extraConfig: sortedKeys(Object.fromEntries(passthrough.map((o) => [o.key, String(o.value)]))),
            },
          }
        : {}),
    };
  }));
  const groups: Obj[] = [];
  const rules: Obj[] = [];
  for (const cluster of [clusters].flat()) {
    const cfg = read.props(cluster, "configurationEx").configurationEx ?? {};
    const drsType = read.drsTypes(cluster);
    groups.push(...arr(cfg.group).map((g): Obj => ({ ...g, _typeName: drsType[g.name] })));
    rules.push(...arr(cfg.rule).map((r): Obj => ({ ...r, _typeName: drsType[r.name] })));
  }
  return {
    vms,
    drs: {
      hostGroups: groups.filter((g) => g._typeName === "ClusterHostGroup").map((g) => ({ name: g.name, hosts: arr(g.host).map(nameOf).sort() })),
      vmGroups: groups.filter((g) => g._typeName === "ClusterVmGroup").map((g) => ({ name: g.name, vms: arr(g.vm).map(nameOf).sort() })),
      vmHostRules: rules
        .filter((r) => r._typeName === "ClusterVmHostRuleInfo")
        .map((r) => ({ name: r.name, vmGroup: r.vmGroupName, hostGroup: r.affineHostGroupName, mandatory: r.mandatory === true, enabled: r.enabled === true })),
      antiAffinityRules: rules
        .filter((r) => r._typeName === "ClusterAntiAffinityRuleSpec")
        .map((r) => ({ name: r.name, vms: arr(r.vm).map(nameOf).sort(), mandatory: r.mandatory === true, enabled: r.enabled === true })),
    },
  };
}

/** Every difference between the plan and vCenter, each naming the VM or DRS object and the field. */
export function compareVmLayer(expected: VmLayer, observed: VmLayer): string[] {
  const out: string[] = [];
  const j = (x: unknown) => JSON.stringify(x);
  const byName = <T extends { name: string }>(xs: T[]) => new Map(xs.map((x) => [x.name, x]));
  const sameSet = (what: string, a: string[], b: string[]) => {
    const missing = a.filter((x) => !b.includes(x));
    const extra = b.filter((x) => !a.includes(x));
    if (missing.length) out.push(`${what}: missing ${missing.join(", ")}`);
    if (extra.length) out.push(`${what}: not planned ${extra.join(", ")}`);
  };
  sameSet("VMs", expected.vms.map((v) => v.name), observed.vms.map((v) => v.name));
  const obs = byName(observed.vms);
  for (const e of expected.vms) {
    const o = obs.get(e.name);
    if (!o) continue;
    for (const k of ["folder", "resourcePool", "host", "cpus", "memoryMiB", "disks", "nics", "diskUuid", "cluster", "datastores", "gpu"] as const) {
      if (j(e[k]) !== j(o[k])) out.push(`${e.name}.${k}: planned ${j(e[k])}, vCenter ${j(o[k])}`);
    }
    // guestinfo: names only in the message (the values are secret).
    const keys = (g: Record<string, string>) => Object.keys(g).sort();
    if (j(keys(e.guestinfo)) !== j(keys(o.guestinfo))) out.push(`${e.name}.guestinfo keys: planned ${j(keys(e.guestinfo))}, vCenter ${j(keys(o.guestinfo))}`);
    else for (const k of keys(e.guestinfo)) if (e.guestinfo[k] !== o.guestinfo[k]) out.push(`${e.name}.guestinfo ${k}: value differs (not printed)`);
  }
  const drsKinds = ["hostGroups", "vmGroups", "vmHostRules", "antiAffinityRules"] as const;
  for (const kind of drsKinds) {
    const es = expected.drs[kind] as { name: string }[];
    const os = observed.drs[kind] as { name: string }[];
    sameSet(`DRS ${kind}`, es.map((x) => x.name), os.map((x) => x.name));
    const om = byName(os);
    for (const e of es) {
      const o = om.get(e.name);
      if (o && j(sortLists(e)) !== j(sortLists(o))) out.push(`DRS ${kind} ${e.name}: planned ${j(sortLists(e))}, vCenter ${j(sortLists(o))}`);
    }
  }
  return out;
}

/** The same record with its keys in order (the comparison is of JSON texts). */
function sortedKeys(x: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)));
}

function sortLists(x: object): object {
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v]));
}

/** The guestinfo keys the cluster layer sets on every VM (cloud-init's VMware datasource). */
export const GUESTINFO_KEY_NAMES = Object.values(GUESTINFO_KEYS);
