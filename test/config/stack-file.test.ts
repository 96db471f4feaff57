/** Reading a stack file: problems with the file itself name the file and say what is wrong. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { plan } from "../../src/plan/plan";
import { StackFileError, readStackFile } from "../../src/plan/stack-file";

function write(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
  const file = path.join(dir, "Pulumi.x.yaml");
  fs.writeFileSync(file, text);
  return file;
}

describe("stack file", () => {
  it("without its top-level config: key gives one error saying so (not three 'is required')", async () => {
    const file = write("vsphere-spark:workersPerHost: 3\nvsphere-spark:clusterName: lab\n");
    assert.throws(() => readStackFile(file), (e: Error) => e instanceof StackFileError && /has no top-level "config:" key \(keys such as "vsphere-spark:workersPerHost" must be indented under "config:"\)/.test(e.message) && e.message.includes(file));
    const r = await plan({ stack: "x", configFile: file });
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.path), ["Pulumi.x.yaml"]);
  });

  it("a YAML error from the parser's own limits names the file", () => {
    // 101 aliases of one anchor: past the yaml package's default maxAliasCount of 100.
    const text = `config:\n  a: &x [1]\n  b: [${Array.from({ length: 101 }, () => "*x").join(", ")}]\n`;
    const file = write(text);
    assert.throws(() => readStackFile(file), (e: Error) => e instanceof StackFileError && e.message.startsWith(`${file} is not valid YAML:`));
  });

  it("an empty file is not a stack file", () => {
    assert.throws(() => readStackFile(write("")), /is empty: a stack file holds its settings under a top-level "config:" key/);
  });
});
