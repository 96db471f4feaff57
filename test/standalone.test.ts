/**
 * The repository stands alone: a user's clone has nothing beside it, so no tracked file may refer
 * to a sibling folder, and every vendored data folder says where its data came from.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, SCHEMAS_DIR } from "../src/codegen/schemas";

function tracked(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
}

describe("the repository stands alone", () => {
  const isGit = fs.existsSync(path.join(REPO_ROOT, ".git"));

  it("no tracked file refers to the sibling shared folder", function () {
    if (!isGit) this.skip();
    const sibling = ["..", "shared"].join("/");
    const hits = tracked()
      .filter((f) => !f.endsWith(".gz") && fs.statSync(path.join(REPO_ROOT, f)).isFile())
      .filter((f) => fs.readFileSync(path.join(REPO_ROOT, f), "utf8").includes(sibling));
    assert.deepEqual(hits, []);
  });

  it("every vendored data folder has a README naming origin and licence", () => {
    const folders = fs.readdirSync(SCHEMAS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    assert.ok(folders.length >= 5, `schemas/ holds ${folders.join(", ")}`);
    for (const f of folders) {
      const readme = path.join(SCHEMAS_DIR, f, "README.md");
      assert.ok(fs.existsSync(readme), `schemas/${f}/README.md is missing`);
      const text = fs.readFileSync(readme, "utf8");
      assert.match(text, /licen[cs]e|Apache-2\.0/i, `schemas/${f}/README.md names no licence`);
      assert.match(text, /github|commit|upstream|tag/i, `schemas/${f}/README.md names no origin`);
    }
  });
});
