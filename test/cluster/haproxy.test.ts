import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderHaproxyConfig } from "../../components/cluster/haproxy";
import { haproxyConfigFor } from "../../components/cluster/topology";
import { REF, referenceSpec, requireTool, tmpDir } from "./helpers";

function check(cfg: string, zeroWarning: boolean): { status: number | null; out: string } {
  const dir = tmpDir("haproxy");
  try {
    const f = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(f, cfg);
    const r = spawnSync("haproxy", [...(zeroWarning ? ["-dW"] : []), "-c", "-f", f], { encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("cluster HAProxy configuration", () => {
  const cfg = haproxyConfigFor(referenceSpec("haproxy", "packages", 1));

  it("is TCP pass-through over the three API servers with HTTPS /readyz checks and long timeouts", () => {
    assert.match(cfg, /^\s+bind \*:6443$/m);
    assert.match(cfg, /^\s+mode tcp$/m);
    assert.match(cfg, /^\s+balance roundrobin$/m);
    assert.match(cfg, /^\s+http-check connect ssl$/m);
    assert.match(cfg, /^\s+http-check send meth GET uri \/readyz$/m);
    assert.match(cfg, /^\s+http-check expect status 200$/m);
    assert.match(cfg, /^\s+timeout client 1h$/m);
    assert.match(cfg, /^\s+timeout server 1h$/m);
    const servers = cfg.split("\n").filter((l) => /^\s+server /.test(l)).map((l) => l.trim());
    assert.deepEqual(servers, [
      "server cp-1 192.168.1.11:6443 check verify none",
      "server cp-2 192.168.1.12:6443 check verify none",
      "server cp-3 192.168.1.13:6443 check verify none",
    ]);
    assert.throws(() => renderHaproxyConfig({ port: 6443, backends: [] }), /at least one backend/);
    assert.throws(() => renderHaproxyConfig({ port: 6443, backends: [{ name: "a b", address: "1.2.3.4", port: 1 }] }), /invalid server name/);
  });

  it("passes `haproxy -c -f` and `haproxy -dW -c -f`", function () {
    requireTool(this, "haproxy", "haproxy");
    for (const zw of [false, true]) {
      const r = check(cfg, zw);
      assert.equal(r.status, 0, `${zw ? "-dW " : ""}-c:\n${r.out}`);
      assert.match(r.out, /Configuration file is valid/);
    }
  });

  it("the same check rejects the reference's broken and warning fixtures (negative control)", function () {
    requireTool(this, "haproxy", "haproxy");
    const read = (n: string) => fs.readFileSync(path.join(REF, "haproxy/fixtures", n), "utf8");
    assert.equal(check(read("broken.cfg"), false).status, 1);
    assert.notEqual(check(read("warn-missing-timeouts.cfg"), true).status, 0);
    assert.notEqual(check(cfg.replace("balance roundrobin", "balance roundrobbin"), false).status, 0);
  });
});
