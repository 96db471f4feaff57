/** The stack program itself rejects a bad configuration before registering anything. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { deployStack } from "../../src/stack";
import { runUnderMocks } from "../../src/plan/mock-runtime";
import { simulatedInventory } from "../../src/plan/simulated-inventory";
import { flatten, readStackFile } from "../../src/plan/stack-file";

const ROOT = path.resolve(__dirname, "../../..");

describe("stack program", () => {
  it("throws a RunError listing every problem, and registers nothing", async () => {
    const cfg = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Record<string, any>;
    cfg["vsphere-spark:workersPerHost"] = 0;
    cfg["vsphere-spark:clusterName"] = "UPPER";
    const flat = flatten(cfg);
    let registered: string[] = [];
    await assert.rejects(
      runUnderMocks({ project: "vsphere-spark", stack: "dev", config: flat.values, invokes: simulatedInventory }, async () => {
        try {
          return await deployStack();
        } catch (e) {
          assert.ok(e instanceof pulumi.RunError, "a RunError prints without a stack trace");
          throw e;
        }
      }).catch((e) => {
        registered = (e.recordedResources as { type: string }[]).map((r) => r.type);
        throw e;
      }),
      (e: Error) => {
        assert.match(e.message, /invalid stack configuration \(2 problems\)/);
        assert.match(e.message, /vsphere-spark:workersPerHost: the cluster has no worker VMs/);
        assert.match(e.message, /vsphere-spark:clusterName: "UPPER" is not a valid DNS label/);
        return true;
      },
    );
    // No component, no VM: nothing but (at most) the stack itself.
    assert.deepEqual(registered.filter((t) => t !== "pulumi:pulumi:Stack"), []);
  });
});
