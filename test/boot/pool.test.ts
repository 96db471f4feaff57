/**
 * The boot lab's pool (test/boot/lab.ts): a boot takes one slot per vCPU (a TCG vCPU is a host
 * thread), boots run while their slots fit, a boot wider than the pool runs alone, and a wide boot
 * waiting first is not overtaken by narrow ones behind it.
 */
import * as assert from "node:assert/strict";
import { Pool } from "./lab";

/** Runs `tasks` ([slots, ms]) through a pool of `size`; returns the start order and the peak slots in use. */
async function run(size: number, tasks: [number, number][]): Promise<{ order: number[]; peak: number; peakTasks: number }> {
  const pool = new Pool(size);
  let used = 0;
  let peak = 0;
  let running = 0;
  let peakTasks = 0;
  const order: number[] = [];
  await Promise.all(
    tasks.map(([slots, ms], i) =>
      pool.run(async () => {
        order.push(i);
        used += slots;
        running++;
        peak = Math.max(peak, used);
        peakTasks = Math.max(peakTasks, running);
        await new Promise((r) => setTimeout(r, ms));
        used -= slots;
        running--;
      }, slots),
    ),
  );
  return { order, peak, peakTasks };
}

describe("boot lab pool: slots per vCPU", () => {
  it("single-vCPU boots: at most `size` at once", async () => {
    const r = await run(2, [[1, 20], [1, 20], [1, 20], [1, 20]]);
    assert.equal(r.peak, 2);
    assert.deepEqual(r.order, [0, 1, 2, 3]);
  });

  it("a 2-vCPU control plane takes both slots of a 2-core pool: it never runs beside another boot", async () => {
    const r = await run(2, [[1, 30], [2, 30], [1, 30], [1, 30]]);
    assert.equal(r.peak, 2, "never more vCPUs than cores");
    // 0 runs; 1 (wide) waits for 0; 2 and 3 wait behind 1 (first come, first served), then run together.
    assert.deepEqual(r.order, [0, 1, 2, 3]);
  });

  it("a boot wider than the pool runs alone instead of waiting forever", async () => {
    const r = await run(1, [[2, 10], [1, 10]]);
    assert.equal(r.peakTasks, 1);
    assert.deepEqual(r.order, [0, 1]);
  });

  it("negative control: counted as one slot each, the 2-vCPU boot runs beside another (3 vCPUs on 2 cores)", async () => {
    const pool = new Pool(2);
    let used = 0;
    let peak = 0;
    const vcpus = [1, 2, 1];
    await Promise.all(
      vcpus.map((v) =>
        pool.run(async () => {
          used += v;
          peak = Math.max(peak, used);
          await new Promise((r) => setTimeout(r, 20));
          used -= v;
        }),
      ),
    );
    assert.equal(peak, 3, "without slots the pool oversubscribes the host's cores");
  });
});
