/**
 * The kernel's share of a VM's RAM against MemTotal measured by booting Debian 12's cloud kernel under
 * QEMU (bench/memtotal/measure.sh; data and provenance in bench/memtotal/memtotal-debian12-cloud.json).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../src/codegen/schemas";
import { DEFAULT_KERNEL_RESERVATION, kernelReservationErrors, kernelReservedMiB, nodeMemoryCapacityMiB } from "../../components/cluster/node-capacity";

interface Measurements {
  _meta: { kernel: string; package: string };
  points: { configuredMiB: number; memTotalKiB: number }[];
}
const data = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "bench", "memtotal", "memtotal-debian12-cloud.json"), "utf8")) as Measurements;
const measuredReservedMiB = (p: { configuredMiB: number; memTotalKiB: number }) => p.configuredMiB - p.memTotalKiB / 1024;

describe("cluster node capacity: the kernel's share of the VM's RAM", () => {
  it("the data: Debian 12 cloud kernel 6.1.0-56, 2 to 256 GiB", () => {
    assert.equal(data._meta.kernel, "6.1.0-56-cloud-amd64");
    assert.deepEqual(data.points.map((p) => p.configuredMiB), [2048, 4096, 8192, 16384, 32768, 65536, 122880, 262144]);
  });

  for (const p of data.points.filter((x) => x.configuredMiB >= 4096)) {
    it(`${p.configuredMiB / 1024} GiB: the model keeps at least what was measured (${measuredReservedMiB(p).toFixed(1)} MiB), at most 50 MiB more`, () => {
      const model = kernelReservedMiB(p.configuredMiB);
      const measured = measuredReservedMiB(p);
      assert.ok(model >= measured, `${model} ≥ ${measured}`);
      assert.ok(model - measured <= 50, `${model} − ${measured} ≤ 50`);
      assert.ok(nodeMemoryCapacityMiB(p.configuredMiB) <= p.memTotalKiB / 1024);
    });
  }

  it("exact values at the reference and dense shapes, and rounding up", () => {
    assert.equal(kernelReservedMiB(122880), 2156, "151 + 0.016314 × 122880 = 2155.66 → 2156");
    assert.equal(nodeMemoryCapacityMiB(122880), 120724);
    assert.equal(kernelReservedMiB(262144), 4428, "151 + 0.016314 × 262144 = 4427.6 → 4428");
    assert.equal(kernelReservedMiB(2048, { fixedMiB: 0, fraction: 0 }), 0);
    assert.equal(kernelReservedMiB(100, { fixedMiB: 200, fraction: 0 }), 100, "never more than the RAM");
    assert.deepEqual(DEFAULT_KERNEL_RESERVATION, { fixedMiB: 151, fraction: 0.016314 });
  });

  it("the 2 GiB point (no RAM above 4 GiB, no 64 MiB SWIOTLB) is below the model too", () => {
    const p = data.points.find((x) => x.configuredMiB === 2048)!;
    assert.ok(kernelReservedMiB(2048) >= measuredReservedMiB(p));
  });

  it("negative control: a model without the share of the RAM (only the fixed part) undershoots the large VMs", () => {
    const p = data.points.find((x) => x.configuredMiB === 262144)!;
    assert.ok(kernelReservedMiB(p.configuredMiB, { fixedMiB: 151, fraction: 0 }) < measuredReservedMiB(p));
  });

  it("model validation names the field", () => {
    assert.deepEqual(kernelReservationErrors(DEFAULT_KERNEL_RESERVATION), []);
    assert.deepEqual(kernelReservationErrors({ fixedMiB: -1, fraction: 0.6 }).map((e) => e.field), ["fixedMiB", "fraction"]);
    assert.deepEqual(kernelReservationErrors(undefined).map((e) => e.field), ["fixedMiB", "fraction"]);
  });
});
