import * as assert from "node:assert/strict";
import { validateClusterSpec } from "../../components/cluster/topology";
import { referenceSpec, testMac } from "./helpers";

describe("cluster topology validation", () => {
  it("accepts the reference topologies", () => {
    for (const kind of ["haproxy", "kube-vip", "external"] as const) assert.deepEqual(validateClusterSpec(referenceSpec(kind, "packages", 16)), []);
    const single = referenceSpec("kube-vip", "packages", 1);
    single.nodes = single.nodes.filter((n) => n.name !== "cp-2" && n.name !== "cp-3");
    assert.deepEqual(validateClusterSpec(single), []);
  });

  it("lists every problem with its path", () => {
    const s = referenceSpec("haproxy", "packages", 2);
    s.nodes = s.nodes.filter((n) => n.name !== "cp-3" && n.role !== "load-balancer");
    s.nodes.push({ name: "Worker_9", role: "worker", address: "192.168.2.9", macAddress: testMac(0x99), cpus: 0, memoryMiB: 100 });
    s.nodes.push({ name: "worker-1", role: "worker", address: "192.168.1.11", macAddress: testMac(0x98), cpus: 16, memoryMiB: 122880 });
    const errors = validateClusterSpec(s);
    const paths = errors.map((e) => e.path);
    for (const p of ["args.nodes", "args.nodes[4].name", "args.nodes[4].address", "args.nodes[4].cpus", "args.nodes[4].memoryMiB", "args.nodes[5].name", "args.nodes[5].address"])
      assert.ok(paths.includes(p), `${p} missing in ${JSON.stringify(errors, null, 1)}`);
    const msgs = errors.filter((e) => e.path === "args.nodes").map((e) => e.message).join("\n");
    assert.match(msgs, /odd number of VMs \(1, 3, 5, ...\) for an etcd quorum; got 2/);
    assert.match(msgs, /"haproxy" needs exactly one load-balancer VM, got 0/);
  });

  it("checks the endpoint against the kind", () => {
    const v = referenceSpec("kube-vip", "packages", 1);
    v.endpoint = { kind: "kube-vip", address: "192.168.1.11", port: 8443 };
    assert.deepEqual(validateClusterSpec(v).map((e) => e.path).sort(), ["args.endpoint.address", "args.endpoint.port"]);
    const h = referenceSpec("haproxy", "packages", 1);
    h.endpoint = { ...h.endpoint, address: "192.168.1.3" };
    assert.match(validateClusterSpec(h)[0].message, /must be the load-balancer VM's address 192\.168\.1\.2/);
    const x = referenceSpec("external", "packages", 1);
    x.nodes.push({ name: "lb", role: "load-balancer", address: "192.168.1.2", macAddress: testMac(0x10), cpus: 2, memoryMiB: 2048 });
    assert.match(validateClusterSpec(x)[0].message, /only used with kind "haproxy"/);
    const n = referenceSpec("external", "packages", 1);
    n.settings = { ...n.settings, podCidr: "192.168.0.0/16" };
    assert.ok(validateClusterSpec(n).some((e) => e.path === "args.settings.podCidr" && /overlaps the node network/.test(e.message)));
  });
});
