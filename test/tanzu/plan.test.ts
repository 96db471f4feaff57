/**
 * The Tanzu back end's plan: the worker pool handed through the seam (Spark sizing equal to the
 * kubeadm stack's for the same worker shape), the plan sections and manifest, and the
 * release/replicas rule.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { planSpark, resolveSparkSettings } from "../../components/spark";
import { resolveKubernetesSettings } from "../../components/cluster";
import { CONTENT_LIBRARY_8U2_WARNING, TKC_DEPRECATION_WARNING, allocatableBasis, checkRollout, parseRolloutState, planTanzu, renderWorkloadCluster, rolloutState, tanzuWorkerPool } from "../../components/tanzu";
import { ValidationError } from "../../components/validation";
import { ROOT, capiClusterProblems, reference, tkcProblems } from "./helpers";

describe("Tanzu plan and worker pool", () => {
  it("Spark sizing on the reference Tanzu stack equals the kubeadm stack's (16 × 16 vCPU / 120 GiB)", () => {
    const dev = flatten(readStackFile(path.join(ROOT, "Pulumi.dev.yaml")));
    const kubeadm = decideStack(dev.values, dev.secretKeys);
    if (!kubeadm.decisions) assert.fail(JSON.stringify(kubeadm.errors));
    const tanzuStack = readStackFile(path.join(ROOT, "Pulumi.tanzu.yaml"));
    // The same Spark section as the kubeadm stack, key for key.
    assert.deepEqual(tanzuStack["vsphere-spark:spark"], readStackFile(path.join(ROOT, "Pulumi.dev.yaml"))["vsphere-spark:spark"]);
    const spark = resolveSparkSettings(tanzuStack["vsphere-spark:spark"]);
    assert.deepEqual(spark.errors, []);
    const pool = tanzuWorkerPool(reference());
    // The same shape; the key naming where GPU workers come from is each back end's own.
    assert.deepEqual({ ...pool, gpuWorkersKey: undefined }, { ...kubeadm.decisions.cluster.workerPool, gpuWorkersKey: undefined });
    // Both stacks' workers have a 400 GiB disk at /var/lib/kubelet for the executors' scratch space
    // (Tanzu: a node-pool volume; kubeadm: vmProfiles.worker.scratchDiskGiB): 400 GiB ext4
    // (402176 MiB) − kube/system reserved 2 GiB − nodefs.available 10% = 359910 MiB.
    assert.deepEqual(pool, {
      count: 16,
      vm: { cpus: 16, memoryMiB: 122880 },
      allocatable: { cpu: 15.8, memoryMiB: 118176 },
      daemonSetRequests: { cpu: 0.4, memoryMiB: 0 },
      addOnPods: { cpu: 0.4, memoryMiB: 240 },
      scratchDisk: { capacityGiB: 400, allocatableMiB: 359910 },
      gpuWorkersKey: "vsphere-spark:tanzu.vmClasses.<class>.vgpuDevices (and a node pool of that class in vsphere-spark:tanzu.cluster.nodePools, replicas at least 1)",
    });
    const onTanzu = planSpark(spark.settings, pool);
    const onKubeadm = planSpark(kubeadm.decisions.spark, kubeadm.decisions.cluster.workerPool);
    assert.deepEqual(onTanzu.sizing, onKubeadm.sizing);
    assert.deepEqual(onTanzu.conf, onKubeadm.conf);
    assert.equal(onTanzu.sizing.executorPod.ephemeralStorageMiB, 359910);
    assert.equal(onTanzu.conf["spark.executor.instances"], "16");
    assert.equal(onTanzu.conf["spark.executor.cores"], "15");
    assert.equal(onTanzu.conf["spark.executor.memory"], "100g");
    // Negative control: the comparison sees a different worker class.
    const smaller = planSpark(spark.settings, tanzuWorkerPool(reference((raw) => (raw.vmClasses.worker = { cpus: 8, memoryGiB: 64 }))));
    assert.notDeepEqual(smaller.conf, onKubeadm.conf);
    assert.equal(smaller.conf["spark.executor.cores"], "7");
  });

  it("the worker pool follows the Kubernetes layer's kubelet reservations", () => {
    const k = resolveKubernetesSettings({ kubeReserved: { cpu: "500m", memory: "2Gi" }, workerDaemonSetRequests: { cpu: "1", memory: "1Gi" } });
    assert.deepEqual(k.errors, []);
    const pool = tanzuWorkerPool(reference(), k.settings);
    assert.deepEqual(pool.allocatable, { cpu: 15.4, memoryMiB: 117152 });
    assert.deepEqual(pool.daemonSetRequests, { cpu: 1, memoryMiB: 1024 });
  });

  it("the plan: seam values, no hosts, one manifest artifact that passes the checks, the tanzu section", () => {
    const p = planTanzu(reference(), undefined, { context: { hosts: [1, 2, 3, 4].map((i) => ({ id: `h${i}`, cpuThreads: 96, memoryMiB: 786432 })) } });
    assert.equal(p.backend, "tanzu");
    assert.deepEqual(p.hosts, []);
    assert.equal(p.workerPool.count, 16);
    assert.deepEqual(p.artifacts.map((a) => [a.path, a.kind]), [["tanzu/spark.yaml", "manifest"]]);
    const docs = parseAllDocuments(p.artifacts[0].content).map((d) => d.toJS());
    assert.equal(docs.length, 1);
    assert.deepEqual(capiClusterProblems(docs[0], "nested"), []);
    const t = p.sections.tanzu as Record<string, any>;
    assert.deepEqual(t.namespace, {
      name: "spark",
      supervisor: "8b1e3c4d-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
      storagePolicies: ["vSAN Default Storage Policy"],
      contentLibraries: [],
      vmClasses: ["spark-worker-16c-120g", "spark-small-8c-64g"],
      access: [{ subject: "spark-devs", domain: "vsphere.local", type: "GROUP", role: "EDIT" }],
    });
    assert.ok(p.text.includes("  access: group spark-devs@vsphere.local EDIT"), p.text.join("\n"));
    assert.deepEqual(t.capacity.total, { vms: 19, cpus: 280, memoryMiB: 2162688, volumeGiB: 8000 }); // 16 × (100 containerd + 400 kubelet)
    assert.deepEqual(t.capacity.hosts, { count: 4, cpuThreads: 384, memoryMiB: 3145728 });
    assert.deepEqual(t.rollout, { release: "v1.31.4---vmware.1-fips-vkr.3", controlPlaneReplicas: 3, pools: { workers: 16 }, namespace: "spark", contentLibraries: [] });
    assert.ok(p.text.includes("    workers: 16 × spark-worker-16c-120g + 500 GiB volumes"), p.text.join("\n"));
    assert.ok(p.text.includes("  total: 19 VMs, 280 vCPU, 2112 GiB of 384 threads, 3072 GiB on 4 hosts"), p.text.join("\n"));
  });

  it("TKC and flat-generation plans write manifests that pass their checks", () => {
    const tkc = planTanzu(reference((raw) => { raw.cluster.api = "tkc"; delete raw.cluster.clusterClass; }));
    const [tkcDoc] = parseAllDocuments(tkc.artifacts[0].content).map((d) => d.toJS());
    assert.deepEqual(tkcProblems(tkcDoc), []);
    const flat = planTanzu(reference((raw) => (raw.cluster.clusterClass = "tanzukubernetescluster")));
    const [flatDoc] = parseAllDocuments(flat.artifacts[0].content).map((d) => d.toJS());
    assert.deepEqual(capiClusterProblems(flatDoc, "flat"), []);
  });
});

describe("Tanzu: never change the release and replicas in one update", () => {
  const before = rolloutState(reference());
  const next = (edit: (raw: Record<string, any>) => void) => rolloutState(reference(edit));
  const upgrade = (raw: Record<string, any>) => (raw.cluster.release = "v1.32.0---vmware.1-fips-vkr.1");

  it("a release change alone, or replicas alone, or a first deployment: accepted", () => {
    assert.deepEqual(checkRollout(before, next(upgrade)), []);
    assert.deepEqual(checkRollout(before, next((raw) => (raw.cluster.nodePools[0].replicas = 12))), []);
    assert.deepEqual(checkRollout(undefined, next((raw) => { upgrade(raw); raw.cluster.nodePools[0].replicas = 12; })), []);
  });

  it("both at once: refused with the explanation, at the release key", () => {
    const errors = checkRollout(before, next((raw) => { upgrade(raw); raw.cluster.nodePools[0].replicas = 12; raw.cluster.controlPlane.replicas = 1; }));
    assert.deepEqual(errors, [
      {
        path: "vsphere-spark:tanzu.cluster.release",
        message:
          "changes the release (v1.31.4---vmware.1-fips-vkr.3 → v1.32.0---vmware.1-fips-vkr.1) and replicas (control plane 3 → 1, pool workers 16 → 12) in one update, " +
          "a known way to wedge a ClusterClass upgrade: apply the replica change first with the old release, then the release",
      },
    ]);
    const added = checkRollout(before, next((raw) => { upgrade(raw); raw.cluster.nodePools.push({ name: "more", replicas: 2, vmClass: "small" }); raw.cluster.sparkPool = "workers"; }));
    assert.match(added[0].message, /pool more added \(2\)/);
  });

  it("the plan refuses it when given the previous state (as the stack output reads back)", () => {
    const previous = parseRolloutState(JSON.parse(JSON.stringify(before)));
    assert.deepEqual(previous, before);
    const bad = reference((raw) => { upgrade(raw); raw.cluster.nodePools[0].replicas = 8; });
    assert.throws(() => planTanzu(bad, undefined, { previous }), (e: unknown) => e instanceof ValidationError && e.fieldErrors[0].path === "vsphere-spark:tanzu.cluster.release");
    assert.doesNotThrow(() => planTanzu(bad));
    for (const junk of [undefined, null, "x", { release: 1 }, { release: "v", controlPlaneReplicas: 3, pools: { a: "1" } }]) assert.equal(parseRolloutState(junk), undefined);
  });
});

describe("Tanzu plan: whether the allocatable is VKS's or an estimate", () => {
  // [edit, reservations applied, note starts with]
  const table: [string, (raw: Record<string, any>) => void, boolean, RegExp][] = [
    ["nested (builtin-generic-v3.4.0)", () => {}, true, /^the nodes reserve what the model subtracts \(resourceConfiguration\.systemReserved/],
    ["flat (builtin-generic-v3.1.0)", (raw) => (raw.cluster.clusterClass = "builtin-generic-v3.1.0"), false, /^the allocatable is an ESTIMATE: the flat ClusterClass variables cannot set/],
    ["TanzuKubernetesCluster", (raw) => ((raw.cluster.api = "tkc"), delete raw.cluster.clusterClass), false, /^the allocatable is an ESTIMATE: a TanzuKubernetesCluster cannot set/],
  ];
  for (const [what, edit, applied, note] of table)
    it(what, () => {
      const s = reference(edit);
      const b = allocatableBasis(s);
      assert.equal(b.reservationsApplied, applied);
      assert.match(b.note, note);
      const p = planTanzu(s);
      assert.ok(p.text.includes(`    ${b.note}`), p.text.join("\n"));
      assert.deepEqual((p.sections.tanzu as any).allocatable, b);
      // What the nested generation sends is exactly the reservation the estimate stands in for.
      const vars = JSON.stringify(renderWorkloadCluster(s));
      assert.equal(vars.includes("systemReserved"), applied);
    });
});

describe("Tanzu: the Kubernetes release library is the Supervisor's, not a VM Service library", () => {
  it("the plan names the release library and warns about vSphere 8.0U2 only when VM Service libraries are attached", () => {
    const p = planTanzu(reference());
    assert.ok(p.text.includes(`  Kubernetes releases: library "Kubernetes Service Content Library" set in the Supervisor's TKG Service settings (not per namespace; \`kubectl get kr\` lists what it offers)`), p.text.join("\n"));
    assert.ok(!p.text.some((l) => l.includes("WARNING")));
    const withLib = planTanzu(reference((raw) => (raw.namespace.contentLibraries = ["vm-images"])));
    assert.ok(withLib.text.includes(`  WARNING: ${CONTENT_LIBRARY_8U2_WARNING}`), withLib.text.join("\n"));
  });
});

describe("Tanzu: a release change Cluster API would refuse, caught offline", () => {
  // [previous, next, error or undefined] (cluster-api internal/webhooks/cluster.go validateTopologyVersion)
  const table: [string, string, RegExp | undefined][] = [
    ["v1.30.8---vmware.1-fips-vkr.1", "v1.31.4---vmware.1-fips-vkr.3", undefined],
    ["v1.31.4---vmware.1-fips-vkr.3", "v1.31.7---vmware.1-fips-vkr.1", undefined],
    ["v1.29.4---vmware.3-fips.1-tkg.1", "v1.31.4---vmware.1-fips-vkr.3", /skips 1 minor version\(s\): Cluster API upgrades one minor at a time \(first a v1\.30 release\)/],
    ["v1.31.4---vmware.1-fips-vkr.3", "v1.30.8---vmware.1-fips-vkr.1", /is older than the running v1\.31\.4---vmware\.1-fips-vkr\.3: Cluster API refuses a version decrease/],
  ];
  const state = (release: string) => ({ release, controlPlaneReplicas: 3, pools: { workers: 16 } });
  for (const [a, b, err] of table)
    it(`${a} → ${b}: ${err ? "refused" : "allowed"}`, () => {
      const errors = checkRollout(state(a), state(b));
      if (!err) assert.deepEqual(errors, []);
      else {
        assert.equal(errors.length, 1);
        assert.equal(errors[0].path, "vsphere-spark:tanzu.cluster.release");
        assert.match(errors[0].message, err);
      }
    });
});

describe("Tanzu plan: api tkc is deprecated", () => {
  it("the plan warns for a TKC and not for a Cluster", () => {
    const tkc = planTanzu(reference((raw) => ((raw.cluster.api = "tkc"), delete raw.cluster.clusterClass)));
    assert.ok(tkc.text.includes(`  WARNING: ${TKC_DEPRECATION_WARNING}`), tkc.text.join("\n"));
    assert.ok(!planTanzu(reference()).text.some((l) => l.includes("deprecated")));
  });
});
