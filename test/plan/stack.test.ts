/**
 * The whole stack (VMs, Kubernetes, Spark) through the offline plan: each endpoint kind, the
 * Spark numbers of the paper, every written artifact checked by the real tool that consumes it, and
 * no secret in clear anywhere in the plan's output.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { Plan, plan } from "../../src/plan/plan";
import { isSecretMarker, unwrapSecrets } from "../../src/plan/mock-runtime";
import { realisticOutputs, requireTool, tmpDir } from "../cluster/helpers";

const ROOT = path.resolve(__dirname, "../../..");
const CLI = path.join(ROOT, "dist/src/plan/cli.js");
const VM = "vsphere:index/virtualMachine:VirtualMachine";
const NET = "vsphere-spark:network={cidr: 192.168.1.0/24, gateway: 192.168.1.254, dnsServers: [192.168.1.254]}";

const ENDPOINTS: Record<string, string[]> = {
  haproxy: [],
  "kube-vip": ["vsphere-spark:endpoint={kind: kube-vip, address: 192.168.1.5}", NET],
  external: ["vsphere-spark:endpoint={kind: external, address: api.lab.local}", NET],
};

async function planOk(sets: string[] = [], simulate = {}) {
  const r = await plan({ stack: "dev", cwd: ROOT, sets, simulate });
  if (!r.ok) assert.fail(JSON.stringify(r.errors, null, 2));
  return r;
}

describe("offline plan: the full cluster", function () {
  this.timeout(120_000);

  for (const [kind, sets] of Object.entries(ENDPOINTS)) {
    it(`${kind} endpoint: VMs, PKI, token, kubeconfig output, provider, CNI and Spark`, async () => {
      const { plan: p, artifacts } = await planOk(sets);
      const count = (t: string) => p.counts[t] ?? 0;
      assert.equal(count(VM), kind === "haproxy" ? 20 : 19);
      assert.equal(count("vsphere-spark:cluster:KubeadmBootstrap"), 1);
      assert.equal(count("vsphere-spark:cluster:KubeadmClusterAccess"), 1);
      assert.equal(count("tls:index/privateKey:PrivateKey"), 6, "three CAs, the service-account key, the admin and the etcd retirement client");
      assert.equal(count("tls:index/selfSignedCert:SelfSignedCert"), 3);
      assert.equal(count("random:index/randomString:RandomString"), 4);
      assert.equal(count("random:index/randomBytes:RandomBytes"), 1, "kubeadm's certificate key");
      assert.equal(count("pulumi:providers:kubernetes"), 1);
      assert.equal(count("kubernetes:helm.sh/v3:Release"), 1);
      assert.equal(count("vsphere-spark:spark:SparkPlatform"), 1);
      assert.equal(p.outputs.kubeconfig, "[secret]");
      assert.equal(p.outputs.bootstrapToken, "[secret]");
      const kinds = new Set(artifacts.map((a) => a.kind));
      assert.equal(kinds.has("haproxy"), kind === "haproxy");
      for (const k of ["cloud-init", "kubeadm", "spark-defaults", "spark-submit", "manifest"]) assert.ok(kinds.has(k as never), k);
      const cloudInit = artifacts.filter((a) => a.kind === "cloud-init");
      assert.equal(cloudInit.length, count(VM), "one user-data per VM");
      const port = kind === "external" ? "api.lab.local:6443" : kind === "kube-vip" ? "192.168.1.5:6443" : "192.168.1.2:6443";
      assert.equal(p.outputs.apiEndpoint, port);
      for (const a of artifacts.filter((x) => x.kind === "kubeadm")) assert.match(a.content, new RegExp(port.replace(/\./g, "\\.")));
    });
  }

  it("the endpoint kind changes only the endpoint part of the graph", async () => {
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const names = async (sets: string[]) => new Set((await planOk(sets)).plan.resources.map(key));
    const haproxy = await names([NET]);
    for (const kind of ["kube-vip", "external"]) {
      const other = await names(ENDPOINTS[kind]);
      const onlyHaproxy = [...haproxy].filter((k) => !other.has(k)).sort();
      assert.deepEqual(onlyHaproxy, [
        "vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup::spark-esxi-04-load-balancer-vm-group",
        "vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule::spark-esxi-04-load-balancer-on-host",
        `${VM}::spark-esxi-04-load-balancer`,
      ]);
      assert.deepEqual([...other].filter((k) => !haproxy.has(k)), [], `${kind} adds nothing`);
    }
  });

  it("every VM's user-data goes through guestinfo; what carries keys or the token is a secret", async () => {
    const r = await planOk([], realisticOutputs());
    for (const vm of r.recorded.filter((x) => x.type === VM)) {
      // First-boot data: a rotated token must not update (and reboot) running VMs.
      assert.deepEqual(vm.ignoreChanges, ["extraConfig"]);
      const extra = vm.inputs.extraConfig;
      const vmName = vm.inputs.name as string;
      const role = vmName.replace(/^esxi-\d+-/, "").replace(/-\d+$/, "");
      assert.equal(isSecretMarker(extra), role !== "load-balancer", `${vm.name} extraConfig secret-ness`);
      const ec = unwrapSecrets(extra) as Record<string, string>;
      assert.equal(ec["guestinfo.userdata.encoding"], "gzip+base64");
      assert.equal(ec["guestinfo.metadata.encoding"], "base64");
      const userData = gunzipSync(Buffer.from(ec["guestinfo.userdata"], "base64")).toString();
      assert.match(userData, /^#cloud-config\n/);
      assert.match(Buffer.from(ec["guestinfo.metadata"], "base64").toString(), new RegExp(`local-hostname: ${vmName}`));
      if (role === "worker") assert.match(userData, /kubeadm join/);
    }
  });
});

describe("offline plan: Spark", function () {
  this.timeout(120_000);

  for (const [perHost, instances] of [[4, "16"], [3, "12"], [2, "8"], [1, "4"]] as const) {
    it(`${instances} workers: the paper's spark-submit values, pod requests and a fit verdict`, async () => {
      const { plan: p } = await planOk([`vsphere-spark:workersPerHost=${perHost}`]);
      const spark = p.spark as any;
      assert.equal(spark.conf["spark.executor.instances"], instances);
      assert.equal(spark.conf["spark.executor.cores"], "15");
      assert.equal(spark.conf["spark.executor.memory"], "100g");
      assert.equal(spark.conf["spark.driver.memory"], "40g");
      assert.equal(spark.conf["spark.kubernetes.namespace"], "spark");
      assert.equal(spark.conf["spark.kubernetes.authenticate.driver.serviceAccountName"], "spark");
      // ephemeral-storage: the 400 GiB scratch disk at /var/lib/kubelet (ext4 402176 MiB − 2 GiB − 10%).
      assert.deepEqual(spark.executorPod, { cpuRequest: "15", memoryMiB: 112640, ephemeralStorageMiB: 359910 });
      assert.equal(spark.driverPod.memoryMiB, 45056);
      assert.equal(spark.fit.verdict, "fits");
      // Against the allocatable the cluster layer computes from the kubelet reservations.
      assert.ok(spark.fit.perNode.memoryAvailableMiB >= 112640 && spark.fit.perNode.cpuAvailableMilli >= 15000);
    });
  }

  it("heavier kubelet reservations switch to a fractional CPU request, keeping 15 cores", async () => {
    const { plan: p } = await planOk(["vsphere-spark:kubernetes={kubeReserved: {cpu: 1}, systemReserved: {cpu: 500m}}"]);
    const conf = (p.spark as any).conf;
    assert.equal(conf["spark.executor.cores"], "15");
    // 16 − 1 − 0.5 = 14.5 allocatable − 0.4 Antrea agent − 0.4 CoreDNS and antrea-controller.
    assert.equal(conf["spark.kubernetes.executor.request.cores"], "13700m");
  });

  it("an executor that cannot fit is a configuration error that states the numbers", async () => {
    const r = await plan({ stack: "dev", cwd: ROOT, sets: ["vsphere-spark:vmProfiles={worker: {cpus: 16, memoryGiB: 8}}"] });
    assert.ok(!r.ok);
    // The leaf the sizing names: with 8 GiB workers even the smallest heap at the stack's 10 GiB step does not fit.
    const e = r.errors.find((x) => x.path === "vsphere-spark:spark.executor.heapGranularityGiB");
    assert.ok(e, JSON.stringify(r.errors));
    assert.match(e.message, /MiB/);
  });
});

describe("plan --out: artifacts checked by the tools that consume them", function () {
  this.timeout(300_000);
  let dir: string;
  let listed: { path: string; kind: string }[];

  before(function () {
    dir = tmpDir("plan-out");
    const out = execFileSync(process.execPath, [CLI, "--json", "--out", dir], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    listed = (JSON.parse(out) as Plan).artifacts;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes exactly the artifacts --json lists", () => {
    for (const a of listed) assert.ok(fs.existsSync(path.join(dir, a.path)), a.path);
    const written = execFileSync("find", [dir, "-type", "f"], { encoding: "utf8" }).trim().split("\n").length;
    assert.equal(written, listed.length);
  });

  it("every user-data passes `cloud-init schema`", function () {
    requireTool(this, "cloud-init", "cloud-init");
    const files = listed.filter((a) => a.kind === "cloud-init");
    assert.equal(files.length, 20);
    for (const a of files) {
      const r = spawnSync("cloud-init", ["schema", "--config-file", path.join(dir, a.path)], { encoding: "utf8" });
      assert.equal(r.status, 0, `${a.path}: ${r.stdout}${r.stderr}`);
    }
  });

  it("the HAProxy configuration passes `haproxy -c`, warnings included", function () {
    requireTool(this, "haproxy", "haproxy");
    const a = listed.find((x) => x.kind === "haproxy")!;
    const r = spawnSync("haproxy", ["-dW", "-c", "-f", path.join(dir, a.path)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const cfg = fs.readFileSync(path.join(dir, a.path), "utf8");
    for (const ip of ["192.168.1.10", "192.168.1.30", "192.168.1.50"]) assert.match(cfg, new RegExp(`${ip.replace(/\./g, "\\.")}:6443 check`));
  });
});

describe("secrets never appear in clear", function () {
  this.timeout(300_000);

  it("not in the plan's JSON, its text, or its artifacts, with realistic keys and token", async () => {
    const sim = realisticOutputs();
    const r = await planOk([], sim);
    // The real secret values the program handled, taken from what the resources received.
    const secrets = new Set<string>();
    const collect = (v: unknown, inSecret: boolean): void => {
      if (isSecretMarker(v)) return collect(v.value, true);
      if (typeof v === "string" && inSecret && v.length >= 16) secrets.add(v);
      if (Array.isArray(v)) v.forEach((x) => collect(x, inSecret));
      else if (typeof v === "object" && v !== null) Object.values(v).forEach((x) => collect(x, inSecret));
    };
    for (const res of r.recorded) {
      // The Kubernetes SDK makes every field of a Secret secret; of the join token's only token-secret is.
      if (res.type === "kubernetes:core/v1:Secret") secrets.add((unwrapSecrets(res.inputs) as any).stringData["token-secret"]);
      else collect(res.inputs, false);
    }
    // A bootstrap token's id is public (it names the token's Secret, `bootstrap-token-<id>`); its secret part is not.
    const tokenParts = r.recorded.filter((x) => x.type === "random:index/randomString:RandomString" && x.name.endsWith("-secret")).map((x) => sim["random:index/randomString:RandomString"](x.name, x.inputs).result as string);
    for (const t of tokenParts) secrets.add(t);
    for (const k of r.recorded.filter((x) => x.type === "tls:index/privateKey:PrivateKey")) {
      secrets.add((sim["tls:index/privateKey:PrivateKey"](k.name, k.inputs).privateKeyPem as string).split("\n")[1]);
    }
    assert.ok(secrets.size > 5, "the scan has real secrets to look for");

    const everything = [JSON.stringify(r.plan), ...r.artifacts.map((a) => a.content), ...r.sectionText].join("\n");
    assert.doesNotMatch(everything, /-----BEGIN (RSA |EC )?PRIVATE KEY-----\n[A-Za-z0-9+/]/);
    for (const s of secrets) {
      if (s.startsWith("-----BEGIN CERTIFICATE")) continue; // certificates are public
      assert.ok(!everything.includes(s), `a secret value appears in clear: ${s.slice(0, 12)}…`);
    }
    assert.equal(r.plan.outputs.kubeconfig, "[secret]");
  });
});
