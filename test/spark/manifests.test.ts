import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { SMOKE_TEST, SMOKE_TEST_ENV, inClusterSubmitJob, manifestList, renderInClusterSubmit, planSpark, quotaTotals, renderSubmitScript, smokeTestAwaitSeconds, sparkManifests } from "../../components/spark";
import { manifestProblems, referenceWorkers, stackSettings } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Cluster mode with everything on (15 executors: the 40g driver pod takes one worker's room). */
const FULL = {
  deployMode: "cluster",
  executor: { instances: 15 },
  registryCredentials: { server: "192.168.1.1:5000", username: "spark" },
  image: "192.168.1.1:5000/spark-tf",
  placement: { nodeSelector: { "node-role.kubernetes.io/spark": "" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "spark", effect: "NoSchedule" }] },
  smokeTest: { enabled: true },
  historyServer: { enabled: true, storageClassName: "vsan-default" },
  clusterRoleBindingEdit: true,
};

const docs = (raw: Record<string, unknown>, workers = referenceWorkers(16)) => manifestList(sparkManifests(planSpark(stackSettings(raw), workers))) as Obj[];

describe("spark manifests: what an API server would reject", () => {
  for (const [name, raw] of Object.entries({ default: {}, full: FULL, python: { appType: "python", executor: { executorsPerNode: 2 } } })) {
    it(`${name}: names, labels, quantities, container and port names are valid`, () => {
      const all = docs(raw);
      const problems = all.flatMap((d) => manifestProblems(JSON.parse(JSON.stringify(d))));
      assert.deepEqual(problems, []);
    });
  }

  it("the checker is not vacuous", () => {
    const bad = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "Spark_Defaults", namespace: "spark", labels: { "app.kubernetes.io/name": "x".repeat(64), "bad key!": "v" } },
      data: { "executor.yaml": "kind: Pod\nspec:\n  containers:\n    - name: Exec\n      resources:\n        requests:\n          memory: 1.5 Gi\n" },
    };
    const problems = manifestProblems(bad);
    assert.equal(problems.length, 5, problems.join("\n"));
  });

  it("objects are in the Spark namespace, except the cluster-scoped PriorityClass and the opt-in ClusterRoleBinding", () => {
    for (const d of docs(FULL)) {
      const clusterScoped = ["Namespace", "PriorityClass", "ClusterRoleBinding"].includes(d.kind);
      assert.equal(d.metadata.namespace, clusterScoped ? undefined : "spark", `${d.kind}/${d.metadata.name}`);
    }
  });

  it("the namespace enforces Pod Security Admission", () => {
    const ns = docs({}).find((d) => d.kind === "Namespace")!;
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/warn"], "restricted");
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/audit"], "restricted");
  });

  it("the quota admits exactly the sized application (executors + driver) and the LimitRange allows the largest pod", () => {
    const plan = planSpark(stackSettings(), referenceWorkers(16));
    const m = sparkManifests(plan) as Obj;
    assert.deepEqual(m.resourceQuota.spec.hard, {
      "requests.cpu": String(16 * 15 + 1),
      "requests.memory": `${16 * 112640 + 45056}Mi`,
      "limits.memory": `${16 * 112640 + 45056}Mi`,
      pods: "17",
    });
    assert.equal(m.limitRange.spec.limits[0].max.memory, "112640Mi");
    assert.equal(m.limitRange.spec.limits[0].max.cpu, undefined, "a CPU maximum would demand CPU limits Spark does not set");
    const withExtras = quotaTotals(planSpark(stackSettings({ smokeTest: { enabled: true }, historyServer: { enabled: true, logDirectory: "hdfs://namenode/spark-events" } }), referenceWorkers(16)));
    // The smoke test: its Job pod is the 1g client-mode driver (1408 MiB), plus two 1g executors.
    assert.equal(withExtras.pods, 17 + 3 + 1);
    assert.equal(withExtras.memoryMiB, 16 * 112640 + 45056 + 1408 + 2 * 1408 + 1536);
    assert.equal(sparkManifests(planSpark(stackSettings({ quota: { enabled: false } }), referenceWorkers(16))).resourceQuota, undefined);
  });

  it("executor pod template: one executor per node (required by default, preferred, or none), placement and priority", () => {
    const tpl = (raw: Record<string, unknown>) => parse((sparkManifests(planSpark(stackSettings(raw), referenceWorkers(16))).podTemplates as Obj).data["executor.yaml"]) as Obj;
    const req = tpl({}).spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    // Scoped to the application: Spark labels driver and executors spark-app-selector=<app id>.
    assert.deepEqual(req, { labelSelector: { matchLabels: { "spark-role": "executor" } }, matchLabelKeys: ["spark-app-selector"], topologyKey: "kubernetes.io/hostname" });
    // Executors get no API token (they would otherwise mount the driver's).
    assert.equal(tpl({}).spec.automountServiceAccountToken, false);
    assert.equal(tpl({ placement: { oneExecutorPerNode: "preferred" } }).spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight, 100);
    assert.equal(tpl({ executor: { executorsPerNode: 2 } }).spec.affinity, undefined);
    const full = tpl(FULL);
    assert.deepEqual(full.spec.nodeSelector, { "node-role.kubernetes.io/spark": "" });
    assert.equal(full.spec.tolerations[0].key, "dedicated");
    assert.equal(full.spec.priorityClassName, "spark");
    assert.deepEqual(full.spec.imagePullSecrets, [{ name: "spark-registry" }]);
    assert.equal(full.spec.securityContext.runAsNonRoot, true);
    assert.equal(full.spec.containers[0].name, "spark-kubernetes-executor");
    const driver = parse((sparkManifests(planSpark(stackSettings(FULL), referenceWorkers(16))).podTemplates as Obj).data["driver.yaml"]) as Obj;
    assert.equal(driver.spec.affinity, undefined);
    assert.equal(driver.spec.automountServiceAccountToken, undefined, "the driver needs its token");
    assert.equal(driver.spec.containers[0].name, "spark-kubernetes-driver");
  });

  it("smoke test: SparkPi in client mode inside the Job's pod, so the Job fails exactly when SparkPi does", () => {
    // Spark 4.0 (apache/spark, deploy/SparkSubmit.scala and deploy/k8s/submit/KubernetesClientApplication.scala):
    //   deploy mode | what spark-submit's exit status follows
    //   cluster     | the driver pod's end, whatever its phase (Client.run returns after watchOrStop)
    //   client      | the application itself: its main runs in spark-submit's JVM; a throw exits non-zero
    const job = docs(FULL).find((d) => d.kind === "Job")!;
    const pod = job.spec.template.spec;
    assert.equal(pod.serviceAccountName, "spark");
    assert.equal(pod.restartPolicy, "Never");
    assert.equal(job.spec.backoffLimit, 0);
    const c = pod.containers[0];
    assert.deepEqual(c.command, ["/opt/spark/bin/spark-submit"]);
    assert.equal(c.args[c.args.indexOf("--deploy-mode") + 1], "client");
    assert.equal(c.args[c.args.indexOf("--master") + 1], "k8s://https://kubernetes.default.svc:443");
    const conf = new Map<string, string>(c.args.filter((_: string, i: number) => c.args[i - 1] === "--conf").map((x: string) => [x.split("=")[0], x.split("=").slice(1).join("=")]));
    // Executors reach the driver at the pod's IP; the pod owns its executors.
    assert.equal(conf.get("spark.driver.host"), `$(${SMOKE_TEST_ENV.podIp})`);
    assert.equal(conf.get("spark.kubernetes.driver.pod.name"), `$(${SMOKE_TEST_ENV.podName})`);
    assert.equal(conf.get("spark.kubernetes.driver.podTemplateFile"), undefined);
    // Kubernetes expands $(VAR) only for variables the container defines: every reference is defined.
    const env = new Map<string, Obj>(c.env.map((e: Obj) => [e.name, e]));
    const refs = c.args.flatMap((a: string) => [...a.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]));
    assert.deepEqual([...new Set(refs)].sort(), [SMOKE_TEST_ENV.podIp, SMOKE_TEST_ENV.podName].sort());
    for (const r of refs) assert.ok(env.has(r), `${r} is defined`);
    assert.equal(env.get(SMOKE_TEST_ENV.podIp)!.valueFrom.fieldRef.fieldPath, "status.podIP");
    assert.equal(env.get(SMOKE_TEST_ENV.podName)!.valueFrom.fieldRef.fieldPath, "metadata.name");
    // The application is a file in the pod's own Spark, the container is sized as the 1g driver.
    assert.equal(c.args[c.args.length - 2], "/opt/spark/examples/jars/spark-examples_2.13-4.0.1.jar");
    assert.equal(c.args[c.args.indexOf("--driver-memory") + 1], "1g");
    assert.deepEqual(c.resources, { requests: { cpu: "1", memory: "1408Mi" }, limits: { memory: "1408Mi" } });
    assert.deepEqual(pod.volumes.map((v: Obj) => v.configMap?.name ?? v.persistentVolumeClaim.claimName), ["spark-defaults", "spark-pod-templates", "spark-events"]);
  });

  it("event logs to the claim: every process that writes them (cluster-mode driver, smoke test) mounts it; client-mode submit hosts do not log", () => {
    // Spark 4.0 core/src/main/scala/org/apache/spark/deploy/history/EventLogFileWriters.scala: start()
    // calls requireLogBaseDirAsDirectory(), whose getFileStatus throws for a missing directory, and
    // SparkContext fails. The image has no /spark-events: only the claim's mount makes it exist.
    const plan = planSpark(stackSettings(FULL), referenceWorkers(16));
    const m = sparkManifests(plan);
    const job = m.smokeTestJob as Obj;
    const c = job.spec.template.spec.containers[0];
    const conf = new Map<string, string>(c.args.filter((_: string, i: number) => c.args[i - 1] === "--conf").map((x: string) => [x.split("=")[0], x.split("=").slice(1).join("=")]));
    assert.equal(conf.get("spark.eventLog.enabled"), "true");
    assert.equal(conf.get("spark.eventLog.dir"), "file:///spark-events");
    const mount = c.volumeMounts.find((v: Obj) => v.mountPath === "/spark-events");
    assert.ok(mount && !mount.readOnly, "the smoke test mounts the claim read-write where it logs");
    const vol = job.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
    assert.equal(vol.persistentVolumeClaim.claimName, (m.eventLogClaim as Obj).metadata.name);
    // The cluster-mode driver pod: Spark mounts the claim from the volume properties.
    const v = "spark.kubernetes.driver.volumes.persistentVolumeClaim.spark-events";
    assert.equal(plan.conf[`${v}.mount.path`], "/spark-events");
    assert.equal(plan.conf[`${v}.options.claimName`], "spark-events");
    // The client-mode script: no claim on the submit host, so no event log, and it says so.
    const client = renderSubmitScript(plan, "client", "192.168.1.2:6443");
    assert.match(client, /--conf spark\.eventLog\.enabled=false/);
    assert.doesNotMatch(client, /spark\.eventLog\.dir|spark\.kubernetes\.driver\.volumes/);
    assert.match(client, /^# Event logging is off here/m);
    assert.match(renderSubmitScript(plan, "cluster", "192.168.1.2:6443"), /--conf spark\.eventLog\.dir=file:\/\/\/spark-events/);
    // Negative control: with a shared URI nothing mounts a claim and client mode logs to the URI.
    const shared = planSpark(stackSettings({ ...FULL, historyServer: { enabled: true, logDirectory: "hdfs://namenode/spark-events" } }), referenceWorkers(16));
    const sj = sparkManifests(shared).smokeTestJob as Obj;
    assert.equal(sj.spec.template.spec.containers[0].volumeMounts.find((v: Obj) => v.mountPath === "/spark-events"), undefined);
    assert.match(renderSubmitScript(shared, "client", "192.168.1.2:6443"), /--conf spark\.eventLog\.dir=hdfs:\/\/namenode\/spark-events/);
  });

  it("in-cluster client mode (the smoke test's way, offered to users): the platform's sizing, the driver in the Job's pod", () => {
    const plan = planSpark(stackSettings({ ...FULL, executor: { heapGranularityGiB: 10, instances: 15 } }), referenceWorkers(16));
    const job = inClusterSubmitJob(plan) as Obj;
    assert.deepEqual(manifestProblems(job), []);
    assert.equal(job.metadata.name, "spark-pi-in-cluster");
    const c = job.spec.template.spec.containers[0];
    const conf = new Map<string, string>(c.args.filter((_: string, i: number) => c.args[i - 1] === "--conf").map((x: string) => [x.split("=")[0], x.split("=").slice(1).join("=")]));
    assert.equal(c.args[c.args.indexOf("--deploy-mode") + 1], "client");
    assert.equal(c.args[c.args.indexOf("--driver-memory") + 1], plan.conf["spark.driver.memory"]);
    assert.equal(c.args[c.args.indexOf("--executor-memory") + 1], plan.conf["spark.executor.memory"]);
    assert.equal(conf.get("spark.executor.instances"), "15");
    assert.equal(conf.get("spark.driver.host"), `$(${SMOKE_TEST_ENV.podIp})`);
    assert.deepEqual(c.resources, { requests: { cpu: plan.sizing.driverPod.cpuRequest, memory: `${plan.sizing.driverPod.memoryMiB}Mi` }, limits: { memory: `${plan.sizing.driverPod.memoryMiB}Mi` } });
    // With the claim, it logs there like the smoke test.
    assert.equal(conf.get("spark.eventLog.dir"), "file:///spark-events");
    assert.ok(c.volumeMounts.some((v: Obj) => v.mountPath === "/spark-events"));
    // Sized for client mode, the rendered file says what a driver pod takes (as in cluster mode); sized for cluster mode, it does not.
    const client = planSpark(stackSettings({ deployMode: "client", executor: { heapGranularityGiB: 10 } }), referenceWorkers(16));
    assert.match(renderInClusterSubmit(client), /^# WARNING: the platform is sized for client mode; with the driver in a pod \(as in cluster mode\): .*only 15 of 16 executors can start/m);
    assert.doesNotMatch(renderInClusterSubmit(plan), /WARNING/);
  });

  it("the smoke-test Job's deadline and Pulumi's wait for it come from one place", () => {
    const job = docs(FULL).find((d) => d.kind === "Job")!;
    assert.equal(job.spec.activeDeadlineSeconds, SMOKE_TEST.deadlineSeconds);
    assert.ok(smokeTestAwaitSeconds() > SMOKE_TEST.deadlineSeconds, "Pulumi waits longer than the Job may run");
  });

  it("history server: a Deployment + Service over the event-log claim the drivers write to", () => {
    const all = docs(FULL);
    const dep = all.find((d) => d.kind === "Deployment")!;
    const svc = all.find((d) => d.kind === "Service")!;
    const pvc = all.find((d) => d.kind === "PersistentVolumeClaim")!;
    assert.equal(pvc.spec.storageClassName, "vsan-default");
    assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
    const vols = dep.spec.template.spec.volumes as Obj[];
    assert.equal(vols.find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim.claimName, pvc.metadata.name);
    assert.equal(dep.spec.template.spec.automountServiceAccountToken, false);
    assert.equal(dep.spec.template.spec.containers[0].volumeMounts.find((v: Obj) => v.mountPath === "/spark-events").readOnly, true);
  });

  it("history server with a shared log location: no claim, drivers and server use the URI; the server reads spark-defaults (extraConf)", () => {
    const plan = planSpark(
      stackSettings({ image: "harbor.example.com/spark/spark-s3a:4.0.1", historyServer: { enabled: true, logDirectory: "s3a://spark-logs/events" }, extraConf: { "spark.hadoop.fs.s3a.endpoint": "http://minio.example.com:9000" } }),
      referenceWorkers(16),
    );
    const all = manifestList(sparkManifests(plan)) as Obj[];
    assert.equal(all.find((d) => d.kind === "PersistentVolumeClaim"), undefined);
    const dep = all.find((d) => d.kind === "Deployment")!;
    // spark-defaults.conf (with extraConf) mounted at SPARK_CONF_DIR, which the server's env names.
    assert.deepEqual(dep.spec.template.spec.volumes, [{ name: "spark-defaults", configMap: { name: "spark-defaults" } }]);
    const hs = dep.spec.template.spec.containers[0];
    assert.deepEqual(hs.volumeMounts, [{ name: "spark-defaults", mountPath: "/etc/spark/conf", readOnly: true }]);
    assert.equal(hs.env.find((e: Obj) => e.name === "SPARK_CONF_DIR").value, "/etc/spark/conf");
    const cm = all.find((d) => d.kind === "ConfigMap" && d.metadata.name === "spark-defaults")!;
    assert.match(cm.data["spark-defaults.conf"], /^spark\.hadoop\.fs\.s3a\.endpoint http:\/\/minio\.example\.com:9000$/m);
    assert.deepEqual(dep.spec.template.spec.containers[0].env[0], { name: "SPARK_HISTORY_OPTS", value: "-Dspark.history.fs.logDirectory=s3a://spark-logs/events" });
    assert.equal(plan.conf["spark.eventLog.dir"], "s3a://spark-logs/events");
    assert.ok(!Object.keys(plan.conf).some((k) => k.startsWith("spark.kubernetes.driver.volumes.")));
  });
});

describe("spark RBAC", () => {
  it("by default grants nothing outside the Spark namespace", () => {
    const all = docs({});
    assert.deepEqual(all.filter((d) => d.kind === "ClusterRole" || d.kind === "ClusterRoleBinding"), []);
    const rbac = all.filter((d) => d.apiVersion === "rbac.authorization.k8s.io/v1");
    assert.deepEqual(rbac.map((d) => d.kind).sort(), ["Role", "RoleBinding"]);
    for (const d of rbac) assert.equal(d.metadata.namespace, "spark");
    const binding = rbac.find((d) => d.kind === "RoleBinding")!;
    assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "spark-driver" });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "spark", namespace: "spark" }]);
  });

  it("the paper's cluster-wide edit binding only when opted in", () => {
    const crb = docs({ clusterRoleBindingEdit: true }).find((d) => d.kind === "ClusterRoleBinding")!;
    assert.deepEqual(crb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" });
    assert.deepEqual(crb.subjects, [{ kind: "ServiceAccount", name: "spark", namespace: "spark" }]);
    assert.equal(crb.metadata.name, "spark-spark-edit");
  });
});
