/** `vsphere-spark:tanzu`: defaults, the reference stack, and bad input with the exact set of errors. */
import * as assert from "node:assert/strict";
import { DEFAULT_TANZU_SETTINGS, defaultClassNamespace, nearMissClusterClass, generationOfClass, resolveTanzuSettings, storageClassOfPolicy, tanzuCapacity } from "../../components/tanzu";
import { referenceRaw } from "./helpers";
import { PEM } from "./helpers";

const P = "vsphere-spark:tanzu";
const HOSTS = [1, 2, 3, 4].map((i) => ({ id: `esxi-0${i}`, cpuThreads: 96, memoryMiB: 768 * 1024 }));

function errorListOf(edit: (raw: Record<string, any>) => void, context = {}): [string, string][] {
  const raw = referenceRaw();
  edit(raw);
  return resolveTanzuSettings(raw, P, context).errors.map((e) => [e.path, e.message]);
}

function errorsOf(edit: (raw: Record<string, any>) => void, context = {}): Record<string, string> {
  const raw = referenceRaw();
  edit(raw);
  const { errors } = resolveTanzuSettings(raw, P, context);
  return Object.fromEntries(errors.map((e) => [e.path, e.message]));
}

describe("Tanzu settings", () => {
  it("the reference stack resolves without errors, with the defaults filled in", () => {
    const { settings, errors } = resolveTanzuSettings(referenceRaw(), P, { hosts: HOSTS });
    assert.deepEqual(errors, []);
    assert.equal(settings.supervisor.port, 6443);
    assert.equal(settings.cluster.api, "cluster");
    assert.equal(settings.cluster.variables, "nested");
    assert.equal(settings.cluster.classNamespace, "vmware-system-vks-public");
    assert.equal(settings.cluster.storageClass, "vsan-default-storage-policy");
    assert.equal(settings.cluster.sparkPool, "workers");
    assert.equal(settings.cluster.podCidr, "10.244.0.0/16");
    assert.equal(DEFAULT_TANZU_SETTINGS.podCidr, "192.168.0.0/16");
    assert.deepEqual(settings.vmClasses, { worker: { cpus: 16, memoryMiB: 122880 }, small: { cpus: 8, memoryMiB: 65536 } });
    assert.deepEqual(settings.cluster.controlPlane, { replicas: 3, vmClass: "small", volumes: [] });
  });

  it("the variables generation follows the ClusterClass", () => {
    const table: [string, string | undefined][] = [
      ["tanzukubernetescluster", "flat"],
      ["builtin-generic-v3.1.0", "flat"],
      ["builtin-generic-v3.2.0", "nested"],
      ["builtin-generic-v3.4.0", "nested"],
      ["builtin-generic-v4.0.0", "nested"],
      ["my-class", undefined],
    ];
    for (const [cls, gen] of table) assert.equal(generationOfClass(cls), gen, cls);
    assert.equal(storageClassOfPolicy("vSAN Default Storage Policy"), "vsan-default-storage-policy");
  });

  it("absent: one error naming the key", () => {
    assert.deepEqual(resolveTanzuSettings(undefined, P).errors, [{ path: P, message: "is required when the back end is tanzu" }]);
  });

  it("a new user's mistakes: every problem at once, each at its leaf", () => {
    const e = errorsOf((raw) => {
      raw.supervisor.adress = raw.supervisor.address;
      delete raw.supervisor.address;
      delete raw.supervisor.user;
      raw.namespace.name = "Spark_NS";
      raw.vmClasses.worker.memoryGiB = "120";
      raw.cluster.release = "1.31.4";
      raw.cluster.controlPlane.replicas = 2;
      raw.cluster.nodePools[0].vmClass = "large";
      raw.cluster.serviceCidr = "10.244.128.0/20";
    });
    assert.deepEqual(e, {
      [`${P}.supervisor.adress`]: `unknown key "adress" (did you mean "address"?); known keys: id, address, networks, releaseLibrary, port, access, user, caPem, insecureSkipTlsVerify`,
      [`${P}.supervisor.address`]: "is required",
      [`${P}.supervisor.user`]: "is required",
      [`${P}.namespace.name`]: `"Spark_NS" is not a DNS label (lower case letters, digits, "-"; at most 63)`,
      [`${P}.vmClasses.worker.memoryGiB`]: `must be a number, got "120"`,
      [`${P}.cluster.release`]: `"1.31.4" is not a Kubernetes release name like "v1.31.4---vmware.1-fips-vkr.3" (\`kubectl get kr\`; "+" is written "---")`,
      [`${P}.cluster.controlPlane.replicas`]: "must be 1 or 3 (etcd needs an odd quorum), got 2",
      [`${P}.cluster.nodePools[0].vmClass`]: `"large" is not one of vmClasses (worker, small)`,
      [`${P}.cluster.serviceCidr`]: "10.244.128.0/20 overlaps podCidr 10.244.0.0/16",
    });
  });

  it("generation, API and access options that do not fit together", () => {
    const e = errorsOf((raw) => {
      raw.cluster.clusterClass = "builtin-generic-v3.1.0";
      raw.cluster.variables = "nested";
      raw.cluster.cni = "calico";
      raw.supervisor.access = "kubeconfig";
      raw.supervisor.caPem = PEM;
    });
    assert.deepEqual(e, {
      [`${P}.cluster.variables`]: "ClusterClass builtin-generic-v3.1.0 uses the flat variables, not nested",
      [`${P}.cluster.cni`]: `only applies when api is "tkc" (the ClusterClass installs Antrea)`,
      [`${P}.supervisor.user`]: `only applies when access is "sso"`,
      [`${P}.supervisor.insecureSkipTlsVerify`]: "cannot be true when caPem is set",
    });
    assert.deepEqual(
      errorsOf((raw) => {
        raw.cluster.clusterClass = "team-class";
      }),
      { [`${P}.cluster.variables`]: `is required for ClusterClass team-class, a class of your own: say "flat" (like builtin-generic-v3.1.0 and before) or "nested" (like v3.2.0 and later)` },
    );
    assert.deepEqual(
      errorsOf((raw) => {
        raw.cluster.api = "tkc";
      }),
      { [`${P}.cluster.clusterClass`]: `only applies when api is "cluster"` },
    );
  });

  it("node pools: duplicates, bad labels and taints, two pools without sparkPool, volumes", () => {
    const e = errorsOf((raw) => {
      raw.cluster.nodePools.push(
        { name: "workers", replicas: 1, vmClass: "small" },
        { name: "extra", replicas: -1, vmClass: "small", labels: { "bad key!": "x" }, taints: [{ key: "k", effect: "Sometimes" }, { key: "j" }], volumes: [{ name: "v", mountPath: "relative", capacityGiB: 0 }] },
      );
    });
    assert.deepEqual(e, {
      [`${P}.cluster.nodePools[1].name`]: `duplicate node pool name "workers"`,
      [`${P}.cluster.nodePools[2].replicas`]: "must be at least 0, got -1",
      [`${P}.cluster.nodePools[2].labels.bad key!`]: `"bad key!" is not a Kubernetes label key`,
      [`${P}.cluster.nodePools[2].taints[0].effect`]: `must be one of "NoSchedule", "PreferNoSchedule", "NoExecute", got "Sometimes"`,
      [`${P}.cluster.nodePools[2].taints[1].effect`]: "is required",
      [`${P}.cluster.nodePools[2].volumes[0].mountPath`]: `"relative" is not an absolute path`,
      [`${P}.cluster.nodePools[2].volumes[0].capacityGiB`]: "must be at least 1, got 0",
      [`${P}.cluster.sparkPool`]: "is required with more than one node pool: name the pool executors run on (workers, workers)",
    });
  });

  it("the Spark pool needs at least one node; other pools may be empty (an autoscaler's)", () => {
    assert.deepEqual(
      errorsOf((raw) => {
        raw.cluster.nodePools.unshift({ name: "bad", replicas: "x", vmClass: "small" }, { name: "idle", replicas: 0, vmClass: "small" });
        raw.cluster.nodePools[2].replicas = 0;
        raw.cluster.sparkPool = "workers";
      }),
      {
        [`${P}.cluster.nodePools[0].replicas`]: `must be a whole number, got "x"`,
        [`${P}.cluster.nodePools[2].replicas`]: `must be at least 1: executors run on pool "workers"`,
      },
    );
  });

  it("capacity: namespace limits and hosts, keyed to what to change", () => {
    const e = errorListOf(
      (raw) => {
        raw.namespace.limits = { cpuMHz: 100000, memoryGiB: 1024, storageGiB: 1000 };
      },
      { hosts: HOSTS.slice(0, 2) },
    );
    const surge = "the 19 VMs and the 2 a rolling update adds (maxSurge 1 per node pool and control plane)";
    assert.deepEqual(e, [
      [`${P}.namespace.limits.memoryGiB`, `1024 GiB is less than the memory of ${surge}, 2296 GiB: the nodes would be ballooned and swapped`],
      [`${P}.namespace.limits.cpuMHz`, `100000 MHz is less than the 304 vCPUs of ${surge} × 2400 MHz = 729600 MHz: the nodes would be throttled`],
      [`${P}.namespace.limits.storageGiB`, `1000 GiB is less than the node volumes of ${surge}, 8500 GiB (PersistentVolumeClaims in the namespace), before any persistent volume`],
      // Keyed to the replicas of the pool with the largest share, every group's share listed.
      [`${P}.cluster.nodePools[0].replicas`, `${surge} need 2296 GiB of memory, the 2 hosts have 1536 GiB (control plane 3+1 × 64 GiB, pool workers 16+1 × 120 GiB)`],
      [`${P}.cluster.nodePools[0].replicas`, `${surge} need 304 vCPUs, the 2 hosts have 192 threads (control plane 3+1 × 8 vCPU, pool workers 16+1 × 16 vCPU)`],
    ]);
    const big = errorsOf((raw) => {
      raw.vmClasses.worker = { cpus: 128, memoryGiB: 1024 };
      raw.cluster.nodePools[0].replicas = 1;
    }, { hosts: HOSTS });
    assert.deepEqual(big, {
      [`${P}.vmClasses.worker.cpus`]: "128 vCPUs exceed the largest host's 96 threads",
      [`${P}.vmClasses.worker.memoryGiB`]: "1024 GiB exceeds the largest host's 768 GiB",
    });
    // Limits equal to the running cluster block the first rollout (one more worker and control plane VM): refused.
    assert.deepEqual(Object.keys(errorsOf((raw) => (raw.namespace.limits = { cpuMHz: 672000, memoryGiB: 2112, storageGiB: 8000 }), { hosts: HOSTS })), [
      `${P}.namespace.limits.memoryGiB`,
      `${P}.namespace.limits.cpuMHz`,
      `${P}.namespace.limits.storageGiB`,
    ]);
    // Enough for the peak of a rolling update: no error.
    assert.deepEqual(errorsOf((raw) => (raw.namespace.limits = { cpuMHz: 729600, memoryGiB: 2296, storageGiB: 8500 }), { hosts: HOSTS }), {});
  });

  it("wrong types everywhere are reported, never thrown", () => {
    for (const raw of [[], "tanzu", 3, { supervisor: [], namespace: "x", vmClasses: [], cluster: { nodePools: {} } }]) {
      const { errors } = resolveTanzuSettings(raw, P);
      assert.ok(errors.length > 0, JSON.stringify(raw));
      for (const err of errors) assert.ok(err.path.startsWith(P), err.path);
    }
    assert.deepEqual(
      resolveTanzuSettings({ supervisor: [], namespace: "x", vmClasses: [], cluster: { nodePools: {} } }, P).errors.map((x) => x.path),
      [`${P}.supervisor`, `${P}.namespace`, `${P}.vmClasses`, `${P}.cluster.controlPlane`, `${P}.cluster.nodePools`, `${P}.cluster.release`],
    );
  });
});

describe("Tanzu settings: VM classes that cannot collide across stacks", () => {
  it("an adopted class (existing) keeps its name; reservations are not ours to say", () => {
    const raw = referenceRaw();
    raw.vmClasses.small = { cpus: 8, memoryGiB: 64, existing: "best-effort-2xlarge" };
    const { settings, errors } = resolveTanzuSettings(raw, P);
    assert.deepEqual(errors, []);
    assert.deepEqual(settings.vmClasses.small, { cpus: 8, memoryMiB: 65536, existing: "best-effort-2xlarge" });
    assert.deepEqual(
      errorsOf((r) => (r.vmClasses.small = { cpus: 8, memoryGiB: 64, existing: "best-effort-2xlarge", memoryReservation: 100 })),
      { [`${P}.vmClasses.small.memoryReservation`]: `cannot be set with existing (the class "best-effort-2xlarge" keeps its own reservations)` },
    );
    assert.deepEqual(errorsOf((r) => (r.vmClasses.small.existing = "Best Effort")), { [`${P}.vmClasses.small.existing`]: `"Best Effort" is not a VM class name` });
  });

  it("the namespace counts towards the 63 characters of a derived class name", () => {
    const ns = "n".repeat(44); // 44 + "-worker-16c-120g" (16) = 60: fits; 48 does not
    assert.deepEqual(errorsOf((r) => (r.namespace.name = ns)), {});
    assert.deepEqual(errorsOf((r) => (r.namespace.name = "n".repeat(48))), {
      [`${P}.vmClasses.worker`]: `the class name derived from namespace, key and size ("${"n".repeat(48)}-worker-16c-120g") is longer than 63 characters: shorten the key or namespace.name, or adopt a class with existing`,
    });
  });
});

describe("Tanzu settings: the pod and service networks stay clear of the Supervisor", () => {
  it("the reference stack's pod network does not hold the Supervisor (it used to: 192.168.0.0/16 ∋ 192.168.10.2)", () => {
    const raw = referenceRaw();
    assert.equal(raw.cluster.podCidr, "10.244.0.0/16");
    assert.deepEqual(resolveTanzuSettings(raw, P).errors, []);
  });

  // [podCidr, serviceCidr, supervisor.address, supervisor.networks, errors by key]
  const table: [string | undefined, string | undefined, string, string[], Record<string, string>][] = [
    // The default pod network around the reference stack's Supervisor: the negative control of the fix above.
    [undefined, undefined, "192.168.10.2", [], { podCidr: "192.168.0.0/16 contains the Supervisor's address 192.168.10.2 (vsphere-spark:tanzu.supervisor.address): the nodes would route it into the cluster; choose a range outside the Supervisor's networks" }],
    ["10.244.0.0/16", undefined, "192.168.10.2", [], {}],
    ["10.244.0.0/16", "10.96.0.0/12", "10.100.0.10", [], { serviceCidr: "10.96.0.0/12 contains the Supervisor's address 10.100.0.10 (vsphere-spark:tanzu.supervisor.address): the nodes would route it into the cluster; choose a range outside the Supervisor's networks" }],
    ["10.244.0.0/16", undefined, "supervisor.lab.local", ["10.244.128.0/20", "192.168.10.0/24"], { podCidr: "10.244.0.0/16 overlaps the Supervisor's network 10.244.128.0/20 (vsphere-spark:tanzu.supervisor.networks[0])" }],
    ["10.244.0.0/16", undefined, "192.168.10.2", ["10.96.0.0/23"], { serviceCidr: "10.96.0.0/12 overlaps the Supervisor's network 10.96.0.0/23 (vsphere-spark:tanzu.supervisor.networks[0])" }],
    ["10.244.0.0/16", undefined, "192.168.10.2", ["192.168.10.0/24", "10.0.0.1/8"], { "..networks[1]": `"10.0.0.1/8" is not an IPv4 CIDR with host bits clear, like "192.168.10.0/24"` }],
  ];
  for (const [pod, svc, address, networks, want] of table)
    it(`pods ${pod ?? "(default)"}, services ${svc ?? "(default)"}, Supervisor ${address} ${JSON.stringify(networks)}`, () => {
      const e = errorsOf((raw) => {
        if (pod === undefined) delete raw.cluster.podCidr;
        else raw.cluster.podCidr = pod;
        if (svc !== undefined) raw.cluster.serviceCidr = svc;
        raw.supervisor.address = address;
        raw.supervisor.networks = networks;
      });
      const expected = Object.fromEntries(
        Object.entries(want).map(([k, v]) => [k.startsWith("..") ? `${P}.supervisor${k.slice(1)}` : `${P}.cluster.${k}`, v]),
      );
      assert.deepEqual(e, expected);
    });
});

describe("Tanzu settings: noProxy holds the configured service domain", () => {
  // [serviceDomain as written, noProxy as written, noProxy resolved]
  const table: [string | undefined, string[], string[]][] = [
    [undefined, [".lab.local"], [".lab.local", "10.244.0.0/16", "10.96.0.0/12", ".cluster.local"]],
    ["spark.internal", [".lab.local"], [".lab.local", "10.244.0.0/16", "10.96.0.0/12", ".spark.internal"]],
    // Already listed: not twice.
    ["spark.internal", [".spark.internal", "10.244.0.0/16"], [".spark.internal", "10.244.0.0/16", "10.96.0.0/12"]],
  ];
  for (const [domain, noProxy, want] of table)
    it(`serviceDomain ${domain ?? "(default)"}, noProxy ${JSON.stringify(noProxy)}`, () => {
      const raw = referenceRaw();
      if (domain !== undefined) raw.cluster.serviceDomain = domain;
      raw.cluster.proxy = { httpProxy: "http://proxy.lab.local:3128", httpsProxy: "http://proxy.lab.local:3128", noProxy };
      const { settings, errors } = resolveTanzuSettings(raw, P);
      assert.deepEqual(errors, []);
      assert.deepEqual(settings.cluster.proxy?.noProxy, want);
      // The negative control: the default domain is not added when another one is configured.
      if (domain !== undefined) assert.ok(!settings.cluster.proxy?.noProxy.includes(".cluster.local"));
    });
});

describe("Tanzu settings: releases that enforce PodSecurityPolicy are refused", () => {
  // [release, accepted]: PSP was removed in Kubernetes 1.25; TKG releases up to v1.24 enforce it.
  const table: [string, boolean][] = [
    ["v1.21.6---vmware.1-tkg.1", false],
    ["v1.23.8---vmware.3-tkg.1", false],
    ["v1.24.11---vmware.1-fips.1-tkg.1", false],
    ["v1.25.7---vmware.3-fips.1-tkg.1", true],
    ["v1.26.5---vmware.2-fips.1-tkg.1", true],
    ["v1.31.4---vmware.1-fips-vkr.3", true],
  ];
  for (const [release, ok] of table)
    it(`${release}: ${ok ? "accepted" : "refused"}`, () => {
      const e = errorsOf((raw) => (raw.cluster.release = release));
      if (ok) assert.deepEqual(e, {});
      else {
        assert.deepEqual(Object.keys(e), [`${P}.cluster.release`]);
        assert.match(e[`${P}.cluster.release`], /enforces PodSecurityPolicy.*Use a release of v1\.25 or later/);
      }
    });
});

describe("Tanzu capacity: the peak of a rolling update", () => {
  // [pools as (replicas, class, volume GiB)], control plane replicas → surge VMs, peak vCPUs, peak volume GiB
  const table: [[number, string, number][], number, [number, number, number]][] = [
    [[[16, "worker", 100]], 3, [2, 304, 1700]],
    [[[16, "worker", 100], [0, "small", 50]], 3, [2, 304, 1700]], // an empty pool does not surge
    [[[16, "worker", 100], [2, "small", 50]], 1, [3, 312, 1850]], // (1+1)×8 + 17×16 + 3×8
  ];
  for (const [pools, cp, [surgeVms, cpus, vol]] of table)
    it(`${JSON.stringify(pools)}, control plane ${cp}`, () => {
      const raw = referenceRaw();
      raw.cluster.controlPlane.replicas = cp;
      raw.cluster.nodePools = pools.map(([replicas, vmClass, gib], i) => ({ name: `p${i}`, replicas, vmClass, volumes: [{ name: "v", mountPath: "/v", capacityGiB: gib }] }));
      raw.cluster.sparkPool = "p0";
      const { settings, errors } = resolveTanzuSettings(raw, P);
      assert.deepEqual(errors, []);
      const c = tanzuCapacity(settings);
      assert.equal(c.surge.vms, surgeVms);
      assert.deepEqual([c.peak.cpus, c.peak.volumeGiB], [cpus, vol]);
      assert.equal(c.peak.vms, c.total.vms + surgeVms);
    });
});

describe("Tanzu settings: the ClusterClass's namespace by VKS version, and near-miss class names", () => {
  // [clusterClass, classNamespace by default]: VKS 3.4 moved the builtin classes to vmware-system-vks-public.
  const table: [string, string | undefined][] = [
    ["tanzukubernetescluster", undefined],
    ["builtin-generic-v3.1.0", undefined],
    ["builtin-generic-v3.2.0", undefined],
    ["builtin-generic-v3.3.0", undefined],
    ["builtin-generic-v3.4.0", "vmware-system-vks-public"],
    ["builtin-generic-v3.5.1", "vmware-system-vks-public"],
    ["builtin-generic-v4.0.0", "vmware-system-vks-public"],
  ];
  for (const [cls, ns] of table)
    it(`${cls} → ${ns ?? "(the vSphere Namespace)"}`, () => {
      assert.equal(defaultClassNamespace(cls), ns);
      const { settings, errors } = resolveTanzuSettings({ ...referenceRaw(), cluster: { ...referenceRaw().cluster, clusterClass: cls } }, P);
      assert.deepEqual(errors, []);
      assert.equal(settings.cluster.classNamespace, ns);
    });

  it("an explicit classNamespace wins", () => {
    const raw = referenceRaw();
    raw.cluster.clusterClass = "builtin-generic-v3.3.0";
    raw.cluster.classNamespace = "vmware-system-vks-public";
    assert.equal(resolveTanzuSettings(raw, P).settings.cluster.classNamespace, "vmware-system-vks-public");
  });

  // [written, meant]: refused at clusterClass with the class meant, not answered with "add variables".
  const nearMisses: [string, string][] = [
    ["builtin-generic-v3.4", "builtin-generic-v3.4.0"],
    ["builtin-generic-3.4.0", "builtin-generic-v3.4.0"],
    ["builtin-generic-v3", "builtin-generic-v3.0.0"],
    ["tanzukubernetesclusters", "tanzukubernetescluster"],
    ["tanzu-kubernetes-cluster", "tanzukubernetescluster"],
  ];
  for (const [written, meant] of nearMisses)
    it(`"${written}" → did you mean "${meant}"`, () => {
      assert.equal(nearMissClusterClass(written), meant);
      assert.deepEqual(errorsOf((raw) => (raw.cluster.clusterClass = written)), {
        [`${P}.cluster.clusterClass`]: `"${written}" is not a ClusterClass VKS ships (did you mean "${meant}"? \`kubectl get clusterclass -A\` on the Supervisor lists them)`,
      });
    });
  it("a class of one's own is no near miss", () => assert.equal(nearMissClusterClass("team-spark-class"), undefined));
});

describe("Tanzu settings: the release library is not attached as a VM Service library", () => {
  const key = `${P}.namespace.contentLibraries[0]`;
  const table: [string, (raw: Record<string, any>) => void, Record<string, string>][] = [
    ["the reference stack: release library named at the Supervisor, none attached", () => {}, {}],
    ["a VM Service image library is fine", (raw) => (raw.namespace.contentLibraries = ["vm-images"]), {}],
    ["the release library attached by name", (raw) => (raw.namespace.contentLibraries = ["Kubernetes Service Content Library"]),
      { [key]: `"Kubernetes Service Content Library" is the Kubernetes release library (supervisor.releaseLibrary): VMware manages it in the TKG Service settings, and attaching it as a VM Service library here does not make releases available; remove it from this list` }],
    ["one that looks like it, with no releaseLibrary said", (raw) => ((raw.namespace.contentLibraries = ["TKR library"]), delete raw.supervisor.releaseLibrary),
      { [key]: `"TKR library" looks like the Kubernetes release library: that one is set in the TKG Service settings (say it as supervisor.releaseLibrary), not attached as a VM Service library; list only VM Service image libraries here` }],
  ];
  for (const [what, edit, want] of table) it(what, () => assert.deepEqual(errorsOf(edit), want));
});
