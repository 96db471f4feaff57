/**
 * VsphereTopology under the SDK's mock runtime: the whole graph it registers, two instances in
 * one program, the static MACs on the VMs, and every vSphere property held against the
 * pulumi-vsphere 4.17.0 schema.
 */
import * as assert from "node:assert/strict";
import { runUnderMocks, type RecordedResource } from "../../src/plan/mock-runtime";
import { simulatedInventory, simulatedOutputs } from "../../src/plan/simulated-inventory";
import { planDrsRules } from "../../components/vsphere/drs";
import { assignMacAddresses, deriveMacAddress } from "../../components/vsphere/mac";
import { HostSpec, planSlots } from "../../components/vsphere/placement";
import { VsphereTopology, VsphereTopologyArgs, validateTopologyArgs } from "../../components/vsphere/topology";
import { ValidationError } from "../../components/validation";
import { checkRecorded, checkResourceInputs } from "../support/vsphere-schema";

const TOPOLOGY = "vsphere-spark:vsphere:VsphereTopology";
const VM = "vsphere:index/virtualMachine:VirtualMachine";

const host = (id: string, workers: number): HostSpec => ({ id, name: `${id}.lab.local`, cpuThreads: 96, memoryMiB: 768 * 1024, workers });
const HOSTS = [host("esxi-01", 2), host("esxi-02", 1), host("esxi-03", 1)];
const SLOTS = planSlots({
  hosts: HOSTS,
  profiles: { worker: { cpus: 16, memoryMiB: 122880, diskGiB: 100 }, small: { cpus: 8, memoryMiB: 65536, diskGiB: 60 } },
  controlPlaneHosts: ["esxi-01", "esxi-02", "esxi-03"],
  loadBalancerHost: "esxi-03",
});

function args(over: Partial<VsphereTopologyArgs> = {}): VsphereTopologyArgs {
  return {
    clusterName: "spark",
    inventory: {
      datacenter: "Datacenter",
      computeCluster: "Spark-Cluster",
      datastore: "vsanDatastore",
      network: "VM Network",
      template: "ubuntu-2404-kube-template",
      folder: "spark-on-k8s",
      resourcePool: "spark-on-k8s",
    },
    hosts: HOSTS.map((h) => ({ id: h.id, name: h.name })),
    slots: SLOTS,
    addresses: Object.fromEntries(SLOTS.map((s, i) => [s.name, `192.168.1.${10 + i}`])),
    ...over,
  };
}

async function run(instances: [string, VsphereTopologyArgs][]) {
  return runUnderMocks(
    { project: "vsphere-spark", stack: "test", config: {}, invokes: simulatedInventory, outputs: simulatedOutputs },
    () => {
      const out: Record<string, unknown> = {};
      for (const [name, a] of instances) out[name] = new VsphereTopology(name, a).vms;
      return out;
    },
  );
}

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
/** Resources registered twice under one type and name (a URN collision in a real engine). */
function duplicates(rs: RecordedResource[]): string[] {
  const seen = new Set<string>();
  return rs.map(key).filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
}

describe("VsphereTopology under the mock runtime", function () {
  this.timeout(120_000);

  it("registers the pool, folder, VMs and exactly the DRS resources planDrsRules describes, each parented to the component", async () => {
    const r = await run([["spark", args()]]);
    const count = (t: string) => r.resources.filter((x) => x.type === t).length;
    const drs = planDrsRules("spark", HOSTS, SLOTS);
    assert.deepEqual(
      [
        count(TOPOLOGY),
        count("vsphere:index/resourcePool:ResourcePool"),
        count("vsphere:index/folder:Folder"),
        count(VM),
        count("vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup"),
        count("vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup"),
        count("vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule"),
        count("vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule"),
      ],
      [1, 1, 1, 8, drs.hostGroups.length, drs.vmGroups.length, drs.vmHostRules.length, drs.antiAffinityRules.length],
    );
    assert.deepEqual([drs.hostGroups.length, drs.vmGroups.length, drs.antiAffinityRules.length], [3, 8, 1]);
    for (const x of r.resources.filter((x) => x.type.startsWith("vsphere:"))) assert.equal(x.parent, "spark", key(x));
    const names = r.resources.filter((x) => x.type.startsWith("vsphere:")).map((x) => x.name).sort();
    assert.deepEqual(
      names.filter((n) => !n.includes("worker")),
      [
        "spark-control-plane-apart",
        "spark-esxi-01-control-plane",
        "spark-esxi-01-control-plane-on-host",
        "spark-esxi-01-control-plane-vm-group",
        "spark-esxi-01-hosts",
        "spark-esxi-02-control-plane",
        "spark-esxi-02-control-plane-on-host",
        "spark-esxi-02-control-plane-vm-group",
        "spark-esxi-02-hosts",
        "spark-esxi-03-control-plane",
        "spark-esxi-03-control-plane-on-host",
        "spark-esxi-03-control-plane-vm-group",
        "spark-esxi-03-hosts",
        "spark-esxi-03-load-balancer",
        "spark-esxi-03-load-balancer-on-host",
        "spark-esxi-03-load-balancer-vm-group",
        "spark-folder",
        "spark-pool",
      ],
    );
    // vCenter-side names are the configured ones, not the Pulumi names.
    const vm = r.resources.find((x) => x.name === "spark-esxi-01-worker-2")!.inputs as Record<string, any>;
    assert.equal(vm.name, "esxi-01-worker-2");
    const rule = r.resources.find((x) => x.name === "spark-esxi-01-worker-2-on-host")!.inputs as Record<string, any>;
    assert.deepEqual([rule.name, rule.vmGroupName, rule.affinityHostGroupName, rule.mandatory], [
      "spark-esxi-01-worker-2-on-esxi-01",
      "spark-esxi-01-worker-2",
      "spark-esxi-01",
      false,
    ]);
  });

  it("a worker profile with scratchDiskGiB gives each worker VM a second disk (unit 1) the provider schema accepts; other VMs keep one", async () => {
    const slots = planSlots({
      hosts: HOSTS,
      profiles: { worker: { cpus: 16, memoryMiB: 122880, diskGiB: 100, scratchDiskGiB: 400 }, small: { cpus: 8, memoryMiB: 65536, diskGiB: 60 } },
      controlPlaneHosts: ["esxi-01", "esxi-02", "esxi-03"],
      loadBalancerHost: "esxi-03",
    });
    const r = await run([["spark", args({ slots })]]);
    const vm = (n: string) => r.resources.find((x) => x.name === `spark-${n}`)!.inputs as Record<string, any>;
    assert.deepEqual(vm("esxi-01-worker-2").disks[1], { label: "disk1", size: 400, unitNumber: 1, thinProvisioned: true });
    assert.equal(vm("esxi-01-control-plane").disks.length, 1);
    assert.deepEqual(checkResourceInputs(VM, vm("esxi-01-worker-2")), []);
    // Negative control: the schema check sees a misspelled disk field.
    assert.notDeepEqual(checkResourceInputs(VM, { ...vm("esxi-01-worker-2"), disks: [vm("esxi-01-worker-2").disks[0], { label: "disk1", size: 400, unit: 1 }] }), []);
  });

  it("the resource pool sets scaleDescendantsShares to \"disabled\", the value the provider reads back (no diff on the next preview)", async () => {
    // terraform-provider-vsphere vsphere/resource_vsphere_resource_pool.go: scale_descendants_shares is
    // Optional without a default, and flattenResourcePoolConfigSpec sets "disabled" before vSphere 7.0
    // (vCenter's value from 7.0 on): unset, every preview after the first up showed
    // `- scaleDescendantsShares: "disabled"` (test/lab/vsphere.lab.ts, pulumi-resource-vsphere 4.17.0).
    const r = await run([["spark", args()]]);
    const pool = r.resources.find((x) => x.type === "vsphere:index/resourcePool:ResourcePool")!.inputs as Record<string, any>;
    assert.equal(pool.scaleDescendantsShares, "disabled");
    assert.deepEqual(checkResourceInputs("vsphere:index/resourcePool:ResourcePool", pool), []);
    // Negative control: the schema check refuses the key misspelled (the provider would ignore it and the diff stay).
    const { scaleDescendantsShares, ...rest } = pool;
    assert.notDeepEqual(checkResourceInputs("vsphere:index/resourcePool:ResourcePool", { ...rest, scaleDescendantShares: scaleDescendantsShares }), []);
  });

  it("two instances in one program do not collide, even with the same arguments", async () => {
    const r = await run([["blue", args()], ["green", args()]]);
    assert.deepEqual(duplicates(r.resources), []);
    assert.equal(r.resources.filter((x) => x.type === VM).length, 16);
    for (const x of r.resources.filter((x) => x.type.startsWith("vsphere:"))) {
      assert.ok(x.parent === "blue" || x.parent === "green", key(x));
      assert.ok(x.name.startsWith(`${x.parent}-`), `${key(x)} starts with its component's name`);
    }
  });

  it("negative control: the duplicate check catches two instances under one name", async () => {
    let recorded: RecordedResource[] = [];
    try {
      const r = await run([["spark", args()], ["spark", args()]]);
      recorded = r.resources;
    } catch (e) {
      recorded = (e as { recordedResources?: RecordedResource[] }).recordedResources ?? [];
    }
    const d = duplicates(recorded);
    assert.ok(d.includes(`${TOPOLOGY}::spark`) && d.includes(`${VM}::spark-esxi-01-worker-1`), d.join("\n"));
  });

  it("gives each VM's first NIC its static MAC and reports it per VM", async () => {
    const r = await run([["spark", args()]]);
    const expected = assignMacAddresses("spark", SLOTS.map((s) => s.name)).macs;
    const vms = r.outputs.spark as Record<string, { macAddress: string; ipAddress: string; name: string }>;
    for (const s of SLOTS) {
      const nic = (r.resources.find((x) => x.name === `spark-${s.name}`)!.inputs as any).networkInterfaces[0];
      assert.equal(nic.useStaticMac, true, s.name);
      assert.equal(nic.macAddress, deriveMacAddress("spark", s.name), s.name);
      assert.equal(vms[s.name].macAddress, expected[s.name], s.name);
      assert.equal(vms[s.name].macAddress, nic.macAddress, s.name);
    }
    assert.equal(vms["esxi-01-control-plane"].ipAddress, "192.168.1.10");
  });

  it("an override replaces one VM's MAC and leaves the others", async () => {
    const r = await run([["spark", args({ macAddresses: { "esxi-02-worker-1": "00:50:56:3F:00:01" } })]]);
    const mac = (n: string) => (r.resources.find((x) => x.name === `spark-${n}`)!.inputs as any).networkInterfaces[0].macAddress;
    assert.equal(mac("esxi-02-worker-1"), "00:50:56:3f:00:01");
    assert.equal(mac("esxi-01-worker-1"), deriveMacAddress("spark", "esxi-01-worker-1"));
  });

  const variants: Record<string, Partial<VsphereTopologyArgs>> = {
    "DRS rules on": {},
    "DRS rules mandatory": { drs: { enabled: true, mandatory: true } },
    "DRS rules off": { drs: { enabled: false, mandatory: false } },
    "one control plane, guestinfo set": {
      slots: SLOTS.filter((s) => s.role !== "control-plane" || s.hostId === "esxi-01"),
      guestinfo: { "esxi-01-control-plane": { "guestinfo.userdata": "e30=", "guestinfo.userdata.encoding": "base64" } },
    },
  };
  for (const [title, over] of Object.entries(variants)) {
    it(`${title}: every vSphere property and invoke argument matches the provider schema`, async () => {
      const r = await run([["a", args(over)], ["b", args({ ...over, clusterName: "other" })]]);
      assert.deepEqual(checkRecorded({ resources: r.resources, invokes: r.invokes }), []);
      assert.deepEqual(duplicates(r.resources), []);
      const rules = r.resources.filter((x) => x.type.startsWith("vsphere:index/computeCluster"));
      if (over.drs?.enabled === false) assert.equal(rules.length, 0);
      else for (const x of rules.filter((x) => "mandatory" in x.inputs)) assert.equal(x.inputs.mandatory, over.drs?.mandatory ?? false, x.name);
      if (title.startsWith("one control plane")) assert.equal(rules.filter((x) => x.type.endsWith("AntiAffinityRule")).length, 0);
    });
  }

  it("the schema check would catch a misspelt NIC property (negative control)", async () => {
    const r = await run([["spark", args()]]);
    const vm = r.resources.find((x) => x.type === VM)!;
    const nic = (vm.inputs.networkInterfaces as Record<string, unknown>[])[0];
    const { useStaticMac, macAddress, ...rest } = nic;
    const bad = { ...vm.inputs, networkInterfaces: [{ ...rest, useStaticMAC: useStaticMac, mac_address: macAddress }] };
    const problems = checkResourceInputs(VM, bad);
    assert.ok(problems.some((p) => p.includes('"useStaticMAC"')), problems.join("\n"));
    assert.ok(problems.some((p) => p.includes('"mac_address"')), problems.join("\n"));
    assert.deepEqual(checkResourceInputs(VM, vm.inputs), []);
  });

  it("refuses bad arguments before registering anything, every problem at once", async () => {
    const bad = args({
      hosts: [...args().hosts, { id: "esxi-01", name: "again" }],
      macAddresses: { "esxi-01-worker-2": deriveMacAddress("spark", "esxi-01-worker-1"), nope: "00:50:56:00:00:01" },
    });
    assert.deepEqual(validateTopologyArgs(bad).map((e) => e.path), ["hosts[3].id", "macAddresses.nope", "macAddresses.esxi-01-worker-2"]);
    let recorded: RecordedResource[] | undefined;
    await assert.rejects(
      run([["spark", bad]]).catch((e) => {
        recorded = e.recordedResources;
        throw e;
      }),
      (e: unknown) => e instanceof ValidationError && /VsphereTopology spark/.test(e.message) && e.errors.length === 3,
    );
    assert.deepEqual(recorded?.filter((x) => x.type !== "pulumi:pulumi:Stack") ?? [], []);
  });
});
