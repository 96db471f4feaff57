/** What other Pulumi programs get when they install the package. */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("the npm package", () => {
  it("is named vsphere-spark and pins every dependency", () => {
    assert.equal(pkg.name, "vsphere-spark");
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(version as string, /^\d+\.\d+\.\d+$/, `${name} is not pinned: ${version}`);
    }
  });

  it("declares the vSphere provider plugin 4.17.0, like @pulumi/vsphere does, for `pulumi install`", () => {
    assert.deepEqual(pkg.pulumi, { resource: true, name: "vsphere", version: "4.17.0" });
  });

  it("packs the built entry point and the layers, not the tests", function () {
    this.timeout(60_000);
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const files = (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path);
    for (const f of ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/testing.js", "dist/components/stack/vsphere-spark.js", "dist/components/vsphere/topology.js", "dist/components/cluster/bootstrap.js", "dist/components/spark/platform.js", "README.md", "package.json"]) {
      assert.ok(files.includes(f), `${f} missing from the package`);
    }
    assert.ok(!files.some((f) => f.startsWith("dist/test/") || f.startsWith("dist/bench/")), "tests and benchmarks stay out");
  });

  it("resolves by its own name to the package entry", () => {
    const entry = require.resolve("vsphere-spark");
    assert.equal(entry, path.join(ROOT, "dist/src/index.js"));
    const lib = require("vsphere-spark");
    for (const name of ["VsphereSpark", "kubeadmOnVsphere", "VsphereTopology", "KubeadmBootstrap", "KubeadmClusterAccess", "SparkPlatform", "sizeExecutors", "planSlots", "resolveVsphereSettings", "workerPool", "decideStack", "deployStack"]) {
      assert.ok(name in lib, name);
    }
    // The offline plan and the mock runtime are a subpath; the generated binding is not public API.
    for (const name of ["runUnderMocks", "plan", "vsphere", "VirtualMachine"]) assert.ok(!(name in lib), `${name} leaks into the package entry`);
    assert.equal(require.resolve("vsphere-spark/testing"), path.join(ROOT, "dist/src/testing.js"));
    const testing = require("vsphere-spark/testing");
    for (const name of ["runUnderMocks", "plan", "simulatedInventory"]) assert.ok(name in testing, name);
  });
});
