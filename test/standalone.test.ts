/**
 * The repository stands alone: a user's clone has nothing beside it, so no tracked file may refer
 * to a sibling folder, no tracked file names a Debian mirror (the boot lab takes the machine's own,
 * test/boot/debian-mirror.sh), and every vendored data folder says where its data came from.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, SCHEMAS_DIR } from "../src/codegen/schemas";

function tracked(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
}

/** Tracked text files (the vendored `.gz` data aside) with their contents. */
function trackedTexts(): [string, string][] {
  return tracked()
    .filter((f) => !f.endsWith(".gz") && fs.statSync(path.join(REPO_ROOT, f)).isFile())
    .map((f) => [f, fs.readFileSync(path.join(REPO_ROOT, f), "utf8")]);
}

/** A Debian archive host (the CDN, ftp.<country>, security, snapshot, ...) by name. */
const DEBIAN_MIRROR_HOST = /\b(?:deb|ftp\d*|security|snapshot|httpredir|cdn-[a-z]+|mirrors?)(?:\.[a-z0-9-]+)*\.debian\.(?:org|net)\b/gi;
/** Any http(s) URL with a `debian` (or `debian-security`, `debian-ports`, ...) path segment: a mirror, or a proxy of one. */
const DEBIAN_ARCHIVE_URL = /\bhttps?:\/\/([^\s/"'`<>()[\]]+)\/(?:[^\s"'`<>()[\]]*\/)?debian(?:-[a-z]+)?(?![\w.-])/gi;
/** Names reserved for examples (RFC 2606, RFC 6761): the tests' fixtures, never a real mirror. */
const RESERVED_HOST = /(?:^|\.)(?:example|test|invalid|example\.(?:com|net|org))$/i;

/** The Debian mirror addresses a text names. */
function debianMirrorAddresses(text: string): string[] {
  const hosts = [...text.matchAll(DEBIAN_MIRROR_HOST)].map((m) => m[0]);
  const urls = [...text.matchAll(DEBIAN_ARCHIVE_URL)].filter((m) => !RESERVED_HOST.test(m[1].replace(/:\d+$/, ""))).map((m) => m[0]);
  return [...hosts, ...urls];
}

describe("the repository stands alone", () => {
  const isGit = fs.existsSync(path.join(REPO_ROOT, ".git"));

  it("no tracked file refers to the sibling shared folder", function () {
    if (!isGit) this.skip();
    const sibling = ["..", "shared"].join("/");
    const hits = trackedTexts()
      .filter(([, text]) => text.includes(sibling))
      .map(([f]) => f);
    assert.deepEqual(hits, []);
  });

  it("no tracked file names a Debian mirror (the boot lab reads the machine's apt sources)", function () {
    // Negative controls, built from pieces so that this file names none either.
    const [d, cdn] = [["deb", "ian"].join(""), ["deb", "debian", "org"].join(".")];
    for (const bad of [`http://${cdn}/${d}`, `https://security.${d}.org/${d}-security`, `mirror=${cdn}`, `http://10.0.0.5:3142/${d}}`, `http://apt.corp.internal/pub/${d}-security`])
      assert.notDeepEqual(debianMirrorAddresses(`x ${bad} y`), [], `not recognised as a mirror: ${bad}`);
    for (const fine of ["http://mirror.example/debian", "http://apt-proxy.test:3142/debian", "https://www.debian.org/releases/", "Debian 12 (bookworm)", "http://192.168.1.254/", "http://host.internal/debian.tar"])
      assert.deepEqual(debianMirrorAddresses(`x ${fine} y`), [], `taken for a mirror: ${fine}`);
    if (!isGit) this.skip();
    const hits = trackedTexts().flatMap(([f, text]) => debianMirrorAddresses(text).map((a) => `${f}: ${a}`));
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
