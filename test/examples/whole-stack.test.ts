/**
 * The README's component example (examples/whole-stack, quoted in the README) runs as a program of
 * its own, importing the package by name, and sizes Spark exactly as the stack does for the same VMs.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runUnderMocks } from "../../src/plan/mock-runtime";
import { plan } from "../../src/plan/plan";
import { simulatedInventory, simulatedOutputs } from "../../src/plan/simulated-inventory";

const ROOT = path.resolve(__dirname, "../../..");
const SOURCE = path.join(ROOT, "examples/whole-stack/index.ts");
const EXAMPLE = path.join(ROOT, "dist/examples/whole-stack/index.js");

describe("example: whole-stack (the README's component example)", () => {
  it("is quoted in the README word for word, and imports the package by name", () => {
    const src = fs.readFileSync(SOURCE, "utf8");
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const body = src.slice(src.indexOf("import {"));
    assert.ok(readme.includes(body.trimEnd()), "README's 'Using the components' block differs from examples/whole-stack/index.ts");
    assert.match(src, /from "vsphere-spark"/);
    assert.doesNotMatch(src, /from "\.\.?\//);
  });

  it("gives the same worker pool and Spark sizing as the stack for the same VMs", async () => {
    const r = await runUnderMocks(
      { project: "vsphere-spark-whole-stack", stack: "dev", config: {}, invokes: simulatedInventory, outputs: simulatedOutputs },
      async () => {
        delete require.cache[require.resolve(EXAMPLE)];
        return require(EXAMPLE) as Record<string, unknown>;
      },
    );
    const stack = await plan({ stack: "dev", cwd: ROOT });
    assert.ok(stack.ok);
    if (!stack.ok) return;
    assert.deepEqual(r.outputs.workerPool, stack.decisions.cluster.workerPool);
    const sizing = r.outputs.sparkSizing as { conf: Record<string, string> };
    const section = stack.plan.spark as { conf: Record<string, string> };
    assert.deepEqual(sizing.conf, section.conf);
    assert.equal(sizing.conf["spark.executor.instances"], "16");
    assert.equal(sizing.conf["spark.executor.cores"], "15");
    assert.equal(r.outputs.apiEndpoint, "192.168.1.2:6443");
    assert.equal(r.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine").length, 20);
  });
});
