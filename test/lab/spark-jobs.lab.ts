/**
 * Spark jobs as the layer renders them, run by real Spark (pyspark 4.0.1's spark-submit and
 * spark-class, Java 17): where event logs go, what the History Server reads, and what the stock
 * jars can write to. No Kubernetes here, and named so:
 *
 *  - STAND-IN for the cluster: `--master local[2]` instead of `k8s://…` (the event-log writer, the
 *    History Server and Hadoop's FileSystem lookup are the same code either way; executors would
 *    not change what the driver logs).
 *  - STAND-IN for a pod's mounts: each volumeMount of the rendered container becomes a local
 *    directory (a ConfigMap's files written into it, a claim an empty directory shared by every pod
 *    that mounts it), and the container's paths under the mount are rewritten to it. A path with no
 *    mount stays as it is, as in the image, which has no /spark-events.
 *  - STAND-IN for the image's Spark home (/opt/spark): pyspark's, with the lab's SparkPi (lab/tools/pyspark).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { labStack } from "./stack";
import { SparkPlan, planSpark } from "../../components/spark/plan";
import { resolveSparkSettings } from "../../components/spark/settings";
import { sparkManifests } from "../../components/spark/manifests";
import { renderSubmitScript, submitArgs } from "../../components/spark/submit";
import { Parts, Tool, resolveTools } from "./tools";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const log = (s: string) => console.log(`      ${s}`);

/** The dev stack's Spark section with `overrides`, planned on the dev stack's workers. */
function devPlan(overrides: Record<string, unknown>): SparkPlan {
  const { decisions, values } = labStack("dev");
  const raw = { ...JSON.parse(values["vsphere-spark:spark"]), ...overrides };
  const s = resolveSparkSettings(raw);
  if (s.errors.length) throw new Error(JSON.stringify(s.errors));
  return planSpark(s.settings, decisions.cluster.workerPool);
}

interface Mounts {
  /** mountPath → local directory, longest first. */
  dirs: [string, string][];
}

/**
 * The container's mounts as local directories under `root`. `claims` maps a claim name to its one
 * directory (every pod that mounts the claim sees the same files, as on a ReadWriteMany volume).
 */
function standInMounts(container: Obj, pod: Obj, configMaps: Record<string, Record<string, string>>, claims: Record<string, string>, root: string): Mounts {
  const dirs: [string, string][] = [];
  for (const m of container.volumeMounts ?? []) {
    const vol = (pod.volumes ?? []).find((v: Obj) => v.name === m.name);
    let dir: string;
    if (vol?.configMap) {
      dir = path.join(root, `configmap-${vol.configMap.name}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const [k, v] of Object.entries(configMaps[vol.configMap.name] ?? {})) fs.writeFileSync(path.join(dir, k), v);
    } else if (vol?.persistentVolumeClaim) {
      dir = claims[vol.persistentVolumeClaim.claimName];
      fs.mkdirSync(dir, { recursive: true });
    } else {
      throw new Error(`no stand-in for volume ${m.name}`);
    }
    dirs.push([m.mountPath, dir]);
  }
  dirs.sort((a, b) => b[0].length - a[0].length);
  return { dirs };
}

/** `text` with the container's paths under a mount moved to the stand-in, /opt/spark to `sparkHome`, $(VAR) expanded. */
function localize(text: string, mounts: Mounts, sparkHome: string, vars: Record<string, string>): string {
  let out = text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => vars[v] ?? m);
  for (const [mp, dir] of mounts.dirs) out = out.replace(new RegExp(`${mp.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=/|$|\\s|")`, "g"), dir);
  return out.replace(/\/opt\/spark(?=\/)/g, sparkHome);
}

/** JVM start-up flags for short runs on a small machine (JIT tier 1, serial GC): they change how fast, not what Spark does. */
const FAST_JVM = { JAVA_TOOL_OPTIONS: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" };

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 90_000): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...FAST_JVM, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** `run`, without blocking: independent runs overlap. */
function runAsync(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...FAST_JVM, ...env } });
    let out = "";
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (out += c));
    p.on("close", (code) => resolve({ code, out }));
  });
}

function lastLines(text: string, n = 25): string {
  return text.split("\n").filter(Boolean).slice(-n).join("\n");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("spark jobs lab: event logs, the History Server and the stock jars, with real Spark", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-jobs-"));
  let tools: Record<string, Tool> = {};
  const parts = new Parts(() => tools, log);
  let sparkHome = "";
  const procs: ChildProcess[] = [];
  let historyPort = 0;
  let plan: SparkPlan;
  let claimDir = "";

  before(async function () {
    tools = resolveTools(["pyspark"]);
    if (tools["spark-home"]?.path) sparkHome = fs.realpathSync(tools["spark-home"].path);
    historyPort = await freePort();
    // Cluster mode with the History Server's claim and the smoke test (the case); the
    // History Server's port through extraConf, so the lab can tell whether it read spark-defaults.
    plan = devPlan({
      deployMode: "cluster",
      executor: { heapGranularityGiB: 10, instances: 15 },
      smokeTest: { enabled: true, iterations: 4 },
      historyServer: { enabled: true, storageClassName: "lab-shared" },
      extraConf: { "spark.history.ui.port": String(historyPort) },
    });
    claimDir = path.join(dir, "claim-spark-events");
  });

  after(function () {
    for (const p of procs) {
      if (p.exitCode === null && p.pid) {
        try {
          process.kill(-p.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    parts.summary("spark jobs lab");
    log(`spark jobs lab: logs and files in ${dir}`);
  });

  /** The smoke-test Job's container run locally: its command, args and env, with stand-in mounts. */
  function runSmokeTest(job: Obj, tag: string): { code: number | null; out: string; mounts: Mounts } {
    const m = sparkManifests(plan);
    const configMaps = { [plan.names.sparkDefaults]: m.sparkDefaults.data as Record<string, string>, [plan.names.podTemplates]: m.podTemplates.data as Record<string, string> };
    const pod = job.spec.template.spec;
    const c = pod.containers[0];
    const mounts = standInMounts(c, pod, configMaps, { "spark-events": claimDir }, path.join(dir, tag));
    const vars = { SPARK_DRIVER_POD_IP: "127.0.0.1", SPARK_DRIVER_POD_NAME: `lab-${tag}` };
    const args = (c.args as string[]).map((a) => localize(a, mounts, sparkHome, vars));
    args[args.indexOf("--master") + 1] = "local[2]"; // STAND-IN for k8s://https://kubernetes.default.svc:443
    const env: Record<string, string> = { SPARK_HOME: sparkHome };
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = localize(e.value, mounts, sparkHome, vars);
    const r = run(localize(c.command[0], mounts, sparkHome, vars), args, env);
    fs.writeFileSync(path.join(dir, `${tag}.log`), r.out);
    return { ...r, mounts };
  }

  it("negative control: the smoke-test Job as rendered before (claim not mounted) fails to start SparkContext: Spark's EventLogFileWriters finds no /spark-events", function () {
    parts.need(this, "smoke test without the claim", ["spark-home"]);
    assert.ok(!fs.existsSync("/spark-events"), "precondition: this machine, like the image, has no /spark-events");
    const job = structuredClone(sparkManifests(plan).smokeTestJob) as Obj;
    const c = job.spec.template.spec.containers[0];
    // What main rendered: no volume for the claim in the Job's pod.
    c.volumeMounts = c.volumeMounts.filter((v: Obj) => v.mountPath !== "/spark-events");
    job.spec.template.spec.volumes = job.spec.template.spec.volumes.filter((v: Obj) => !v.persistentVolumeClaim);
    const r = runSmokeTest(job, "smoke-no-claim");
    assert.notEqual(r.code, 0, "SparkPi must fail");
    // requireLogBaseDirAsDirectory → getFileStatus on file:/spark-events.
    assert.match(r.out, /FileNotFoundException[^\n]*spark-events[^\n]*does not exist/, lastLines(r.out));
    assert.match(r.out, /requireLogBaseDirAsDirectory/, lastLines(r.out));
    log(`without the claim: spark-submit exited ${r.code}: ${r.out.split("\n").find((l) => /FileNotFoundException/.test(l))?.trim().slice(0, 200)}`);
  });

  it("the smoke-test Job as rendered now (claim mounted at /spark-events): SparkPi completes and its event log lands on the claim", function () {
    parts.need(this, "smoke test with the claim", ["spark-home"]);
    const job = sparkManifests(plan).smokeTestJob as Obj;
    const r = runSmokeTest(job, "smoke");
    assert.equal(r.code, 0, lastLines(r.out));
    assert.match(r.out, /Pi is roughly 3\.1/);
    // Spark 4.0 rolls and compresses event logs by default (RollingEventLogFilesWriter): a directory
    // eventlog_v2_<app id> with events_<n>_<app id>.zstd and appstatus_<app id> (".inprogress" until the end).
    const logs = fs.readdirSync(claimDir);
    assert.equal(logs.length, 1, `one event log on the claim: ${logs}`);
    assert.match(logs[0], /^eventlog_v2_local-[0-9]+$/);
    const files = fs.readdirSync(path.join(claimDir, logs[0]));
    const appId = logs[0].slice("eventlog_v2_".length);
    assert.ok(files.includes(`appstatus_${appId}`), `finished, not in progress: ${files}`);
    const events = files.find((f) => f.startsWith("events_1_"))!;
    const size = fs.statSync(path.join(claimDir, logs[0], events)).size;
    assert.ok(size > 1000, `${events}: ${size} bytes`);
    log(`with the claim: SparkPi exited 0, event log ${logs[0]}/${events} (${size} bytes) on the claim's stand-in ${claimDir}`);
  });

  /** The History Server's container run locally; resolves with the port it bound (from its log). */
  async function startHistoryServer(dep: Obj, tag: string): Promise<{ port: number; proc: ChildProcess; logFile: string }> {
    const m = sparkManifests(plan);
    const configMaps = { [plan.names.sparkDefaults]: m.sparkDefaults.data as Record<string, string> };
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const mounts = standInMounts(c, pod, configMaps, { "spark-events": claimDir }, path.join(dir, tag));
    const env: Record<string, string> = { SPARK_HOME: sparkHome, SPARK_NO_DAEMONIZE: "1" };
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = localize(e.value, mounts, sparkHome, {});
    if (!("SPARK_CONF_DIR" in env)) env.SPARK_CONF_DIR = path.join(dir, tag, "image-conf"); // the image's own /opt/spark/conf: no spark-defaults.conf
    const args = (c.args as string[]).map((a) => localize(a, mounts, sparkHome, {}));
    const logFile = path.join(dir, `${tag}.log`);
    const fd = fs.openSync(logFile, "w");
    const proc = spawn(args[0], args.slice(1), { detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, ...FAST_JVM, ...env } });
    fs.closeSync(fd);
    procs.push(proc);
    const t0 = Date.now();
    for (;;) {
      const text = fs.readFileSync(logFile, "utf8");
      const bound = /Bound HistoryServer to [^,]+, and started at http:\/\/[^:]+:([0-9]+)/.exec(text);
      if (bound) return { port: Number(bound[1]), proc, logFile };
      if (proc.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`History Server did not start:\n${lastLines(text)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  function stopProc(p: ChildProcess): void {
    if (p.exitCode === null && p.pid) process.kill(-p.pid, "SIGKILL");
  }

  it("the History Server as rendered now reads spark-defaults.conf (extraConf: its port) and lists the smoke test's run from the claim", async function () {
    parts.need(this, "History Server", ["spark-home"]);
    const dep = sparkManifests(plan).historyServerDeployment as Obj;
    const hs = await startHistoryServer(dep, "history");
    try {
      assert.equal(hs.port, historyPort, "the port from extraConf, read from SPARK_CONF_DIR/spark-defaults.conf");
      let apps: Obj[] = [];
      const t0 = Date.now();
      while (apps.length === 0 && Date.now() - t0 < 30_000) {
        const r = await httpGet(`http://127.0.0.1:${hs.port}/api/v1/applications`);
        if (r.status === 200) apps = JSON.parse(r.body);
        if (apps.length === 0) await new Promise((res) => setTimeout(res, 500));
      }
      assert.equal(apps.length, 1, "the smoke test's application");
      assert.equal(apps[0].attempts[0].completed, true);
      log(`History Server on port ${hs.port} (from extraConf): lists ${apps[0].id} "${apps[0].name}", completed`);
    } finally {
      stopProc(hs.proc);
    }
  });

  it("negative control: the History Server as rendered before (no spark-defaults mount, no SPARK_CONF_DIR) never sees extraConf", async function () {
    parts.need(this, "History Server without spark-defaults", ["spark-home"]);
    const dep = structuredClone(sparkManifests(plan).historyServerDeployment) as Obj;
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    c.env = c.env.filter((e: Obj) => e.name !== "SPARK_CONF_DIR");
    c.volumeMounts = c.volumeMounts.filter((v: Obj) => v.name !== "spark-defaults");
    pod.volumes = pod.volumes.filter((v: Obj) => v.name !== "spark-defaults");
    const hs = await startHistoryServer(dep, "history-no-conf");
    try {
      assert.notEqual(hs.port, historyPort, "without spark-defaults the server keeps its default port");
      log(`without spark-defaults: the History Server bound port ${hs.port}, not extraConf's ${historyPort}`);
    } finally {
      stopProc(hs.proc);
    }
  });

  it("client mode from the cluster-mode platform: the rendered command runs without the claim (event logging off), where file:///spark-events would fail", function () {
    parts.need(this, "client-mode command", ["spark-home"]);
    const args = submitArgs(plan, "client", "local[2]", {}, sparkHome); // STAND-IN master, the submit host's Spark home
    assert.equal(args[args.indexOf("spark.eventLog.enabled=false")], "spark.eventLog.enabled=false");
    const conf = path.join(dir, "client-conf");
    fs.mkdirSync(conf, { recursive: true });
    fs.writeFileSync(path.join(conf, "spark-defaults.conf"), (sparkManifests(plan).sparkDefaults.data as Record<string, string>)["spark-defaults.conf"]);
    const r = run(path.join(sparkHome, "bin/spark-submit"), args.map((a) => a.replace(/^spark\.kubernetes\.executor\.podTemplateFile=.*/, "spark.kubernetes.executor.podTemplateFile=/dev/null")), {
      SPARK_HOME: sparkHome,
      SPARK_CONF_DIR: conf,
    });
    fs.writeFileSync(path.join(dir, "client.log"), r.out);
    assert.equal(r.code, 0, lastLines(r.out));
    assert.match(r.out, /Pi is roughly 3\.1/);
    log("client-mode command (spark-defaults say eventLog to file:///spark-events; the command turns it off): SparkPi exited 0");
  });

  it("s3a:// event logs with the stock jars fail as the settings say (S3AFileSystem not found); negative control: hdfs:// has a FileSystem in them", async function () {
    parts.need(this, "object-store event logs with the stock jars", ["spark-home"]);
    const jars = fs.readdirSync(path.join(sparkHome, "jars"));
    assert.ok(jars.some((j) => /^hadoop-client-runtime-3\.4\.1\.jar$/.test(j)), "Hadoop 3.4.1's client runtime");
    assert.ok(!jars.some((j) => /hadoop-aws|aws-java-sdk|awssdk|bundle-2/.test(j)), `no S3 connector in ${jars.filter((j) => /hadoop|aws/.test(j))}`);
    const jar = path.join(sparkHome, "examples/jars/spark-examples_2.13-4.0.1.jar");
    const submit = (dirUri: string) =>
      runAsync(
        path.join(sparkHome, "bin/spark-submit"),
        ["--master", "local[1]", "--class", "org.apache.spark.examples.SparkPi", "--conf", "spark.eventLog.enabled=true", "--conf", `spark.eventLog.dir=${dirUri}`, "--conf", "spark.hadoop.ipc.client.connect.max.retries=0", jar, "2"],
        { SPARK_HOME: sparkHome, SPARK_CONF_DIR: path.join(dir, "empty-conf") },
      );
    const [s3a, hdfs] = await Promise.all([submit("s3a://lab-bucket/spark-events"), submit("hdfs://127.0.0.1:1/spark-events")]);
    assert.notEqual(s3a.code, 0);
    // Hadoop's core-default.xml names fs.s3a.impl, so the lookup fails on the missing class.
    assert.match(s3a.out, /ClassNotFoundException: Class org\.apache\.hadoop\.fs\.s3a\.S3AFileSystem not found/, lastLines(s3a.out));
    const refused = resolveSparkSettings({ deployMode: "client", historyServer: { enabled: true, logDirectory: "s3a://lab-bucket/spark-events" } }).errors;
    assert.deepEqual(refused.map((e) => e.path), ["vsphere-spark:spark.historyServer.logDirectory"]);
    assert.match(refused[0].message, /Class org\.apache\.hadoop\.fs\.s3a\.S3AFileSystem not found/);
    assert.notEqual(hdfs.code, 0, "nothing listens on port 1");
    assert.doesNotMatch(hdfs.out, /No FileSystem for scheme|ClassNotFoundException/, "the stock jars have HDFS's FileSystem");
    assert.match(hdfs.out, /Connection refused|ConnectException/, lastLines(hdfs.out));
    assert.deepEqual(resolveSparkSettings({ deployMode: "client", historyServer: { enabled: true, logDirectory: "hdfs://namenode/spark-events" } }).errors, []);
    log(`stock jars: s3a:// → "${s3a.out.split("\n").find((l) => /S3AFileSystem not found/.test(l))?.trim().slice(0, 160)}"; hdfs:// → connection refused (its FileSystem exists)`);
  });

  it("submit-client.sh stops before spark-submit when SPARK_DRIVER_HOST is not an address of this host (real ip, getent and spark-submit --version)", function () {
    parts.need(this, "client script network check", ["spark-home"]);
    const script = path.join(dir, "submit-client.sh");
    fs.writeFileSync(script, renderSubmitScript(plan, "client", "127.0.0.1:6443"), { mode: 0o755 });
    const env = { SPARK_HOME: sparkHome, HOME: dir, SPARK_POD_TEMPLATES: path.join(dir, "templates"), KUBECONFIG: "/dev/null" };
    const bad = run("bash", [script], { ...env, SPARK_DRIVER_HOST: "192.0.2.7" });
    assert.equal(bad.code, 1);
    assert.match(bad.out, /SPARK_DRIVER_HOST=192\.0\.2\.7 is not an address of this host/);
    // Negative control: this host's loopback passes the check; the script goes on (to kubectl, absent or failing here).
    const good = run("bash", [script], { ...env, SPARK_DRIVER_HOST: "127.0.0.1" });
    assert.doesNotMatch(good.out, /is not an address of this host/);
    log(`SPARK_DRIVER_HOST=192.0.2.7: the script exited 1 before spark-submit; 127.0.0.1 passed the check (then exited ${good.code} at kubectl, no cluster here)`);
  });
});
