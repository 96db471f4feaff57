import * as assert from "node:assert/strict";
import { DEFAULT_IMAGE, formatImageRef, isStockImage, parseImageRef, planSpark, podTemplate, resolveSparkSettings } from "../../components/spark";
import { referenceWorkers, settingsOf } from "./helpers";

describe("spark settings", () => {
  it("applies every default in one place", () => {
    const { settings, errors } = resolveSparkSettings(undefined);
    assert.deepEqual(errors, []);
    assert.equal(settings.namespace, "spark");
    assert.equal(settings.serviceAccount, "spark");
    assert.equal(formatImageRef(settings.image), DEFAULT_IMAGE);
    assert.equal(settings.sparkVersion, "4.0.1");
    assert.equal(settings.appType, "jvm");
    assert.equal(settings.deployMode, "cluster");
    assert.deepEqual(settings.executor, {
      executorsPerNode: 1,
      coresLeftForSystem: 1,
      memoryOverheadFactor: 0.1,
      minMemoryOverheadMiB: 384,
      heapGranularityGiB: 1,
      offHeapMiB: 0,
      pysparkMemoryMiB: 0,
    });
    assert.deepEqual(settings.driver, { memory: "40g", cores: 1, memoryOverheadFactor: 0.1, minMemoryOverheadMiB: 384 });
    assert.deepEqual(settings.dynamicAllocation, { enabled: false, shuffleTrackingTimeout: "30min", executorIdleTimeout: "60s" });
    assert.equal(settings.clusterRoleBindingEdit, false);
    assert.equal(settings.placement.oneExecutorPerNode, "required");
    assert.equal(settings.smokeTest.enabled, false);
    assert.equal(settings.historyServer.enabled, false);
    assert.equal(settings.sparkApplication.enabled, false);
    assert.equal(settings.registryCredentials, undefined);
    assert.equal(settings.nodeAllocatable, undefined);
    assert.deepEqual(settings.podSecurity, { enforce: "baseline", warn: "restricted", audit: "restricted", runAsUser: 185 });
  });

  it("defaults the overhead factors by app type (0.4 for Python) and the anti-affinity by executors per node", () => {
    const py = resolveSparkSettings({ appType: "python", executor: { executorsPerNode: 2 } }).settings;
    assert.equal(py.executor.memoryOverheadFactor, 0.4);
    assert.equal(py.driver.memoryOverheadFactor, 0.4);
    assert.equal(py.placement.oneExecutorPerNode, "none");
  });

  it("accepts the paper's private-registry image and takes the Spark version from a versioned tag", () => {
    const a = resolveSparkSettings({ image: "192.168.1.1:5000/spark-tf" });
    assert.deepEqual(a.errors, []);
    assert.deepEqual(a.settings.image, { registry: "192.168.1.1:5000", repository: "spark-tf" });
    const b = resolveSparkSettings({ image: { registry: "harbor.example.com", repository: "spark/spark-py", tag: "3.5.7-python3" } });
    assert.deepEqual(b.errors, []);
    assert.equal(b.settings.sparkVersion, "3.5.7");
  });

  it("reports every problem at once, with full config paths, naming unknown keys and suggesting the right one", () => {
    const { errors } = resolveSparkSettings({
      namespace: "Spark_NS",
      image: "Apache/Spark:4.0.1",
      executor: { executorPerNode: 2, coresLeftForSystem: -1, memoryOverheadFactor: "0.1" },
      driver: { memory: "40 gigs" },
      dynamicAllocation: { enabled: "yes", shuffleTrackingTimeout: "forever" },
      placement: { oneExecutorPerNode: "always", nodeSelector: { "node-role/spark": "yes!" }, tolerations: [{ operator: "Exists", value: "x" }] },
      registryCredentials: { server: "192.168.1.1:5000" },
      historyServer: { storageSize: "ten" },
      nodeAllocatable: { cpu: 0 },
      extraConf: { "spark.executor.memory": "8g", "not.spark": "x" },
      quotas: {},
    });
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    const p = "vsphere-spark:spark";
    assert.match(byPath.get(`${p}.namespace`) ?? "", /DNS-1123 label/);
    assert.ok(byPath.has(`${p}.image`));
    assert.match(byPath.get(`${p}.executor.executorPerNode`) ?? "", /unknown key "executorPerNode" \(did you mean "executorsPerNode"\?\)/);
    assert.match(byPath.get(`${p}.executor.coresLeftForSystem`) ?? "", /at least 0, got -1/);
    assert.match(byPath.get(`${p}.executor.memoryOverheadFactor`) ?? "", /must be a number/);
    assert.match(byPath.get(`${p}.driver.memory`) ?? "", /not a Spark memory size/);
    assert.match(byPath.get(`${p}.dynamicAllocation.enabled`) ?? "", /true or false/);
    assert.match(byPath.get(`${p}.dynamicAllocation.shuffleTrackingTimeout`) ?? "", /finite Spark time/);
    assert.match(byPath.get(`${p}.placement.oneExecutorPerNode`) ?? "", /one of "required", "preferred", "none"/);
    assert.ok(byPath.has(`${p}.placement.nodeSelector.node-role/spark`));
    assert.match(byPath.get(`${p}.placement.tolerations[0].value`) ?? "", /Exists/);
    assert.match(byPath.get(`${p}.registryCredentials.username`) ?? "", /required/);
    assert.ok(byPath.has(`${p}.historyServer.storageSize`));
    assert.ok(byPath.has(`${p}.nodeAllocatable.cpu`));
    assert.ok(byPath.has(`${p}.nodeAllocatable.memoryMiB`));
    assert.match(byPath.get(`${p}.extraConf.spark.executor.memory`) ?? "", /decided by this layer/);
    assert.ok(byPath.has(`${p}.extraConf.not.spark`));
    assert.match(byPath.get(`${p}.quotas`) ?? "", /unknown key "quotas" \(did you mean "quota"\?\)/);
  });

  it("rejects wrong types for whole blocks and honours a custom path", () => {
    const { errors } = resolveSparkSettings({ executor: 3, priorityClass: "high" }, "cfg.spark");
    assert.deepEqual(
      errors.map((e) => e.path),
      ["cfg.spark.executor", "cfg.spark.priorityClass"],
    );
    assert.deepEqual(resolveSparkSettings("spark").errors.map((e) => e.path), ["vsphere-spark:spark"]);
  });

  it("checks cross-field rules", () => {
    const { errors } = resolveSparkSettings({
      executor: { executorsPerNode: 2, instances: 4 },
      placement: { oneExecutorPerNode: "required" },
      dynamicAllocation: { enabled: true, minExecutors: 5, maxExecutors: 2 },
      podSecurity: { enforce: "restricted", runAsUser: null },
      sparkApplication: { apply: true },
      image: "192.168.1.1:5000/spark-tf",
      registryCredentials: { server: "harbor.example.com", username: "u" },
    });
    const paths = errors.map((e) => e.path.replace("vsphere-spark:spark.", ""));
    for (const p of [
      "executor.instances",
      "placement.oneExecutorPerNode",
      "dynamicAllocation.minExecutors",
      "podSecurity.runAsUser",
      "sparkApplication.apply",
      "registryCredentials.server",
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths.join(", ")}`);
    }
  });

  it("extraConf keys that change the pod size are refused, each named with the setting that feeds the sizing", () => {
    const keys = [
      "spark.memory.offHeap.enabled",
      "spark.memory.offHeap.size",
      "spark.executor.pyspark.memory",
      "spark.executor.minMemoryOverhead",
      "spark.driver.minMemoryOverhead",
      "spark.executor.memoryOverhead",
      "spark.driver.memoryOverhead",
      "spark.kubernetes.memoryOverheadFactor",
      "spark.kubernetes.executor.request.cores",
      "spark.kubernetes.executor.limit.cores",
      "spark.kubernetes.driver.request.cores",
      "spark.kubernetes.driver.limit.cores",
      "spark.kubernetes.local.dirs.tmpfs",
    ];
    const { errors } = resolveSparkSettings({ extraConf: { ...Object.fromEntries(keys.map((k) => [k, "1"])), "spark.sql.shuffle.partitions": "480" } });
    assert.deepEqual(errors.map((e) => e.path).sort(), keys.map((k) => `vsphere-spark:spark.extraConf.${k}`).sort());
    const msg = new Map(errors.map((e) => [e.path.replace("vsphere-spark:spark.extraConf.", ""), e.message]));
    assert.match(msg.get("spark.memory.offHeap.size")!, /changes the pod size.*use executor\.offHeapMiB/);
    assert.match(msg.get("spark.executor.pyspark.memory")!, /use executor\.pysparkMemoryMiB/);
    assert.match(msg.get("spark.driver.minMemoryOverhead")!, /use driver\.minMemoryOverheadMiB/);
    assert.match(msg.get("spark.kubernetes.local.dirs.tmpfs")!, /counts against the pod's memory limit/);
  });

  it("the History Server needs a shared event-log location: a named storage class, or a URI (the only choice in client mode)", () => {
    const paths = (raw: unknown) => resolveSparkSettings(raw).errors.map((e) => `${e.path}: ${e.message}`);
    assert.deepEqual(paths({ historyServer: { enabled: true } }), [
      "vsphere-spark:spark.historyServer.storageClassName: is required for the event-log claim: this cluster installs no default StorageClass, so a claim without one stays Pending and every driver mounting it waits forever; name a class that offers ReadWriteMany, or set logDirectory to a shared URI",
    ]);
    assert.deepEqual(paths({ deployMode: "client", historyServer: { enabled: true, storageClassName: "vsan-file" } }), [
      "vsphere-spark:spark.historyServer.logDirectory: is required in client mode: the driver runs on the submit host, which cannot mount the event-log claim; give a shared URI (e.g. hdfs://namenode/spark-events, or s3a://bucket/spark-events with an image that has the s3a connector)",
    ]);
    assert.deepEqual(paths({ historyServer: { enabled: true, logDirectory: "file:///spark-events" } }).map((p) => p.split(":")[1]), ["spark.historyServer.logDirectory"]);
    assert.deepEqual(paths({ historyServer: { enabled: true, logDirectory: "hdfs://nn/e", storageClassName: "x" } }).map((p) => p.split(":")[1]), ["spark.historyServer.storageClassName"]);
    assert.deepEqual(paths({ deployMode: "client", historyServer: { enabled: true, logDirectory: "hdfs://namenode/e" } }), []);
    assert.deepEqual(paths({ deployMode: "client", image: "harbor.example.com/spark/spark-s3a:4.0.1", historyServer: { enabled: true, logDirectory: "s3a://b/e" } }), []);
    assert.deepEqual(paths({ historyServer: { enabled: true, storageClassName: "vsan-file" } }), []);
    assert.deepEqual(paths({ historyServer: { enabled: false } }), []);
  });

  it("object-store event logs with the stock image are refused, naming historyServer.logDirectory (its jars have no connector)", () => {
    // Spark's release (and the apache/spark image, and pyspark's jars/) ships hadoop-client-api and
    // hadoop-client-runtime only; the lab shows the stock jars refusing s3a:// (spark-jobs.lab.ts:
    // "Class org.apache.hadoop.fs.s3a.S3AFileSystem not found").
    const errs = (raw: unknown) => resolveSparkSettings(raw).errors;
    for (const image of [undefined, "apache/spark:4.0.1", "docker.io/apache/spark:4.0.1-python3", "spark:4.0.1"]) {
      for (const uri of ["s3a://b/e", "gs://b/e", "abfss://c@a.dfs.core.windows.net/e"]) {
        const e = errs({ ...(image ? { image } : {}), deployMode: "client", historyServer: { enabled: true, logDirectory: uri } });
        assert.deepEqual(e.map((x) => x.path), ["vsphere-spark:spark.historyServer.logDirectory"], `${image} ${uri}`);
        assert.match(e[0].message, /could not load its Hadoop FileSystem/);
      }
    }
    assert.match(errs({ historyServer: { enabled: true, logDirectory: "s3a://b/e" } })[0].message, /S3AFileSystem not found.*hadoop-aws:3\.4\.1 with software\.amazon\.awssdk:bundle:2\.24\.6/);
    // Negative controls: HDFS is in the stock jars; another image is the user's to equip; a disabled server logs nothing.
    assert.deepEqual(errs({ historyServer: { enabled: true, logDirectory: "hdfs://namenode:8020/e" } }), []);
    assert.deepEqual(errs({ image: "192.168.1.1:5000/spark-tf:4.0.1", historyServer: { enabled: true, logDirectory: "s3a://b/e" } }), []);
    assert.deepEqual(errs({ historyServer: { enabled: false, logDirectory: "s3a://b/e" } }), []);
    assert.equal(isStockImage({ repository: "apache/spark", registry: "harbor.example.com" }), false, "a mirror's copy may be rebuilt");
  });

  it("a ReadWriteOnce event-log claim is refused, naming historyServer.accessMode", () => {
    const e = resolveSparkSettings({ historyServer: { enabled: true, storageClassName: "vsan-default", accessMode: "ReadWriteOnce" } }).errors;
    assert.deepEqual(e.map((x) => x.path), ["vsphere-spark:spark.historyServer.accessMode"]);
    assert.match(e[0].message, /Multi-Attach/);
    // Negative control: ReadWriteMany is accepted; without a claim the access mode does not matter.
    assert.deepEqual(resolveSparkSettings({ historyServer: { enabled: true, storageClassName: "vsan-default", accessMode: "ReadWriteMany" } }).errors, []);
    assert.deepEqual(resolveSparkSettings({ historyServer: { enabled: true, logDirectory: "hdfs://nn/e", accessMode: "ReadWriteOnce" } }).errors, []);
  });

  it("decommissioning: settings to Spark's keys (core config package.scala), the executors' grace period, and extraConf may not set them", () => {
    const tgps = (p: unknown) => (p as { spec: { terminationGracePeriodSeconds?: number } }).spec.terminationGracePeriodSeconds;
    const plan = planSpark(settingsOf({ deployMode: "client", decommission: { enabled: true } }), referenceWorkers(16));
    assert.equal(plan.conf["spark.decommission.enabled"], "true");
    assert.equal(plan.conf["spark.storage.decommission.enabled"], "true");
    assert.equal(plan.conf["spark.storage.decommission.shuffleBlocks.enabled"], "true");
    assert.equal(plan.conf["spark.storage.decommission.rddBlocks.enabled"], "true");
    assert.equal(tgps(podTemplate(plan, "executor")), 120);
    assert.equal(tgps(podTemplate(plan, "driver")), undefined);
    const noStorage = planSpark(settingsOf({ deployMode: "client", decommission: { enabled: true, shuffleBlocks: false, rddBlocks: false, gracePeriodSeconds: 45 } }), referenceWorkers(16));
    assert.equal(noStorage.conf["spark.storage.decommission.enabled"], "false");
    assert.equal(noStorage.conf["spark.storage.decommission.shuffleBlocks.enabled"], undefined);
    assert.equal(tgps(podTemplate(noStorage, "executor")), 45);
    // Negative control: off by default, nothing emitted, Kubernetes' own grace period.
    const off = planSpark(settingsOf({ deployMode: "client" }), referenceWorkers(16));
    assert.ok(!Object.keys(off.conf).some((k) => k.includes("decommission")));
    assert.equal(tgps(podTemplate(off, "executor")), undefined);
    const bad = resolveSparkSettings({ decommission: { enabled: "yes", gracePeriodSeconds: 0 }, extraConf: { "spark.decommission.enabled": "true" } }).errors.map((e) => e.path).sort();
    assert.deepEqual(bad, ["vsphere-spark:spark.decommission.enabled", "vsphere-spark:spark.decommission.gracePeriodSeconds", "vsphere-spark:spark.extraConf.spark.decommission.enabled"]);
  });

  it("resolved settings are a fixed point (the component re-validates them unchanged)", () => {
    const first = resolveSparkSettings({
      appType: "python",
      image: "192.168.1.1:5000/spark-tf",
      registryCredentials: { server: "192.168.1.1:5000", username: "spark" },
      placement: { nodeSelector: { "node-role.kubernetes.io/spark": "" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "spark", effect: "NoSchedule" }] },
      priorityClass: null,
      historyServer: { enabled: true, storageClassName: "vsan-default" },
      nodeAllocatable: { cpu: 15.5, memoryMiB: 120000 },
      extraConf: { "spark.sql.shuffle.partitions": "480" },
    });
    assert.deepEqual(first.errors, []);
    const second = resolveSparkSettings(first.settings);
    assert.deepEqual(second.errors, []);
    assert.deepEqual(second.settings, first.settings);
  });
});

describe("spark image references (OCI distribution grammar)", () => {
  const good: [string, object][] = [
    ["192.168.1.1:5000/spark-tf", { registry: "192.168.1.1:5000", repository: "spark-tf" }],
    ["apache/spark:4.0.1", { repository: "apache/spark", tag: "4.0.1" }],
    ["spark", { repository: "spark" }],
    ["localhost/spark:dev", { registry: "localhost", repository: "spark", tag: "dev" }],
    ["harbor.example.com/lib/spark__x/spark-py:3.5.7-python3", { registry: "harbor.example.com", repository: "lib/spark__x/spark-py", tag: "3.5.7-python3" }],
    ["[fd00::1]:5000/spark", { registry: "[fd00::1]:5000", repository: "spark" }],
    [
      `apache/spark@sha256:${"a".repeat(64)}`,
      { repository: "apache/spark", digest: `sha256:${"a".repeat(64)}` },
    ],
    [
      `registry:5000/spark:4.0.1@sha256:${"0".repeat(64)}`,
      { registry: "registry:5000", repository: "spark", tag: "4.0.1", digest: `sha256:${"0".repeat(64)}` },
    ],
  ];
  for (const [text, ref] of good) {
    it(`parses ${text}`, () => {
      const r = parseImageRef(text);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.ref, ref);
      assert.equal(formatImageRef(r.ref!), text);
    });
  }
  const bad = [
    "",
    "Apache/Spark",
    "spark:",
    "spark:-bad",
    "192.168.1.1:99999/spark",
    "reg_istry.com/spark",
    "spark@sha256:abc",
    `spark@sha256:${"a".repeat(63)}`,
    "spark//x",
    "spark-/x",
    "has space/spark",
    `${"a".repeat(250)}/spark`,
    `spark:${"t".repeat(129)}`,
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      const r = parseImageRef(text);
      assert.equal(r.ref, undefined);
      assert.ok(r.errors.length > 0);
    });
  }
});
