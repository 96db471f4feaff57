/**
 * The boot lab's report parser (test/boot/lab.ts, parseReport): the collector (guest/lab-report,
 * `sec`) writes `=== name`, the command's output, then `echo "=== rc $?"`. When the output does not
 * end in a newline, the rc line lands at the end of the output's last line. Excerpt below: the first
 * guest's report of cp-join-real.boot.ts day-two, 2026-12-05 (etcd's /health body has no newline);
 * before this, both `pair-etcd-health-*` sections were lost and the spec failed on a healthy member.
 */
import * as assert from "node:assert/strict";
import { parseReport } from "./lab";

const RUN_5_EXCERPT = [
  "=== pair-at",
  "2026-12-05T23:47:38+00:00",
  "=== rc 0",
  "=== pair-etcd-health-127.0.0.1",
  '{"health":"true","reason":""}=== rc 0',
  "=== pair-etcd-health-192.168.1.30",
  '{"health":"true","reason":""}=== rc 0',
  "=== pair-history",
  "2026-12-05T23:31:52+00:00 esxi-01-control-plane:voter",
  "2026-12-05T23:41:11+00:00 esxi-01-control-plane:voter esxi-02-control-plane:voter",
  "=== rc 0",
  "=== end",
].join("\r\n");

describe("boot lab report parser", () => {
  it("a section whose output has no final newline keeps its output and rc; the sections around it are intact", () => {
    const r = parseReport(RUN_5_EXCERPT);
    assert.equal(r["pair-etcd-health-127.0.0.1"], '{"health":"true","reason":""}');
    assert.equal(r["pair-etcd-health-192.168.1.30"], '{"health":"true","reason":""}');
    assert.equal(r["pair-etcd-health-192.168.1.30.rc"], "0");
    assert.equal(r["pair-at"], "2026-12-05T23:47:38+00:00");
    assert.equal(r["pair-history"].split("\n").length, 2);
    assert.equal(r["pair-history.rc"], "0");
  });

  it("multi-line output without a final newline, a non-zero rc, and an ordinary section", () => {
    const r = parseReport(["=== a", "line 1", "line 2=== rc 7", "=== b", "x", "", "=== rc 0"].join("\n"));
    assert.equal(r.a, "line 1\nline 2");
    assert.equal(r["a.rc"], "7");
    assert.equal(r.b, "x\n");
    assert.equal(r["b.rc"], "0");
  });

  it("negative controls: `=== rc` inside a line is output; outside a section nothing is kept", () => {
    const r = parseReport(["=== a", "says === rc 0 then more", "=== rc 0", "stray=== rc 1"].join("\n"));
    assert.equal(r.a, "says === rc 0 then more");
    assert.deepEqual(Object.keys(r).sort(), ["a", "a.rc"]);
  });
});
