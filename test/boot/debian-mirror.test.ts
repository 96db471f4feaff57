/**
 * The boot lab's Debian mirror comes from the machine's apt sources (or VSPHERE_SPARK_DEBIAN_MIRROR),
 * never from an address in the repository: debian-mirror.sh's lookup on fixture apt folders
 * (VSPHERE_SPARK_APT_DIR), and build-image.sh handing its answer to debootstrap (a recording
 * stand-in on PATH: no network, no root, no image). No QEMU: runs in `npm test`.
 * Fixture addresses use names reserved for examples (.example, .test), which no mirror has.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { requireTool, tmpDir } from "../cluster/helpers";

const HERE = path.resolve(__dirname, "../../../test/boot");
const HELPER = path.join(HERE, "debian-mirror.sh");
const BUILD = path.join(HERE, "build-image.sh");

/** Several stanzas: the usable one comes last, after security, disabled, deb-src-only and another vendor's. */
const DEB822 = `# Debian security
Types: deb
URIs: http://security.mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.mirror.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://sources.mirror.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main

types: deb-src deb
# field names in any case; URIs folded over two lines; cdrom: and file: are skipped
uris: cdrom:/media/cdrom/ file:/srv/debian
 http://mirror.example:3142/debian/ http://second.mirror.example/debian
suites: bookworm bookworm-updates
components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

/** The one-line format: comments, cdrom, security, deb-src and file: before the line with options. */
const ONE_LINE = `# deb http://commented.mirror.example/debian bookworm main
deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 NETINST]/ bookworm main
deb http://security.mirror.example/debian-security bookworm-security main
deb-src http://sources.mirror.example/debian bookworm main
deb file:/srv/debian bookworm main
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://apt-proxy.test:3142/debian bookworm main contrib
deb http://later.mirror.example/debian bookworm main
`;

/** ONE_LINE without its usable lines: what remains names no bookworm archive. */
const ONE_LINE_UNUSABLE = ONE_LINE.split("\n").filter((l) => !/apt-proxy|later/.test(l)).join("\n");

/** The deb822 stanzas that do not count (security, disabled, deb-src only, another vendor's). */
const DEB822_UNUSABLE = DEB822.split("\n\n").slice(0, 4).join("\n\n");

/** An apt folder (sources.list, sources.list.d/...) holding the given files. */
function aptDir(files: Record<string, string>): string {
  const dir = tmpDir("apt");
  fs.mkdirSync(path.join(dir, "sources.list.d"));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

/** The environment: the machine's own apt folder and mirror variable never leak in. */
function env(apt: string, mirror?: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, VSPHERE_SPARK_APT_DIR: apt };
  delete e.VSPHERE_SPARK_DEBIAN_MIRROR;
  if (mirror !== undefined) e.VSPHERE_SPARK_DEBIAN_MIRROR = mirror;
  return e;
}

/** debian_mirror, sourced from the helper as build-image.sh sources it. */
function lookup(apt: string, mirror?: string) {
  const r = spawnSync("bash", ["-c", '. "$1" && debian_mirror', "bash", HELPER], { encoding: "utf8", env: env(apt, mirror) });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

function assertNoMirror(r: ReturnType<typeof lookup>, apt: string): void {
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, "");
  for (const named of ["VSPHERE_SPARK_DEBIAN_MIRROR", `${apt}/sources.list.d/*.sources`, `${apt}/sources.list `])
    assert.ok(r.stderr.includes(named), `the message names ${named}:\n${r.stderr}`);
}

describe("boot lab: the Debian mirror is the machine's apt one", () => {
  const dirs: string[] = [];
  const fixture = (files: Record<string, string>) => {
    const d = aptDir(files);
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("deb822: the first http(s) URI of the first enabled deb stanza for bookworm", () => {
    assert.deepEqual(lookup(fixture({ "sources.list.d/debian.sources": DEB822 })), { status: 0, stdout: "http://mirror.example:3142/debian", stderr: "" });
  });

  it("one-line sources.list: the first deb line for bookworm, options in [...] skipped", () => {
    assert.equal(lookup(fixture({ "sources.list": ONE_LINE })).stdout, "http://apt-proxy.test:3142/debian");
  });

  it("in apt's order: *.sources before sources.list, sources.list before sources.list.d/*.list", () => {
    assert.equal(lookup(fixture({ "sources.list.d/debian.sources": DEB822, "sources.list": ONE_LINE })).stdout, "http://mirror.example:3142/debian");
    // *.sources that name no bookworm archive do not stop the search.
    assert.equal(lookup(fixture({ "sources.list.d/debian.sources": DEB822_UNUSABLE, "sources.list": ONE_LINE })).stdout, "http://apt-proxy.test:3142/debian");
    assert.equal(lookup(fixture({ "sources.list": ONE_LINE_UNUSABLE, "sources.list.d/debian.list": ONE_LINE })).stdout, "http://apt-proxy.test:3142/debian");
    // Only *.sources count as deb822 (a disabled file keeps its content, not its suffix).
    assert.equal(lookup(fixture({ "sources.list.d/debian.sources.disabled": DEB822, "sources.list": ONE_LINE })).stdout, "http://apt-proxy.test:3142/debian");
  });

  it("VSPHERE_SPARK_DEBIAN_MIRROR overrides the apt sources", () => {
    assert.equal(lookup(fixture({ "sources.list.d/debian.sources": DEB822 }), "http://override.example/debian").stdout, "http://override.example/debian");
    assert.equal(lookup(fixture({}), "http://override.example/debian").stdout, "http://override.example/debian");
  });

  it("no bookworm archive: fails naming the variable and both apt files (security, deb-src, file:, cdrom: do not count)", () => {
    const nothing: Record<string, string>[] = [{}, { "sources.list.d/debian.sources": DEB822_UNUSABLE, "sources.list": ONE_LINE_UNUSABLE }];
    for (const files of nothing) {
      const apt = fixture(files);
      assertNoMirror(lookup(apt), apt);
      // An empty variable is no override.
      assertNoMirror(lookup(apt, ""), apt);
    }
  });

  describe("build-image.sh gives debootstrap that mirror", () => {
    /** Runs build-image.sh with a debootstrap stand-in that records its arguments and fails. */
    function build(apt: string, mirror?: string) {
      const dir = tmpDir("build");
      dirs.push(dir);
      fs.mkdirSync(path.join(dir, "bin"));
      const calls = path.join(dir, "debootstrap-args");
      fs.writeFileSync(path.join(dir, "bin", "debootstrap"), `#!/bin/sh\nprintf '%s\\n' "$@" >'${calls}'\nexit 1\n`, { mode: 0o755 });
      const cache = path.join(dir, "cache");
      const e = { ...env(apt, mirror), PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, VSPHERE_SPARK_BOOT_CACHE: cache };
      const r = spawnSync("bash", [BUILD], { encoding: "utf8", env: e });
      const args = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : undefined;
      return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr, args, cacheMade: fs.existsSync(cache) };
    }

    it("the apt sources' mirror, or the variable's", () => {
      const apt = fixture({ "sources.list.d/debian.sources": DEB822 });
      const r = build(apt);
      assert.notEqual(r.status, 0, "the stand-in debootstrap fails");
      assert.equal(r.args?.[2], "bookworm", r.stderr);
      assert.equal(r.args?.[4], "http://mirror.example:3142/debian", "debootstrap's mirror argument");
      assert.equal(build(apt, "http://override.example/debian").args?.[4], "http://override.example/debian");
    });

    it("none: stops before debootstrap and the cache, with the message", () => {
      const apt = fixture({ "sources.list": ONE_LINE_UNUSABLE });
      const r = build(apt);
      assertNoMirror({ status: r.status, stdout: r.stdout, stderr: r.stderr }, apt);
      assert.equal(r.args, undefined, "debootstrap never ran");
      assert.equal(r.cacheMade, false, "nothing written to the cache");
    });
  });

  it("both scripts pass shellcheck; a defect put into the helper does not (negative control)", function () {
    requireTool(this, "shellcheck", "shellcheck");
    const sc = (files: string[]) => spawnSync("shellcheck", ["-x", "-S", "warning", ...files], { encoding: "utf8", cwd: HERE });
    const ok = sc([BUILD, HELPER]);
    assert.equal(ok.status, 0, ok.stdout);
    const dir = tmpDir("shellcheck");
    dirs.push(dir);
    const bad = path.join(dir, "debian-mirror.sh");
    fs.writeFileSync(bad, fs.readFileSync(HELPER, "utf8").replace("local apt=", "local x=$(false) apt="));
    assert.match(sc([bad]).stdout, /SC2155/);
  });
});
