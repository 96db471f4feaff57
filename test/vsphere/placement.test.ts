import * as assert from "node:assert/strict";
import { assignAddresses, cidrsOverlap, formatIpv4, parseCidr, parseIpv4 } from "../../components/vsphere/addressing";
import { HostSpec, TopologySpec, checkTopology, hostAllocations, planSlots } from "../../components/vsphere/placement";
import * as path from "node:path";
import { loadFlatConfig } from "../../src/plan/plan";
import { decideStack } from "../../src/config/decisions";

const host = (id: string, workers = 4): HostSpec => ({ id, name: `${id}.lab`, cpuThreads: 96, memoryMiB: 768 * 1024, workers });
const spec = (over: Partial<TopologySpec> = {}): TopologySpec => ({
  hosts: [host("h1"), host("h2"), host("h3"), host("h4")],
  profiles: { worker: { cpus: 16, memoryMiB: 122880, diskGiB: 100 }, small: { cpus: 8, memoryMiB: 65536, diskGiB: 60 } },
  controlPlaneHosts: ["h1", "h2", "h3"],
  loadBalancerHost: "h4",
  ...over,
});
const paths = { hosts: "hosts", controlPlane: "cp", loadBalancer: "lb", workers: "w", overcommit: "oc" };

describe("placement", () => {
  it("names VMs by host and slot, control plane and load balancer before workers", () => {
    const names = planSlots(spec({ hosts: [host("h1", 2), host("h2", 1)], controlPlaneHosts: ["h1"], loadBalancerHost: "h1" })).map((s) => s.name);
    assert.deepEqual(names, ["h1-control-plane", "h1-load-balancer", "h1-worker-1", "h1-worker-2", "h2-worker-1"]);
  });

  it("adds only new slots when workers or hosts grow", () => {
    const before = planSlots(spec());
    const after = planSlots(spec({ hosts: [host("h1", 5), host("h2"), host("h3"), host("h4"), host("h5", 2)] }));
    for (const s of before) assert.deepEqual(after.find((a) => a.name === s.name), s);
    assert.deepEqual(
      after.filter((a) => !before.some((b) => b.name === a.name)).map((s) => s.name),
      ["h1-worker-5", "h5-worker-1", "h5-worker-2"],
    );
  });

  it("adds up each host's vCPU and memory", () => {
    const a = hostAllocations(spec());
    assert.deepEqual(a.map((x) => [x.cpus, x.memoryMiB / 1024]), [[72, 544], [72, 544], [72, 544], [72, 544]]);
  });

  it("accepts the reference topology and rejects exceeding capacity exactly at the limit", () => {
    assert.deepEqual(checkTopology(spec(), { cpu: 1, memory: 1 }, paths), []);
    const tight = spec({ hosts: [host("h1"), host("h2"), host("h3"), { ...host("h4"), cpuThreads: 72 }] });
    assert.deepEqual(checkTopology(tight, { cpu: 1, memory: 1 }, paths), [], "72 of 72 fits");
    const over = spec({ hosts: [host("h1"), host("h2"), host("h3"), { ...host("h4"), cpuThreads: 71 }] });
    assert.equal(checkTopology(over, { cpu: 1, memory: 1 }, paths).length, 1);
  });
});

describe("addressing", () => {
  it("parses IPv4 addresses and CIDRs strictly", () => {
    assert.equal(parseIpv4("192.168.1.2"), 0xc0a80102);
    for (const bad of ["192.168.1", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1.2.3.4/24"]) assert.equal(parseIpv4(bad), undefined, bad);
    assert.equal(parseCidr("10.0.0.0/8")?.prefixLength, 8);
    assert.equal(parseCidr("10.0.0.1/8"), undefined);
    assert.equal(parseCidr("10.0.0.0/33"), undefined);
    assert.ok(cidrsOverlap(parseCidr("10.96.0.0/12")!, parseCidr("10.100.0.0/16")!));
    assert.ok(!cidrsOverlap(parseCidr("10.96.0.0/12")!, parseCidr("10.112.0.0/16")!));
  });

  it("derives an address per slot from the host block, overrides winning", () => {
    const cidr = parseCidr("192.168.1.0/24")!;
    const slots = planSlots(spec());
    const a = assignAddresses({ cidr, gateway: parseIpv4("192.168.1.254")!, firstOffset: 10, blockSize: 20, overrides: { "h4-load-balancer": parseIpv4("192.168.1.2")! } }, ["h1", "h2", "h3", "h4"], slots);
    const get = (n: string) => formatIpv4(a.get(n)!);
    assert.equal(get("h1-control-plane"), "192.168.1.10");
    assert.equal(get("h1-worker-1"), "192.168.1.12");
    assert.equal(get("h2-worker-4"), "192.168.1.35");
    assert.equal(get("h4-load-balancer"), "192.168.1.2");
    assert.equal(get("h4-worker-1"), "192.168.1.72");
  });
});

describe("a load balancer whose default host moved (3 → 5 control planes on five hosts)", () => {
  const ROOT = path.resolve(__dirname, "../../..");
  const five = `vsphere-spark:hosts=${JSON.stringify([1, 2, 3, 4, 5].map((i) => ({ name: `esxi-0${i}.lab.local`, cpuThreads: 96, memoryGiB: 768 })))}`;
  const errorsOf = (sets: string[]) => {
    const { flat } = loadFlatConfig({ stack: "dev", cwd: ROOT, sets });
    return decideStack(flat!.values, flat!.secretKeys).errors;
  };
  it("the address key of the old load balancer is refused with the reason and both ways out: pin the host, or rename the key", () => {
    const e = errorsOf([five, "vsphere-spark:controlPlane={count: 5}"]);
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0].path, "vsphere-spark:network.addresses.esxi-04-load-balancer");
    assert.match(e[0].message, /default host is now esxi-05 .* a replacement of the VM that serves the API endpoint\. To keep it, set vsphere-spark:endpoint\.host: esxi-04; to move it on purpose, rename this key to "esxi-05-load-balancer"$/);
  });
  it("with the host pinned, the stack is valid and the load balancer stays; an unrelated unknown name still gets a plain did-you-mean (negative control)", () => {
    assert.deepEqual(errorsOf([five, "vsphere-spark:controlPlane={count: 5}", "vsphere-spark:endpoint={kind: haproxy, port: 6443, host: esxi-04}"]), []);
    const network = JSON.parse(loadFlatConfig({ stack: "dev", cwd: ROOT }).flat!.values["vsphere-spark:network"]);
    const e = errorsOf([`vsphere-spark:network=${JSON.stringify({ ...network, addresses: { "esxi-04-load-balancr": "192.168.1.2" } })}`]);
    assert.ok(e.some((x) => /did you mean "esxi-04-load-balancer"/.test(x.message) && !/default host/.test(x.message)), JSON.stringify(e));
  });
});
