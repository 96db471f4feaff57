import * as assert from "node:assert/strict";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";
import {
  CONTROL_PLANE_JOIN_TIMEOUTS,
  renderControlPlaneJoinConfig,
  renderInitConfig,
  renderWorkerJoinConfig,
} from "../../components/cluster/kubeadm";
import { clusterArtifacts } from "../../components/cluster/artifacts";
import { SECRET_PLACEHOLDER } from "../../components/artifacts";
import { readSchemaFile } from "../../src/codegen/schemas";
import { ajvErrors, referenceSpec, settingsFor } from "./helpers";

const TOKEN = "abcdef.0123456789abcdef";
const HASH = "sha256:" + "0123456789abcdef".repeat(4);

type Schema = Record<string, unknown>;

/** CRD schemas allow unknown keys; close every object so a misspelt field fails. */
function closed(s: Schema): Schema {
  const out: Schema = { ...s };
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties as Record<string, Schema>).map(([k, v]) => [k, closed(v)]));
    if (s.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (s.items) out.items = closed(s.items as Schema);
  delete out["x-kubernetes-validations"];
  return out;
}

const GO_DURATION = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
const KUBEADM_TIMEOUTS: Schema = {
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(
    ["controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall", "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests"].map((k) => [
      k,
      { type: "string", pattern: GO_DURATION },
    ]),
  ),
};

/** Seconds of a Go duration string such as "10m0s" (h, m, s only: what the renders use). */
function goSeconds(d: string): number {
  const parts = [...d.matchAll(/([0-9]+)(h|m|s)/g)];
  assert.equal(parts.map((p) => p[0]).join(""), d, `${d} is h/m/s only`);
  return parts.reduce((t, [, n, u]) => t + Number(n) * (u === "h" ? 3600 : u === "m" ? 60 : 1), 0);
}

/** kubeadm fields CAPI manages itself (absent from its CRD), in kubeadm's own v1beta4 shape. */
const KUBEADM_ONLY: Record<string, Record<string, Schema>> = {
  clusterConfiguration: {
    apiVersion: { type: "string" },
    kind: { const: "ClusterConfiguration" },
    clusterName: { type: "string" },
    kubernetesVersion: { type: "string", pattern: "^v\\d+\\.\\d+\\.\\d+$" },
    networking: {
      type: "object",
      additionalProperties: false,
      properties: { podSubnet: { type: "string" }, serviceSubnet: { type: "string" }, dnsDomain: { type: "string" } },
    },
  },
  // `certificateKey` (InitConfiguration, JoinConfiguration.controlPlane): kubeadm v1beta3/v1beta4
  // types.go; CAPI omits it because it distributes the certificates itself.
  initConfiguration: { apiVersion: { type: "string" }, kind: { const: "InitConfiguration" }, certificateKey: { type: "string" } },
  // `timeouts` in kubeadm's own shape, not CAPI's (`etcdAPICallSeconds`, integers): kubeadm v1beta4
  // types.go @ v1.34.4, `Timeouts`, every field a metav1.Duration (a Go duration string).
  joinConfiguration: { apiVersion: { type: "string" }, kind: { const: "JoinConfiguration" }, timeouts: KUBEADM_TIMEOUTS },
};

function subSchemas(): Record<string, (doc: unknown) => { ok: boolean; errors: string }> {
  const crd = parse(readSchemaFile("kubeadm/bootstrap.cluster.x-k8s.io_kubeadmconfigs.capi-v1.11.11.yaml"));
  const v = (crd.spec.versions as Array<Record<string, any>>).find((x) => x.name === "v1beta2")!;
  const spec = v.schema.openAPIV3Schema.properties.spec.properties as Record<string, Schema>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const out: Record<string, (doc: unknown) => { ok: boolean; errors: string }> = {};
  for (const key of ["clusterConfiguration", "initConfiguration", "joinConfiguration"]) {
    const s = closed(spec[key]);
    s.properties = { ...(s.properties as object), ...KUBEADM_ONLY[key] };
    if (key === "initConfiguration") {
      // kubeadm's own `ttl` (duration) instead of CAPI's ttlSeconds.
      const bt = (s.properties as any).bootstrapTokens.items;
      bt.properties = { ...bt.properties, ttl: { type: "string", pattern: "^(0|(\\d+(h|m|s))+)$" } };
    }
    if (key === "joinConfiguration") {
      const cp = (s.properties as any).controlPlane;
      cp.properties = { ...cp.properties, certificateKey: { type: "string" } };
    }
    const validate = ajv.compile(s);
    out[key] = (doc) => ({ ok: validate(doc) as boolean, errors: ajvErrors(validate) });
  }
  return out;
}

function docs(yamlText: string): Record<string, any>[] {
  return parseAllDocuments(yamlText, { version: "1.1" }).map((d) => {
    assert.equal(d.errors.length, 0);
    return d.toJS();
  });
}

describe("kubeadm configuration", () => {
  const schemas = subSchemas();
  const spec = referenceSpec("haproxy", "packages", 2);
  const [cp1, cp2] = spec.nodes;
  const worker = spec.nodes.find((n) => n.role === "worker")!;
  const base = { settings: spec.settings, endpoint: spec.endpoint, token: TOKEN };
  const CERT_KEY = "0123456789abcdef".repeat(4);

  it("init: InitConfiguration + ClusterConfiguration + KubeletConfiguration, v1beta4, matching CAPI's v1beta2 sub-schemas", () => {
    const d = docs(renderInitConfig({ ...base, clusterName: "spark", node: cp1, certificateKey: CERT_KEY }));
    assert.deepEqual(d.map((x) => x.kind), ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]);
    assert.equal(d[0].apiVersion, "kubeadm.k8s.io/v1beta4");
    let r = schemas.initConfiguration(d[0]);
    assert.ok(r.ok, r.errors);
    r = schemas.clusterConfiguration(d[1]);
    assert.ok(r.ok, r.errors);
    assert.equal(d[1].controlPlaneEndpoint, "192.168.1.2:6443");
    assert.equal(d[1].kubernetesVersion, "v1.31.4");
    assert.deepEqual(d[1].networking, { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" });
    assert.deepEqual(d[1].etcd, { local: { dataDir: "/var/lib/etcd" } });
    assert.deepEqual(d[0].bootstrapTokens[0].token, TOKEN);
    assert.equal(d[0].bootstrapTokens[0].ttl, "24h", "expiring by default");
    assert.deepEqual(d[0].localAPIEndpoint, { advertiseAddress: "192.168.1.11", bindPort: 6443 });
    assert.equal(d[0].certificateKey, CERT_KEY, "kubeadm init --upload-certs encrypts the shared CA files with it");
    assert.equal(d[2].apiVersion, "kubelet.config.k8s.io/v1beta1");
    assert.deepEqual(Object.keys(d[2].evictionHard).sort(), ["imagefs.available", "imagefs.inodesFree", "memory.available", "nodefs.available", "nodefs.inodesFree"]);
    assert.deepEqual(d[2].kubeReserved, { cpu: "100m", memory: "1Gi", "ephemeral-storage": "1Gi" });
    assert.equal(d[2].cgroupDriver, "systemd");
  });

  it("control-plane join has controlPlane.localAPIEndpoint and the certificate key; worker join neither; both discover by token + CA hash", () => {
    const cp = docs(renderControlPlaneJoinConfig({ ...base, node: cp2, caCertHash: HASH, certificateKey: CERT_KEY }));
    const w = docs(renderWorkerJoinConfig({ ...base, node: worker, caCertHash: HASH }));
    for (const d of [cp[0], w[0]]) {
      const r = schemas.joinConfiguration(d);
      assert.ok(r.ok, r.errors);
      assert.deepEqual(d.discovery.bootstrapToken, { apiServerEndpoint: "192.168.1.2:6443", token: TOKEN, caCertHashes: [HASH] });
    }
    // kubeadm's download-certs phase runs when controlPlane.certificateKey is set: the CA files come from the cluster.
    assert.deepEqual(cp[0].controlPlane, { localAPIEndpoint: { advertiseAddress: "192.168.1.12", bindPort: 6443 }, certificateKey: CERT_KEY });
    assert.equal(w[0].controlPlane, undefined);
    assert.equal(w[0].nodeRegistration.name, worker.name);
  });

  it("control-plane join: longer kubeadm etcdAPICall and tlsBootstrap timeouts (v1beta4 only); worker join and v1beta3 none", () => {
    const cp = docs(renderControlPlaneJoinConfig({ ...base, node: cp2, caCertHash: HASH, certificateKey: CERT_KEY }))[0];
    const dayTwo = docs(renderControlPlaneJoinConfig({ ...base, node: cp2, caCertHash: HASH }))[0];
    for (const d of [cp, dayTwo]) {
      assert.equal(d.apiVersion, "kubeadm.k8s.io/v1beta4");
      assert.deepEqual(d.timeouts, { etcdAPICall: "10m0s", tlsBootstrap: "10m0s" });
      const r = schemas.joinConfiguration(d);
      assert.ok(r.ok, r.errors);
    }
    // Longer than kubeadm's defaults (constants.go @ v1.34.4: EtcdAPICallTimeout 2m, TLSBootstrapTimeout 5m).
    assert.ok(goSeconds(CONTROL_PLANE_JOIN_TIMEOUTS.etcdAPICall) > 120);
    assert.ok(goSeconds(CONTROL_PLANE_JOIN_TIMEOUTS.tlsBootstrap) > 300);
    // Workers touch no etcd: kubeadm's defaults.
    assert.equal(docs(renderWorkerJoinConfig({ ...base, node: worker, caCertHash: HASH }))[0].timeouts, undefined);
    // v1beta3 (before 1.31) has no `timeouts` (its JoinConfiguration: discovery.timeout only).
    const old = docs(renderControlPlaneJoinConfig({ ...base, settings: { ...spec.settings, version: "1.30.8" }, node: cp2, caCertHash: HASH, certificateKey: CERT_KEY }))[0];
    assert.equal(old.apiVersion, "kubeadm.k8s.io/v1beta3");
    assert.equal(old.timeouts, undefined);
    assert.ok(old.controlPlane, "still a control-plane join");
    // Negative controls: the closed schema refuses CAPI's shape of the same field (seconds, integer),
    // a misspelt key, and a duration without a unit.
    assert.equal(schemas.joinConfiguration({ ...cp, timeouts: { etcdAPICallSeconds: 600 } }).ok, false);
    assert.equal(schemas.joinConfiguration({ ...cp, timeouts: { etcdApiCall: "10m0s" } }).ok, false);
    assert.equal(schemas.joinConfiguration({ ...cp, timeouts: { etcdAPICall: "600" } }).ok, false);
    assert.equal(goSeconds("10m0s"), 600);
  });

  it("a node's zone labels: kubelet node-labels in v1beta4's list form and v1beta3's map form, both matching CAPI's schema; none without a zone", () => {
    const zoned = { ...worker, topology: { zone: "zone-b", region: "dc-1" } };
    const w = docs(renderWorkerJoinConfig({ ...base, node: zoned, caCertHash: HASH }))[0];
    assert.deepEqual(w.nodeRegistration.kubeletExtraArgs, [{ name: "node-labels", value: "topology.kubernetes.io/zone=zone-b,topology.kubernetes.io/region=dc-1" }]);
    const r = schemas.joinConfiguration(w);
    assert.ok(r.ok, r.errors);
    const init = docs(renderInitConfig({ ...base, clusterName: "spark", node: { ...cp1, topology: { zone: "zone-a", region: "dc-1" } }, certificateKey: CERT_KEY }))[0];
    assert.equal(init.nodeRegistration.kubeletExtraArgs[0].value, "topology.kubernetes.io/zone=zone-a,topology.kubernetes.io/region=dc-1");
    assert.ok(schemas.initConfiguration(init).ok);
    const old = docs(renderWorkerJoinConfig({ ...base, settings: { ...spec.settings, version: "1.30.8" }, node: zoned, caCertHash: HASH }))[0];
    assert.equal(old.apiVersion, "kubeadm.k8s.io/v1beta3");
    assert.deepEqual(old.nodeRegistration.kubeletExtraArgs, { "node-labels": "topology.kubernetes.io/zone=zone-b,topology.kubernetes.io/region=dc-1" });
    assert.equal(docs(renderWorkerJoinConfig({ ...base, node: worker, caCertHash: HASH }))[0].nodeRegistration.kubeletExtraArgs, undefined);
    // Negative control: the schema refuses v1beta3's map where v1beta4 wants the list.
    assert.equal(schemas.joinConfiguration({ ...w, nodeRegistration: { ...w.nodeRegistration, kubeletExtraArgs: { "node-labels": "x=y" } } }).ok, false);
  });

  it("the closed schema catches a misspelt field (negative control)", () => {
    const d = docs(renderWorkerJoinConfig({ ...base, node: worker, caCertHash: HASH }))[0];
    d.discovery.bootstrapToken.caCertHash = d.discovery.bootstrapToken.caCertHashes;
    assert.equal(schemas.joinConfiguration(d).ok, false);
    const c = docs(renderInitConfig({ ...base, clusterName: "spark", node: cp1, certificateKey: CERT_KEY }))[1];
    c.networking.podCIDR = "x";
    assert.equal(schemas.clusterConfiguration(c).ok, false);
  });

  it("uses v1beta3 before Kubernetes 1.31", () => {
    const settings = settingsFor("packages", { version: "1.30.8" });
    const d = docs(renderInitConfig({ ...base, settings, clusterName: "spark", node: cp1, certificateKey: CERT_KEY }));
    assert.equal(d[0].apiVersion, "kubeadm.k8s.io/v1beta3");
    assert.equal(d[1].kubernetesVersion, "v1.30.8");
  });

  it("review artifacts carry placeholders, never keys or the token, and still validate", () => {
    const arts = clusterArtifacts(spec);
    assert.deepEqual(
      arts.map((a) => `${a.kind}:${a.path}`).sort(),
      [
        ...spec.nodes.map((n) => `cloud-init:cloud-init/${n.name}.yaml`),
        ...spec.nodes.filter((n) => n.role !== "load-balancer").map((n) => `kubeadm:kubeadm/${n.name}.yaml`),
        "haproxy:haproxy/haproxy.cfg",
      ].sort(),
    );
    for (const a of arts) {
      assert.doesNotMatch(a.content, /PRIVATE KEY/);
      if (a.kind === "kubeadm") {
        assert.ok(a.content.includes(SECRET_PLACEHOLDER), a.path);
        for (const d of docs(a.content)) {
          const key = d.kind === "InitConfiguration" ? "initConfiguration" : d.kind === "ClusterConfiguration" ? "clusterConfiguration" : d.kind === "JoinConfiguration" ? "joinConfiguration" : undefined;
          if (!key) continue;
          const r = schemas[key](d);
          assert.ok(r.ok, `${a.path}: ${r.errors}`);
        }
      }
    }
    const cp = arts.find((a) => a.path === "cloud-init/cp-1.yaml")!;
    assert.match(cp.content, /ca\.key\n\s+content: \|\n\s+<redacted: secret>/);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      assert.match(arts.find((a) => a.path === `kubeadm/${n}.yaml`)!.content, /certificateKey: "<redacted: secret> \(kubeadm certificate key\)"/, n);
    }
    for (const n of ["cp-2", "cp-3"]) assert.doesNotMatch(arts.find((a) => a.path === `cloud-init/${n}.yaml`)!.content, /path: \/etc\/kubernetes\/pki\//, `${n} gets no CA files`);
    assert.equal(clusterArtifacts(referenceSpec("kube-vip", "packages", 1)).some((a) => a.kind === "haproxy"), false);
  });
});
