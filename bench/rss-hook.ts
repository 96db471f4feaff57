/**
 * Preloaded (`node --require dist/bench/rss-hook.js`) into an unmodified `plan` CLI process: when
 * the process exits, writes its peak RSS (`process.resourceUsage().maxRSS`, KiB) as JSON to the
 * file named by BENCH_RSS_FILE. Node's child_process gives no rusage of a child, hence this.
 */
import * as fs from "node:fs";

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", (code) => {
    fs.writeFileSync(file, JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, uptimeMs: process.uptime() * 1000, code }));
  });
}
