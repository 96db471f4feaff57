/**
 * Spark waits for the cluster back end's `readyFor` gate, which for kubeadm resolves only once every
 * control plane and worker is a Ready node (not only when the CNI is installed).
 */
import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { runUnderMocks } from "../../src/plan/mock-runtime";
import { readStackFile } from "../../src/plan/stack-file";
import type { SparkSettingsInput } from "../../components/spark/settings";
import { VsphereSpark } from "../../components/stack/vsphere-spark";
import type { ClusterHandle, DecidedCluster } from "../../components/cluster/backend";
import { DEFAULT_KUBERNETES_SETTINGS, workerPool } from "../../components/cluster";

const ROOT = path.resolve(__dirname, "../../..");

/** A back end whose gate opens when the test says so; records what registered before it opened. */
async function runWithGate(gated: boolean) {
  let open = false;
  const early: string[] = [];
  const late: string[] = [];
  const record = (type: string) => (name: string) => {
    (open ? late : early).push(`${type}::${name}`);
    return {};
  };
  const sparkTypes = ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ResourceQuota"];
  const pool = workerPool(Array.from({ length: 16 }, () => ({ cpus: 16, memoryMiB: 122880 })), DEFAULT_KUBERNETES_SETTINGS);
  await runUnderMocks(
    { project: "vsphere-spark", stack: "test", config: {}, invokes: {}, outputs: Object.fromEntries(sparkTypes.map((t) => [t, record(t)])) },
    async () => {
      const cluster: DecidedCluster = {
        backend: "stub",
        endpoint: { kind: "stub", address: "10.0.0.1", port: 6443 },
        workerPool: pool,
        plan: () => assert.fail("not planned here"),
        create(name, opts): ClusterHandle {
          const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: "stub" }, opts);
          const gate = new Promise<pulumi.Resource[]>((resolve) =>
            setTimeout(() => {
              open = true;
              resolve([provider]);
            }, 300),
          );
          if (!gated) setTimeout(() => (open = true), 300);
          return { provider, apiEndpoint: pulumi.output("10.0.0.1:6443"), workerPool: pool, readyFor: gated ? pulumi.output(gate) : [provider], outputs: {} };
        },
      };
      // The reference stack's Spark settings (client mode, 16 executors).
      new VsphereSpark("spark", { cluster, spark: readStackFile(path.join(ROOT, "Pulumi.dev.yaml"))["vsphere-spark:spark"] as SparkSettingsInput });
      return {};
    },
  );
  return { early, late };
}

describe("the ready gate between the cluster and Spark", () => {
  it("no Spark resource registers before the back end's readyFor resolves", async () => {
    const { early, late } = await runWithGate(true);
    assert.deepEqual(early, []);
    assert.ok(late.some((r) => r.startsWith("kubernetes:core/v1:Namespace::")), late.join(", "));
  });

  it("negative control: without the gate, Spark resources register at once", async () => {
    const { early } = await runWithGate(false);
    assert.ok(early.some((r) => r.startsWith("kubernetes:core/v1:Namespace::")), early.join(", "));
  });

});
