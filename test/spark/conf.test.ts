import * as assert from "node:assert/strict";
import Ajv from "ajv";
import { parse } from "yaml";
import {
  SECRET_PLACEHOLDER,
} from "../../components/artifacts";
import {
  planSpark,
  renderSparkDefaults,
  renderSubmitScript,
  sparkApplication,
  sparkArtifacts,
  sparkManifests,
  sparkPlanSection,
} from "../../components/spark";
import { readSchemaFile } from "../../src/codegen/schemas";
import { argsOfScript, keysOfSubmitArgs, loadKeyCatalogue, referenceWorkers, stackSettings, unknownSparkKeys } from "./helpers";

/** Setting variants that together switch on every key the layer can emit. */
const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  paper: { image: "192.168.1.1:5000/spark-tf", deployMode: "client" },
  everything: {
    appType: "python",
    image: "harbor.example.com/spark/spark-py:4.0.1",
    registryCredentials: { server: "harbor.example.com", username: "robot" },
    executor: { offHeapMiB: 2048, pysparkMemoryMiB: 2048, minMemoryOverheadMiB: 512 },
    dynamicAllocation: { enabled: true, maxExecutors: 12 },
    decommission: { enabled: true },
    smokeTest: { enabled: true },
    historyServer: { enabled: true, logDirectory: "s3a://spark-logs/events" },
    sparkApplication: { enabled: true },
    nodeAllocatable: { cpu: 14.5, memoryMiB: 119308 },
  },
  // Cluster mode with the event-log claim (16 − 1 executors: the driver takes one worker's room).
  clusterClaim: {
    deployMode: "cluster",
    executor: { instances: 15 },
    historyServer: { enabled: true, storageClassName: "vsan-file-rwx" },
    smokeTest: { enabled: true },
  },
};

function emittedKeys(raw: Record<string, unknown>): Map<string, Set<string>> {
  const plan = planSpark(stackSettings(raw), referenceWorkers(16));
  const out = new Map<string, Set<string>>();
  const add = (where: string, keys: Iterable<string>) => {
    for (const k of keys) {
      if (!out.has(k)) out.set(k, new Set());
      out.get(k)!.add(where);
    }
  };
  const defaults = renderSparkDefaults(plan)
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(" ")[0]);
  add("spark-defaults", defaults);
  for (const mode of ["cluster", "client"] as const) add(`submit-${mode}`, keysOfSubmitArgs(argsOfScript(renderSubmitScript(plan, mode, "192.168.1.2:6443"))));
  const app = sparkApplication(plan) as { spec: { sparkConf: Record<string, string> } };
  add("SparkApplication.sparkConf", Object.keys(app.spec.sparkConf));
  const job = sparkManifests(plan).smokeTestJob as { spec: { template: { spec: { containers: { args: string[] }[] } } } } | undefined;
  if (job) add("smoke-test Job", keysOfSubmitArgs(job.spec.template.spec.containers[0].args));
  return out;
}

describe("spark keys: everything emitted is a real Spark property", () => {
  const cat = loadKeyCatalogue();

  for (const [name, raw] of Object.entries(VARIANTS)) {
    it(`${name} settings: spark-defaults, both submit commands, SparkApplication sparkConf and the smoke test`, () => {
      const keys = emittedKeys(raw);
      assert.ok(keys.size > 15);
      const bad = unknownSparkKeys(keys.keys(), cat);
      assert.deepEqual(bad, [], `unknown keys: ${bad.map((k) => `${k} (in ${[...(keys.get(k) ?? [])].join(", ")})`).join("; ")}`);
    });
  }

  it("the checker catches misspelled, internal and malformed keys", () => {
    assert.deepEqual(unknownSparkKeys(["spark.executor.cores", "spark.kubernetes.namespace"], cat), []);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.exector.request.cores"], cat), ["spark.kubernetes.exector.request.cores"]);
    assert.deepEqual(unknownSparkKeys(["spark.executor.memoryOverheadFacter"], cat), ["spark.executor.memoryOverheadFacter"]);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.authenticate.driver.serviceAccountNme"], cat), ["spark.kubernetes.authenticate.driver.serviceAccountNme"]);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.resource.type"], cat), ["spark.kubernetes.resource.type (internal)"]);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.driver.volumes.persistentVolumeClaim.x.mount.pth"], cat), ["spark.kubernetes.driver.volumes.persistentVolumeClaim.x.mount.pth"]);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.driver.volumes.persistentVolumeClaim.x.mount.path", "spark.kubernetes.driver.label.team"], cat), []);
    assert.deepEqual(unknownSparkKeys(["spark.kubernetes.authenticate.driver.mounted.caCertFile"], cat), []);
  });

  it("the paper's Table 1 values appear in the commands (master, 40g driver, 16 × 15 cores, 100g)", () => {
    const plan = planSpark(stackSettings(VARIANTS.paper), referenceWorkers(16));
    for (const mode of ["cluster", "client"] as const) {
      const args = argsOfScript(renderSubmitScript(plan, mode, "192.168.1.2:6443"));
      const pairs = new Map<string, string>();
      for (let i = 0; i < args.length - 1; i++) if (args[i].startsWith("--")) pairs.set(args[i] === "--conf" ? args[i + 1].split("=")[0] : args[i], args[i] === "--conf" ? args[i + 1].split("=").slice(1).join("=") : args[i + 1]);
      assert.equal(pairs.get("--master"), "k8s://https://192.168.1.2:6443");
      assert.equal(pairs.get("--deploy-mode"), mode);
      assert.equal(pairs.get("--driver-memory"), "40g");
      assert.equal(pairs.get("--executor-memory"), "100g");
      assert.equal(pairs.get("spark.executor.instances"), "16");
      assert.equal(pairs.get("spark.executor.cores"), "15");
      assert.equal(pairs.get("spark.cores.max"), "240");
      assert.equal(pairs.get("spark.kubernetes.container.image"), "192.168.1.1:5000/spark-tf");
      assert.equal(pairs.get("spark.kubernetes.namespace"), "spark");
      assert.equal(pairs.get("spark.kubernetes.authenticate.driver.serviceAccountName"), "spark");
      // Cluster mode: the jar inside the image; client mode: the submit host's own Spark.
      assert.equal(args[args.length - 2], mode === "cluster" ? "local:///opt/spark/examples/jars/spark-examples_2.13-4.0.1.jar" : '"$SPARK_HOME"/examples/jars/spark-examples_2.13-4.0.1.jar');
      assert.equal(pairs.get("--class"), "org.apache.spark.examples.SparkPi");
      if (mode === "client") assert.match(pairs.get("spark.driver.host") ?? "", /SPARK_DRIVER_HOST/);
      else assert.equal(pairs.get("spark.driver.host"), undefined);
    }
  });

  it("spark-defaults.conf has one `key value` line per property, equal to the plan's conf", () => {
    const plan = planSpark(stackSettings(), referenceWorkers(12));
    const lines = renderSparkDefaults(plan).split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)])), plan.conf);
  });
});

describe("spark SparkApplication template (sparkoperator.k8s.io/v1beta2 CRD)", () => {
  const crd = parse(readSchemaFile("spark/sparkapplication-crd.yaml")) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const schema = crd.spec.versions.find((v) => v.name === "v1beta2")!.schema.openAPIV3Schema;

  /** The API server with strict field validation also rejects unknown fields: close every object that lists properties. */
  function closed(s: unknown): unknown {
    if (Array.isArray(s)) return s.map(closed);
    if (typeof s !== "object" || s === null) return s;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s)) o[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, closed(pv)])) : closed(v);
    if (o.properties && o.additionalProperties === undefined && !o["x-kubernetes-preserve-unknown-fields"]) o.additionalProperties = false;
    return o;
  }

  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const validate = ajv.compile(schema);
  const validateClosed = ajv.compile(closed(schema) as object);

  for (const [name, raw] of Object.entries(VARIANTS)) {
    it(`${name} settings: valid against the CRD schema, with unknown fields rejected too`, () => {
      const app = sparkApplication(planSpark(stackSettings(raw), referenceWorkers(16)));
      assert.ok(validate(app), JSON.stringify(validate.errors));
      assert.ok(validateClosed(app), JSON.stringify(validateClosed.errors));
    });
  }

  it("carries the same sizing as spark-submit", () => {
    const plan = planSpark(stackSettings({ nodeAllocatable: { cpu: 14.5, memoryMiB: 122780 }, sparkApplication: { enabled: true } }), referenceWorkers(16));
    const app = sparkApplication(plan) as { spec: Record<string, Record<string, unknown>> };
    // The platform is sized for client mode (16 executors); the operator always runs cluster mode,
    // where the 45056 MiB driver pod takes the room of one executor: the application asks for 15.
    assert.equal(plan.conf["spark.executor.instances"], "16");
    assert.equal(app.spec.executor.instances, 15);
    assert.equal(plan.sizing.fit.clusterMode.startableExecutors, 15);
    assert.match(plan.sizing.fit.notes.join("\n"), /sparkApplication: the Spark Operator runs it in cluster mode: .*driver pod \(45056 MiB, 1 CPU\).* it asks for 15 executors, not 16/);
    assert.equal(app.spec.executor.cores, 15);
    assert.equal(app.spec.executor.coreRequest, "13700m", "14.5 allocatable − 0.4 DaemonSets − 0.4 add-on pods");
    assert.equal(app.spec.executor.memory, "100g");
    assert.equal(app.spec.driver.memory, "40g");
    assert.equal(app.spec.driver.serviceAccount, "spark");
    assert.equal(app.spec.sparkConf["spark.executor.memoryOverheadFactor"], "0.1");
  });

  it("the validator is not vacuous: wrong types and misspelled fields fail", () => {
    const app = sparkApplication(planSpark(stackSettings(), referenceWorkers(16))) as { spec: Record<string, Record<string, unknown>> };
    const wrongType = structuredClone(app);
    wrongType.spec.executor.cores = "15";
    assert.equal(validate(wrongType), false);
    const typo = structuredClone(app);
    typo.spec.executor.instance = 16;
    assert.equal(validateClosed(typo), false);
    const missing = structuredClone(app) as { spec: Record<string, unknown> };
    delete missing.spec.sparkVersion;
    assert.equal(validate(missing), false);
  });
});

describe("spark artifacts and plan section", () => {
  const raw = { registryCredentials: { server: "192.168.1.1:5000", username: "spark" }, image: "192.168.1.1:5000/spark-tf", sparkApplication: { enabled: true } };

  it("lists spark-defaults, both submit scripts and the manifests, with secrets as SECRET_PLACEHOLDER", () => {
    const arts = sparkArtifacts(stackSettings(raw), referenceWorkers(16), "192.168.1.2:6443");
    assert.deepEqual(
      arts.map((a) => `${a.kind}:${a.path}`),
      [
        "spark-defaults:spark/spark-defaults.conf",
        "spark-submit:spark/submit-cluster.sh",
        "spark-submit:spark/submit-client.sh",
        "manifest:spark/submit-in-cluster.yaml",
        "manifest:spark/manifests.yaml",
        "manifest:spark/pod-templates/driver.yaml",
        "manifest:spark/pod-templates/executor.yaml",
        "manifest:spark/sparkapplication.yaml",
      ],
    );
    const manifests = arts.find((a) => a.path === "spark/manifests.yaml")!.content;
    const docs = manifests.split(/^---$/m).map((d) => parse(d) as { kind: string; stringData?: Record<string, string> });
    const secret = docs.find((d) => d.kind === "Secret")!;
    const cfg = JSON.parse(secret.stringData![".dockerconfigjson"]) as { auths: Record<string, { password: string; auth: string }> };
    assert.equal(cfg.auths["192.168.1.1:5000"].password, SECRET_PLACEHOLDER);
    assert.equal(cfg.auths["192.168.1.1:5000"].auth, SECRET_PLACEHOLDER);
    assert.ok(!manifests.includes("*a1") && !manifests.includes("&a1"), "no YAML aliases");
    for (const a of arts.filter((x) => x.kind === "spark-submit")) assert.match(a.content, /^#!\/usr\/bin\/env bash\n/);
  });

  it("the plan section has conf, pods, utilization and fit, and is plain JSON", () => {
    const sec = sparkPlanSection(stackSettings(), referenceWorkers(16));
    assert.deepEqual(Object.keys(sec), ["conf", "executorPod", "driverPod", "heap", "utilization", "fit"]);
    assert.deepEqual(sec.heap, { chosen: "100g", chosenMiB: 102400, stepGiB: 10, largestFitMiB: 107215 });
    assert.deepEqual(JSON.parse(JSON.stringify(sec)), sec);
    assert.deepEqual(sec.executorPod, { cpuRequest: "15", memoryMiB: 112640 });
    assert.equal(sec.conf["spark.kubernetes.namespace"], "spark");
    assert.equal(sec.conf["spark.kubernetes.container.image"], "apache/spark:4.0.1");
  });
});
