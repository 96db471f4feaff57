/** The labs' single exit listener (test/support/at-exit.ts), run in a child Node process. */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const run = (code: string) => spawnSync(process.execPath, ["-e", code], { encoding: "utf8" });
const mod = JSON.stringify(path.join(__dirname, "at-exit.js"));

describe("lab support: one exit listener for every cleanup", () => {
  it("20 cleanups: each registered one runs once at exit (last first), an unregistered one does not, and Node does not warn", () => {
    const r = run(`const { atExit, pendingCleanups } = require(${mod});
      for (let i = 0; i < 20; i++) { const off = atExit(() => process.stdout.write("c" + i + " ")); if (i === 7) off(); }
      process.stdout.write("pending " + pendingCleanups() + " listeners " + process.listenerCount("exit") + "\\n");`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "", "no MaxListenersExceededWarning");
    const [head, tail] = r.stdout.split("\n");
    assert.equal(head, "pending 19 listeners 1");
    const ran = tail.trim().split(" ");
    assert.equal(ran.length, 19);
    assert.equal(ran[0], "c19");
    assert.ok(!ran.includes("c7"), "the unregistered cleanup did not run");
  });

  it("negative control: one process.once('exit') per cleanup, as the labs did, makes Node warn", () => {
    const r = run(`for (let i = 0; i < 20; i++) process.once("exit", () => {});`);
    assert.match(r.stderr, /MaxListenersExceededWarning/);
  });
});
