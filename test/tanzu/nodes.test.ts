/**
 * What a TKG Service user sets on the nodes (issue 20, "also expected"): NTP servers and the node OS
 * (`run.tanzu.vmware.com/resolve-os-image`) on both ClusterClass generations and the TKC, the Cluster
 * Autoscaler's bounds on node pools, and guaranteed VM classes. The rendered clusters are held
 * against the vendored CRDs and variable schemas (schemas/tanzu); each check has a negative control.
 */
import * as assert from "node:assert/strict";
import {
  AUTOSCALER_MAX_ANNOTATION,
  AUTOSCALER_MIN_ANNOTATION,
  RESOLVE_OS_IMAGE_ANNOTATION,
  nodePoolsNotReady,
  planTanzu,
  renderCapiCluster,
  renderTkc,
  resolveTanzuSettings,
  tanzuCapacity,
  tanzuWorkerPool,
  vmClassArgs,
} from "../../components/tanzu";
import { capiClusterProblems, reference, referenceRaw, tkcProblems } from "./helpers";

const P = "vsphere-spark:tanzu";
const K = `${P}.cluster`;

function errorsOf(edit: (raw: Record<string, any>) => void, context = {}): Record<string, string> {
  const raw = referenceRaw();
  edit(raw);
  return Object.fromEntries(resolveTanzuSettings(raw, P, context).errors.map((e) => [e.path, e.message]));
}

/** The value of one variable after a pool's overrides (as the topology controller merges them). */
function variable(m: Record<string, any>, name: string): unknown {
  return m.spec.topology.variables.find((v: { name: string }) => v.name === name)?.value;
}

describe("Tanzu: NTP servers of the nodes", () => {
  // Where each generation takes them: vsphere-tmm/vsphere-supervisor cluster-clusterclass-examples.md
  // at 04ac4cab (nested: osConfiguration.ntp.servers, a list, REQUIRED if ntp is set; flat: `ntp`, a string).
  const table: [cls: string, gen: "flat" | "nested", servers: string[], expect: (m: Record<string, any>) => void][] = [
    ["builtin-generic-v3.4.0", "nested", ["ntp1.lab.local", "192.168.1.10"], (m) => assert.deepEqual((variable(m, "osConfiguration") as any).ntp, { servers: ["ntp1.lab.local", "192.168.1.10"] })],
    ["builtin-generic-v3.2.0", "nested", ["ntp1.lab.local"], (m) => assert.deepEqual((variable(m, "osConfiguration") as any).ntp, { servers: ["ntp1.lab.local"] })],
    ["builtin-generic-v3.1.0", "flat", ["ntp1.lab.local"], (m) => assert.equal(variable(m, "ntp"), "ntp1.lab.local")],
    ["tanzukubernetescluster", "flat", ["192.168.1.10"], (m) => assert.equal(variable(m, "ntp"), "192.168.1.10")],
  ];
  for (const [cls, gen, servers, expect] of table)
    it(`${cls} (${gen}): ${servers.join(", ")} where the generation reads them, passing its schema`, () => {
      const m = renderCapiCluster(reference((raw) => Object.assign(raw.cluster, { clusterClass: cls, ntpServers: servers }))) as Record<string, any>;
      expect(m);
      assert.deepEqual(capiClusterProblems(m, gen), []);
    });

  it("none set: no NTP variable at all (the ClusterClass's default)", () => {
    const m = renderCapiCluster(reference()) as Record<string, any>;
    assert.equal((variable(m, "osConfiguration") as any)?.ntp, undefined);
    assert.equal(variable(m, "ntp"), undefined);
  });

  it("negative controls: the schemas refuse the other generation's NTP shape", () => {
    const nested = renderCapiCluster(reference((raw) => Object.assign(raw.cluster, { ntpServers: ["ntp1.lab.local"] }))) as Record<string, any>;
    (variable(nested, "osConfiguration") as any).ntp = "ntp1.lab.local";
    assert.ok(capiClusterProblems(nested, "nested").some((p) => /ntp/.test(p)));
    const flat = renderCapiCluster(reference((raw) => Object.assign(raw.cluster, { clusterClass: "builtin-generic-v3.1.0", ntpServers: ["ntp1.lab.local"] }))) as Record<string, any>;
    flat.spec.topology.variables.find((v: { name: string }) => v.name === "ntp").value = { servers: ["ntp1.lab.local"] };
    assert.ok(capiClusterProblems(flat, "flat").some((p) => /ntp/.test(p)));
  });

  it("bad input: each problem at its leaf, all at once", () => {
    assert.deepEqual(
      errorsOf((raw) => (raw.cluster.ntpServers = ["ntp 1", "ntp1.lab.local", "ntp1.lab.local", 7])),
      {
        [`${K}.ntpServers[0]`]: '"ntp 1" is not a host name or IPv4 address',
        [`${K}.ntpServers[2]`]: '"ntp1.lab.local" is listed twice',
        [`${K}.ntpServers[3]`]: "must be a non-empty string, got number 7",
      },
    );
    assert.deepEqual(errorsOf((raw) => (raw.cluster.ntpServers = [])), { [`${K}.ntpServers`]: "must list at least one server (leave the key out for the ClusterClass's default)" });
    assert.deepEqual(errorsOf((raw) => Object.assign(raw.cluster, { clusterClass: "builtin-generic-v3.1.0", ntpServers: ["a.lab.local", "b.lab.local"] })), {
      [`${K}.ntpServers`]: "the flat ClusterClass variables (builtin-generic-v3.1.0) take one NTP server (the `ntp` variable is a string), got 2",
    });
    const tkc = errorsOf((raw) => {
      Object.assign(raw.cluster, { api: "tkc", ntpServers: ["ntp1.lab.local"] });
      delete raw.cluster.clusterClass;
    });
    assert.equal(tkc[`${K}.ntpServers`], 'only applies when api is "cluster": a TanzuKubernetesCluster has no NTP setting');
  });
});

describe("Tanzu: the node OS (run.tanzu.vmware.com/resolve-os-image)", () => {
  it("Cluster: on the control plane's and every machine deployment's metadata, passing the CAPI CRD", () => {
    const s = reference((raw) => {
      raw.cluster.os = { name: "ubuntu", version: "24.04" };
      raw.cluster.nodePools.push({ name: "extra", replicas: 1, vmClass: "small" });
      raw.cluster.sparkPool = "workers";
    });
    const m = renderCapiCluster(s) as Record<string, any>;
    assert.deepEqual(m.spec.topology.controlPlane.metadata, { annotations: { [RESOLVE_OS_IMAGE_ANNOTATION]: "os-name=ubuntu,os-version=24.04" } });
    for (const md of m.spec.topology.workers.machineDeployments) assert.equal(md.metadata.annotations[RESOLVE_OS_IMAGE_ANNOTATION], "os-name=ubuntu,os-version=24.04", md.name);
    assert.equal(m.metadata.annotations[RESOLVE_OS_IMAGE_ANNOTATION], undefined, "not on the Cluster itself (VMware's example puts it on the topology)");
    assert.deepEqual(capiClusterProblems(m, "nested"), []);
  });

  it("TanzuKubernetesCluster: on its metadata, passing the v1alpha2 CRD", () => {
    const s = reference((raw) => {
      Object.assign(raw.cluster, { api: "tkc", os: { name: "photon" } });
      delete raw.cluster.clusterClass;
    });
    const m = renderTkc(s) as Record<string, any>;
    assert.equal(m.metadata.annotations[RESOLVE_OS_IMAGE_ANNOTATION], "os-name=photon");
    assert.deepEqual(tkcProblems(m), []);
  });

  it("not set: no annotation anywhere", () => {
    const m = renderCapiCluster(reference()) as Record<string, any>;
    assert.ok(!JSON.stringify(m).includes(RESOLVE_OS_IMAGE_ANNOTATION));
  });

  it("negative control: the CRD refuses an annotation value that is not a string (where the check would catch a mis-rendered one)", () => {
    const m = renderCapiCluster(reference((raw) => (raw.cluster.os = { name: "ubuntu" }))) as Record<string, any>;
    m.spec.topology.controlPlane.metadata.annotations[RESOLVE_OS_IMAGE_ANNOTATION] = { "os-name": "ubuntu" };
    assert.ok(capiClusterProblems(m, "nested").some((p) => /controlPlane\/metadata\/annotations/.test(p)));
  });

  it("bad input: each at its leaf", () => {
    assert.deepEqual(errorsOf((raw) => (raw.cluster.os = { name: "windows", version: "24.04 LTS", kernel: "x" })), {
      [`${K}.os.kernel`]: errorsOf((r) => (r.cluster.os = { name: "ubuntu", kernel: "x" }))[`${K}.os.kernel`],
      [`${K}.os.name`]: 'must be one of "ubuntu", "photon", got "windows"',
      [`${K}.os.version`]: '"24.04 LTS" is not an OS version like "24.04"',
    });
    assert.deepEqual(errorsOf((raw) => (raw.cluster.os = { version: "24.04" })), { [`${K}.os.name`]: "is required" });
    assert.match(errorsOf((raw) => (raw.cluster.os = "ubuntu"))[`${K}.os`], /object/);
  });
});

describe("Tanzu: Cluster Autoscaler bounds on node pools", () => {
  const autoscaled = (min: number, max: number) => (raw: Record<string, any>) => {
    const w = raw.cluster.nodePools[0];
    delete w.replicas;
    Object.assign(w, { minReplicas: min, maxReplicas: max });
  };

  it("rendered as the autoscaler's annotations, replicas left unset, passing the CAPI CRD", () => {
    const m = renderCapiCluster(reference(autoscaled(4, 16))) as Record<string, any>;
    const md = m.spec.topology.workers.machineDeployments[0];
    assert.equal(md.replicas, undefined, "replicas unset: the autoscaler owns them");
    assert.deepEqual(md.metadata.annotations, { [AUTOSCALER_MIN_ANNOTATION]: "4", [AUTOSCALER_MAX_ANNOTATION]: "16" });
    assert.equal(AUTOSCALER_MIN_ANNOTATION, "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size");
    assert.equal(AUTOSCALER_MAX_ANNOTATION, "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size");
    assert.deepEqual(capiClusterProblems(m, "nested"), []);
    // A pool without bounds keeps its replicas and gets no annotation.
    const fixed = renderCapiCluster(reference()) as Record<string, any>;
    assert.equal(fixed.spec.topology.workers.machineDeployments[0].replicas, 16);
    assert.equal(fixed.spec.topology.workers.machineDeployments[0].metadata, undefined);
  });

  it("capacity counts the maximum; the Spark sizing the minimum (what always exists)", () => {
    const s = reference(autoscaled(4, 16));
    const cap = tanzuCapacity(s);
    assert.equal(cap.rows.find((r) => r.pool === "workers")!.replicas, 16);
    assert.equal(cap.total.vms, 16 + 3);
    assert.equal(tanzuWorkerPool(s).count, 4);
    const text = planTanzu(s).text.join("\n");
    assert.match(text, /workers: 4\.\.16 \(Cluster Autoscaler; capacity counts 16\)/);
    assert.match(text, /the autoscaler's minimum, what executors can count on; it may add up to 12 more/);
  });

  it("a namespace memory limit the maximum does not fit: refused; negative control: the same pool fixed at the minimum fits", () => {
    // 4 × 120 GiB + surge, 3 × 64 GiB + surge = 600 + 256 = 856 GiB at the minimum; 17 × 120 + 256 = 2296 GiB at the maximum.
    const limit = (raw: Record<string, any>) => (raw.namespace.limits = { memoryGiB: 1000 });
    const e = errorsOf((raw) => {
      limit(raw);
      autoscaled(4, 16)(raw);
    });
    assert.match(e[`${P}.namespace.limits.memoryGiB`], /1000 GiB is less than the memory of the 19 VMs .* 2296 GiB/);
    assert.deepEqual(
      errorsOf((raw) => {
        limit(raw);
        raw.cluster.nodePools[0].replicas = 4;
      }),
      {},
    );
  });

  it("bad input: replicas with bounds, one bound alone, max below min, min 0, api tkc: each at its leaf, all at once", () => {
    const e = errorsOf((raw) => {
      raw.cluster.nodePools[0].minReplicas = 2;
      raw.cluster.nodePools.push({ name: "b", vmClass: "small", maxReplicas: 3 });
      raw.cluster.nodePools.push({ name: "c", vmClass: "small", minReplicas: 5, maxReplicas: 2 });
      raw.cluster.nodePools.push({ name: "d", vmClass: "small", minReplicas: 0, maxReplicas: 2 });
      raw.cluster.sparkPool = "workers";
    });
    assert.deepEqual(Object.keys(e).sort(), [`${K}.nodePools[0].maxReplicas`, `${K}.nodePools[0].replicas`, `${K}.nodePools[1].minReplicas`, `${K}.nodePools[2].maxReplicas`, `${K}.nodePools[3].minReplicas`]);
    assert.match(e[`${K}.nodePools[0].replicas`], /cannot be set with minReplicas\/maxReplicas: .*autoscaler docs require them unset/);
    assert.equal(e[`${K}.nodePools[0].maxReplicas`], "is required");
    assert.equal(e[`${K}.nodePools[1].minReplicas`], "is required");
    assert.equal(e[`${K}.nodePools[2].maxReplicas`], "2 is less than minReplicas 5");
    assert.match(e[`${K}.nodePools[3].minReplicas`], /must be at least 1: scaling a pool from zero needs the autoscaler's capacity annotations/);
    const tkc = errorsOf((raw) => {
      Object.assign(raw.cluster, { api: "tkc" });
      delete raw.cluster.clusterClass;
      autoscaled(2, 4)(raw);
    });
    assert.deepEqual(tkc, { [`${K}.nodePools[0].minReplicas`]: 'only applies when api is "cluster": a TanzuKubernetesCluster node pool has no annotations for the autoscaler\'s bounds' });
  });

  it("the readiness wait: an autoscaled pool is rolled out at whatever count the autoscaler set within the bounds", () => {
    const md = (replicas: number, status: Record<string, number>) => ({
      items: [{ metadata: { name: "spark-workers-x", generation: 1, labels: { "cluster.x-k8s.io/cluster-name": "spark", "topology.cluster.x-k8s.io/deployment-name": "workers" } }, spec: { replicas }, status: { observedGeneration: 1, ...status } }],
    });
    const done = (n: number) => ({ replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n });
    assert.deepEqual(nodePoolsNotReady(md(7, done(7)), "spark", { workers: { min: 4, max: 16 } }), []);
    assert.deepEqual(nodePoolsNotReady(md(7, { ...done(7), readyReplicas: 6 }), "spark", { workers: { min: 4, max: 16 } }), ["workers (spark-workers-x): 6 of 7 ready"]);
    assert.deepEqual(nodePoolsNotReady(md(2, done(2)), "spark", { workers: { min: 4, max: 16 } }), ["workers (spark-workers-x): spec.replicas 2, outside the autoscaler's bounds 4..16, 2 of 4 up to date, 2 of 4 ready, 2 of 4 available"]);
    // Negative control: the same MachineDeployment against a fixed count is not ready (7 is not 16).
    assert.notDeepEqual(nodePoolsNotReady(md(7, done(7)), "spark", { workers: 16 }), []);
  });
});

describe("Tanzu: guaranteed VM classes (full reservations, for JVM-heavy executors)", () => {
  it("guaranteed: true reserves 100 percent of CPU and memory (the provider's cpu_reservation / memory_reservation), in its own class name", () => {
    const s = reference((raw) => (raw.vmClasses.worker.guaranteed = true));
    assert.deepEqual(s.vmClasses.worker, { cpus: 16, memoryMiB: 122880, cpuReservation: 100, memoryReservation: 100 });
    assert.deepEqual(vmClassArgs("spark", "worker", s.vmClasses.worker), { name: "spark-worker-16c-120g-r100-100", cpus: 16, memory: 122880, cpuReservation: 100, memoryReservation: 100 });
    // Negative control: without it, no reservation and the plain name.
    assert.deepEqual(vmClassArgs("spark", "worker", reference().vmClasses.worker), { name: "spark-worker-16c-120g", cpus: 16, memory: 122880 });
  });

  it("bad input: with a reservation of its own or with existing, a non-boolean: each at its leaf", () => {
    const e = errorsOf((raw) => {
      Object.assign(raw.vmClasses.worker, { guaranteed: true, cpuReservation: 50 });
      Object.assign(raw.vmClasses.small, { guaranteed: "yes" });
      raw.vmClasses.shared = { cpus: 4, memoryGiB: 16, existing: "best-effort-xlarge", guaranteed: true };
    });
    assert.equal(e[`${P}.vmClasses.worker.cpuReservation`], "cannot be set with guaranteed: true (which reserves 100 percent)");
    assert.equal(e[`${P}.vmClasses.small.guaranteed`], 'must be true or false, got "yes"');
    assert.equal(e[`${P}.vmClasses.shared.guaranteed`], 'cannot be set with existing (the class "best-effort-xlarge" keeps its own reservations)');
  });
});
