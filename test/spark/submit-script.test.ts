/**
 * The rendered spark-submit scripts, run for real by bash with stand-ins for kubectl and
 * spark-submit: the templates land where the arguments say, and spark-submit receives every
 * sizing argument intact.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planSpark, renderSubmitScript } from "../../components/spark";
import { referenceWorkers, stackSettings } from "./helpers";

/**
 * What `spark-submit --version` prints (to stderr, through the log): deploy/SparkSubmit.scala
 * printVersion — the banner ending in "version <SPARK_VERSION>", then
 * "Using Scala <scala.util.Properties.versionString>, <VM name>, <Java version>".
 */
function versionBanner(spark: string, scala: string): string {
  return [
    "Welcome to",
    "      ____              __",
    "     / __/__  ___ _____/ /__",
    "    _\\ \\/ _ \\/ _ `/ __/  '_/",
    `   /___/ .__/\\_,_/_/ /_/\\_\\   version ${spark}`,
    "      /_/",
    "",
    `Using Scala version ${scala}, OpenJDK 64-Bit Server VM, 17.0.16`,
    "Branch HEAD",
    "Compiled by user runner on 2025-09-02T10:00:00Z",
  ].join("\n");
}

function sandbox(spark = "4.0.1", scala = "2.13.16") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "submit-"));
  const bin = path.join(dir, "bin");
  const sparkHome = path.join(dir, "spark");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(sparkHome, "bin"), { recursive: true });
  // kubectl: answers `get configmap ... -o jsonpath={.data.<name>\.yaml}` with a marker document.
  fs.writeFileSync(path.join(bin, "kubectl"), '#!/bin/sh\nfor a in "$@"; do case "$a" in *jsonpath*) echo "kind: Pod # $a";; esac; done\n', { mode: 0o755 });
  // spark-submit: prints its version banner for --version, else records its arguments, one per line.
  fs.writeFileSync(path.join(dir, "banner"), versionBanner(spark, scala));
  fs.writeFileSync(
    path.join(sparkHome, "bin", "spark-submit"),
    `#!/bin/sh\nif [ "$1" = --version ]; then cat "${dir}/banner" >&2; exit 0; fi\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${dir}/args"\n`,
    { mode: 0o755 },
  );
  return { dir, bin, sparkHome };
}

describe("spark-submit scripts, executed", () => {
  for (const mode of ["cluster", "client"] as const) {
    it(`${mode} mode: fetches the pod templates without root and passes the sizing to spark-submit`, () => {
      const plan = planSpark(stackSettings({}), referenceWorkers(16));
      const s = sandbox();
      const script = path.join(s.dir, "submit.sh");
      fs.writeFileSync(script, renderSubmitScript(plan, mode, "192.168.1.2:6443"));
      const r = spawnSync("bash", [script], {
        encoding: "utf8",
        env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome, SPARK_DRIVER_HOST: "127.0.0.1" },
      });
      assert.equal(r.status, 0, r.stderr);
      const args = fs.readFileSync(path.join(s.dir, "args"), "utf8").trim().split("\n");
      const conf = new Map(args.filter((_, i) => args[i - 1] === "--conf").map((c) => [c.split("=")[0], c.split("=").slice(1).join("=")]));
      assert.equal(args[args.indexOf("--master") + 1], "k8s://https://192.168.1.2:6443");
      assert.equal(args[args.indexOf("--executor-memory") + 1], "100g");
      assert.equal(conf.get("spark.executor.instances"), "16");
      assert.equal(conf.get("spark.executor.cores"), "15");
      const templates = path.join(s.dir, ".vsphere-spark/spark/pod-templates");
      assert.equal(conf.get("spark.kubernetes.executor.podTemplateFile"), `${templates}/executor.yaml`);
      assert.match(fs.readFileSync(`${templates}/executor.yaml`, "utf8"), /executor\\\.yaml/);
      if (mode === "cluster") assert.equal(conf.get("spark.kubernetes.driver.podTemplateFile"), `${templates}/driver.yaml`);
      else assert.equal(conf.get("spark.driver.host"), "127.0.0.1");
      // The application: inside the image in cluster mode, this machine's $SPARK_HOME in client mode.
      const jar = "examples/jars/spark-examples_2.13-4.0.1.jar";
      assert.equal(args[args.length - 2], mode === "cluster" ? `local:///opt/spark/${jar}` : `${s.sparkHome}/${jar}`);
      fs.rmSync(s.dir, { recursive: true, force: true });
    });
  }

  it("client mode refuses to run without SPARK_DRIVER_HOST", () => {
    const s = sandbox();
    const script = path.join(s.dir, "submit.sh");
    fs.writeFileSync(script, renderSubmitScript(planSpark(stackSettings({}), referenceWorkers(4)), "client", "api:6443"));
    const r = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /set SPARK_DRIVER_HOST/);
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  /** `ip` as iproute2 prints it on a host whose pod routes go `podRoute` (stand-in: the host's real routes are not the test's). */
  function network(s: { bin: string }, podRoute: string, cidrs = "10.244.1.0/24 10.244.2.0/24"): void {
    fs.writeFileSync(
      path.join(s.bin, "ip"),
      [
        "#!/bin/sh",
        'case "$*" in',
        '  "-o addr show") echo "1: lo    inet 127.0.0.1/8 scope host lo"; echo "2: eth0    inet 192.168.1.5/24 brd 192.168.1.255 scope global eth0" ;;',
        '  "route show default") echo "default via 192.168.1.1 dev eth0" ;;',
        `  "route get "*) echo "$3 ${podRoute} src 192.168.1.5 uid 0" ;;`,
        "esac",
      ].join("\n"),
      { mode: 0o755 },
    );
    // kubectl: the nodes' pod CIDRs, and the pod templates as before.
    fs.writeFileSync(
      path.join(s.bin, "kubectl"),
      `#!/bin/sh\ncase "$*" in *podCIDR*) echo "${cidrs}"; exit 0;; esac\nfor a in "$@"; do case "$a" in *jsonpath*) echo "kind: Pod # $a";; esac; done\n`,
      { mode: 0o755 },
    );
  }

  it("client mode: SPARK_DRIVER_HOST must be an address of this host (the driver binds it); negative control: this host's address passes", () => {
    const s = sandbox();
    network(s, "dev antrea-gw0");
    const script = path.join(s.dir, "submit.sh");
    fs.writeFileSync(script, renderSubmitScript(planSpark(stackSettings({}), referenceWorkers(4)), "client", "api:6443"));
    const env = { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome };
    const bad = spawnSync("bash", [script], { encoding: "utf8", env: { ...env, SPARK_DRIVER_HOST: "192.0.2.7" } });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /SPARK_DRIVER_HOST=192\.0\.2\.7 is not an address of this host/);
    assert.ok(!fs.existsSync(path.join(s.dir, "args")), "spark-submit did not run");
    const good = spawnSync("bash", [script], { encoding: "utf8", env: { ...env, SPARK_DRIVER_HOST: "192.168.1.5" } });
    assert.equal(good.status, 0, good.stderr);
    assert.doesNotMatch(good.stderr, /warning: pod network/, "pod routes through the CNI's gateway: no warning");
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  it("client mode warns when the pod network is routed only through the default gateway (the driver must reach executors' pod IPs)", () => {
    const s = sandbox();
    network(s, "via 192.168.1.1 dev eth0");
    const script = path.join(s.dir, "submit.sh");
    fs.writeFileSync(script, renderSubmitScript(planSpark(stackSettings({}), referenceWorkers(4)), "client", "api:6443"));
    const r = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome, SPARK_DRIVER_HOST: "192.168.1.5" } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: pod network 10\.244\.1\.0\/24 is routed from here only through the default gateway 192\.168\.1\.1/);
    assert.match(r.stderr, /warning: pod network 10\.244\.2\.0\/24/);
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  for (const [spark, scala, why] of [
    ["3.5.1", "2.12.18", "Spark 3.5"],
    ["4.0.1", "2.12.18", "another Scala build"],
    ["4.1.0", "2.13.16", "a newer Spark"],
  ] as const) {
    it(`client mode stops before spark-submit when the local Spark is ${spark} / Scala ${scala} (${why}), not the image's 4.0.1 / 2.13`, () => {
      const s = sandbox(spark, scala);
      const script = path.join(s.dir, "submit.sh");
      fs.writeFileSync(script, renderSubmitScript(planSpark(stackSettings({}), referenceWorkers(4)), "client", "api:6443"));
      const r = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome, SPARK_DRIVER_HOST: "127.0.0.1" } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`local Spark is ${spark.replace(/\./g, "\\.")} \\(Scala ${scala.slice(0, 4).replace(".", "\\.")}\\) in .*; the image runs Spark 4\\.0\\.1 \\(Scala 2\\.13\\)`));
      assert.ok(!fs.existsSync(path.join(s.dir, "args")), "spark-submit did not run");
      fs.rmSync(s.dir, { recursive: true, force: true });
    });
  }
});
