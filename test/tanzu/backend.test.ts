/**
 * The Tanzu back end behind the seam: `tanzuOnSupervisor` is a `DecidedCluster`, and the composite
 * `VsphereSpark` puts Spark on it without knowing which back end it is (same sizing as kubeadm's).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runUnderMocks } from "../../src/plan/mock-runtime";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { DEFAULT_KUBERNETES_SETTINGS } from "../../components/cluster";
import { planSpark, resolveSparkSettings } from "../../components/spark";
import { VsphereSpark } from "../../components/stack/vsphere-spark";
import { offlineLogin, planTanzu, tanzuOnSupervisor, TanzuCluster } from "../../components/tanzu";
import { ValidationError } from "../../components/validation";
import { ROOT, reference, referenceRaw } from "./helpers";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: w\n  cluster:\n    server: https://192.168.10.5:6443\n";

describe("Tanzu behind the back end seam", function () {
  this.timeout(120_000);

  it("tanzuOnSupervisor: worker pool, endpoint and plan as planTanzu decides them", () => {
    const s = reference();
    const d = tanzuOnSupervisor({ tanzu: s, kubernetes: DEFAULT_KUBERNETES_SETTINGS });
    assert.equal(d.backend, "tanzu");
    assert.deepEqual(d.plan(), planTanzu(s));
    assert.deepEqual(d.workerPool, planTanzu(s).workerPool);
    assert.equal(d.endpoint.kind, "supervisor-lb");
  });

  it("VsphereSpark on the Tanzu back end: TanzuCluster then Spark, sized as on kubeadm", async () => {
    const tanzuStack = readStackFile(path.join(ROOT, "Pulumi.tanzu.yaml"));
    const spark = resolveSparkSettings(tanzuStack["vsphere-spark:spark"]).settings;
    const cluster = tanzuOnSupervisor({ tanzu: reference(), kubernetes: DEFAULT_KUBERNETES_SETTINGS, access: { password: "pw", login: offlineLogin, skipReleaseCheck: true, vcenter: { server: "vcenter.lab.local", user: "administrator@vsphere.local" } } });
    const r = await runUnderMocks(
      {
        project: "vsphere-spark",
        stack: "tanzu",
        config: {},
        invokes: {
          "vsphere:index/getPolicy:getPolicy": () => ({ id: "policy-1" }),
          "vsphere:index/getContentLibrary:getContentLibrary": () => ({ id: "lib-1" }),
        },
        outputs: { "kubernetes:core/v1:Secret": (name) => (name === "spark-kubeconfig" ? { data: { value: Buffer.from(KUBECONFIG).toString("base64") } } : {}) },
      },
      async () => {
        const v = new VsphereSpark("spark", { cluster, spark });
        assert.ok(v.cluster instanceof TanzuCluster);
        return { sizing: v.outputs.sparkSizing, apiEndpoint: v.outputs.apiEndpoint } as Record<string, unknown>;
      },
    );
    const byType = (t: string) => r.resources.filter((x) => x.type === t);
    assert.equal(byType("vsphere-spark:tanzu:TanzuCluster")[0].parent, "spark");
    assert.equal(byType("vsphere-spark:spark:SparkPlatform").length, 1);
    assert.equal(byType("vsphere-spark:spark:SparkPlatform")[0].parent, "spark");
    assert.equal(byType("vsphere:index/virtualMachine:VirtualMachine").length, 0);
    assert.equal(r.outputs.apiEndpoint, "192.168.10.5:6443");
    // The kubeadm stack's Spark configuration for the same worker shape.
    const dev = flatten(readStackFile(path.join(ROOT, "Pulumi.dev.yaml")));
    const kubeadm = decideStack(dev.values, dev.secretKeys);
    if (!kubeadm.decisions) assert.fail(JSON.stringify(kubeadm.errors));
    const expected = planSpark(kubeadm.decisions.spark, kubeadm.decisions.cluster.workerPool).conf;
    assert.deepEqual((r.outputs.sizing as { conf: Record<string, string> }).conf, expected);
    assert.equal(expected["spark.executor.instances"], "16");
  });

  it("TanzuCluster takes raw or resolved settings, not both or neither", () => {
    assert.throws(() => new TanzuCluster("x", { password: "p" }), (e: unknown) => e instanceof ValidationError && e.fieldErrors[0].path === "args.tanzu");
    assert.throws(() => new TanzuCluster("x", { password: "p", tanzu: referenceRaw(), settings: reference() }), (e: unknown) => e instanceof ValidationError && e.fieldErrors[0].path === "args.tanzu");
  });
});
