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
import { referenceWorkers, settingsOf } from "./helpers";

function sandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "submit-"));
  const bin = path.join(dir, "bin");
  const sparkHome = path.join(dir, "spark");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(sparkHome, "bin"), { recursive: true });
  // kubectl: answers `get configmap ... -o jsonpath={.data.<name>\.yaml}` with a marker document.
  fs.writeFileSync(path.join(bin, "kubectl"), '#!/bin/sh\nfor a in "$@"; do case "$a" in *jsonpath*) echo "kind: Pod # $a";; esac; done\n', { mode: 0o755 });
  // spark-submit: records its arguments, one per line.
  fs.writeFileSync(path.join(sparkHome, "bin", "spark-submit"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${dir}/args"\n`, { mode: 0o755 });
  return { dir, bin, sparkHome };
}

describe("spark-submit scripts, executed", () => {
  for (const mode of ["cluster", "client"] as const) {
    it(`${mode} mode: fetches the pod templates without root and passes the sizing to spark-submit`, () => {
      const plan = planSpark(settingsOf({}), referenceWorkers(16));
      const s = sandbox();
      const script = path.join(s.dir, "submit.sh");
      fs.writeFileSync(script, renderSubmitScript(plan, mode, "192.168.1.2:6443"));
      const r = spawnSync("bash", [script], {
        encoding: "utf8",
        env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome, SPARK_DRIVER_HOST: "10.0.0.9" },
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
      else assert.equal(conf.get("spark.driver.host"), "10.0.0.9");
      fs.rmSync(s.dir, { recursive: true, force: true });
    });
  }

  it("client mode refuses to run without SPARK_DRIVER_HOST", () => {
    const s = sandbox();
    const script = path.join(s.dir, "submit.sh");
    fs.writeFileSync(script, renderSubmitScript(planSpark(settingsOf({}), referenceWorkers(4)), "client", "api:6443"));
    const r = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: `${s.bin}:${process.env.PATH}`, HOME: s.dir, SPARK_HOME: s.sparkHome } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /set SPARK_DRIVER_HOST/);
    fs.rmSync(s.dir, { recursive: true, force: true });
  });
});
