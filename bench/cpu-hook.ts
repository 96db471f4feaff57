/**
 * Preloaded (`node --require dist/bench/cpu-hook.js`) into an unmodified `plan` CLI process: when
 * the process exits, writes the CPU time it used (user + system, `process.cpuUsage()`, µs) as JSON
 * to the file named by BENCH_CPU_FILE. On a shared machine CPU time is far steadier than wall time.
 */
import * as fs from "node:fs";

const file = process.env.BENCH_CPU_FILE;
if (file) {
  process.on("exit", () => {
    const u = process.cpuUsage();
    fs.writeFileSync(file, JSON.stringify({ cpuUs: u.user + u.system }));
  });
}
