/**
 * The renewal script (components/cluster/cert-renewal.ts, CERT_RENEWAL_SCRIPT, verbatim) against real
 * certificates (openssl: three CAs with chosen expiry dates, kubeadm's leaves signed by the CA kubeadm
 * signs each with, kubeconfigs with an embedded client certificate) and stand-ins on PATH that record
 * every call: kubeadm (`certs renew all` puts leaves valid 365 days from now in place, signed by the same
 * CAs whatever their expiry: kubernetes/kubernetes v1.34.4 renewal/manager.go RenewUsingLocalCA and
 * pkiutil/pki_helpers.go NewSignedCert do not clamp a leaf to its CA), crictl (a static Pod runs while
 * its manifest is in manifests/) and curl (every API and health check answers).
 *
 * The table: a CA that has expired or expires within the window refuses the run (exit
 * CERT_RENEWAL_EXIT.caExpiring, the CA file named with its date and days, nothing backed up, renewed or
 * restarted: no stand-in called), whichever of the three it is and whether or not the leaves are due.
 * Negative control: the same script with its CA check removed renews under each of those CAs, and the
 * leaves it leaves behind fail `openssl verify` the day after the CA expires.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CA_ROTATION_DOC, CERT_RENEWAL_EXIT, CERT_RENEWAL_SCRIPT, DEFAULT_CERTIFICATE_RENEWAL, KUBEADM_CA_CERTIFICATES, KUBEADM_LEAF_CERTIFICATES,
  LEAF_CERTIFICATE_DAYS, renderCertRenewalUnit,
} from "../../components/cluster/cert-renewal";
import { LEAF_CERTIFICATE_DAYS as LIFECYCLE_LEAF_DAYS } from "../../components/cluster/lifecycle";
import { requireTool, tmpDir } from "./helpers";

const DAY = 86_400_000;
const WINDOW = DEFAULT_CERTIFICATE_RENEWAL.daysBeforeExpiry;
const STATIC_PODS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const KUBECONFIGS = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"];
type Ca = (typeof KUBEADM_CA_CERTIFICATES)[number];

/**
 * The CA kubeadm signs each leaf with (kubernetes/kubernetes v1.34.4 cmd/kubeadm/app/phases/certs/certlist.go:
 * the etcd leaves and apiserver-etcd-client under etcd-ca, front-proxy-client under front-proxy-ca, the
 * rest and the kubeconfigs' client certificates under ca).
 */
const SIGNER: Record<(typeof KUBEADM_LEAF_CERTIFICATES)[number], Ca> = {
  "pki/apiserver.crt": "pki/ca.crt",
  "pki/apiserver-kubelet-client.crt": "pki/ca.crt",
  "pki/apiserver-etcd-client.crt": "pki/etcd/ca.crt",
  "pki/front-proxy-client.crt": "pki/front-proxy-ca.crt",
  "pki/etcd/server.crt": "pki/etcd/ca.crt",
  "pki/etcd/peer.crt": "pki/etcd/ca.crt",
  "pki/etcd/healthcheck-client.crt": "pki/etcd/ca.crt",
};

function openssl(...args: string[]): string {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
/** openssl ca's date form (GeneralizedTime). */
const asn1 = (t: number) => new Date(t).toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
const notAfter = (file: string) => new Date(openssl("x509", "-in", file, "-noout", "-enddate").trim().replace(/^notAfter=/, "")).getTime();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The script's date form. */
const utc = (t: number) => new Date(t).toISOString().slice(0, 16) + "Z";

/** A self-signed CA (openssl ca -selfsign, so both ends of its validity can be chosen, the end in the past too). */
function makeCa(work: string, out: string, cn: string, endDays: number): void {
  const d = fs.mkdtempSync(path.join(work, "ca-"));
  fs.writeFileSync(path.join(d, "ca.cnf"), [
    "[ca]", "default_ca = d", "[d]", `database = ${d}/index.txt`, `new_certs_dir = ${d}`, `serial = ${d}/serial`, "default_md = sha256",
    "policy = p", "unique_subject = no", "email_in_dn = no", "[p]", "commonName = supplied",
    "[v3_ca]", "basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment", "subjectKeyIdentifier = hash", "",
  ].join("\n"));
  fs.writeFileSync(path.join(d, "index.txt"), "");
  fs.writeFileSync(path.join(d, "serial"), "01\n");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const key = out.replace(/\.crt$/, ".key");
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
  openssl("req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", path.join(d, "ca.csr"));
  const now = Date.now();
  openssl("ca", "-batch", "-config", path.join(d, "ca.cnf"), "-selfsign", "-keyfile", key, "-in", path.join(d, "ca.csr"), "-out", out,
    "-startdate", asn1(now - 3650 * DAY), "-enddate", asn1(now + endDays * DAY), "-extensions", "v3_ca", "-notext");
}

interface Pki {
  /** Days from now to each CA's expiry (negative: expired). */
  ca: Record<Ca, number>;
  /** Days from now to every leaf's expiry. */
  leafDays: number;
}

/** A kubeadm control plane's /etc/kubernetes (the CAs, the leaves, the kubeconfigs, the static Pod manifests) and the leaves a renewal writes. */
class ControlPlane {
  readonly k: string;
  readonly renewed: string;
  readonly backup: string;
  readonly calls: string;
  readonly bin: string;
  private readonly leafKey: string;
  private readonly leafCsr: string;
  private serial = 100;

  constructor(readonly work: string, pki: Pki) {
    this.k = path.join(work, "etc-kubernetes");
    this.renewed = path.join(work, "renewed");
    this.backup = path.join(work, "cert-backup");
    this.calls = path.join(work, "calls.log");
    this.bin = path.join(work, "bin");
    this.leafKey = path.join(work, "leaf.key");
    this.leafCsr = path.join(work, "leaf.csr");
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", this.leafKey);
    openssl("req", "-new", "-key", this.leafKey, "-subj", "/CN=kube-apiserver", "-out", this.leafCsr);
    const cns: Record<Ca, string> = { "pki/ca.crt": "kubernetes", "pki/front-proxy-ca.crt": "front-proxy-ca", "pki/etcd/ca.crt": "etcd-ca" };
    for (const ca of KUBEADM_CA_CERTIFICATES) makeCa(work, path.join(this.k, ca), cns[ca], pki.ca[ca]);
    this.leaves(this.k, pki.leafDays);
    // What `kubeadm certs renew all` writes: every leaf and kubeconfig certificate 365 days from now, under the same CAs.
    this.leaves(this.renewed, LEAF_CERTIFICATE_DAYS);
    fs.mkdirSync(path.join(this.k, "manifests"), { recursive: true });
    for (const p of STATIC_PODS) fs.writeFileSync(path.join(this.k, "manifests", `${p}.yaml`), `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p}\n`);
    fs.mkdirSync(this.bin);
    const record = `echo "$(basename "$0") $*" >> ${this.calls}`;
    fs.writeFileSync(path.join(this.bin, "kubeadm"), `#!/bin/bash\n${record}\n[ "$*" = "certs renew all" ] || exit 1\ncp -a ${this.renewed}/. ${this.k}/\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(this.bin, "crictl"), [
      "#!/bin/bash", record,
      // crictl ps --name ^NAME$ --state running -q: running while its manifest is in place.
      'name=""; while [ $# -gt 0 ]; do if [ "$1" = --name ]; then name=${2#^}; name=${name%\\$}; shift; fi; shift; done',
      `if [ -f ${this.k}/manifests/$name.yaml ]; then echo "container-$name"; fi`, "",
    ].join("\n"), { mode: 0o755 });
    fs.writeFileSync(path.join(this.bin, "curl"), `#!/bin/bash\n${record}\necho '{"health":"true"}'\n`, { mode: 0o755 });
  }

  private leaves(root: string, days: number): void {
    for (const rel of KUBEADM_LEAF_CERTIFICATES) this.sign(path.join(root, rel), SIGNER[rel], days);
    for (const c of KUBECONFIGS) {
      const pem = this.sign(path.join(this.work, "tmp", path.basename(root), `${c}.crt`), "pki/ca.crt", days);
      fs.writeFileSync(path.join(root, c), [
        "apiVersion: v1", "kind: Config", "users:", "- name: kubernetes-admin", "  user:",
        `    client-certificate-data: ${Buffer.from(pem).toString("base64")}`, `    client-key-data: ${Buffer.from("key").toString("base64")}`, "",
      ].join("\n"));
    }
  }

  private sign(out: string, ca: Ca, days: number): string {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const caCrt = path.join(this.k, ca);
    openssl("x509", "-req", "-in", this.leafCsr, "-CA", caCrt, "-CAkey", caCrt.replace(/\.crt$/, ".key"), "-set_serial", String(this.serial++), "-days", String(days), "-out", out);
    fs.copyFileSync(this.leafKey, out.replace(/\.crt$/, ".key"));
    return fs.readFileSync(out, "utf8");
  }

  run(script: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
    const file = path.join(this.work, "vsphere-spark-cert-renewal");
    fs.writeFileSync(file, script, { mode: 0o755 });
    const r = spawnSync("bash", [file, "--window-days", String(WINDOW), "--kubernetes-dir", this.k, "--backup-dir", this.backup,
      "--lock-file", path.join(this.work, "renewal.lock"), "--other-api", "192.0.2.12:6443", "--other-api", "192.0.2.13:6443", ...extra],
    { encoding: "utf8", env: { ...process.env, PATH: `${this.bin}:${process.env.PATH}` } });
    return { status: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr };
  }

  /** Every stand-in call, in order. */
  called(): string[] {
    return fs.existsSync(this.calls) ? fs.readFileSync(this.calls, "utf8").trim().split("\n") : [];
  }

  /** The certificates and kubeconfigs as they are now (to show a refusal changed none). */
  snapshot(): Record<string, string> {
    const files = [...KUBEADM_LEAF_CERTIFICATES, ...KUBEADM_CA_CERTIFICATES, ...KUBECONFIGS, ...STATIC_PODS.map((p) => `manifests/${p}.yaml`)];
    return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(this.k, f), "utf8")]));
  }
}

const FINE = 3650;
const cas = (over: Partial<Record<Ca, number>>): Record<Ca, number> => ({ "pki/ca.crt": FINE, "pki/front-proxy-ca.crt": FINE, "pki/etcd/ca.crt": FINE, ...over });

interface Refusal {
  name: string;
  pki: Pki;
  /** The CA the decision line names (the earliest). */
  ca: Ca;
  /** Every CA a REFUSED line must name. */
  refused: Ca[];
  extra?: string[];
}

/** Refused: a CA that has expired or expires within the 30-day window; leaves due (10 days) unless said. */
const REFUSALS: Refusal[] = [
  { name: "ca.crt within the window (20 days)", pki: { ca: cas({ "pki/ca.crt": 20 }), leafDays: 10 }, ca: "pki/ca.crt", refused: ["pki/ca.crt"] },
  { name: "ca.crt expired 5 days ago", pki: { ca: cas({ "pki/ca.crt": -5 }), leafDays: 10 }, ca: "pki/ca.crt", refused: ["pki/ca.crt"] },
  { name: "only front-proxy-ca.crt near expiry (25 days)", pki: { ca: cas({ "pki/front-proxy-ca.crt": 25 }), leafDays: 10 }, ca: "pki/front-proxy-ca.crt", refused: ["pki/front-proxy-ca.crt"] },
  { name: "only etcd/ca.crt near expiry (5 days)", pki: { ca: cas({ "pki/etcd/ca.crt": 5 }), leafDays: 10 }, ca: "pki/etcd/ca.crt", refused: ["pki/etcd/ca.crt"] },
  { name: "etcd/ca.crt expired, front-proxy-ca.crt within the window: both named", pki: { ca: cas({ "pki/etcd/ca.crt": -1, "pki/front-proxy-ca.crt": 12 }), leafDays: 10 }, ca: "pki/etcd/ca.crt", refused: ["pki/etcd/ca.crt", "pki/front-proxy-ca.crt"] },
  { name: "ca.crt within the window while no leaf is due (200 days): refused all the same", pki: { ca: cas({ "pki/ca.crt": 20 }), leafDays: 200 }, ca: "pki/ca.crt", refused: ["pki/ca.crt"] },
  { name: "--check-only: the refusal, not `due`", pki: { ca: cas({ "pki/etcd/ca.crt": 5 }), leafDays: 10 }, ca: "pki/etcd/ca.crt", refused: ["pki/etcd/ca.crt"], extra: ["--check-only"] },
];

/** CERT_RENEWAL_SCRIPT without its CA check: the script as it was before it. */
function withoutCaCheck(): string {
  const old = CERT_RENEWAL_SCRIPT.replace(/^check_cas\n/m, "");
  assert.notEqual(old, CERT_RENEWAL_SCRIPT, "the mutation removed the check (else the control proves nothing)");
  return old;
}

describe("certificate renewal: the CAs' expiry (real openssl certificates, kubeadm, crictl and curl stand-ins)", function () {
  this.timeout(120_000);
  let root = "";
  let n = 0;
  const controlPlane = (pki: Pki) => {
    const dir = path.join(root, `cp-${n++}`);
    fs.mkdirSync(dir);
    return new ControlPlane(dir, pki);
  };

  before(function () {
    requireTool(this, "openssl", "openssl");
    requireTool(this, "flock", "util-linux");
    root = tmpDir("cert-renewal-ca");
  });
  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("facts: kubeadm's three CAs; leaves live 365 days (one constant, the plan's note uses it too); exit 12 is documented in the script and a failure for systemd", () => {
    assert.deepEqual([...KUBEADM_CA_CERTIFICATES], ["pki/ca.crt", "pki/front-proxy-ca.crt", "pki/etcd/ca.crt"]);
    assert.equal(LEAF_CERTIFICATE_DAYS, 365);
    assert.equal(LIFECYCLE_LEAF_DAYS, LEAF_CERTIFICATE_DAYS);
    assert.equal(CERT_RENEWAL_EXIT.caExpiring, 12);
    assert.equal(new Set(Object.values(CERT_RENEWAL_EXIT)).size, Object.keys(CERT_RENEWAL_EXIT).length, "every exit code distinct");
    assert.match(CERT_RENEWAL_SCRIPT, /^# Exit: 0 not due or renewed, .*\n# 12 refused: a CA expires within N days or has expired \(also with --check-only\)\.$/m);
    assert.match(CERT_RENEWAL_SCRIPT, /^ {2}exit 12$/m);
    const unit = renderCertRenewalUnit(DEFAULT_CERTIFICATE_RENEWAL, []);
    assert.match(unit, /^SuccessExitStatus=11$/m, "deferred only: a CA refusal leaves the unit failed");
  });

  it("CAs fine, leaves due: renewed (backup, kubeadm certs renew all, the four static Pods restarted), each CA's expiry logged (the harness can renew)", function () {
    const cp = controlPlane({ ca: cas({}), leafDays: 10 });
    const r = cp.run(CERT_RENEWAL_SCRIPT);
    assert.equal(r.status, CERT_RENEWAL_EXIT.ok, r.stderr);
    assert.match(r.stdout, /^decision=renewed earliest=\S+ days=36[45]$/);
    for (const ca of KUBEADM_CA_CERTIFICATES) assert.match(r.stderr, new RegExp(`^vsphere-spark-cert-renewal: CA ${esc(ca)} expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\dZ \\(in 36(49|50) days\\)$`, "m"));
    assert.match(r.stderr, /due: \S+ expires in (9|10) days \(window: 30 days\); the earliest CA, \S+, expires in 36(49|50) days/);
    const calls = cp.called();
    assert.ok(calls.includes("kubeadm certs renew all"), calls.join("\n"));
    for (const p of STATIC_PODS) assert.ok(calls.some((c) => c.startsWith(`crictl ps --name ^${p}$`)), p);
    assert.equal(fs.readdirSync(cp.backup).length, 1, "one backup");
  });

  it("CAs fine, no leaf due: not due, and the CAs' expiry in the log", function () {
    const cp = controlPlane({ ca: cas({}), leafDays: 200 });
    const r = cp.run(CERT_RENEWAL_SCRIPT);
    assert.equal(r.status, CERT_RENEWAL_EXIT.ok, r.stderr);
    assert.match(r.stdout, /^decision=not-due earliest=\S+ days=(199|200)$/);
    assert.match(r.stderr, /not due: .*; the earliest CA, pki\/\S+, expires in 36(49|50) days$/m);
    for (const ca of KUBEADM_CA_CERTIFICATES) assert.match(r.stderr, new RegExp(`CA ${esc(ca)} expires `));
    assert.deepEqual(cp.called(), []);
  });

  it("a CA beyond the window but before renewed leaves would expire (200 days): renewed, with a warning naming it (refusing would let the leaves lapse first)", function () {
    const cp = controlPlane({ ca: cas({ "pki/front-proxy-ca.crt": 200 }), leafDays: 10 });
    const r = cp.run(CERT_RENEWAL_SCRIPT);
    assert.equal(r.status, CERT_RENEWAL_EXIT.ok, r.stderr);
    assert.match(r.stdout, /^decision=renewed /);
    assert.match(r.stderr, /CA pki\/front-proxy-ca\.crt expires \S+ \(in (199|200) days\), before certificates renewed now would \(365 days\): they stop verifying on that date; rotate this CA before/);
    assert.ok(r.stderr.includes(CA_ROTATION_DOC));
  });

  for (const c of REFUSALS) {
    it(`refused: ${c.name}: exit ${CERT_RENEWAL_EXIT.caExpiring}, the CA named with its date and days, nothing backed up, renewed or restarted`, function () {
      const cp = controlPlane(c.pki);
      const before = cp.snapshot();
      const r = cp.run(CERT_RENEWAL_SCRIPT, ...(c.extra ?? []));
      assert.equal(r.status, CERT_RENEWAL_EXIT.caExpiring, r.stderr);
      const days = c.pki.ca[c.ca];
      const expected = days < 0 ? `(${days}|${days - 1})` : `(${days - 1}|${days})`;
      assert.match(r.stdout, new RegExp(`^decision=ca-expiring earliest=${esc(c.ca)} days=${expected}$`));
      for (const ca of c.refused) {
        const file = path.join(cp.k, ca);
        const end = utc(notAfter(file));
        const d = c.pki.ca[ca];
        const line = d < 0
          ? `${esc(`REFUSED: the CA ${file} expired on ${end} (`)}(${-d}|${1 - d})${esc(" days ago)")}$`
          : `${esc(`REFUSED: the CA ${file} expires on ${end}, in `)}(${d - 1}|${d})${esc(" days, within the 30-day renewal window")}$`;
        assert.match(r.stderr, new RegExp(line, "m"), `${ca}: ${r.stderr}`);
      }
      for (const ca of KUBEADM_CA_CERTIFICATES.filter((x) => !c.refused.includes(x))) assert.doesNotMatch(r.stderr, new RegExp(`REFUSED: the CA ${esc(path.join(cp.k, ca))} `));
      assert.ok(r.stderr.includes(CA_ROTATION_DOC), "kubeadm's manual CA rotation named");
      assert.match(r.stderr, /nothing was backed up, renewed or restarted/);
      assert.match(r.stderr, /Pulumi stack .* does not rotate it/);
      assert.deepEqual(cp.called(), [], "no kubeadm, crictl or curl");
      assert.equal(fs.existsSync(cp.backup), false, "no backup");
      assert.equal(fs.existsSync(path.join(cp.k, "vsphere-spark")), false, "no manifest moved");
      assert.deepEqual(cp.snapshot(), before, "certificates, kubeconfigs and manifests unchanged");
    });
  }

  it("negative control: without the CA check the script renews under each of those CAs (kubeadm called, every static Pod restarted), and the leaves it writes fail openssl verify the day after their CA expires", function () {
    const old = withoutCaCheck();
    for (const c of REFUSALS.filter((x) => x.pki.leafDays < WINDOW && !x.extra)) {
      const cp = controlPlane(c.pki);
      const r = cp.run(old);
      assert.equal(r.status, CERT_RENEWAL_EXIT.ok, `${c.name}: ${r.stderr}`);
      assert.match(r.stdout, /^decision=renewed earliest=\S+ days=36[45]$/, c.name);
      assert.ok(cp.called().includes("kubeadm certs renew all"), c.name);
      assert.equal(fs.readdirSync(cp.backup).length, 1, c.name);
      // The renewed leaf under that CA reads 365 days but verifies only until the CA's expiry.
      const leaf = Object.entries(SIGNER).find(([, ca]) => ca === c.ca)![0];
      const caFile = path.join(cp.k, c.ca);
      const caEnd = notAfter(caFile);
      assert.ok(notAfter(path.join(cp.k, leaf)) > caEnd + 300 * DAY, `${c.name}: ${leaf} outlives ${c.ca}`);
      const verify = (at: number) => spawnSync("openssl", ["verify", "-attime", String(Math.floor(at / 1000)), "-CAfile", caFile, path.join(cp.k, leaf)], { encoding: "utf8" });
      if (caEnd > Date.now()) assert.equal(verify(Date.now()).status, 0, `${c.name}: verifies today`);
      const after = verify(caEnd + DAY);
      assert.notEqual(after.status, 0, `${c.name}: ${leaf} still verifies after ${c.ca} expired`);
      assert.match(after.stdout + after.stderr, /expired/);
    }
  });
});

describe("the renewal settings' defaults whatever module loads first", () => {
  it("cert-renewal.ts no longer imports cloud-init.ts (cert-renewal → cloud-init → settings → cert-renewal was a cycle that left settings with {} as the renewal defaults when cert-renewal.js loaded first; that order is the control)", () => {
    const dist = path.resolve(__dirname, "../../components/cluster");
    for (const first of ["cert-renewal.js", "etcd-backup.js", "lifecycle.js", "cloud-init.js", "settings.js"]) {
      const out = execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(dist, first))}); const s = require(${JSON.stringify(path.join(dist, "settings.js"))}).resolveKubernetesSettings(undefined, "k").settings; process.stdout.write(JSON.stringify([s.certificateRenewal, s.etcdBackup.enabled, require(${JSON.stringify(path.join(dist, "cloud-init.js"))}).BOOTSTRAP_DONE_PATH]))`], { encoding: "utf8" });
      assert.deepEqual(JSON.parse(out), [DEFAULT_CERTIFICATE_RENEWAL, true, "/var/lib/vsphere-spark/bootstrap.done"], `${first} first`);
    }
  });
});
