/**
 * The Spark-only example: a standalone program importing the package by name that applies the
 * Spark layer to an existing cluster from a kubeconfig. Run under the strict mock runtime.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { isSecretMarker, runUnderMocks } from "../../src/plan/mock-runtime";

const ROOT = path.resolve(__dirname, "../../..");
const EXAMPLE = path.join(ROOT, "dist/examples/spark-on-existing-cluster/index.js");
const P = "spark-on-existing-cluster";

function run(extra: Record<string, string> = {}) {
  return runUnderMocks(
    {
      project: P,
      stack: "dev",
      config: {
        [`${P}:kubeconfig`]: "apiVersion: v1\nkind: Config\nclusters: []\n",
        [`${P}:apiEndpoint`]: "k8s.example.com:6443",
        // Allocatable as the kubeadm back end reports it: the kernel's 2156 MiB and the kubelet's 2548 MiB out.
        [`${P}:workers`]: JSON.stringify({ count: 8, vm: { cpus: 16, memoryMiB: 122880 }, allocatable: { cpu: 15.8, memoryMiB: 118176 }, daemonSetRequests: { cpu: 0.3, memoryMiB: 512 } }),
        [`${P}:spark`]: JSON.stringify({ deployMode: "client" }),
        ...extra,
      },
      secretKeys: [`${P}:kubeconfig`],
      invokes: {},
    },
    async () => {
      delete require.cache[require.resolve(EXAMPLE)];
      return require(EXAMPLE) as Record<string, unknown>;
    },
  );
}

describe("example: spark-on-existing-cluster", () => {
  it("imports the package by its name", () => {
    assert.match(fs.readFileSync(path.join(ROOT, "examples/spark-on-existing-cluster/index.ts"), "utf8"), /from "vsphere-spark"/);
  });

  it("creates the Spark layer through a provider made from the secret kubeconfig", async () => {
    const r = await run();
    const provider = r.resources.find((x) => x.type === "pulumi:providers:kubernetes")!;
    assert.ok(isSecretMarker(provider.inputs.kubeconfig), "the kubeconfig stays a secret");
    const types = new Set(r.resources.map((x) => x.type));
    for (const t of ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount", "kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:core/v1:ConfigMap"]) {
      assert.ok(types.has(t), t);
    }
    assert.equal(r.outputs.namespace, "spark");
    const sizing = r.outputs.sizing as { conf: Record<string, string> };
    assert.equal(sizing.conf["spark.executor.instances"], "8");
    // The library's default heap step (1 GiB): the largest whole GiB that fits, beside the largest MiB.
    assert.equal(sizing.conf["spark.executor.memory"], "104g");
    assert.deepEqual((r.outputs.sizing as { heap: unknown }).heap, { chosen: "104g", chosenMiB: 106496, stepGiB: 1, largestFitMiB: 106968 });
    assert.match(r.outputs.submitClient as string, /--master k8s:\/\/https:\/\/k8s\.example\.com:6443/);
  });

  it("rejects bad Spark settings with every problem and no resource", async () => {
    await assert.rejects(run({ [`${P}:spark`]: JSON.stringify({ namespce: "x", executor: { executorsPerNode: 0 } }) }), (e: Error & { recordedResources?: { type: string }[] }) => {
      assert.match(e.message, /spark-on-existing-cluster:spark\.namespce: unknown key/);
      assert.match(e.message, /spark-on-existing-cluster:spark\.executor\.executorsPerNode/);
      assert.deepEqual((e.recordedResources ?? []).filter((x) => x.type !== "pulumi:pulumi:Stack"), []);
      return true;
    });
  });
});
