import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SMOKE_TEST, SparkPlatform, SparkSettingsInput, resolveSparkSettings, validateSparkPlatformArgs } from "../../components/spark";
import { isSecretMarker, redactSecrets, runUnderMocks, unwrapSecrets } from "../../src/plan/mock-runtime";
import { ValidationError } from "../../components/validation";
import { referenceWorkers, settingsOf } from "./helpers";

const FULL: SparkSettingsInput = {
  image: "192.168.1.1:5000/spark-tf",
  registryCredentials: { server: "192.168.1.1:5000", username: "spark" },
  // Cluster mode on the reference workers: the 40g driver takes one worker's room, so 15 executors.
  executor: { heapGranularityGiB: 10, instances: 15 },
  smokeTest: { enabled: true },
  historyServer: { enabled: true, storageClassName: "vsan-file-rwx" },
  sparkApplication: { enabled: true, apply: true },
};

/** The reference stack's Spark settings: client mode, the paper's 10 GiB heap step. */
const REFERENCE: SparkSettingsInput = { deployMode: "client", executor: { heapGranularityGiB: 10 } };

async function run(settings: SparkSettingsInput | undefined, password?: pulumi.Input<string>) {
  const providers = new Map<string, string | undefined>();
  const timeouts = new Map<string, pulumi.CustomTimeouts | undefined>();
  const result = await runUnderMocks({ project: "vsphere-spark", stack: "test", config: {}, invokes: {} }, async () => {
    pulumi.runtime.registerStackTransformation((a) => {
      const p = (a.opts as pulumi.CustomResourceOptions).provider as (pulumi.ProviderResource & { __name?: string }) | undefined;
      providers.set(`${a.type}::${a.name}`, p?.__name);
      timeouts.set(`${a.type}::${a.name}`, (a.opts as pulumi.CustomResourceOptions).customTimeouts);
      return undefined;
    });
    const provider = new k8s.Provider("cluster", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
    const spark = new SparkPlatform("spark", { provider, apiEndpoint: "192.168.1.2:6443", workers: referenceWorkers(16), settings, registryPassword: password });
    return {
      namespace: spark.namespace,
      serviceAccount: spark.serviceAccount,
      sparkDefaults: spark.sparkDefaults,
      submitCluster: spark.submitCluster,
      submitClient: spark.submitClient,
      sizing: spark.sizing,
      sparkApplication: spark.sparkApplication,
    };
  });
  return { ...result, providers, timeouts };
}

describe("spark SparkPlatform component (mock runtime)", () => {
  it("partial settings (the component resolves them): the registered graph, parents, provider on every child, outputs", async () => {
    const r = await run(REFERENCE);
    const children = r.resources.filter((x) => x.parent === "spark");
    const types = children.map((x) => x.type).sort();
    assert.deepEqual(types, [
      "kubernetes:core/v1:ConfigMap",
      "kubernetes:core/v1:ConfigMap",
      "kubernetes:core/v1:LimitRange",
      "kubernetes:core/v1:Namespace",
      "kubernetes:core/v1:ResourceQuota",
      "kubernetes:core/v1:ServiceAccount",
      "kubernetes:rbac.authorization.k8s.io/v1:Role",
      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
      "kubernetes:scheduling.k8s.io/v1:PriorityClass",
    ]);
    const component = r.resources.find((x) => x.type === "vsphere-spark:spark:SparkPlatform");
    assert.ok(component);
    assert.equal(component.parent, undefined);
    assert.ok(r.resources.some((x) => x.type === "pulumi:providers:kubernetes" && x.name === "cluster"));
    // Everything is either the stack, the provider, the component, or a child of the component.
    assert.equal(r.resources.length, 3 + children.length);
    for (const c of children) assert.equal(r.providers.get(`${c.type}::${c.name}`), "cluster", `${c.type} ${c.name} uses the provider`);
    assert.ok(!types.some((t) => t.includes("ClusterRole")));
    const ns = children.find((x) => x.type === "kubernetes:core/v1:Namespace")!;
    assert.equal((ns.inputs.metadata as { name: string }).name, "spark");
    assert.equal(r.outputs.namespace, "spark");
    assert.equal(r.outputs.serviceAccount, "spark");
    assert.match(r.outputs.sparkDefaults as unknown as string, /^spark\.executor\.memory 100g$/m);
    assert.match(r.outputs.submitCluster as unknown as string, /--master k8s:\/\/https:\/\/192\.168\.1\.2:6443/);
    assert.match(r.outputs.submitClient as unknown as string, /--deploy-mode client/);
    assert.deepEqual((r.outputs.sizing as { executorPod: unknown }).executorPod, { cpuRequest: "15", memoryMiB: 112640 });
    assert.equal(r.outputs.sparkApplication, undefined);
  });

  it("everything on: registry secret is secret, the Job, History Server and SparkApplication are registered", async () => {
    const r = await run(settingsOf(FULL), "hunter2");
    const children = r.resources.filter((x) => x.parent === "spark");
    const count = (t: string) => children.filter((x) => x.type === t).length;
    assert.equal(count("kubernetes:core/v1:Secret"), 1);
    assert.equal(count("kubernetes:batch/v1:Job"), 1);
    assert.equal(count("kubernetes:apps/v1:Deployment"), 1);
    assert.equal(count("kubernetes:core/v1:Service"), 1);
    assert.equal(count("kubernetes:core/v1:PersistentVolumeClaim"), 1);
    assert.equal(count("kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"), 1);
    assert.equal(children.length, 9 + 6);
    for (const c of children) assert.equal(r.providers.get(`${c.type}::${c.name}`), "cluster");

    const secret = children.find((x) => x.type === "kubernetes:core/v1:Secret")!;
    // What the engine receives: stringData (with the dockerconfigjson inside) as a secret.
    assert.ok(isSecretMarker(secret.inputs.stringData), "stringData is a secret");
    assert.deepEqual(redactSecrets(secret.inputs.stringData), "[secret]");
    const plain = unwrapSecrets(secret.inputs) as { stringData: Record<string, string>; type: string };
    assert.equal(plain.type, "kubernetes.io/dockerconfigjson");
    const cfg = JSON.parse(plain.stringData[".dockerconfigjson"]) as { auths: Record<string, { auth: string; password: string }> };
    assert.equal(cfg.auths["192.168.1.1:5000"].password, "hunter2");
    assert.equal(cfg.auths["192.168.1.1:5000"].auth, Buffer.from("spark:hunter2").toString("base64"));
    // Nowhere in clear text.
    const visible = JSON.stringify(r.resources.map((x) => redactSecrets(x.inputs)));
    assert.ok(!visible.includes("hunter2") && !visible.includes(Buffer.from("spark:hunter2").toString("base64")));
    assert.ok(r.outputs.sparkApplication);
  });

  // Every optional part of the layer: what the settings ask for, and the resources that must then be
  // registered (beyond the base: namespace, service account, Role and binding, two ConfigMaps),
  // counted independently of the manifests' code. Caught the History Server with logDirectory
  // never being created (issue 19, item 0).
  const BASE = [
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  ];
  const QUOTA = ["kubernetes:core/v1:ResourceQuota", "kubernetes:core/v1:LimitRange"];
  const PRIORITY = ["kubernetes:scheduling.k8s.io/v1:PriorityClass"];
  const HISTORY = ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"];
  const CLUSTER15: SparkSettingsInput = { deployMode: "cluster", executor: { heapGranularityGiB: 10, instances: 15 } };
  const PARTS: { name: string; settings: SparkSettingsInput; password?: string; extra: string[]; app?: boolean }[] = [
    { name: "defaults (client mode)", settings: REFERENCE, extra: [...QUOTA, ...PRIORITY] },
    { name: "quota off", settings: { ...REFERENCE, quota: { enabled: false } }, extra: PRIORITY },
    { name: "no priority class", settings: { ...REFERENCE, priorityClass: null }, extra: QUOTA },
    { name: "priority class referenced, not created", settings: { ...REFERENCE, priorityClass: { create: false, name: "batch" } }, extra: QUOTA },
    {
      name: "registry credentials",
      settings: { ...REFERENCE, image: "192.168.1.1:5000/spark-tf", registryCredentials: { server: "192.168.1.1:5000", username: "spark" } },
      password: "pw",
      extra: [...QUOTA, ...PRIORITY, "kubernetes:core/v1:Secret"],
    },
    { name: "cluster-wide edit binding", settings: { ...REFERENCE, clusterRoleBindingEdit: true }, extra: [...QUOTA, ...PRIORITY, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"] },
    { name: "smoke test", settings: { ...REFERENCE, smokeTest: { enabled: true } }, extra: [...QUOTA, ...PRIORITY, "kubernetes:batch/v1:Job"] },
    { name: "History Server with logDirectory (client mode)", settings: { ...REFERENCE, historyServer: { enabled: true, logDirectory: "hdfs://namenode/spark-events" } }, extra: [...QUOTA, ...PRIORITY, ...HISTORY] },
    {
      name: "History Server with the event-log claim (cluster mode)",
      settings: { ...CLUSTER15, historyServer: { enabled: true, storageClassName: "vsan-file" } },
      extra: [...QUOTA, ...PRIORITY, ...HISTORY, "kubernetes:core/v1:PersistentVolumeClaim"],
    },
    {
      name: "claim + smoke test (cluster mode)",
      settings: { ...CLUSTER15, smokeTest: { enabled: true }, historyServer: { enabled: true, storageClassName: "vsan-file" } },
      extra: [...QUOTA, ...PRIORITY, ...HISTORY, "kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:batch/v1:Job"],
    },
    { name: "SparkApplication rendered only", settings: { ...REFERENCE, sparkApplication: { enabled: true } }, extra: [...QUOTA, ...PRIORITY], app: true },
    { name: "SparkApplication applied", settings: { ...CLUSTER15, sparkApplication: { enabled: true, apply: true } }, extra: [...QUOTA, ...PRIORITY, "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"], app: true },
    { name: "decommissioning (conf and pod template only)", settings: { ...REFERENCE, decommission: { enabled: true } }, extra: [...QUOTA, ...PRIORITY] },
  ];
  for (const part of PARTS) {
    it(`registers what the settings ask for: ${part.name}`, async () => {
      const r = await run(part.settings, part.password);
      const types = r.resources.filter((x) => x.parent === "spark").map((x) => x.type).sort();
      assert.deepEqual(types, [...BASE, ...part.extra].sort());
      assert.equal(r.outputs.sparkApplication !== undefined, part.app === true, "the SparkApplication output");
    });
  }

  it("the smoke-test Job: Pulumi waits as long as the Job may run (customTimeouts from its deadline), and the pod mounts the claim it logs to", async () => {
    const r = await run({ ...REFERENCE, deployMode: "cluster", executor: { heapGranularityGiB: 10, instances: 15 }, smokeTest: { enabled: true }, historyServer: { enabled: true, storageClassName: "vsan-file" } });
    const job = r.resources.find((x) => x.type === "kubernetes:batch/v1:Job")!;
    const deadline = (job.inputs.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds;
    const t = r.timeouts.get(`${job.type}::${job.name}`);
    assert.ok(t?.create, "customTimeouts.create is set (the provider's default is 10 minutes)");
    assert.equal(t.create, `${SMOKE_TEST.deadlineSeconds + 60}s`);
    assert.ok(Number(t.create.replace("s", "")) > deadline, `${t.create} outlasts activeDeadlineSeconds ${deadline}`);
    const pod = (job.inputs.spec as { template: { spec: { volumes: { persistentVolumeClaim?: { claimName: string } }[] } } }).template.spec;
    assert.ok(pod.volumes.some((v) => v.persistentVolumeClaim?.claimName === "spark-events"));
  });

  it("invalid arguments: one ValidationError listing every problem, nothing registered", async () => {
    let caught: unknown;
    const r = await runUnderMocks({ project: "vsphere-spark", stack: "test", config: {}, invokes: {} }, async () => {
      const provider = new k8s.Provider("cluster", {});
      try {
        new SparkPlatform("spark", {
          provider,
          apiEndpoint: "not an endpoint",
          workers: { count: 0, allocatable: { cpu: 16, memoryMiB: 122780 }, vm: { cpus: 16, memoryMiB: 122880 }, daemonSetRequests: { cpu: 0.3, memoryMiB: 512 } },
          settings: { executor: { cores: 0 } },
          registryPassword: "x",
        });
      } catch (e) {
        caught = e;
      }
      return {};
    });
    assert.ok(caught instanceof ValidationError);
    const paths = (caught as ValidationError).fieldErrors.map((e) => e.path).sort();
    assert.deepEqual(paths, ["apiEndpoint", "registryPassword", "settings.executor.cores", "workers.count"]);
    assert.deepEqual(r.resources.map((x) => x.type).sort(), ["pulumi:providers:kubernetes", "pulumi:pulumi:Stack"]);
  });

  it("add-on pod requests are checked like DaemonSet requests (a string or a negative number is named, not taken as NaN)", () => {
    const base = referenceWorkers(16);
    const paths = (addOnPods: unknown) =>
      validateSparkPlatformArgs({ provider: {} as k8s.Provider, apiEndpoint: "192.168.1.2:6443", workers: { ...base, addOnPods } as never, settings: { deployMode: "client" } })
        .map((e) => e.path)
        .filter((p) => p !== "provider") // a stand-in object, not a registered provider
        .sort();
    assert.deepEqual(paths({ cpu: "0.4", memoryMiB: -1 }), ["workers.addOnPods.cpu", "workers.addOnPods.memoryMiB"]);
    assert.deepEqual(paths({ cpu: 0.4, memoryMiB: 240 }), []);
    assert.deepEqual(paths(undefined), []);
  });

  it("a sizing error names the leaf setting (settings.executor.memory) with the numbers; a missing password is named", () => {
    const errors = validateSparkPlatformArgs({
      provider: undefined as unknown as k8s.Provider,
      apiEndpoint: "192.168.1.2:6443",
      workers: { count: 4, allocatable: { cpu: 16, memoryMiB: 8000 }, vm: { cpus: 16, memoryMiB: 8192 }, daemonSetRequests: { cpu: 0, memoryMiB: 0 } },
      settings: { executor: { memory: "10g" }, registryCredentials: { server: "docker.io", username: "me" } },
    });
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    assert.deepEqual([...byPath.keys()].sort(), ["provider", "registryPassword", "settings.executor.memory"]);
    assert.match(byPath.get("settings.executor.memory") ?? "", /11264 MiB.*8000 MiB/);
    assert.match(byPath.get("registryPassword") ?? "", /required/);
    assert.ok(byPath.has("provider"));
  });

  it("a resolved SparkSettings is also a valid input and resolves to itself; no settings means all defaults", () => {
    const resolved = settingsOf({ ...FULL, deployMode: "client", historyServer: { enabled: true, logDirectory: "s3a://logs/spark" }, priorityClass: null });
    const again = resolveSparkSettings(resolved);
    assert.deepEqual(again.errors, []);
    assert.deepEqual(again.settings, resolved);
    assert.deepEqual(resolveSparkSettings(undefined).settings, settingsOf({}));
  });
});
