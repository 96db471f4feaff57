/**
 * `lab/with-tmpdir.sh`: the labs' working directories live in a TMPDIR of the run's own, removed when
 * the run passes and kept (path printed) when it fails. Runs the real script.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../../..");
const SCRIPT = path.join(ROOT, "lab/with-tmpdir.sh");

/** Runs `node -e code` under the wrapper, with `parent` as the caller's TMPDIR. The code sees its TMPDIR as os.tmpdir(). */
function run(parent: string, code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", [SCRIPT, process.execPath, "-e", code], { encoding: "utf8", env: { ...process.env, TMPDIR: parent } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes a lab-like working directory under os.tmpdir() and prints os.tmpdir(). */
const WORK = `const fs=require("fs"),os=require("os"),path=require("path");` +
  `const d=fs.mkdtempSync(path.join(os.tmpdir(),"vsphere-spark-lab-"));fs.writeFileSync(path.join(d,"etcd.log"),"x".repeat(4096));` +
  `console.log(os.tmpdir());`;

describe("lab/with-tmpdir.sh", function () {
  this.timeout(30_000);
  let parent: string;
  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), "with-tmpdir-test-"));
  });
  afterEach(() => fs.rmSync(parent, { recursive: true, force: true }));

  it("a passing run works in a fresh directory under the caller's TMPDIR, removed afterwards", () => {
    const r = run(parent, WORK);
    assert.equal(r.status, 0, r.stderr);
    const seen = r.stdout.trim();
    assert.equal(path.dirname(seen), parent, "under the caller's TMPDIR");
    assert.match(path.basename(seen), /^vsphere-spark-run\./);
    assert.equal(fs.existsSync(seen), false, "removed after the run passed");
    assert.deepEqual(fs.readdirSync(parent), [], "nothing left behind");
  });

  it("a failing run keeps its directory, says where, and exits with the command's status (negative control of the removal)", () => {
    const r = run(parent, `${WORK}process.exit(3);`);
    assert.equal(r.status, 3);
    const seen = r.stdout.trim();
    assert.equal(fs.existsSync(path.join(seen)), true, "kept for inspection");
    assert.equal(fs.readdirSync(seen).filter((n) => n.startsWith("vsphere-spark-lab-")).length, 1, "with the lab's files");
    assert.match(r.stderr, new RegExp(`with-tmpdir: kept ${seen.replace(/[.]/g, "\\.")}`));
  });

  it("every test entry point runs under it: npm test, the boot lab scripts, npm run lab", () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    const entries = Object.entries(scripts).filter(([k]) => k === "test" || k.startsWith("test:boot"));
    assert.ok(entries.length >= 2, "npm test and the boot lab scripts");
    for (const [k, v] of entries) assert.match(v, /bash lab\/with-tmpdir\.sh mocha\b/, `package.json scripts.${k}`);
    assert.match(fs.readFileSync(path.join(ROOT, "lab/run.sh"), "utf8"), /^exec bash lab\/with-tmpdir\.sh "\$node_bin" node_modules\/mocha/m, "lab/run.sh");
  });
});
