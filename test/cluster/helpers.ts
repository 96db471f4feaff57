/** Shared fixtures for the cluster-layer tests: topologies, tools, schemas, throw-away PKI. */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import Ajv04 from "ajv-draft-04";
import type { ValidateFunction } from "ajv";
import type { ClusterNode, EndpointKind, EndpointSpec, NodeNetwork } from "../../components/cluster/types";
import type { InstallMode, KubernetesSettings } from "../../components/cluster/settings";
import { resolveKubernetesSettings } from "../../components/cluster/settings";
import type { ClusterSpec } from "../../components/cluster/topology";
import type { SharedPki } from "../../components/cluster/pki";
import { unwrapSecrets, type OutputsHandler } from "../../src/plan/mock-runtime";
import { SCHEMAS_DIR, readSchemaFile } from "../../src/codegen/schemas";

/** The vendored reference data (`schemas/` in the repository). */
export const REF = SCHEMAS_DIR;

export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEhxT0tlblRlc3RLZXlPbmx5Rm9yU2NoZW1h ops@example";

/** Fails when a tool is missing, unless VSPHERE_SPARK_SKIP_TOOLS=1 (then the test is skipped, with the reason). */
export function requireTool(ctx: Mocha.Context, tool: string, apt: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).status === 0;
  if (found) return;
  const reason = `${tool} not found (apt-get install -y ${apt})`;
  if (process.env.VSPHERE_SPARK_SKIP_TOOLS === "1") {
    console.log(`      skipped: ${reason}; VSPHERE_SPARK_SKIP_TOOLS=1`);
    ctx.skip();
  }
  throw new Error(`${reason}. Set VSPHERE_SPARK_SKIP_TOOLS=1 to skip tool-based tests on purpose.`);
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vsphere-spark-${prefix}-`));
}

export const NETWORK: NodeNetwork = {
  prefixLength: 24,
  gateway: "192.168.1.1",
  dnsServers: ["192.168.1.1", "192.168.1.254"],
  searchDomains: ["example.internal"],
};

/** A distinct MAC in VMware's manual range for test node `n`. */
export function testMac(n: number): string {
  return `00:50:56:00:00:${n.toString(16).padStart(2, "0")}`;
}

/** The reference topology: 3 control planes, (HAProxy VM), n workers of 16 vCPU / 120 GiB. */
export function referenceNodes(workers: number, kind: EndpointKind): ClusterNode[] {
  const nodes: ClusterNode[] = [1, 2, 3].map((i) => ({
    name: `cp-${i}`,
    role: "control-plane",
    address: `192.168.1.1${i}`,
    macAddress: testMac(i),
    cpus: 8,
    memoryMiB: 65536,
  }));
  if (kind === "haproxy") nodes.push({ name: "lb", role: "load-balancer", address: "192.168.1.2", macAddress: testMac(0x10), cpus: 8, memoryMiB: 65536 });
  for (let i = 1; i <= workers; i++)
    nodes.push({ name: `worker-${i}`, role: "worker", address: `192.168.1.${100 + i}`, macAddress: testMac(0x20 + i), cpus: 16, memoryMiB: 122880 });
  return nodes;
}

export function endpointFor(kind: EndpointKind): EndpointSpec {
  if (kind === "haproxy") return { kind, address: "192.168.1.2", port: 6443 };
  if (kind === "kube-vip") return { kind, address: "192.168.1.5", port: 6443 };
  return { kind, address: "api.example.internal", port: 6443 };
}

export function settingsFor(installMode: InstallMode, extra: Record<string, unknown> = {}): KubernetesSettings {
  const { settings, errors } = resolveKubernetesSettings({ installMode, sshAuthorizedKeys: [SSH_KEY], ...extra });
  if (errors.length) throw new Error(JSON.stringify(errors));
  return settings;
}

export function referenceSpec(kind: EndpointKind, installMode: InstallMode, workers = 4, clusterName = "spark"): ClusterSpec {
  return {
    clusterName,
    nodes: referenceNodes(workers, kind),
    network: NETWORK,
    endpoint: endpointFor(kind),
    settings: settingsFor(installMode),
  };
}

// ---------- throw-away PKI (node:crypto keys, openssl for certificates) ----------

export function rsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

function withFiles<T>(files: Record<string, string>, fn: (dir: string) => T): T {
  const dir = tmpDir("pki");
  try {
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), c, { mode: 0o600 });
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed CA certificate; `days`: the program's `validityPeriodHours` in days (the boot lab's certificate renewal moves the guest's clock 340 days on), 2 when not given. */
export function selfSignedCaPem(keyPem: string, cn: string, days = 2): string {
  return withFiles({ "k.pem": keyPem }, (d) =>
    execFileSync("openssl", ["req", "-x509", "-new", "-key", path.join(d, "k.pem"), "-subj", `/CN=${cn}`, "-days", String(days),
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }),
  );
}

export function csrPem(keyPem: string, subject: string): string {
  return withFiles({ "k.pem": keyPem }, (d) =>
    execFileSync("openssl", ["req", "-new", "-key", path.join(d, "k.pem"), "-subj", subject], { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }),
  );
}

export function signPem(csr: string, caCert: string, caKey: string, ext?: string): string {
  const files: Record<string, string> = { "r.csr": csr, "ca.crt": caCert, "ca.key": caKey };
  if (ext) files["ext.cnf"] = ext;
  return withFiles(files, (d) =>
    execFileSync("openssl", ["x509", "-req", "-in", path.join(d, "r.csr"), "-CA", path.join(d, "ca.crt"), "-CAkey", path.join(d, "ca.key"),
      "-CAcreateserial", "-CAserial", path.join(d, "ca.srl"), "-days", "2", ...(ext ? ["-extfile", path.join(d, "ext.cnf")] : [])], { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }),
  );
}

/** A CA plus a server certificate for 127.0.0.1 (for local TLS servers). */
export function localServerPki(): { caPem: string; certPem: string; keyPem: string } {
  const ca = rsaKeyPair();
  const caPem = selfSignedCaPem(ca.privateKeyPem, "test-cluster-ca");
  const server = rsaKeyPair();
  const certPem = signPem(csrPem(server.privateKeyPem, "/CN=kube-apiserver"), caPem, ca.privateKeyPem,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  return { caPem, certPem, keyPem: server.privateKeyPem };
}

let pkiCache: SharedPki | undefined;
/** Real-looking shared PKI (so rendered user-data carries real PEM text). */
export function samplePki(): SharedPki {
  if (pkiCache) return pkiCache;
  const ca = rsaKeyPair();
  const fp = rsaKeyPair();
  const etcd = rsaKeyPair();
  const sa = rsaKeyPair();
  pkiCache = {
    caCert: selfSignedCaPem(ca.privateKeyPem, "kubernetes"),
    caKey: ca.privateKeyPem,
    frontProxyCaCert: selfSignedCaPem(fp.privateKeyPem, "front-proxy-ca"),
    frontProxyCaKey: fp.privateKeyPem,
    etcdCaCert: selfSignedCaPem(etcd.privateKeyPem, "etcd-ca"),
    etcdCaKey: etcd.privateKeyPem,
    saKey: sa.privateKeyPem,
    saPub: sa.publicKeyPem,
  };
  return pkiCache;
}

// ---------- schemas ----------

let cloudConfigValidator: ValidateFunction | undefined;
export function cloudConfigSchema(): ValidateFunction {
  if (!cloudConfigValidator) {
    const schema = JSON.parse(readSchemaFile("cloud-init/schema-cloud-config-v1.cloud-init-26.2.json"));
    const ajv = new Ajv04({ strict: false, allErrors: true, validateFormats: false });
    cloudConfigValidator = ajv.compile(schema);
  }
  return cloudConfigValidator;
}

let networkValidator: ValidateFunction | undefined;
export function networkV2Schema(): ValidateFunction {
  if (!networkValidator) {
    const schema = JSON.parse(readSchemaFile("cloud-init/schema-network-config-v2.cloud-init-26.2.json"));
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    networkValidator = ajv.compile(schema);
  }
  return networkValidator;
}

export function ajvErrors(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("\n");
}

/** Realistic, deterministic-per-name outputs for tls and random resources (memoized across runs). */
export function realisticOutputs(): Record<string, OutputsHandler> {
  const memo = new Map<string, Record<string, unknown>>();
  const once = (key: string, make: () => Record<string, unknown>) => {
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key)!;
  };
  const input = (inputs: Record<string, unknown>, k: string) => (unwrapSecrets(inputs) as Record<string, unknown>)[k] as string;
  return {
    "tls:index/privateKey:PrivateKey": (name) => once(`key:${name}`, () => rsaKeyPair()),
    "tls:index/selfSignedCert:SelfSignedCert": (name, inputs) =>
      once(`ca:${name}`, () => {
        const hours = Number((unwrapSecrets(inputs) as { validityPeriodHours?: number }).validityPeriodHours);
        return { certPem: selfSignedCaPem(input(inputs, "privateKeyPem"), (unwrapSecrets(inputs) as any).subject.commonName, hours > 0 ? Math.ceil(hours / 24) : 2) };
      }),
    "tls:index/certRequest:CertRequest": (name, inputs) =>
      once(`csr:${name}`, () => {
        const subject = (unwrapSecrets(inputs) as { subject: { organization: string; commonName: string } }).subject;
        return { certRequestPem: csrPem(input(inputs, "privateKeyPem"), `/O=${subject.organization}/CN=${subject.commonName}`) };
      }),
    "tls:index/locallySignedCert:LocallySignedCert": (name, inputs) =>
      once(`cert:${name}`, () => ({ certPem: signPem(input(inputs, "certRequestPem"), input(inputs, "caCertPem"), input(inputs, "caPrivateKeyPem"), "extendedKeyUsage=clientAuth\n") })),
    "random:index/randomBytes:RandomBytes": (name, inputs) =>
      once(`bytes:${name}`, () => {
        const n = Number((unwrapSecrets(inputs) as Record<string, unknown>).length);
        const bytes = createHash("sha512").update(name).digest().subarray(0, n);
        return { hex: bytes.toString("hex"), base64: bytes.toString("base64") };
      }),
    "random:index/randomString:RandomString": (name, inputs) =>
      once(`rand:${name}`, () => {
        const n = Number((unwrapSecrets(inputs) as Record<string, unknown>).length);
        const digest = createHash("sha256").update(name).digest();
        return { result: Array.from(digest.subarray(0, n), (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("") };
      }),
  };
}

