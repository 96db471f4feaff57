import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { manifestList, planSpark, quotaTotals, sparkManifests } from "../../components/spark";
import { manifestProblems, referenceWorkers, settingsOf } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FULL = {
  registryCredentials: { server: "192.168.1.1:5000", username: "spark" },
  image: "192.168.1.1:5000/spark-tf",
  placement: { nodeSelector: { "node-role.kubernetes.io/spark": "" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "spark", effect: "NoSchedule" }] },
  smokeTest: { enabled: true },
  historyServer: { enabled: true, storageClassName: "vsan-default" },
  clusterRoleBindingEdit: true,
};

const docs = (raw: unknown, workers = referenceWorkers(16)) => manifestList(sparkManifests(planSpark(settingsOf(raw), workers))) as Obj[];

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
    const plan = planSpark(settingsOf(), referenceWorkers(16));
    const m = sparkManifests(plan) as Obj;
    assert.deepEqual(m.resourceQuota.spec.hard, {
      "requests.cpu": String(16 * 15 + 1),
      "requests.memory": `${16 * 112640 + 45056}Mi`,
      "limits.memory": `${16 * 112640 + 45056}Mi`,
      pods: "17",
    });
    assert.equal(m.limitRange.spec.limits[0].max.memory, "112640Mi");
    assert.equal(m.limitRange.spec.limits[0].max.cpu, undefined, "a CPU maximum would demand CPU limits Spark does not set");
    const withExtras = quotaTotals(planSpark(settingsOf({ smokeTest: { enabled: true }, historyServer: { enabled: true } }), referenceWorkers(16)));
    assert.equal(withExtras.pods, 17 + 4 + 1);
    assert.equal(withExtras.memoryMiB, 16 * 112640 + 45056 + 1024 + 1408 + 2 * 1408 + 1536);
    assert.equal(sparkManifests(planSpark(settingsOf({ quota: { enabled: false } }), referenceWorkers(16))).resourceQuota, undefined);
  });

  it("executor pod template: one executor per node (required by default, preferred, or none), placement and priority", () => {
    const tpl = (raw: unknown) => parse((sparkManifests(planSpark(settingsOf(raw), referenceWorkers(16))).podTemplates as Obj).data["executor.yaml"]) as Obj;
    const req = tpl({}).spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    assert.deepEqual(req, { labelSelector: { matchLabels: { "spark-role": "executor" } }, topologyKey: "kubernetes.io/hostname" });
    assert.equal(tpl({ placement: { oneExecutorPerNode: "preferred" } }).spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight, 100);
    assert.equal(tpl({ executor: { executorsPerNode: 2 } }).spec.affinity, undefined);
    const full = tpl(FULL);
    assert.deepEqual(full.spec.nodeSelector, { "node-role.kubernetes.io/spark": "" });
    assert.equal(full.spec.tolerations[0].key, "dedicated");
    assert.equal(full.spec.priorityClassName, "spark");
    assert.deepEqual(full.spec.imagePullSecrets, [{ name: "spark-registry" }]);
    assert.equal(full.spec.securityContext.runAsNonRoot, true);
    assert.equal(full.spec.containers[0].name, "spark-kubernetes-executor");
    const driver = parse((sparkManifests(planSpark(settingsOf(FULL), referenceWorkers(16))).podTemplates as Obj).data["driver.yaml"]) as Obj;
    assert.equal(driver.spec.affinity, undefined);
    assert.equal(driver.spec.containers[0].name, "spark-kubernetes-driver");
  });

  it("smoke test: spark-submit in cluster mode under the service account, reading the platform's ConfigMaps", () => {
    const job = docs(FULL).find((d) => d.kind === "Job")!;
    const pod = job.spec.template.spec;
    assert.equal(pod.serviceAccountName, "spark");
    assert.equal(pod.restartPolicy, "Never");
    const c = pod.containers[0];
    assert.deepEqual(c.command, ["/opt/spark/bin/spark-submit"]);
    assert.equal(c.args[c.args.indexOf("--deploy-mode") + 1], "cluster");
    assert.equal(c.args[c.args.indexOf("--master") + 1], "k8s://https://kubernetes.default.svc:443");
    assert.deepEqual(pod.volumes.map((v: Obj) => v.configMap.name), ["spark-defaults", "spark-pod-templates"]);
    assert.equal(job.spec.backoffLimit, 0);
  });

  it("history server: a Deployment + Service over the event-log claim the drivers write to", () => {
    const all = docs(FULL);
    const dep = all.find((d) => d.kind === "Deployment")!;
    const svc = all.find((d) => d.kind === "Service")!;
    const pvc = all.find((d) => d.kind === "PersistentVolumeClaim")!;
    assert.equal(pvc.spec.storageClassName, "vsan-default");
    assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
    assert.equal(dep.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name);
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

  it("the Role holds exactly what a driver needs: core-group pods, services, config maps and claims, no wildcards", () => {
    const role = docs({}).find((d) => d.kind === "Role")!;
    const resources = role.rules.flatMap((r: Obj) => r.resources).sort();
    assert.deepEqual(resources, ["configmaps", "persistentvolumeclaims", "pods", "services"]);
    for (const r of role.rules) {
      assert.deepEqual(r.apiGroups, [""]);
      assert.ok(!r.verbs.includes("*") && !r.resources.includes("*"));
      for (const v of ["create", "get", "list", "watch", "delete"]) assert.ok(r.verbs.includes(v), `${r.resources} ${v}`);
      assert.ok(!r.verbs.includes("escalate") && !r.verbs.includes("bind") && !r.verbs.includes("impersonate"));
    }
  });

  it("the paper's cluster-wide edit binding only when opted in", () => {
    const crb = docs({ clusterRoleBindingEdit: true }).find((d) => d.kind === "ClusterRoleBinding")!;
    assert.deepEqual(crb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" });
    assert.deepEqual(crb.subjects, [{ kind: "ServiceAccount", name: "spark", namespace: "spark" }]);
    assert.equal(crb.metadata.name, "spark-spark-edit");
  });
});
