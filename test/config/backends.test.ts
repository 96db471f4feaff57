/**
 * Switching the cluster back end is one key (`vsphere-spark:backend`); the plan and the Spark layer
 * do not change their code for it, and the same worker shape gives the same Spark sizing.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { FieldError } from "../../components/validation";
import { decideStack } from "../../src/config/decisions";
import { plan } from "../../src/plan/plan";
import { flatten, readStackFile } from "../../src/plan/stack-file";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>;
const K = (k: string) => `vsphere-spark:${k}`;
const tanzuConfig = () => readStackFile(path.join(ROOT, "Pulumi.tanzu.yaml")) as Cfg;
const devConfig = () => readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
function errorsOf(c: Cfg, secretKeys: string[] = []): FieldError[] {
  const flat = flatten(c);
  return decideStack(flat.values, [...flat.secretKeys, ...secretKeys]).errors;
}

describe("stack configuration: the cluster back end", () => {
  it("the reference Tanzu stack is valid and plans offline", async () => {
    assert.deepEqual(errorsOf(tanzuConfig()), []);
    const r = await plan({ stack: "tanzu", cwd: ROOT });
    assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.errors));
    if (!r.ok) return;
    assert.equal(r.plan.backend, "tanzu");
    assert.deepEqual(r.plan.hosts, []);
    assert.ok(r.artifacts.some((a) => a.path === "tanzu/spark.yaml" && a.kind === "manifest"));
    const types = Object.keys(r.plan.counts);
    for (const t of ["vsphere:index/namespace:Namespace", "vsphere:index/virtualMachineClass:VirtualMachineClass", "kubernetes:cluster.x-k8s.io/v1beta1:Cluster", "vsphere-spark:spark:SparkPlatform"]) {
      assert.ok(types.includes(t), `${t} missing from ${types.join(", ")}`);
    }
    assert.ok(!types.some((t) => t === "vsphere:index/virtualMachine:VirtualMachine"), "the Supervisor makes the VMs, not us");
  });

  it("the Tanzu stack sizes Spark exactly as the kubeadm stack does for the same worker shape", async () => {
    const t = await plan({ stack: "tanzu", cwd: ROOT });
    const d = await plan({ stack: "dev", cwd: ROOT });
    assert.ok(t.ok && d.ok);
    if (!t.ok || !d.ok) return;
    // The same worker shape; only the key each back end names for GPU workers differs (its own).
    const { gpuWorkersKey: tKey, ...tPool } = t.decisions.cluster.workerPool;
    const { gpuWorkersKey: dKey, ...dPool } = d.decisions.cluster.workerPool;
    assert.deepEqual(tPool, dPool);
    assert.match(tKey!, /^vsphere-spark:tanzu\.vmClasses/);
    assert.match(dKey!, /^vsphere-spark:hosts\[i\]\.gpuWorkers/);
    const sparkOf = (p: Record<string, unknown>) => p.spark as { conf: Record<string, string> };
    // The API endpoint differs (the Supervisor assigns the workload cluster's); the sizing does not.
    const sizing = (conf: Record<string, string>) => Object.fromEntries(Object.entries(conf).filter(([k]) => /^spark\.(executor|driver|cores|dynamicAllocation|kubernetes\.executor\.request)/.test(k)));
    assert.deepEqual(sizing(sparkOf(t.plan).conf), sizing(sparkOf(d.plan).conf));
    assert.equal(sparkOf(t.plan).conf["spark.executor.memory"], "100g");
  });

  it("switching is one key: the kubeadm stack with backend tanzu names every key the other back end owns", () => {
    const c = devConfig();
    c[K("backend")] = "tanzu";
    c[K("tanzu")] = tanzuConfig()[K("tanzu")];
    const paths = errorsOf(c).map((e) => e.path).sort();
    // The kubeadm keys of its kubernetes section too (Pulumi.dev.yaml sets version, installMode, cni).
    assert.deepEqual(paths, ["controlPlane", "drs", "endpoint", "inventory", "network", "vmProfiles", "workersPerHost", "kubernetes.cni", "kubernetes.installMode", "kubernetes.version"].map(K).sort());
    for (const e of errorsOf(c)) assert.match(e.message, /is only used with vsphere-spark:backend: kubeadm \(this stack's back end is tanzu|is the kubeadm back end's; this stack's back end is tanzu, where vsphere-spark:tanzu\.cluster\./);
  });

  it("the Tanzu keys on a kubeadm stack are named too", () => {
    const c = devConfig();
    c[K("tanzu")] = tanzuConfig()[K("tanzu")];
    assert.deepEqual(errorsOf(c), [{ path: K("tanzu"), message: "is only used with vsphere-spark:backend: tanzu (this stack's back end is kubeadm)" }]);
  });

  it("an unknown back end is one error naming the key", () => {
    const c = devConfig();
    c[K("backend")] = "eks";
    assert.deepEqual(errorsOf(c), [{ path: K("backend"), message: 'must be one of "kubeadm", "tanzu", got "eks"' }]);
  });

  it("kubeconfig access needs the Supervisor kubeconfig as a secret, and only then", () => {
    const c = tanzuConfig();
    c[K("tanzu")].supervisor = { ...c[K("tanzu")].supervisor, access: "kubeconfig" };
    delete c[K("tanzu")].supervisor.user;
    assert.deepEqual(errorsOf(c).map((e) => e.path), [K("tanzuSupervisorKubeconfig")]);
    c[K("tanzuSupervisorKubeconfig")] = { secure: "v1:abc" };
    assert.deepEqual(errorsOf(c), []);
    const clear = tanzuConfig();
    clear[K("tanzuSupervisorKubeconfig")] = "apiVersion: v1";
    assert.deepEqual(errorsOf(clear).map((e) => e.path), [K("tanzuSupervisorKubeconfig")]);
  });
});

describe("stack configuration: kubeadm's kubernetes keys on a Tanzu stack", () => {
  // [kubernetes key as written, the Tanzu key that says it (or null: kubeadm only)]: each would be ignored.
  const table: [string, unknown, string | null][] = [
    ["podCidr", "10.200.0.0/16", "tanzu.cluster.podCidr"],
    ["serviceCidr", "10.100.0.0/16", "tanzu.cluster.serviceCidr"],
    ["dnsDomain", "spark.internal", "tanzu.cluster.serviceDomain"],
    ["version", "1.31.4", "tanzu.cluster.release"],
    ["cni", { kind: "calico" }, "tanzu.cluster.cni"],
    ["readinessTimeoutMinutes", 20, "tanzu.cluster.readyTimeoutMinutes"],
    ["sshAuthorizedKeys", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl lab"], null],
  ];
  for (const [key, value, other] of table)
    it(`kubernetes.${key} → ${other ?? "kubeadm only"}`, () => {
      const c = tanzuConfig();
      c[K("kubernetes")] = { [key]: value };
      assert.deepEqual(errorsOf(c), [
        {
          path: `${K("kubernetes")}.${key}`,
          message: other
            ? `is the kubeadm back end's; this stack's back end is tanzu, where ${K(other)} says it (this key would be ignored)`
            : "is only used with vsphere-spark:backend: kubeadm (this stack's back end is tanzu; it would be ignored)",
        },
      ]);
    });

  it("the keys Tanzu reads (the worker pool model) are no error", () => {
    const c = tanzuConfig();
    c[K("kubernetes")] = { kubeReserved: { cpu: "200m", memory: "1Gi" }, workerDaemonSetRequests: { cpu: "300m", memory: "512Mi" } };
    assert.deepEqual(errorsOf(c), []);
  });
});
