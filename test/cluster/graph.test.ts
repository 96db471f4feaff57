import * as assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { runUnderMocks, redactSecrets, unwrapSecrets, isSecretMarker, type OutputsHandler, type RecordedResource } from "../../src/plan/mock-runtime";
import { KubeadmBootstrap } from "../../components/cluster/bootstrap";
import { KubeadmClusterAccess } from "../../components/cluster/access";
import { ValidationError } from "../../components/validation";
import { caCertHash, isBootstrapToken } from "../../components/cluster/pki";
import { type ClusterSpec, workerNodes } from "../../components/cluster/topology";
import { workerPool } from "../../components/cluster/worker-pool";
import { ajvErrors, cloudConfigSchema, realisticOutputs, referenceSpec, requireTool } from "./helpers";

class Vm extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super("test:vsphere:VirtualMachine", name, props, opts);
  }
}

async function runCluster(spec: ClusterSpec, outputs: Record<string, OutputsHandler>) {
  return runUnderMocks({ project: "vsphere-spark", stack: "test", config: {}, invokes: {}, outputs }, async () => {
    const b = new KubeadmBootstrap(spec.clusterName, spec);
    const vms = spec.nodes.map((n) => new Vm(n.name, { extraConfig: b.guestinfo[n.name] }));
    const access = new KubeadmClusterAccess(`${spec.clusterName}-access`, { bootstrap: b, dependsOn: vms });
    return { kubeconfig: access.kubeconfig, token: b.token, joinToken: b.joinToken, caCertHash: b.caCertHash, caCertPem: b.caCertPem, certificateKey: b.certificateKey, ready: access.ready, nodeAllocatable: workerPool(workerNodes(spec), spec.settings).allocatable };
  });
}

const vmInputs = (rs: RecordedResource[]) =>
  Object.fromEntries(rs.filter((r) => r.type === "test:vsphere:VirtualMachine").map((r) => [r.name, r.inputs.extraConfig]));
const userDataOf = (extraConfig: unknown) =>
  gunzipSync(Buffer.from((unwrapSecrets(extraConfig) as Record<string, string>)["guestinfo.userdata"], "base64")).toString();

describe("cluster components under the mock runtime", function () {
  this.timeout(120_000);
  let outputs: Record<string, OutputsHandler>;
  before(function () {
    requireTool(this, "openssl", "openssl");
    outputs = realisticOutputs();
  });

  it("registers the PKI, token, provider and CNI, each parented to its component", async () => {
    const spec = referenceSpec("haproxy", "packages", 4);
    const r = await runCluster(spec, outputs);
    const count = (t: string) => r.resources.filter((x) => x.type === t).length;
    assert.equal(count("vsphere-spark:cluster:KubeadmBootstrap"), 1);
    assert.equal(count("vsphere-spark:cluster:KubeadmClusterAccess"), 1);
    assert.equal(count("tls:index/privateKey:PrivateKey"), 6);
    assert.equal(count("tls:index/selfSignedCert:SelfSignedCert"), 3);
    assert.equal(count("tls:index/certRequest:CertRequest"), 2, "the admin and the etcd retirement client");
    assert.equal(count("tls:index/locallySignedCert:LocallySignedCert"), 2, "the admin and the etcd retirement client");
    assert.equal(count("random:index/randomString:RandomString"), 4, "init token and join token");
    assert.equal(count("pulumi:providers:kubernetes"), 1);
    assert.equal(count("kubernetes:core/v1:Secret"), 1, "the join token");
    assert.equal(count("kubernetes:helm.sh/v3:Release"), 1);
    for (const x of r.resources.filter((x) => /^(tls|random):/.test(x.type))) assert.equal(x.parent, "spark", x.name);
    for (const x of r.resources.filter((x) => /^(pulumi:providers:kubernetes|kubernetes:)/.test(x.type))) assert.equal(x.parent, "spark-access", x.name);
    const names = r.resources.map((x) => x.name);
    for (const n of ["spark-ca", "spark-ca-key", "spark-front-proxy-ca", "spark-etcd-ca", "spark-service-account-key", "spark-admin-cert", "spark-bootstrap-token-id", "spark-bootstrap-token-secret", "spark-join-token-id", "spark-join-token-secret", "spark-access-join-token", "spark-access-k8s", "spark-access-cni"])
      assert.ok(names.includes(n), n);
    const release = unwrapSecrets(r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release")!.inputs) as Record<string, any>;
    assert.equal(release.chart, "antrea");
    assert.equal(release.version, "2.2.0");
    assert.deepEqual(release.repositoryOpts, { repo: "https://charts.antrea.io" });
    const ca = r.resources.find((x) => x.name === "spark-ca")!.inputs as Record<string, any>;
    assert.equal(ca.isCaCertificate, true);
    const csr = unwrapSecrets(r.resources.find((x) => x.name === "spark-admin-csr")!.inputs) as Record<string, any>;
    assert.equal(csr.subject.organization, "kubeadm:cluster-admins", "revocable (kubeadm 1.29+), not system:masters");
    assert.ok(isBootstrapToken(r.outputs.token as unknown as string));
    assert.equal(r.outputs.caCertHash, caCertHash(r.outputs.caCertPem as unknown as string));
    assert.deepEqual(r.outputs.nodeAllocatable, { cpu: 15.8, memoryMiB: 118176 });
    assert.equal(r.outputs.ready, "https://192.168.1.2:6443");
  });

  it("keeps secrets secret: guestinfo with keys or token, kubeconfig, token; nothing sensitive in clear", async () => {
    const spec = referenceSpec("haproxy", "packages", 2);
    const r = await runCluster(spec, outputs);
    const vms = vmInputs(r.resources);
    for (const n of spec.nodes) assert.equal(isSecretMarker(vms[n.name]), n.role !== "load-balancer", n.name);
    assert.ok(r.secretOutputs.includes("kubeconfig"));
    assert.ok(r.secretOutputs.includes("token"));
    assert.ok(r.secretOutputs.includes("joinToken"));
    assert.ok(r.secretOutputs.includes("certificateKey"));
    const provider = r.resources.find((x) => x.type === "pulumi:providers:kubernetes")!;
    assert.ok(isSecretMarker(provider.inputs.kubeconfig));

    const token = r.outputs.token as unknown as string;
    const kubeconfig = r.outputs.kubeconfig as unknown as string;
    const clientKey = (parse(kubeconfig) as any).users[0].user["client-key-data"] as string;
    const clear = JSON.stringify(redactSecrets(r.resources));
    const joinToken = r.outputs.joinToken as unknown as string;
    const certificateKey = r.outputs.certificateKey as unknown as string;
    assert.match(certificateKey, /^[0-9a-f]{64}$/, "hex of 32 bytes, as kubeadm decodes it");
    for (const needle of ["PRIVATE KEY", token, token.split(".")[1], joinToken.split(".")[1], clientKey, "client-key-data", certificateKey])
      assert.ok(!clear.includes(needle), `found in clear: ${needle.slice(0, 30)}`);
    // The secret values are really there (the scan would be meaningless otherwise).
    const all = JSON.stringify(unwrapSecrets(r.resources));
    assert.ok(all.includes("PRIVATE KEY"));
    assert.ok(userDataOf(vms["worker-1"]).includes(joinToken), "workers join with the renewed join token");
    assert.ok(!userDataOf(vms["worker-1"]).includes(token), "never with the init token");
    const secret = unwrapSecrets(r.resources.find((x) => x.type === "kubernetes:core/v1:Secret")!.inputs) as any;
    assert.equal(secret.type, "bootstrap.kubernetes.io/token");
    assert.deepEqual(secret.metadata, { name: `bootstrap-token-${joinToken.split(".")[0]}`, namespace: "kube-system" });
    assert.equal(secret.stringData["token-secret"], joinToken.split(".")[1]);
    const hours = (Date.parse(secret.stringData.expiration) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `expires in the TTL from this update, got ${hours} h`);
    assert.match(Buffer.from(clientKey, "base64").toString(), /PRIVATE KEY/);
    assert.equal((parse(kubeconfig) as any).clusters[0].cluster.server, "https://192.168.1.2:6443");
  });

  it("renders real values into each node's user-data (token, CA hash, CA files), valid against the 26.2 schema", async () => {
    const spec = referenceSpec("kube-vip", "packages", 2);
    const r = await runCluster(spec, outputs);
    const vms = vmInputs(r.resources);
    const token = r.outputs.token as unknown as string;
    const joinToken = r.outputs.joinToken as unknown as string;
    const validate = cloudConfigSchema();
    for (const n of spec.nodes) {
      const ud = userDataOf(vms[n.name]);
      assert.ok(validate(parse(ud, { version: "1.1" })), `${n.name}: ${ajvErrors(validate)}`);
      assert.ok(ud.includes(n.role === "worker" ? joinToken : token), n.name);
      if (n.name !== "cp-1") assert.ok(ud.includes(r.outputs.caCertHash as unknown as string), n.name);
      // CA keys on the init node only; the joining control planes get the certificate key instead.
      assert.equal(/BEGIN RSA PRIVATE KEY/.test(ud), n.name === "cp-1", n.name);
      assert.equal(ud.includes(r.outputs.certificateKey as unknown as string), n.role === "control-plane", n.name);
    }
    const cp1 = parse(userDataOf(vms["cp-1"]), { version: "1.1" }) as any;
    const caFile = cp1.write_files.find((f: any) => f.path === "/etc/kubernetes/pki/ca.crt");
    assert.equal(caFile.content.trim(), (r.outputs.caCertPem as unknown as string).trim());
  });

  it("adding a worker adds only that worker; a worker depends on endpoint, token and CA only", async () => {
    const three = referenceSpec("haproxy", "packages", 3);
    const four = referenceSpec("haproxy", "packages", 4);
    const a = await runCluster(three, outputs);
    const b = await runCluster(four, outputs);
    const names = (rs: RecordedResource[]) => rs.filter((x) => x.type !== "test:vsphere:VirtualMachine").map((x) => `${x.type}::${x.name}`).sort();
    assert.deepEqual(names(b.resources), names(a.resources), "the cluster layer has no per-worker resources");
    const va = vmInputs(a.resources);
    const vb = vmInputs(b.resources);
    assert.deepEqual(Object.keys(vb).sort(), [...Object.keys(va), "worker-4"].sort());
    for (const n of Object.keys(va)) assert.deepEqual(unwrapSecrets(vb[n]), unwrapSecrets(va[n]), `${n} changed when a worker was added`);

    // Moving a control plane changes the control planes after it and the LB, never a worker.
    const moved = referenceSpec("haproxy", "packages", 3);
    moved.nodes[1] = { ...moved.nodes[1], address: "192.168.1.50" };
    const c = await runCluster(moved, outputs);
    const vc = vmInputs(c.resources);
    for (const w of ["worker-1", "worker-2", "worker-3"]) assert.deepEqual(unwrapSecrets(vc[w]), unwrapSecrets(va[w]), w);
    for (const n of ["cp-2", "cp-3", "lb"]) assert.notDeepEqual(unwrapSecrets(vc[n]), unwrapSecrets(va[n]), n);
  });

  it("rejects invalid arguments with every problem listed, before registering anything", async () => {
    const spec = referenceSpec("haproxy", "packages", 2);
    spec.nodes = spec.nodes.filter((n) => n.name !== "cp-3" && n.role !== "load-balancer");
    spec.clusterName = "Spark!";
    let caught: unknown;
    const r = await runUnderMocks({ project: "vsphere-spark", stack: "test", config: {}, invokes: {}, outputs }, async () => {
      try {
        new KubeadmBootstrap("bad", spec);
      } catch (e) {
        caught = e;
      }
      return {};
    });
    assert.ok(caught instanceof ValidationError);
    assert.deepEqual(caught.fieldErrors.map((e) => e.path).sort(), ["args.clusterName", "args.nodes", "args.nodes"]);
    assert.deepEqual(r.resources.map((x) => x.type), ["pulumi:pulumi:Stack"]);
  });

  it("once the cluster exists (clusterExists), every control plane's guestinfo is a control-plane join with the shared CA files and the join token, and stays secret", async () => {
    const spec = referenceSpec("haproxy", "packages", 1);
    const [first, second] = spec.nodes.filter((n) => n.role === "control-plane");
    const runWith = (clusterExists: boolean) =>
      runUnderMocks({ project: "vsphere-spark", stack: "dev", config: {}, invokes: {}, outputs }, async () => {
        const b = new KubeadmBootstrap(spec.clusterName, { ...spec, clusterExists, ...(clusterExists ? { runningControlPlanes: [second.name] } : {}) });
        const vms = spec.nodes.map((n) => new Vm(n.name, { extraConfig: b.guestinfo[n.name] }));
        return { first: b.guestinfo[first.name], second: b.guestinfo[second.name], joinToken: b.joinToken, token: b.token, certificateKey: b.certificateKey, vms: vms.length };
      });
    const created = await runWith(false);
    assert.match(userDataOf(created.outputs.first), /kind: InitConfiguration/);
    assert.doesNotMatch(userDataOf(created.outputs.second), /PRIVATE KEY/, "the first up: joins download the CA files");
    const exists = await runWith(true);
    const joinToken = unwrapSecrets(exists.outputs.joinToken) as string;
    assert.ok(isBootstrapToken(joinToken));
    for (const o of [exists.outputs.first, exists.outputs.second]) {
      const ud = userDataOf(o);
      assert.match(ud, /kind: JoinConfiguration/);
      assert.match(ud, /PRIVATE KEY/, "the shared CA files");
      assert.ok(ud.includes(`token: ${joinToken}`), "the join token");
      assert.ok(!ud.includes(unwrapSecrets(exists.outputs.token) as string), "not the init token");
      assert.ok(!ud.includes(unwrapSecrets(exists.outputs.certificateKey) as string), "no certificate key");
      assert.doesNotMatch(ud, /certificateKey/);
    }
    // Secret end to end: the VM inputs that carry the keys are secret.
    const cpVms = exists.resources.filter((x) => x.type === "test:vsphere:VirtualMachine" && x.name.startsWith("cp-"));
    assert.equal(cpVms.length, 3);
    for (const r of cpVms) {
      assert.ok(isSecretMarker(r.inputs.extraConfig), `${r.name}: extraConfig is secret`);
      assert.doesNotMatch(JSON.stringify(redactSecrets(r.inputs)), /PRIVATE KEY|guestinfo\.userdata"\s*:\s*"H4sI/, r.name);
    }
  });
});
