/**
 * Real spark-submit (pyspark's distribution, `spark-home` tool) run by the lab as a user would: a
 * rendered script or an argument list, its own SPARK_CONF_DIR, a kubeconfig, the driver's address on
 * loopback. Shared by real-systems.lab.ts and gpu.lab.ts.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Tool, pick } from "./tools";

export interface Submission {
  proc: ChildProcess;
  logFile: string;
}

export interface SubmitOptions {
  tools: Record<string, Tool>;
  /** The lab's scratch directory (scripts, conf dirs and logs go there, by tag). */
  dir: string;
  tag: string;
  /** spark-defaults.conf of this submission's SPARK_CONF_DIR. */
  sparkDefaults: string;
  kubeconfig: string;
  /** A rendered submit script (run with bash) ... */
  script?: string;
  /** ... or spark-submit's arguments (run as $SPARK_HOME/bin/spark-submit ...). */
  args?: string[];
}

/** Starts spark-submit (in its own process group); in client mode the process is the driver. */
export function startSubmit(o: SubmitOptions): Submission {
  const p = pick(o.tools, ["spark-home", "kubectl"]).paths;
  const sparkHome = fs.realpathSync(p["spark-home"]);
  const file = path.join(o.dir, `submit-${o.tag}.sh`);
  const body = o.script ?? ["#!/usr/bin/env bash", "set -euo pipefail", `exec "$SPARK_HOME/bin/spark-submit" ${(o.args ?? []).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")}`, ""].join("\n");
  fs.writeFileSync(file, body, { mode: 0o755 });
  const conf = path.join(o.dir, `conf-${o.tag}`);
  fs.mkdirSync(conf, { recursive: true });
  fs.writeFileSync(path.join(conf, "spark-defaults.conf"), o.sparkDefaults);
  const logFile = path.join(o.dir, `submit-${o.tag}.log`);
  const fd = fs.openSync(logFile, "w");
  const proc = spawn("bash", [file], {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: {
      ...process.env,
      PATH: `${path.dirname(p.kubectl)}:${process.env.PATH}`,
      SPARK_HOME: sparkHome,
      SPARK_CONF_DIR: conf,
      SPARK_DRIVER_HOST: "127.0.0.1",
      SPARK_POD_TEMPLATES: path.join(o.dir, `templates-${o.tag}`),
      KUBECONFIG: o.kubeconfig,
      HOME: o.dir,
    },
  });
  fs.closeSync(fd);
  return { proc, logFile };
}

/** Kills a submission's process group (the driver and its JVM) if it is still running. */
export function stopSubmit(proc: ChildProcess): void {
  if (proc.exitCode === null && proc.pid) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** The last lines of a log file ("" if unreadable). */
export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
