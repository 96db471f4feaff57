/**
 * Executor scratch space (item 7 of issue 19): Spark 4's LocalDirsFeatureStep
 * (resource-managers/kubernetes/core/src/main/scala/org/apache/spark/deploy/k8s/features/
 * LocalDirsFeatureStep.scala) uses the container's mounts named `spark-local-dir-*` as SPARK_LOCAL_DIRS
 * and creates its own emptyDir only when there is none. emptyDirs live under /var/lib/kubelet, so
 * the scratch disk is a worker disk mounted there; its ephemeral-storage allocatable is the kubelet's
 * rule (capacity − kube/system reserved − nodefs.available), on ext4's filesystem size.
 */
import * as assert from "node:assert/strict";
import { ephemeralAllocatableMiB, ext4CapacityMiB } from "../../components/cluster/scratch";
import { DEFAULT_KUBERNETES_SETTINGS } from "../../components/cluster/settings";
import { planSpark } from "../../components/spark/plan";
import { podTemplate } from "../../components/spark/podtemplates";
import { SizingError, executorScratchMiB } from "../../components/spark/sizing";
import { resolveSparkSettings } from "../../components/spark/settings";
import { PAPER, referenceWorkers, settingsOf } from "./helpers";

const kubelet = DEFAULT_KUBERNETES_SETTINGS.kubelet;

describe("spark: executor scratch space on a disk at /var/lib/kubelet", () => {
  const table: [string, number, number, number][] = [
    // disk GiB, ext4 MiB (disk − 1/64 inode tables − journal ≤ 1 GiB), allocatable MiB (− 2 GiB reserved − 10%)
    ["the Tanzu stack's 400 GiB volume", 400, 402176, 359910],
    ["a 100 GiB disk", 100, 99776, 87750],
    ["limit: a 32 GiB disk, the journal is 1/64 of it", 32, 31744, 26521],
  ];
  for (const [name, disk, fs, alloc] of table) {
    it(`${name}: ${fs} MiB filesystem, ${alloc} MiB allocatable ephemeral-storage`, () => {
      assert.equal(ext4CapacityMiB(disk), fs);
      assert.equal(ephemeralAllocatableMiB(disk, kubelet), alloc);
    });
  }

  it("the executor template mounts a sized spark-local-dir-1 emptyDir and requests its size", () => {
    const w = { ...referenceWorkers(16), scratchDisk: { capacityGiB: 400, allocatableMiB: 359910 } };
    const plan = planSpark(settingsOf({ ...PAPER, deployMode: "client" }), w);
    assert.equal(plan.sizing.executorPod.ephemeralStorageMiB, 359910);
    const t = podTemplate(plan, "executor") as any;
    assert.deepEqual(t.spec.volumes, [{ name: "spark-local-dir-1", emptyDir: { sizeLimit: "359910Mi" } }]);
    assert.deepEqual(t.spec.containers[0].volumeMounts, [{ name: "spark-local-dir-1", mountPath: "/var/data/spark-local-dir-1" }]);
    assert.deepEqual(t.spec.containers[0].resources, { requests: { "ephemeral-storage": "359910Mi" } });
    assert.doesNotMatch(plan.sizing.fit.notes.join("\n"), /boot disk/);
    // Two executors per node share the disk.
    assert.equal(executorScratchMiB(w, 2), 179955);
    // The driver's template is unchanged.
    assert.equal((podTemplate(plan, "driver") as any).spec.volumes, undefined);
  });

  it("negative control: without a scratch disk the template leaves Spark its default emptyDir, and the plan says where it goes", () => {
    const plan = planSpark(settingsOf({ ...PAPER, deployMode: "client" }), referenceWorkers(16));
    const t = podTemplate(plan, "executor") as any;
    assert.equal(t.spec.volumes, undefined);
    assert.equal(t.spec.containers[0].volumeMounts, undefined);
    assert.match(plan.sizing.fit.notes.join("\n"), /scratch space \(shuffle, spill\) is Spark's emptyDir on the workers' boot disk/);
  });

  it("a scratch disk too small for the executors of a node is refused, naming executor.executorsPerNode", () => {
    assert.throws(
      () => executorScratchMiB({ scratchDisk: { capacityGiB: 4, allocatableMiB: 1500 } }, 2),
      (e: unknown) => e instanceof SizingError && e.field === "executor.executorsPerNode" && /750 MiB per executor for 2 executors per node, less than 1 GiB/.test(e.message),
    );
  });

  it("hostPath local dirs through extraConf are refused under baseline (the namespace's default), with the key", () => {
    const key = "spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.path";
    const r = resolveSparkSettings({ extraConf: { [key]: "/data/spark" } });
    assert.deepEqual(r.errors.map((e) => e.path), [`vsphere-spark:spark.extraConf.${key}`]);
    assert.match(r.errors[0].message, /mounts a hostPath volume, which the namespace's Pod Security level "baseline" forbids/);
    // Negative control: a privileged namespace admits it; a PVC volume is not a hostPath.
    assert.deepEqual(resolveSparkSettings({ extraConf: { [key]: "/data/spark" }, podSecurity: { enforce: "privileged", warn: "privileged", audit: "privileged" } }).errors, []);
    assert.deepEqual(resolveSparkSettings({ extraConf: { "spark.kubernetes.executor.volumes.persistentVolumeClaim.data.mount.path": "/data" } }).errors, []);
  });
});
