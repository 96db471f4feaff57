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
    assert.deepEqual(t.decisions.cluster.workerPool, d.decisions.cluster.workerPool);
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
    assert.deepEqual(paths, ["controlPlane", "drs", "endpoint", "inventory", "network", "vmProfiles", "workersPerHost"].map(K).sort());
    for (const e of errorsOf(c)) assert.match(e.message, /is only used with vsphere-spark:backend: kubeadm \(this stack's back end is tanzu\)/);
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
