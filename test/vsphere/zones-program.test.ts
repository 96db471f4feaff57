/**
 * The three-zone example stack (Pulumi.zones.yaml) run as the real program under the SDK's mock
 * runtime: the vSphere lookups per zone, a resource pool per zone under its own cluster, each VM
 * on its zone's datastore, network and pool, the DRS groups and rules in the compute cluster of
 * their VMs and hosts, the nodes' zone labels in their kubeadm configuration, and the executor pod
 * template. The stack without zones (Pulumi.dev.yaml) is the negative control: no zone labels, one pool.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { plan } from "../../src/plan/plan";
import { networkConfig } from "../../components/cluster/cloud-init";

const ROOT = path.resolve(__dirname, "../../..");
type R = { type: string; name: string; inputs: Record<string, any> };

async function run(stack: string, sets: string[] = []) {
  const r = await plan({ stack, cwd: ROOT, sets });
  if (!r.ok) assert.fail(JSON.stringify(r.errors, null, 1));
  return r;
}

describe("zones: the registered resources of the three-zone stack", function () {
  let r: Awaited<ReturnType<typeof run>>;
  let res: R[];
  const byName = (n: string) => res.find((x) => x.name === n)!;
  /** The id the simulated vCenter gives a lookup, by token and name. */
  let lookup: (token: string, name: string) => string;
  before(async () => {
    r = await run("zones");
    res = r.recorded.map((x) => ({ type: x.type, name: x.name, inputs: x.inputs as Record<string, any> }));
    const invokes = r.recordedInvokes;
    lookup = (token, name) => {
      const inv = invokes.find((i) => i.token.endsWith(token) && i.args.name === name);
      assert.ok(inv, `no lookup ${token} ${name}`);
      return String(inv.args.name);
    };
  });

  it("looks up each zone's compute cluster, datastore and network in its datacenter, once each", () => {
    const names = (t: string) => r.recordedInvokes.filter((i) => i.token.endsWith(t)).map((i) => i.args.name).sort();
    assert.deepEqual(names("getComputeCluster"), ["Spark-A", "Spark-B", "Spark-C"]);
    assert.deepEqual(names("getDatastore"), ["vsanDatastore-a", "vsanDatastore-b", "vsanDatastore-c"]);
    assert.deepEqual(names("getNetwork"), ["spark-a", "spark-b", "spark-c"]);
    assert.deepEqual(names("getDatacenter"), ["Datacenter"]);
    assert.equal(names("getHost").length, 6);
    lookup("getComputeCluster", "Spark-B");
  });

  it("one resource pool per zone, each under its own cluster's root pool", () => {
    const pools = res.filter((x) => x.type === "vsphere:index/resourcePool:ResourcePool");
    assert.deepEqual(pools.map((p) => p.name).sort(), ["spark-zone-a-pool", "spark-zone-b-pool", "spark-zone-c-pool"]);
    assert.equal(new Set(pools.map((p) => p.inputs.parentResourcePoolId)).size, 3);
    // As without zones (topology.ts RESOURCE_POOL_SETTINGS: what the provider reads back).
    assert.deepEqual(pools.map((p) => p.inputs.scaleDescendantsShares), ["disabled", "disabled", "disabled"]);
  });

  it("each VM on its zone's pool, datastore and network: zone-b's VMs share theirs, and differ from zone-a's", () => {
    const b1 = byName("spark-esxi-b1-worker-1").inputs;
    const b2 = byName("spark-esxi-b2-worker-4").inputs;
    const a1 = byName("spark-esxi-a1-worker-1").inputs;
    assert.equal(b1.resourcePoolId, "spark-zone-b-pool-id");
    for (const k of ["datastoreId", "resourcePoolId"]) {
      assert.equal(b1[k], b2[k], k);
      assert.notEqual(b1[k], a1[k], k);
    }
    assert.equal(b1.networkInterfaces[0].networkId, b2.networkInterfaces[0].networkId);
    assert.notEqual(b1.networkInterfaces[0].networkId, a1.networkInterfaces[0].networkId);
  });

  it("every DRS group and rule is in the compute cluster of its VMs (no rule spans clusters); no control-plane rule with one control plane per cluster", () => {
    const vmCluster = new Map<string, string>();
    const groups = res.filter((x) => x.type.endsWith(":ComputeClusterVmGroup"));
    assert.equal(groups.length, 32); // 28 VMs and the 4 GPU workers of zones b and c
    const idOf = new Map<string, string>();
    for (const g of groups) {
      const vm = g.name.replace(/^spark-/, "").replace(/-vm-group$/, "");
      vmCluster.set(vm, g.inputs.computeClusterId);
      const z = vm.split("-")[1][0]; // esxi-b1-... is zone-b's
      if (idOf.has(z)) assert.equal(idOf.get(z), g.inputs.computeClusterId, vm);
      idOf.set(z, g.inputs.computeClusterId);
    }
    assert.equal(new Set(idOf.values()).size, 3);
    for (const rule of res.filter((x) => x.type.endsWith(":ComputeClusterVmHostRule"))) {
      const vm = rule.name.replace(/^spark-/, "").replace(/-on-host$/, "");
      assert.equal(rule.inputs.computeClusterId, vmCluster.get(vm), rule.name);
    }
    for (const hg of res.filter((x) => x.type.endsWith(":ComputeClusterHostGroup"))) {
      const host = hg.name.replace(/^spark-/, "").replace(/-hosts$/, "");
      assert.equal(hg.inputs.computeClusterId, idOf.get(host.split("-")[1][0]), hg.name);
    }
    assert.equal(res.filter((x) => x.type.endsWith(":ComputeClusterVmAntiAffinityRule")).length, 0);
  });

  it("a zone of an existing host group: no host groups for its hosts, its VMs' rules name the group; two control planes in one cluster get their anti-affinity rule there", async () => {
    const z = await run("zones", [
      "vsphere-spark:zones=[{name: zone-a, computeCluster: Spark-A, hosts: [esxi-a1, esxi-a2], hostGroup: rack-a, cidr: 192.168.1.0/24, gateway: 192.168.1.254}, " +
        "{name: zone-b, computeCluster: Spark-B, hosts: [esxi-b1, esxi-b2], datastore: vsanDatastore-b, network: spark-b, cidr: 192.168.2.0/24, gateway: 192.168.2.254}, " +
        "{name: zone-c, computeCluster: Spark-C, hosts: [esxi-c1, esxi-c2], datastore: vsanDatastore-c, network: spark-c, cidr: 192.168.3.0/24, gateway: 192.168.3.254}]",
      "vsphere-spark:controlPlane={hosts: [esxi-a1, esxi-b1, esxi-b2]}",
    ]);
    const rs = z.recorded.map((x) => ({ type: x.type, name: x.name, inputs: x.inputs as Record<string, any> }));
    assert.ok(!rs.some((x) => x.type.endsWith(":ComputeClusterHostGroup") && x.name.includes("esxi-a")));
    assert.equal(rs.find((x) => x.name === "spark-esxi-a1-worker-1-on-host")!.inputs.affinityHostGroupName, "rack-a");
    const anti = rs.filter((x) => x.type.endsWith(":ComputeClusterVmAntiAffinityRule"));
    assert.deepEqual(anti.map((a) => a.name), ["spark-zone-b-control-plane-apart"]);
    assert.deepEqual(anti[0].inputs.virtualMachineIds, ["spark-esxi-b1-control-plane-id", "spark-esxi-b2-control-plane-id"]);
    assert.match((z.plan.zones as any).notes.join("\n"), /zone zone-b holds 2 of the 3 control planes: when it fails etcd loses quorum/);
  });

  it("every node registers with its zone and region (kubelet node-labels in its kubeadm configuration); control planes too", () => {
    for (const [vm, zone] of [["esxi-a1-control-plane", "zone-a"], ["esxi-b2-worker-3", "zone-b"], ["esxi-c1-control-plane", "zone-c"]]) {
      const a = r.artifacts.find((x) => x.path === `kubeadm/${vm}.yaml`)!;
      const docs = parseAllDocuments(a.content).map((d) => d.toJS());
      const reg = docs.find((d) => d.kind === "InitConfiguration" || d.kind === "JoinConfiguration").nodeRegistration;
      assert.deepEqual(reg.kubeletExtraArgs, [{ name: "node-labels", value: `topology.kubernetes.io/zone=${zone},topology.kubernetes.io/region=Datacenter` }], vm);
    }
    // A GPU worker in a zone: one node-labels flag with the GPU label and its zone's, and the GPU taint.
    const gpu = parseAllDocuments(r.artifacts.find((x) => x.path === "kubeadm/esxi-c2-gpu-worker-2.yaml")!.content)
      .map((d) => d.toJS())
      .find((d) => d.kind === "JoinConfiguration").nodeRegistration;
    assert.deepEqual(gpu.kubeletExtraArgs, [{ name: "node-labels", value: "nvidia.com/gpu.present=true,topology.kubernetes.io/zone=zone-c,topology.kubernetes.io/region=Datacenter" }]);
    assert.deepEqual(gpu.taints, [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
  });

  it("each zone's nodes get its subnet and gateway; the plan shows zones, zone failures, the endpoint's zone and executors per zone", () => {
    assert.deepEqual(networkConfig({ name: "n", role: "worker", address: "192.168.2.12", macAddress: "00:50:56:00:00:01", cpus: 1, memoryMiB: 1024, subnet: { prefixLength: 24, gateway: "192.168.2.254" } }, { prefixLength: 24, gateway: "192.168.1.254", dnsServers: ["192.168.1.254"], searchDomains: [] }).ethernets, {
      ens192: { match: { macaddress: "00:50:56:00:00:01" }, "set-name": "ens192", dhcp4: false, dhcp6: false, "accept-ra": false, addresses: ["192.168.2.12/24"], routes: [{ to: "0.0.0.0/0", via: "192.168.2.254" }], nameservers: { addresses: ["192.168.1.254"] } },
    });
    const vms = r.plan.hosts.flatMap((h) => h.vms.map((v) => [v.name, v.address, h.zone]));
    assert.deepEqual(vms.find((v) => v[0] === "esxi-b1-worker-1"), ["esxi-b1-worker-1", "192.168.2.12", "zone-b"]);
    const z = r.plan.zones as any;
    assert.deepEqual(z.zones.map((x: any) => [x.zone, x.vms.controlPlanes, x.vms.workers, x.vms.gpuWorkers]), [["zone-a", 1, 8, 0], ["zone-b", 1, 8, 2], ["zone-c", 1, 8, 2]]);
    assert.match(z.failures[0].text, /^zone zone-a fails: 10 of its 10 VMs stay down.*control plane 2 of 3 running \(quorum holds\); API endpoint down/);
    assert.match(z.endpoint, /HAProxy VM in zone zone-a: when zone zone-a fails, the API is unreachable/);
    assert.deepEqual((r.plan.spark as any).zones.perZone, { "zone-a": 8, "zone-b": 8, "zone-c": 8 });
    const tpl = r.artifacts.find((x) => x.path === "spark/pod-templates/executor.yaml")!.content;
    assert.match(tpl, /topologyKey: topology\.kubernetes\.io\/zone\n\s+whenUnsatisfiable: DoNotSchedule/);
  });

  it("executors pinned to one zone: a node selector, the sizing over that zone's 8 workers", async () => {
    const p = await run("zones", ["vsphere-spark:spark={deployMode: client, executor: {heapGranularityGiB: 10}, placement: {zone: zone-b}}"]);
    assert.equal((p.plan.spark as any).conf["spark.executor.instances"], "8");
    assert.deepEqual((p.plan.spark as any).zones.perZone, { "zone-a": 0, "zone-b": 8, "zone-c": 0 });
    assert.match(p.artifacts.find((x) => x.path === "spark/pod-templates/executor.yaml")!.content, /nodeSelector:\n\s+topology\.kubernetes\.io\/zone: zone-b/);
  });

  it("negative control: the stack without zones has one pool, no zone labels, no zones section", async () => {
    const d = await run("dev");
    assert.deepEqual(d.recorded.filter((x) => x.type === "vsphere:index/resourcePool:ResourcePool").map((x) => x.name), ["spark-pool"]);
    assert.ok(!d.artifacts.some((a) => a.content.includes("topology.kubernetes.io")));
    assert.equal(d.plan.zones, undefined);
    assert.ok(d.plan.hosts.every((h) => h.zone === undefined));
  });
});
