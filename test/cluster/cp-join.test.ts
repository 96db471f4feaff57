/**
 * Control planes joining a running cluster (issue 17, day two: 3 → 5, and a replaced control plane):
 * once the cluster exists, a joining control plane carries the eight shared CA/SA files in its
 * guestinfo, written to /etc/kubernetes/pki before kubeadm runs (kubeadm's manual certificate
 * distribution), joins with the workers' rotating join token, and has no certificate key anywhere
 * (kubeadm then skips download-certs and checks the files are on disk: sources in
 * components/cluster/topology.ts, renderControlPlaneNode). The first `pulumi up` is unchanged. Each
 * check has its negative control: a render that keeps the certificate key, omits a file or loosens a
 * key's mode is caught.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parse } from "yaml";
import { BOOTSTRAP_SCRIPT_PATH, CERTS_EXPIRED_HINT, PKI_BACKUP_PATH, SHARED_PKI_JOIN_HINT } from "../../components/cluster/cloud-init";
import { KUBEADM_CONFIG_PATH } from "../../components/cluster/kubeadm";
import type { SharedPki } from "../../components/cluster/pki";
import { JOIN_TOKEN_NEEDS, KUBEADM_NODE_GROUP, SHARED_PKI_FILES, bootstrapTokenSecret, caCertHash, joinTokenSecretProblems } from "../../components/cluster/pki";
import { controlPlaneNodes, previousJoiningControlPlane, renderNode, type ClusterSpec } from "../../components/cluster/topology";
import type { ClusterNode } from "../../components/cluster/types";
import { referenceSpec, samplePki } from "./helpers";

const INIT_TOKEN = "abcdef.0123456789abcdef";
const JOIN_TOKEN = "zyxwvu.9876543210zyxwvu";
const CERT_KEY = "fedcba9876543210".repeat(4);

function secrets() {
  const pki = samplePki();
  return { token: INIT_TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY, joinToken: JOIN_TOKEN };
}

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
}
const writeFiles = (userData: string) => (parse(userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: WriteFile[] }).write_files;
const fileOf = (userData: string, p: string) => writeFiles(userData).find((f) => f.path === p);
const scriptOf = (userData: string) => fileOf(userData, BOOTSTRAP_SCRIPT_PATH)!.content;

/**
 * What a control plane joining a running cluster must carry: every shared file with its content and
 * mode (keys 0600), no certificate key in its kubeadm configuration, no `--certificate-key` in its
 * bootstrap, the join token for discovery, and a JoinConfiguration with `controlPlane`. Empty: fine.
 */
function sharedPkiJoinProblems(userData: string, pki: SharedPki, joinToken: string): string[] {
  const out: string[] = [];
  for (const f of SHARED_PKI_FILES) {
    const w = fileOf(userData, f.path);
    if (!w) {
      out.push(`${f.path} missing`);
      continue;
    }
    if (w.content.trim() !== pki[f.field].trim()) out.push(`${f.path}: not the program's ${f.field}`);
    if (w.permissions !== (f.secret ? "0600" : "0644")) out.push(`${f.path}: mode ${w.permissions}`);
  }
  const cfg = fileOf(userData, KUBEADM_CONFIG_PATH)?.content ?? "";
  const doc = (parse(cfg, { version: "1.1" }) ?? {}) as { kind?: string; controlPlane?: Record<string, unknown>; discovery?: { bootstrapToken?: { token?: string } } };
  if (doc.kind !== "JoinConfiguration") out.push(`kubeadm configuration is a ${doc.kind}`);
  if (!doc.controlPlane) out.push("no controlPlane in the JoinConfiguration");
  if (/certificateKey/.test(cfg)) out.push("the kubeadm configuration carries a certificate key");
  if (/--certificate-key/.test(userData)) out.push("the bootstrap passes --certificate-key");
  if (doc.discovery?.bootstrapToken?.token !== joinToken) out.push("discovery does not use the join token");
  return out;
}

describe("control planes joining a running cluster: the shared CA files and the join token", () => {
  const s = secrets();

  for (const kind of ["haproxy", "kube-vip", "external"] as const) {
    it(`${kind}: every control plane rendered once the cluster exists (new, replaced, the first too) carries the eight files (keys 0600), the join token, no certificate key`, () => {
      const spec = referenceSpec(kind, "packages", 1);
      for (const cp of controlPlaneNodes(spec)) {
        const ud = renderNode(spec, cp, s, { clusterExists: true }).userData;
        assert.deepEqual(sharedPkiJoinProblems(ud, s.pki, JOIN_TOKEN), [], cp.name);
        assert.doesNotMatch(ud, new RegExp(`${CERT_KEY}|${INIT_TOKEN.replace(".", "\\.")}`), `${cp.name}: neither the certificate key nor the init token`);
        const script = scriptOf(ud);
        assert.match(script, /kubeadm join --config \/etc\/kubernetes\/vsphere-spark\/kubeadm\.yaml \|\|/);
        assert.doesNotMatch(script, /kubeadm init --config|upload-certs/, "nothing is uploaded or initialised");
        assert.match(script, /step "kubeadm join \(control plane; the shared CA files were written from the guestinfo, the join token authenticates it\)"/);
        assert.ok(script.includes(SHARED_PKI_JOIN_HINT.slice(0, 40)), "its failure hint is about the join token, not kubeadm-certs");
        assert.ok(!script.includes(CERTS_EXPIRED_HINT.slice(0, 40)));
      }
    });
  }

  it("kubeadm's reset empties /etc/kubernetes/pki: the files are kept before the first attempt and put back after every reset", () => {
    const spec = referenceSpec("haproxy", "preinstalled", 1);
    const script = scriptOf(renderNode(spec, controlPlaneNodes(spec)[1], s, { clusterExists: true }).userData);
    assert.ok(script.includes(`PKI_BACKUP=${PKI_BACKUP_PATH}\n[ -d "$PKI_BACKUP" ] || cp -a /etc/kubernetes/pki "$PKI_BACKUP"`));
    assert.ok(script.indexOf("cp -a /etc/kubernetes/pki") < script.indexOf("kubeadm join --config"), "kept before kubeadm ever runs");
    const prepare = script.slice(script.indexOf("prepare_join() {"), script.indexOf("kubeadm_join() {"));
    assert.doesNotMatch(prepare, /kubeadm reset -f/, "every reset in prepare_join goes through reset_node");
    assert.equal((prepare.match(/reset_node/g) ?? []).length, 2, "no etcd client certificate yet, and after the member was removed");
    assert.match(script, /^reset_node\(\) \{ kubeadm reset -f \|\| true; rm -rf \/etc\/kubernetes\/pki; cp -a "\$PKI_BACKUP" \/etc\/kubernetes\/pki; \}$/m);
  });

  it("the first `pulumi up` is unchanged: init with --upload-certs, joins with the init token and the certificate key, no CA keys on the joining ones", () => {
    for (const kind of ["haproxy", "kube-vip"] as const) {
      const spec = referenceSpec(kind, "packages", 1);
      const [first, second, third] = controlPlaneNodes(spec);
      const init = renderNode(spec, first, s).userData;
      assert.match(scriptOf(init), /kubeadm init --config \/etc\/kubernetes\/vsphere-spark\/kubeadm\.yaml --upload-certs/);
      assert.match(fileOf(init, KUBEADM_CONFIG_PATH)!.content, new RegExp(`certificateKey: ${CERT_KEY}`));
      for (const [cp, prev] of [[second, first], [third, second]] as const) {
        const ud = renderNode(spec, cp, s).userData;
        const cfg = fileOf(ud, KUBEADM_CONFIG_PATH)!.content;
        assert.match(cfg, new RegExp(`certificateKey: ${CERT_KEY}`));
        assert.match(cfg, new RegExp(`token: ${INIT_TOKEN}`));
        assert.doesNotMatch(ud, /PRIVATE KEY|PKI_BACKUP|zyxwvu/, `${cp.name}: no CA keys, no join token in the first up`);
        assert.match(scriptOf(ud), new RegExp(`previous control plane ${prev.address.replace(/\./g, "\\.")}`));
        assert.match(scriptOf(ud), /the shared CA files come from kube-system\/kubeadm-certs/);
        // The same render without the join token: it is not read in the first up.
        const { joinToken: _j, ...noJoin } = s;
        assert.equal(renderNode(spec, cp, noJoin).userData, ud);
        // Negative control: the first up's join is caught by the checks above.
        assert.ok(sharedPkiJoinProblems(ud, s.pki, JOIN_TOKEN).length >= 9, "missing files, certificate key, init token");
      }
    }
  });

  it("negative controls: a render that keeps the certificate key, omits a file, loosens a key's mode or uses the init token is caught", () => {
    const spec = referenceSpec("haproxy", "packages", 1);
    const cp = controlPlaneNodes(spec)[2];
    const good = renderNode(spec, cp, s, { clusterExists: true }).userData;
    assert.deepEqual(sharedPkiJoinProblems(good, s.pki, JOIN_TOKEN), []);
    const edit = (f: (files: WriteFile[]) => void) => {
      const doc = parse(good.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: WriteFile[] };
      f(doc.write_files);
      return `#cloud-config\n${JSON.stringify(doc)}`;
    };
    const cfgOf = (files: WriteFile[]) => files.find((f) => f.path === KUBEADM_CONFIG_PATH)!;
    // Keeps the certificate key (in the configuration, or on kubeadm's command line).
    const keyed = edit((fs) => (cfgOf(fs).content = cfgOf(fs).content.replace(/controlPlane:\n/, `controlPlane:\n  certificateKey: ${CERT_KEY}\n`)));
    assert.deepEqual(sharedPkiJoinProblems(keyed, s.pki, JOIN_TOKEN), ["the kubeadm configuration carries a certificate key"]);
    const flag = edit((fs) => {
      const b = fs.find((f) => f.path === BOOTSTRAP_SCRIPT_PATH)!;
      b.content = b.content.replace("kubeadm join --config /etc/kubernetes/vsphere-spark/kubeadm.yaml", `kubeadm join --config /etc/kubernetes/vsphere-spark/kubeadm.yaml --certificate-key ${CERT_KEY}`);
    });
    assert.deepEqual(sharedPkiJoinProblems(flag, s.pki, JOIN_TOKEN), ["the bootstrap passes --certificate-key"]);
    // Omits one file, each in turn.
    for (const f of SHARED_PKI_FILES) {
      const without = edit((fs) => fs.splice(fs.findIndex((x) => x.path === f.path), 1));
      assert.deepEqual(sharedPkiJoinProblems(without, s.pki, JOIN_TOKEN), [`${f.path} missing`]);
    }
    // A key readable by others.
    const loose = edit((fs) => (fs.find((x) => x.path === "/etc/kubernetes/pki/sa.key")!.permissions = "0644"));
    assert.deepEqual(sharedPkiJoinProblems(loose, s.pki, JOIN_TOKEN), ["/etc/kubernetes/pki/sa.key: mode 0644"]);
    // Another cluster's CA.
    const other = edit((fs) => (fs.find((x) => x.path === "/etc/kubernetes/pki/ca.crt")!.content = s.pki.frontProxyCaCert));
    assert.deepEqual(sharedPkiJoinProblems(other, s.pki, JOIN_TOKEN), ["/etc/kubernetes/pki/ca.crt: not the program's caCert"]);
    // The init token (expired after bootstrapTokenTtl) instead of the join token.
    assert.deepEqual(sharedPkiJoinProblems(good, s.pki, INIT_TOKEN), ["discovery does not use the join token"]);
  });

  it("without the join token, a control plane of an existing cluster is not rendered (no silent fallback to the init token)", () => {
    const spec = referenceSpec("haproxy", "packages", 1);
    const { joinToken: _j, ...noJoin } = s;
    assert.throws(() => renderNode(spec, controlPlaneNodes(spec)[1], noJoin, { clusterExists: true }), /needs the join token/);
  });
});

describe("the failure hints name the kubeadm configuration whatever module loads first", () => {
  it("kubeadm.ts → settings.ts → cert-renewal.ts → cloud-init.ts is a cycle: the path lives in a leaf module (negative control: the hint read after loading kubeadm.js first)", () => {
    const dist = path.resolve(__dirname, "../../components/cluster");
    for (const first of ["kubeadm.js", "topology.js", "lifecycle.js", "cloud-init.js"]) {
      const hint = execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(dist, first))}); process.stdout.write(require(${JSON.stringify(path.join(dist, "cloud-init.js"))}).CERTS_EXPIRED_HINT)`], { encoding: "utf8" });
      assert.ok(hint.endsWith(`--config ${KUBEADM_CONFIG_PATH}`), `${first} first: ${hint}`);
      assert.doesNotMatch(hint, /undefined/);
    }
  });
});

describe("control planes joining a running cluster: one after the other", () => {
  const cps = (n: number): ClusterNode[] => Array.from({ length: n }, (_, i) => ({ name: `cp-${i + 1}`, role: "control-plane", address: `192.168.1.${11 + i}`, macAddress: "00:50:56:00:00:01", cpus: 2, memoryMiB: 4096 }));
  const prev = (list: ClusterNode[], running?: string[]) => list.map((_, i) => previousJoiningControlPlane(list, i, running)?.name ?? "-");

  it("3 → 5: the fourth waits for nobody (the running ones serve), the fifth for the fourth", () => {
    assert.deepEqual(prev(cps(5), ["cp-1", "cp-2", "cp-3"]), ["-", "-", "-", "-", "cp-4"]);
  });
  it("new ones between running ones still chain to each other, never to a running one", () => {
    // Order cp-1 (running), cp-2 (new), cp-3 (running), cp-4 (new), cp-5 (running); only the new ones' answer is used.
    const p = prev(cps(5), ["cp-1", "cp-3", "cp-5"]);
    assert.deepEqual([p[1], p[3]], ["-", "cp-2"]);
    // Negative control: the order alone (no running list) lets cp-4 wait for cp-3 (running) and join beside cp-2.
    assert.deepEqual(prev(cps(5)), ["-", "cp-1", "cp-2", "cp-3", "cp-4"]);
  });
  it("a replaced first control plane waits for nobody; the render says whom each waits for", () => {
    const spec: ClusterSpec = referenceSpec("haproxy", "packages", 1);
    const s = secrets();
    const [first, second, third] = controlPlaneNodes(spec);
    const script = (n: ClusterNode, running?: string[]) => scriptOf(renderNode(spec, n, s, { clusterExists: true, runningControlPlanes: running }).userData);
    assert.doesNotMatch(script(first, ["cp-2", "cp-3"]), /previous control plane/);
    assert.doesNotMatch(script(third, ["cp-1", "cp-2"]), /previous control plane/, "one new control plane: the running ones serve already");
    assert.match(script(third, ["cp-1"]), new RegExp(`previous control plane ${second.address.replace(/\./g, "\\.")}`), "two new: the second waits for the first");
  });
});

describe("the join token's Secret: what kubeadm's discovery and TLS bootstrap need (control-plane joins use it too)", () => {
  const secret = bootstrapTokenSecret(JOIN_TOKEN, "24h", new Date("2026-12-05T00:00:00Z"), "test").stringData;

  it("table: both usages true and kubeadm's node group (sources in components/cluster/pki.ts)", () => {
    assert.deepEqual(
      JOIN_TOKEN_NEEDS.map((n) => [n.key, n.value]),
      [
        ["usage-bootstrap-authentication", "true"],
        ["usage-bootstrap-signing", "true"],
        ["auth-extra-groups", "system:bootstrappers:kubeadm:default-node-token"],
      ],
    );
    assert.equal(KUBEADM_NODE_GROUP, "system:bootstrappers:kubeadm:default-node-token");
    for (const n of JOIN_TOKEN_NEEDS) assert.ok(secret[n.key].split(",").includes(n.value), n.key);
    assert.deepEqual(joinTokenSecretProblems(secret), []);
    assert.equal(secret.expiration, "2026-12-06T00:00:00Z");
  });

  it("negative controls: each need removed or wrong is named", () => {
    for (const n of JOIN_TOKEN_NEEDS) {
      const { [n.key]: _gone, ...without } = secret;
      assert.deepEqual(joinTokenSecretProblems(without).length, 1, n.key);
      assert.match(joinTokenSecretProblems({ ...secret, [n.key]: "false" })[0], new RegExp(`^${n.key} must`));
    }
    assert.deepEqual(joinTokenSecretProblems({ ...secret, "auth-extra-groups": "system:bootstrappers:other,system:bootstrappers:kubeadm:default-node-token" }), [], "another group beside it is fine");
  });
});
