import * as assert from "node:assert/strict";
import {
  VMWARE_MANUAL_MAC_FIRST,
  VMWARE_MANUAL_MAC_LAST,
  assignMacAddresses,
  deriveMacAddress,
  isVmwareManualMac,
  normalizeMac,
} from "../../components/vsphere/mac";
import { REFERENCE_SLOTS } from "./reference-slots";

/** The 20 VMs of the reference environment (Pulumi.dev.yaml). */
const REFERENCE_VMS = REFERENCE_SLOTS.map((s) => s.name);

describe("static MAC addresses", () => {
  it("the reference environment has 20 VMs", () => assert.equal(REFERENCE_VMS.length, 20));

  it("derives the first 22 bits of sha256('<cluster>/<vm>') under 00:50:56 (values computed independently with Python's hashlib)", () => {
    // python3: v = int.from_bytes(sha256(id).digest()[:3], 'big') & 0x3fffff
    assert.equal(deriveMacAddress("spark", "esxi-01-worker-1"), "00:50:56:06:6d:c2");
    assert.equal(deriveMacAddress("spark", "esxi-01-control-plane"), "00:50:56:24:6f:92");
    assert.equal(deriveMacAddress("blue", "esxi-01-worker-1"), "00:50:56:1a:b0:12");
  });

  it("every reference VM's MAC is inside VMware's manual range, distinct, and accepted", () => {
    const { macs, errors } = assignMacAddresses("spark", REFERENCE_VMS);
    assert.deepEqual(errors, []);
    assert.deepEqual(Object.keys(macs), REFERENCE_VMS);
    for (const [vm, mac] of Object.entries(macs)) {
      assert.match(mac, /^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/, vm);
      assert.ok(isVmwareManualMac(mac), vm);
      assert.ok(mac >= VMWARE_MANUAL_MAC_FIRST && mac <= VMWARE_MANUAL_MAC_LAST, vm);
    }
    assert.equal(new Set(Object.values(macs)).size, 20);
  });

  it("is stable: the same whatever the order of the VMs and whatever other VMs exist", () => {
    const all = assignMacAddresses("spark", REFERENCE_VMS).macs;
    const reversed = assignMacAddresses("spark", [...REFERENCE_VMS].reverse()).macs;
    const fewer = assignMacAddresses("spark", REFERENCE_VMS.filter((n) => !n.includes("worker-4"))).macs;
    const more = assignMacAddresses("spark", [...REFERENCE_VMS, "esxi-05-worker-1"]).macs;
    for (const vm of REFERENCE_VMS) {
      assert.equal(reversed[vm], all[vm], vm);
      assert.equal(more[vm], all[vm], vm);
      if (!vm.includes("worker-4")) assert.equal(fewer[vm], all[vm], vm);
    }
  });

  it("differs between clusters for the same VM names", () => {
    const a = assignMacAddresses("spark", REFERENCE_VMS).macs;
    const b = assignMacAddresses("spark-2", REFERENCE_VMS).macs;
    for (const vm of REFERENCE_VMS) assert.notEqual(a[vm], b[vm], vm);
  });

  it("checks the manual range at its boundaries", () => {
    const table: [string, boolean][] = [
      ["00:50:56:00:00:00", true],
      ["00:50:56:3f:ff:ff", true],
      ["00:50:56:40:00:00", false], // vCenter's own generated range starts above
      ["00:50:56:ff:ff:ff", false],
      ["00:50:57:00:00:00", false],
      ["00:0c:29:00:00:01", false], // ESXi's generated OUI
      ["00:50:56:00:00", false],
    ];
    for (const [mac, ok] of table) assert.equal(isVmwareManualMac(mac), ok, mac);
    assert.equal(normalizeMac(" 00:50:56:3F:FF:FF "), "00:50:56:3f:ff:ff");
    assert.equal(normalizeMac("00-50-56-3f-ff-ff"), undefined);
  });

  describe("collisions", () => {
    /** Two VM names whose derived MACs really collide in cluster "spark" (searched). */
    function realCollision(): [string, string] {
      const seen = new Map<string, string>();
      for (let i = 0; i < 10_000; i++) {
        const name = `vm-${i}`;
        const mac = deriveMacAddress("spark", name);
        const first = seen.get(mac);
        if (first !== undefined) return [first, name];
        seen.set(mac, name);
      }
      throw new Error("no collision among 10,000 names");
    }

    it("a real hash collision is an error on the VM that sorts last, naming both and proposing a free MAC", () => {
      const [a, b] = realCollision();
      assert.deepEqual([a, b], ["vm-1566", "vm-2891"], "the same pair Python's hashlib finds");
      assert.equal(deriveMacAddress("spark", a), "00:50:56:1a:6b:ef");
      for (const order of [[a, b, "vm-0"], ["vm-0", b, a]]) {
        const { errors } = assignMacAddresses("spark", order, {}, "vsphere-spark:macAddresses");
        assert.equal(errors.length, 1);
        assert.equal(errors[0].path, `vsphere-spark:macAddresses.${b}`);
        assert.match(errors[0].message, new RegExp(`VM "${b}" would get the MAC 00:50:56:1a:6b:ef that VM "${a}" has; set vsphere-spark:macAddresses\\.${b} to a free address such as 00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$`));
      }
    });

    it("the proposed address resolves the collision, and nothing else changes", () => {
      const [a, b] = realCollision();
      const names = [a, b, "vm-0"];
      const { errors } = assignMacAddresses("spark", names);
      const proposed = /such as (\S+)$/.exec(errors[0].message)![1];
      const fixed = assignMacAddresses("spark", names, { [b]: proposed });
      assert.deepEqual(fixed.errors, []);
      assert.equal(fixed.macs[b], proposed);
      assert.equal(fixed.macs[a], deriveMacAddress("spark", a));
      assert.equal(fixed.macs["vm-0"], deriveMacAddress("spark", "vm-0"));
    });

    it("negative control: an override forced onto another VM's MAC is caught", () => {
      const taken = deriveMacAddress("spark", "esxi-01-worker-1");
      const { errors } = assignMacAddresses("spark", REFERENCE_VMS, { "esxi-04-worker-4": taken.toUpperCase() });
      assert.deepEqual(
        errors.map((e) => e.path),
        ["macAddresses.esxi-04-worker-4"],
      );
      assert.match(errors[0].message, /would get the MAC 00:50:56:06:6d:c2 that VM "esxi-01-worker-1" has/);
    });

    it("reports every bad override at once, with its path", () => {
      const { errors, macs } = assignMacAddresses("spark", ["a", "b", "c", "d"], {
        a: "00:50:56:00:00:01",
        b: "not-a-mac",
        c: "00:50:56:40:00:00",
        zz: "00:50:56:00:00:02",
      });
      assert.deepEqual(errors, [
        { path: "macAddresses.b", message: `"not-a-mac" is not a MAC address (six hex octets separated by ':')` },
        { path: "macAddresses.c", message: "00:50:56:40:00:00 is outside VMware's range for manual MACs, 00:50:56:00:00:00–00:50:56:3f:ff:ff" },
        { path: "macAddresses.zz", message: `no VM is named "zz"` },
      ]);
      assert.equal(macs.a, "00:50:56:00:00:01");
      assert.equal(macs.d, deriveMacAddress("spark", "d"));
    });
  });
});
