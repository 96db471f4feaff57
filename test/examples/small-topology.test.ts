/**
 * The standalone example imports the package by its name ("vsphere-spark") and builds its own
 * topology: run it under the strict mock runtime and check the graph it registers.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runUnderMocks, redactSecrets } from "../../src/plan/mock-runtime";
import { simulatedInventory, simulatedOutputs } from "../../src/plan/simulated-inventory";

const ROOT = path.resolve(__dirname, "../../..");
const EXAMPLE = path.join(ROOT, "dist/examples/small-topology/index.js");

describe("example: small-topology", () => {
  it("imports the package by its name, not by a relative path", () => {
    const src = fs.readFileSync(path.join(ROOT, "examples/small-topology/index.ts"), "utf8");
    assert.match(src, /from "vsphere-spark"/);
    assert.doesNotMatch(src, /from "\.\.?\//);
  });

  it("plans 2 hosts, 1 control plane, 4 workers and no DRS rules", async () => {
    assert.ok(fs.existsSync(EXAMPLE), "build the examples first (npm run build)");
    const r = await runUnderMocks(
      { project: "vsphere-spark-small-topology", stack: "dev", config: {}, invokes: simulatedInventory, outputs: simulatedOutputs },
      async () => {
        delete require.cache[require.resolve(EXAMPLE)];
        return require(EXAMPLE) as Record<string, unknown>;
      },
    );
    const vms = r.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine");
    // Pulumi names start with the component's name ("small"); the VM names in vCenter do not.
    assert.deepEqual(vms.map((v) => v.name).sort(), vms.map((v) => `small-${v.inputs.name}`).sort());
    assert.deepEqual(vms.map((v) => v.inputs.name).sort(), [
      "esx-a-control-plane",
      "esx-a-worker-1",
      "esx-a-worker-2",
      "esx-b-worker-1",
      "esx-b-worker-2",
    ]);
    assert.equal(r.resources.filter((x) => x.type.includes("ComputeCluster")).length, 0);
    const cp = redactSecrets(vms.find((v) => v.inputs.name === "esx-a-control-plane")!.inputs) as Record<string, unknown>;
    assert.equal(cp.numCpus, 4);
    assert.equal(cp.memory, 16384);
    const out = r.outputs.vms as Record<string, { ipAddress: string }>;
    assert.equal(out["esx-a-control-plane"].ipAddress, "10.20.0.100");
    assert.equal(out["esx-b-worker-2"].ipAddress, "10.20.0.113");
  });
});
