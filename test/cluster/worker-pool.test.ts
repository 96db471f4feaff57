/** The worker pool the cluster layer hands to Spark: the smallest worker, honest capacity, DaemonSets. */
import * as assert from "node:assert/strict";
import { DEFAULT_KUBERNETES_SETTINGS, resolveKubernetesSettings } from "../../components/cluster/settings";
import { workerPool } from "../../components/cluster/worker-pool";

const GiB = 1024;
const k = DEFAULT_KUBERNETES_SETTINGS;

describe("cluster layer: worker pool", () => {
  const table: { name: string; workers: { cpus: number; memoryMiB: number }[]; cpu: number; memoryMiB: number }[] = [
    // 122880 − ⌈151 + 0.016314 × 122880⌉ (2156) = 120724 MemTotal; − 1024 − 1024 − 500 = 118176.
    { name: "the paper's worker (16 vCPU / 120 GiB)", workers: [{ cpus: 16, memoryMiB: 120 * GiB }], cpu: 15.8, memoryMiB: 118176 },
    // 262144 − ⌈151 + 0.016314 × 262144⌉ (4428) = 257716; − 2548 = 255168.
    { name: "a dense worker (32 vCPU / 256 GiB)", workers: [{ cpus: 32, memoryMiB: 256 * GiB }], cpu: 31.8, memoryMiB: 255168 },
    { name: "the smallest of mixed workers decides", workers: [{ cpus: 16, memoryMiB: 120 * GiB }, { cpus: 8, memoryMiB: 256 * GiB }], cpu: 7.8, memoryMiB: 118176 },
  ];
  for (const t of table) {
    it(t.name, () => {
      const pool = workerPool(t.workers, k);
      assert.equal(pool.count, t.workers.length);
      assert.deepEqual(pool.allocatable, { cpu: t.cpu, memoryMiB: t.memoryMiB });
      // Antrea 2.2.0's agent (200m + 200m; install-cni 100m is an init container), kube-proxy nothing.
      assert.deepEqual(pool.daemonSetRequests, { cpu: 0.4, memoryMiB: 0 });
      // CoreDNS 2 × 100m / 70Mi and antrea-controller 200m / 100Mi, which may land on any worker.
      assert.deepEqual(pool.addOnPods, { cpu: 0.4, memoryMiB: 240 });
    });
  }

  it("the kernel's share is a setting: zero gives the VM's RAM as capacity (the old, optimistic model)", () => {
    const none = resolveKubernetesSettings({ kernelReservation: { fixedMiB: 0, fraction: 0 } });
    assert.deepEqual(none.errors, []);
    assert.equal(workerPool([{ cpus: 16, memoryMiB: 120 * GiB }], none.settings).allocatable.memoryMiB, 120332);
  });

  it("a bad model names the leaf key", () => {
    const r = resolveKubernetesSettings({ kernelReservation: { fraction: 0.7, fixedMiB: -1 } }, "vsphere-spark:kubernetes");
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ["vsphere-spark:kubernetes.kernelReservation.fixedMiB", "vsphere-spark:kubernetes.kernelReservation.fraction"]);
  });

  it("refuses a cluster without workers", () => {
    assert.throws(() => workerPool([], k), /without workers/);
  });
});
