/**
 * The rendered workload cluster, held against the real CAPI Cluster CRD (cluster-api v1.10.10), the
 * ClusterClass variable schema of its generation (schemas/tanzu/clusterclass-variables-*.json) and,
 * for a TanzuKubernetesCluster, the public v1alpha2 CRD; with negative controls for each check.
 */
import * as assert from "node:assert/strict";
import { resolveKubernetesSettings } from "../../components/cluster";
import { classNameOf, systemReserved, renderCapiCluster, renderTkc, renderTrustedCaSecret, renderWorkloadCluster, vmClassArgs, vmClassName } from "../../components/tanzu";
import { PEM, capiClusterProblems, reference, tkcProblems } from "./helpers";


/** Everything a user may set on the cluster, for one generation or API. */
function full(raw: Record<string, any>, extra: Record<string, unknown>): void {
  Object.assign(raw.cluster, extra);
  raw.cluster.controlPlane.volumes = [{ name: "etcd", mountPath: "/var/lib/etcd", capacityGiB: 4 }];
  raw.cluster.nodePools.push({
    name: "gpu",
    replicas: 2,
    vmClass: "small",
    labels: { "example.com/tier": "gpu", managed: "" },
    taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }, { key: "dedicated", value: "spark", effect: "NoExecute" }],
    volumes: [{ name: "scratch", mountPath: "/scratch", capacityGiB: 50, storageClass: "fast" }],
  });
  raw.cluster.sparkPool = "workers";
  raw.cluster.proxy = { httpProxy: "http://proxy.lab.local:3128", httpsProxy: "http://proxy.lab.local:3128", noProxy: [".lab.local"] };
  raw.cluster.trustedCas = [{ name: "harbor-ca", pem: PEM }];
}

describe("Tanzu: VM class names carry the namespace and the size", () => {
  const cases: [string, string, Parameters<typeof vmClassName>[2], string][] = [
    ["spark", "worker", { cpus: 16, memoryMiB: 122880 }, "spark-worker-16c-120g"],
    ["spark", "small", { cpus: 8, memoryMiB: 65536 }, "spark-small-8c-64g"],
    ["etl", "odd", { cpus: 2, memoryMiB: 1536 }, "etl-odd-2c-1536m"],
    ["spark", "gpu", { cpus: 8, memoryMiB: 65536, memoryReservation: 100 }, "spark-gpu-8c-64g-r0-100"],
    ["spark", "res", { cpus: 4, memoryMiB: 8192, cpuReservation: 50, memoryReservation: 25 }, "spark-res-4c-8g-r50-25"],
    // An adopted class keeps the name vCenter knows it by.
    ["spark", "big", { cpus: 16, memoryMiB: 131072, existing: "best-effort-4xlarge" }, "best-effort-4xlarge"],
  ];
  for (const [ns, key, spec, name] of cases) it(`${ns}/${key} ${JSON.stringify(spec)} → ${name}`, () => assert.equal(vmClassName(ns, key, spec), name));

  it("a resize is a new name, the same size the same name", () => {
    assert.notEqual(vmClassName("spark", "worker", { cpus: 16, memoryMiB: 122880 }), vmClassName("spark", "worker", { cpus: 16, memoryMiB: 131072 }));
    assert.equal(vmClassName("spark", "worker", { cpus: 16, memoryMiB: 122880 }), vmClassName("spark", "worker", { cpus: 16, memoryMiB: 122880 }));
  });

  it("two stacks (two namespaces) with the same shapes make different classes", () => {
    const a = reference();
    const b = reference((raw) => (raw.namespace.name = "spark-b"));
    const names = (s: typeof a) => Object.keys(s.vmClasses).map((k) => classNameOf(s, k));
    assert.deepEqual(names(a), ["spark-worker-16c-120g", "spark-small-8c-64g"]);
    assert.deepEqual(names(b), ["spark-b-worker-16c-120g", "spark-b-small-8c-64g"]);
    for (const n of names(a)) assert.ok(!names(b).includes(n), n);
  });

  it("the provider inputs are in MB and carry only the reservations set", () => {
    assert.deepEqual(vmClassArgs("spark", "worker", { cpus: 16, memoryMiB: 122880 }), { name: "spark-worker-16c-120g", cpus: 16, memory: 122880 });
    assert.deepEqual(vmClassArgs("ns", "g", { cpus: 1, memoryMiB: 1024, memoryReservation: 100 }), { name: "ns-g-1c-1g-r0-100", cpus: 1, memory: 1024, memoryReservation: 100 });
  });
});

describe("Tanzu: the rendered CAPI Cluster", () => {
  it("reference stack (builtin-generic-v3.4.0, nested): passes the CRD and the nested variable schema", () => {
    const s = reference();
    assert.equal(s.cluster.variables, "nested");
    const m = renderCapiCluster(s) as Record<string, any>;
    assert.deepEqual(capiClusterProblems(m, "nested"), []);
    assert.equal(m.spec.topology.class, "builtin-generic-v3.4.0");
    assert.equal(m.spec.topology.classNamespace, "vmware-system-vks-public");
    assert.equal(m.spec.topology.version, "v1.31.4---vmware.1-fips-vkr.3");
    assert.equal(m.metadata.namespace, "spark");
    assert.deepEqual(m.spec.topology.controlPlane, { replicas: 3 });
    const [md] = m.spec.topology.workers.machineDeployments;
    assert.deepEqual(md, {
      class: "node-pool",
      name: "workers",
      replicas: 16,
      variables: {
        overrides: [
          { name: "vmClass", value: "spark-worker-16c-120g" },
          {
            name: "volumes",
            value: [
              { name: "containerd", mountPath: "/var/lib/containerd", storageClass: "vsan-default-storage-policy", capacity: "100Gi" },
              { name: "kubelet", mountPath: "/var/lib/kubelet", storageClass: "vsan-default-storage-policy", capacity: "400Gi" },
            ],
          },
        ],
      },
    });
    assert.deepEqual(m.spec.topology.variables.slice(0, 2), [
      { name: "vmClass", value: "spark-small-8c-64g" },
      { name: "storageClass", value: "vsan-default-storage-policy" },
    ]);
  });

  for (const [gen, cls] of [["nested", "builtin-generic-v3.2.0"], ["flat", "builtin-generic-v3.1.0"], ["flat", "tanzukubernetescluster"]] as const) {
    it(`${cls} (${gen}) with every option: passes the CRD and the ${gen} schema, fails the other generation's`, () => {
      const s = reference((raw) => full(raw, { clusterClass: cls }));
      assert.equal(s.cluster.variables, gen);
      const m = renderCapiCluster(s) as Record<string, any>;
      assert.deepEqual(capiClusterProblems(m, gen), []);
      const other = gen === "flat" ? "nested" : "flat";
      const wrong = capiClusterProblems(m, other);
      assert.ok(wrong.some((p) => /must NOT have additional properties/.test(p)), wrong.join("\n"));
      if (cls === "tanzukubernetescluster") assert.equal(m.spec.topology.classNamespace, undefined);
    });
  }

  it("nested: only variables builtin-generic-v3.2.0 already has (the oldest nested class), so one rendering serves 3.2 to 3.4", () => {
    // The v3.2.0 section of cluster-clusterclass-examples.md (04ac4cab): osConfiguration there has
    // ntp, systemProxy, trust and user only (fips, sshd, directoryJoin, ubuntuPro came with 3.3/3.4).
    const V320: Record<string, string[] | true> = {
      kubernetes: true, node: true, osConfiguration: ["ntp", "systemProxy", "trust", "user"], resourceConfiguration: true,
      storageClass: true, vmClass: true, volumes: true, vsphereOptions: true,
    };
    const m = renderCapiCluster(reference((raw) => full(raw, { clusterClass: "builtin-generic-v3.2.0" }))) as Record<string, any>;
    const all = [
      ...m.spec.topology.variables,
      ...(m.spec.topology.controlPlane.variables?.overrides ?? []),
      ...m.spec.topology.workers.machineDeployments.flatMap((d: any) => d.variables?.overrides ?? []),
    ];
    for (const v of all) {
      const allowed = V320[v.name];
      assert.ok(allowed, `${v.name} is not a v3.2.0 variable`);
      if (Array.isArray(allowed)) for (const k of Object.keys(v.value)) assert.ok(allowed.includes(k), `${v.name}.${k} is not in v3.2.0`);
    }
    assert.ok(all.some((v) => v.name === "osConfiguration"));
  });

  it("nested: labels, taints (value always set), proxy and inline CAs land where v3.2+ reads them", () => {
    const s = reference((raw) => full(raw, {}));
    const m = renderCapiCluster(s) as Record<string, any>;
    const gpu = m.spec.topology.workers.machineDeployments[1];
    const node = gpu.variables.overrides.find((v: any) => v.name === "node").value;
    assert.deepEqual(node, {
      labels: { "example.com/tier": "gpu", managed: "" },
      taints: [{ key: "nvidia.com/gpu", value: "", effect: "NoSchedule" }, { key: "dedicated", value: "spark", effect: "NoExecute" }],
    });
    const os = m.spec.topology.variables.find((v: any) => v.name === "osConfiguration").value;
    assert.deepEqual(os.trust, { additionalTrustedCAs: [{ caCert: { content: PEM } }] });
    assert.equal(os.systemProxy.http, "http://proxy.lab.local:3128");
    assert.deepEqual(os.systemProxy.noProxy, [".lab.local", "10.244.0.0/16", "10.96.0.0/12", ".cluster.local"]);
    assert.deepEqual(m.spec.topology.controlPlane.variables.overrides, [
      { name: "volumes", value: [{ name: "etcd", mountPath: "/var/lib/etcd", storageClass: "vsan-default-storage-policy", capacity: "4Gi" }] },
    ]);
    assert.equal(renderTrustedCaSecret(s), undefined);
  });

  it("nested: the nodes reserve what the allocatable model subtracts (kube + system reserved, not automatic)", () => {
    const m = renderCapiCluster(reference()) as Record<string, any>;
    const rc = m.spec.topology.variables.find((v: any) => v.name === "resourceConfiguration").value;
    assert.deepEqual(rc, { systemReserved: { automatic: false, cpu: "200m", memory: "2048Mi" } });
    const k = resolveKubernetesSettings({ kubeReserved: { cpu: "1", memory: "1536Mi" }, systemReserved: { cpu: "250m", memory: null } });
    assert.deepEqual(k.errors, []);
    assert.deepEqual(systemReserved(k.settings.kubelet), { automatic: false, cpu: "1250m", memory: "1536Mi" });
    const custom = renderCapiCluster(reference(), k.settings.kubelet) as Record<string, any>;
    assert.deepEqual(custom.spec.topology.variables.find((v: any) => v.name === "resourceConfiguration").value.systemReserved, { automatic: false, cpu: "1250m", memory: "1536Mi" });
    const flat = renderCapiCluster(reference((raw) => (raw.cluster.clusterClass = "builtin-generic-v3.1.0"))) as Record<string, any>;
    assert.ok(!flat.spec.topology.variables.some((v: any) => v.name === "resourceConfiguration"));
  });

  it("flat: the trust variable names a Secret holding the PEM double base64 encoded", () => {
    const s = reference((raw) => full(raw, { clusterClass: "builtin-generic-v3.1.0" }));
    const docs = renderWorkloadCluster(s) as Record<string, any>[];
    assert.deepEqual(docs.map((d) => d.kind), ["Secret", "Cluster"]);
    assert.equal(docs[0].metadata.name, "spark-user-trusted-ca-secret");
    assert.equal(Buffer.from(Buffer.from(docs[0].data["harbor-ca"], "base64").toString(), "base64").toString(), PEM);
    const trust = docs[1].spec.topology.variables.find((v: any) => v.name === "trust").value;
    assert.deepEqual(trust, { additionalTrustedCAs: [{ name: "harbor-ca" }] });
  });

  describe("negative controls: each check catches its defect", () => {
    const base = () => renderCapiCluster(reference()) as Record<string, any>;
    it("CRD: no topology.version", () => {
      const m = base();
      delete m.spec.topology.version;
      assert.ok(capiClusterProblems(m, "nested").some((p) => p.startsWith("CRD:") && p.includes("version")));
    });
    it("CRD: replicas as text, machine deployment without class", () => {
      const m = base();
      m.spec.topology.controlPlane.replicas = "3";
      delete m.spec.topology.workers.machineDeployments[0].class;
      const p = capiClusterProblems(m, "nested");
      assert.ok(p.some((x) => x.includes("/spec/topology/controlPlane/replicas must be integer")), p.join("\n"));
      assert.ok(p.some((x) => x.includes("class")), p.join("\n"));
    });
    it("variables: vmClass missing, a volume's capacity in the flat shape, a misspelt variable", () => {
      const m = base();
      m.spec.topology.variables = m.spec.topology.variables.filter((v: any) => v.name !== "vmClass");
      m.spec.topology.variables.push({ name: "storageClas", value: "x" });
      m.spec.topology.workers.machineDeployments[0].variables.overrides[1].value[0].capacity = { storage: "100Gi" };
      const p = capiClusterProblems(m, "nested");
      assert.ok(p.some((x) => x.startsWith("cluster variables:") && x.includes("vmClass")), p.join("\n"));
      assert.ok(p.some((x) => x.includes("(storageClas)")), p.join("\n"));
      assert.ok(p.some((x) => x.startsWith("machineDeployment workers variables: /volumes/0/capacity must be string")), p.join("\n"));
    });
    it("variables: a duplicate variable", () => {
      const m = base();
      m.spec.topology.variables.push({ name: "vmClass", value: "x" });
      assert.ok(capiClusterProblems(m, "nested").some((x) => x.includes("duplicate variable vmClass")));
    });
  });
});

describe("Tanzu: the rendered TanzuKubernetesCluster v1alpha3", () => {
  it("reference shapes with every option: passes the v1alpha2 CRD and the v1alpha3 rules", () => {
    const s = reference((raw) => {
      full(raw, { api: "tkc" });
      delete raw.cluster.clusterClass;
    });
    const m = renderTkc(s) as Record<string, any>;
    assert.deepEqual(tkcProblems(m), []);
    assert.equal(m.spec.topology.controlPlane.vmClass, "spark-small-8c-64g");
    assert.deepEqual(m.spec.topology.controlPlane.tkr, { reference: { name: "v1.31.4---vmware.1-fips-vkr.3" } });
    assert.equal(m.spec.topology.nodePools[0].vmClass, "spark-worker-16c-120g");
    assert.equal(m.spec.topology.nodePools[0].replicas, 16);
    assert.equal(m.spec.settings.network.cni.name, "antrea");
    assert.equal(Buffer.from(m.spec.settings.network.trust.additionalTrustedCAs[0].data, "base64").toString(), PEM);
    assert.deepEqual(renderWorkloadCluster(s), [m]);
    assert.equal(classNameOf(s, "worker"), "spark-worker-16c-120g");
  });

  it("negative controls: a node pool without vmClass, a volume without capacity, v1alpha2's distribution", () => {
    const s = reference((raw) => {
      raw.cluster.api = "tkc";
      delete raw.cluster.clusterClass;
    });
    const m = renderTkc(s) as Record<string, any>;
    delete m.spec.topology.nodePools[0].vmClass;
    delete m.spec.topology.nodePools[0].volumes[0].capacity;
    m.spec.distribution = { version: "v1.31.4" };
    const p = tkcProblems(m);
    assert.ok(p.some((x) => x.includes("vmClass")), p.join("\n"));
    assert.ok(p.some((x) => x.includes("capacity")), p.join("\n"));
    assert.ok(p.includes("spec.distribution is gone in v1alpha3"));
  });
});
