import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import type { EndpointKind } from "../../components/cluster/types";
import type { InstallMode } from "../../components/cluster/settings";
import {
  guestinfo, renderMetaData, renderBootstrapHook, renderBootstrapUnit, GUESTINFO_KEYS, BOOTSTRAP_SCRIPT_PATH, BOOTSTRAP_HOOK_PATH,
  BOOTSTRAP_UNIT_PATH, KUBERNETES_SOURCE_STAGING_PATH,
} from "../../components/cluster/cloud-init";
import { renderNode, renderWorkerNode } from "../../components/cluster/topology";
import { caCertHash } from "../../components/cluster/pki";
import { ajvErrors, cloudConfigSchema, networkV2Schema, referenceSpec, requireTool, samplePki, tmpDir, NETWORK } from "./helpers";

const run = promisify(execFile);
const KINDS: EndpointKind[] = ["haproxy", "kube-vip", "external"];
const MODES: InstallMode[] = ["packages", "preinstalled"];
const TOKEN = "abcdef.0123456789abcdef";
const CERT_KEY = "fedcba9876543210".repeat(4);
const JOIN_TOKEN = "zyxwvu.9876543210zyxwvu";

interface Case {
  label: string;
  userData: string;
  metaData: string;
}

function allCases(): Case[] {
  const pki = samplePki();
  const secrets = { token: TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY, joinToken: JOIN_TOKEN };
  const out: Case[] = [];
  for (const kind of KINDS)
    for (const mode of MODES) {
      const spec = referenceSpec(kind, mode, 2);
      for (const node of spec.nodes) {
        const r = renderNode(spec, node, secrets);
        out.push({ label: `${kind}/${mode}/${node.name}`, userData: r.userData, metaData: r.metaData });
      }
      // Control planes joining a running cluster (the shared CA files and the join token).
      for (const node of spec.nodes.filter((n) => n.role === "control-plane")) {
        const r = renderNode(spec, node, secrets, { clusterExists: true });
        out.push({ label: `${kind}/${mode}/${node.name}/cluster-exists`, userData: r.userData, metaData: r.metaData });
      }
    }
  return out;
}

function writeFileYaml(body: Record<string, unknown>, p: string): unknown {
  const files = body.write_files as Array<Record<string, unknown>>;
  return files.find((f) => f.path === p);
}

describe("cluster cloud-init user-data", function () {
  const cases = allCases();

  it("covers every role, endpoint kind and install mode", () => {
    // 3 kinds × (3 CPs + 2 workers + 3 CPs joining a running cluster), + the LB with haproxy; × 2 modes
    assert.equal(cases.length, 2 * (3 * (3 + 2 + 3) + 1));
    assert.ok(cases.some((c) => c.label.endsWith("/cluster-exists") && c.userData.includes("PRIVATE KEY")));
    assert.ok(cases.some((c) => c.label.endsWith("/lb")));
  });

  it("passes the cloud-init 26.2 schema (Ajv, YAML 1.1) and starts with #cloud-config", () => {
    const validate = cloudConfigSchema();
    for (const c of cases) {
      assert.ok(c.userData.startsWith("#cloud-config\n"), `${c.label}: header`);
      const doc = parse(c.userData, { version: "1.1" });
      assert.ok(validate(doc), `${c.label}:\n${ajvErrors(validate)}`);
    }
  });

  it("passes `cloud-init schema --config-file` (installed cloud-init)", async function () {
    requireTool(this, "cloud-init", "cloud-init");
    const dir = tmpDir("cloud-init");
    try {
      const results = await Promise.all(
        cases.map(async (c, i) => {
          const f = path.join(dir, `${i}.yaml`);
          fs.writeFileSync(f, c.userData);
          try {
            const r = await run("cloud-init", ["schema", "--config-file", f]);
            return { c, ok: true, out: r.stdout + r.stderr };
          } catch (e) {
            const x = e as { stdout?: string; stderr?: string };
            return { c, ok: false, out: `${x.stdout ?? ""}${x.stderr ?? ""}` };
          }
        }),
      );
      const bad = results.filter((r) => !r.ok || !/Valid/.test(r.out));
      assert.deepEqual(bad.map((r) => `${r.c.label}: ${r.out}`), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects what the validators should reject (negative control)", () => {
    const validate = cloudConfigSchema();
    const doc = parse(cases[0].userData, { version: "1.1" }) as Record<string, unknown>;
    (doc.write_files as Array<Record<string, unknown>>)[0].permissions = 0o600;
    assert.equal(validate(doc), false);
    assert.equal(validate({ ...parse(cases[0].userData, { version: "1.1" }), write_file: [] }), false);
  });

  it("quotes file modes, sets owner root:root and keeps keys 0600", () => {
    for (const c of cases) {
      assert.doesNotMatch(c.userData, /permissions: 0\d{3}\b/, c.label);
      const doc = parse(c.userData, { version: "1.1" }) as Record<string, unknown>;
      for (const f of doc.write_files as Array<Record<string, unknown>>) {
        assert.equal(f.owner, "root:root", `${c.label} ${f.path}`);
        assert.match(String(f.permissions), /^0[0-7]{3}$/);
        if (/\.key$|kubeadm\.yaml$/.test(String(f.path))) assert.equal(f.permissions, "0600", `${c.label} ${f.path}`);
        if (/PRIVATE KEY/.test(String(f.content))) assert.equal(f.permissions, "0600", `${c.label} ${f.path}: a private key is 0600`);
      }
      // Not runcmd (once per instance, marked done before it runs): a per-boot hook and a retrying unit.
      assert.equal(doc.runcmd, undefined, c.label);
      assert.equal(doc.packages, undefined, `${c.label}: packages are installed by the retried bootstrap`);
      assert.deepEqual(
        (doc.write_files as Array<Record<string, unknown>>).filter((f) => [BOOTSTRAP_SCRIPT_PATH, BOOTSTRAP_HOOK_PATH, BOOTSTRAP_UNIT_PATH].includes(String(f.path))).map((f) => [f.path, f.permissions]),
        [[BOOTSTRAP_SCRIPT_PATH, "0700"], [BOOTSTRAP_UNIT_PATH, "0644"], [BOOTSTRAP_HOOK_PATH, "0700"]],
        c.label,
      );
    }
  });

  it("puts the right things on each role", () => {
    const spec = referenceSpec("kube-vip", "packages", 2);
    const pki = samplePki();
    const secrets = { token: TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY };
    const by = (name: string) => parse(renderNode(spec, spec.nodes.find((n) => n.name === name)!, secrets).userData, { version: "1.1" }) as Record<string, unknown>;
    const cp1 = by("cp-1");
    const cp2 = by("cp-2");
    const w = by("worker-1");
    const script = (d: Record<string, unknown>) => String((writeFileYaml(d, BOOTSTRAP_SCRIPT_PATH) as Record<string, unknown>).content);
    assert.match(script(cp1), /kubeadm init --config \/etc\/kubernetes\/vsphere-spark\/kubeadm\.yaml --upload-certs /);
    assert.match(script(cp1), /super-admin\.conf/);
    assert.match(script(cp2), /kubeadm join --config/);
    assert.doesNotMatch(script(cp2), /kubeadm init --config|PKI_BACKUP/, "a joining control plane downloads the CA files on each attempt");
    assert.match(script(cp2), /kubeadm init phase upload-certs --upload-certs --config/, "says how to upload them again");
    assert.match(script(cp2), /previous control plane 192\.168\.1\.11/);
    assert.match(script(w), /kubeadm join --config/);
    assert.ok(writeFileYaml(cp1, "/etc/kubernetes/pki/ca.key"));
    assert.equal(writeFileYaml(cp2, "/etc/kubernetes/pki/etcd/ca.key"), undefined, "joining control planes get no CA keys");
    assert.ok(writeFileYaml(cp1, "/etc/kubernetes/vsphere-spark/kube-vip.yaml"));
    assert.equal(writeFileYaml(w, "/etc/kubernetes/pki/ca.key"), undefined);
    assert.equal(writeFileYaml(w, "/etc/kubernetes/vsphere-spark/kube-vip.yaml"), undefined);
    // Control planes also need openssl (the certificate renewal reads expiry dates with it); workers do not.
    assert.match(script(cp1), /^retry 3 apt_install containerd curl gnupg ca-certificates openssl$/m);
    assert.match(script(w), /^retry 3 apt_install containerd curl gnupg ca-certificates$/m);
    assert.match(script(cp1), /kubeadm=1\.31\.4-1\.1/);
    assert.match(String((writeFileYaml(cp1, KUBERNETES_SOURCE_STAGING_PATH) as Record<string, unknown>).content), /pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/deb/);
    assert.equal(writeFileYaml(cp1, "/etc/apt/sources.list.d/kubernetes.list"), undefined, "moved into place only once the key is there");
    // The 8 shared files are on the init node only; the others carry only the certificate key.
    const pkiPaths = (d: Record<string, unknown>) =>
      (d.write_files as Array<Record<string, unknown>>).filter((f) => String(f.path).startsWith("/etc/kubernetes/pki/")).map((f) => [f.path, f.content]);
    assert.equal(pkiPaths(cp1).length, 8);
    assert.deepEqual(pkiPaths(cp2), []);
    assert.doesNotMatch(JSON.stringify(cp2), /PRIVATE KEY/);
    assert.doesNotMatch(JSON.stringify(w), /PRIVATE KEY|certificateKey/);
    const kubeadmYaml = (d: Record<string, unknown>) => String((writeFileYaml(d, "/etc/kubernetes/vsphere-spark/kubeadm.yaml") as Record<string, unknown>).content);
    for (const d of [cp1, cp2]) assert.match(kubeadmYaml(d), new RegExp(`certificateKey: ${CERT_KEY}`));
    assert.deepEqual((cp1.users as unknown[])[1], {
      name: "kadmin", groups: ["sudo"], shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", lock_passwd: true,
      ssh_authorized_keys: [spec.settings.sshAuthorizedKeys[0]],
    });
    const hap = referenceSpec("haproxy", "preinstalled", 1);
    const lb = parse(renderNode(hap, hap.nodes.find((n) => n.role === "load-balancer")!, secrets).userData, { version: "1.1" }) as Record<string, unknown>;
    assert.equal(lb.packages, undefined);
    assert.match(script(lb), /^retry 3 apt_install haproxy$/m);
    assert.match(String((writeFileYaml(lb, "/etc/haproxy/haproxy.cfg") as Record<string, unknown>).content), /server cp-3 192\.168\.1\.13:6443 check/);
    const pre = parse(renderNode(hap, hap.nodes[0], secrets).userData, { version: "1.1" }) as Record<string, unknown>;
    assert.equal(pre.packages, undefined);
    assert.match(script(pre), /v1\.31\.4 expected \(installMode: preinstalled\)/);
    // preinstalled: containerd's config is ours too (a template's SystemdCgroup=false breaks the kubelet), curl is ensured.
    assert.match(String((writeFileYaml(pre, "/etc/containerd/config.toml") as Record<string, unknown>).content), /SystemdCgroup = true/);
    assert.match(script(pre), /^retry 3 apt_install containerd curl ca-certificates openssl$/m);
  });

  it("renders a worker from endpoint, token and CA hash only", () => {
    const a = referenceSpec("haproxy", "packages", 2);
    const b = referenceSpec("haproxy", "packages", 9);
    b.nodes[1] = { ...b.nodes[1], address: "192.168.1.99" }; // another control plane moved
    const w = a.nodes.find((n) => n.name === "worker-1")!;
    const s = { token: TOKEN, caCertHash: "sha256:" + "a".repeat(64) };
    const ra = renderWorkerNode(a, w, s);
    assert.equal(ra.userData, renderNode(b, w, { ...s, pki: samplePki(), certificateKey: CERT_KEY }).userData);
    assert.notEqual(ra.userData, renderWorkerNode(a, w, { ...s, token: "zzzzzz.0123456789abcdef" }).userData);
  });
});

describe("cluster meta-data and guestinfo", () => {
  it("meta-data carries instance-id, hostname and a network v2 config that validates", () => {
    const validate = networkV2Schema();
    const spec = referenceSpec("haproxy", "packages", 1);
    for (const net of [NETWORK, { ...NETWORK, interfaceName: "eth0", searchDomains: [] }]) {
      for (const node of spec.nodes) {
        const md = parse(renderMetaData(node, net), { version: "1.1" }) as Record<string, unknown>;
        assert.equal(md["local-hostname"], node.name);
        assert.match(String(md["instance-id"]), new RegExp(`^${node.name}-[0-9a-f]{12}$`));
        assert.deepEqual(md.redact, ["userdata"]);
        assert.ok(validate(md.network), ajvErrors(validate));
        const eth = Object.values((md.network as { ethernets: Record<string, Record<string, unknown>> }).ethernets)[0];
        assert.deepEqual(eth.addresses, [`${node.address}/24`]);
        // cloud-init 22.4 (Debian 12) rejects `to: default` outside netplan ("Address default is not a valid ip address").
        assert.deepEqual(eth.routes, [{ to: "0.0.0.0/0", via: "192.168.1.1" }]);
        assert.equal(eth.dhcp6, false);
        assert.equal(eth["accept-ra"], false, "dhcp6: false alone still takes a SLAAC address");
      }
    }
    assert.equal(validate({ version: 2, ethernets: { x: { addresses: "not-a-list" } } }), false);
  });

  it("matches the NIC by its static MAC and names it (any slot, any first-boot name)", () => {
    const validate = networkV2Schema();
    const node = { ...referenceSpec("haproxy", "packages", 1).nodes[0], macAddress: "00:50:56:3F:00:0A" };
    for (const [net, name] of [[NETWORK, "ens192"], [{ ...NETWORK, interfaceName: "eth0" }, "eth0"]] as const) {
      const md = parse(renderMetaData(node, net), { version: "1.1" }) as { network: { ethernets: Record<string, Record<string, unknown>> } };
      assert.ok(validate(md.network), ajvErrors(validate));
      assert.deepEqual(Object.keys(md.network.ethernets), [name]);
      const eth = md.network.ethernets[name];
      assert.deepEqual(eth.match, { macaddress: "00:50:56:3f:00:0a" });
      assert.equal(eth["set-name"], name);
    }
  });

  it("bootstrap with a scratch disk: mounts it at /var/lib/kubelet before the kubelet is installed; valid bash; none without one", async function () {
    requireTool(this, "shellcheck", "shellcheck");
    const spec = referenceSpec("haproxy", "packages", 1);
    const pki = samplePki();
    const secrets = { token: TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY };
    const worker = spec.nodes.find((n) => n.role === "worker")!;
    const script = (node: typeof worker) =>
      String((writeFileYaml(parse(renderNode(spec, node, secrets).userData, { version: "1.1" }) as Record<string, unknown>, BOOTSTRAP_SCRIPT_PATH) as Record<string, unknown>).content);
    const withDisk = script({ ...worker, scratchDiskGiB: 400 });
    const f = path.join(tmpDir("scratch"), "s.sh");
    fs.writeFileSync(f, withDisk);
    await run("bash", ["-n", f]);
    await run("shellcheck", ["-S", "warning", f]).catch((e) => assert.fail(e.stdout));
    // The disk of exactly 400 GiB (429496729600 bytes), formatted once (labelled), mounted by label.
    assert.match(withDisk, /\$2 == 429496729600 && \$3 == "disk"/);
    assert.match(withDisk, /mkfs\.ext4 -q -L vsphere-spark-kubelet "\$dev"/);
    assert.match(withDisk, /LABEL=vsphere-spark-kubelet \/var\/lib\/kubelet ext4 defaults,nofail 0 2/);
    assert.ok(withDisk.indexOf("mount /var/lib/kubelet") < withDisk.indexOf("apt_install kubelet="), "mounted before the kubelet is installed");
    assert.doesNotMatch(script(worker), /scratch disk|vsphere-spark-kubelet/, "negative control: no scratch disk, no mount");
  });

  it("bootstrap: valid bash, resumable, and its unit and per-boot hook are what the lab boots", async function () {
    requireTool(this, "shellcheck", "shellcheck");
    const { stdout: bad } = await run("sh", ["-c", "printf '#!/bin/bash\\nf() { local x=$(false); }\\n' > \"${TMPDIR:-/tmp}/vss-sc-neg.sh\"; shellcheck -S warning \"${TMPDIR:-/tmp}/vss-sc-neg.sh\" || true"]);
    assert.match(bad, /SC2155/, "shellcheck reports warnings (negative control)");
    const spec = referenceSpec("haproxy", "packages", 1);
    const pki = samplePki();
    const secrets = { token: TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY, joinToken: JOIN_TOKEN };
    const dir = tmpDir("bootstrap");
    try {
      // Every node of the first up, and the control planes joining a running cluster.
      const renders = [
        ...spec.nodes.map((node) => ({ node, userData: renderNode(spec, node, secrets).userData })),
        ...spec.nodes.filter((n) => n.role === "control-plane").map((node) => ({ node, userData: renderNode(spec, node, secrets, { clusterExists: true }).userData })),
      ];
      for (const { node, userData } of renders) {
        const doc = parse(userData, { version: "1.1" }) as Record<string, unknown>;
        for (const p of [BOOTSTRAP_SCRIPT_PATH, BOOTSTRAP_HOOK_PATH]) {
          const f = path.join(dir, "s.sh");
          fs.writeFileSync(f, String((writeFileYaml(doc, p) as Record<string, unknown>).content));
          await run("bash", ["-n", f]);
          await run("shellcheck", ["-S", "warning", f]).catch((e) => assert.fail(`${p} on ${node.name}: ${e.stdout}`));
        }
        const script = String((writeFileYaml(doc, BOOTSTRAP_SCRIPT_PATH) as Record<string, unknown>).content);
        assert.match(script, /^if \[ -f \/var\/lib\/vsphere-spark\/bootstrap\.done \]; then .*exit 0; fi$/m, "skips once done");
        assert.match(script, /^flock 9$/m, "never two attempts at once");
        assert.match(script, /DPkg::Lock::Timeout=600/, "waits for the dpkg lock");
        assert.match(script, /> ?\/var\/lib\/vsphere-spark\/bootstrap\.done$/m);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const unit = renderBootstrapUnit();
    for (const l of ["Type=oneshot", "Restart=on-failure", "StartLimitIntervalSec=0", "ConditionPathExists=!/var/lib/vsphere-spark/bootstrap.done", "After=network-online.target cloud-final.service"])
      assert.match(unit, new RegExp(`^${l.replace(/[.!]/g, "\\$&")}$`, "m"), l);
    assert.doesNotMatch(unit, /\[Install\]/, "started by the hook, never part of a boot target (cloud-final is After=multi-user.target)");
    assert.match(renderBootstrapHook(), /^systemctl start --no-block vsphere-spark-bootstrap\.service$/m);
  });

  it("encodes user-data gzip+base64 and meta-data base64, and round-trips", () => {
    const g = guestinfo("#cloud-config\nhostname: a\n", "instance-id: a\n");
    assert.deepEqual(Object.keys(g).sort(), [GUESTINFO_KEYS.metaData, GUESTINFO_KEYS.metaDataEncoding, GUESTINFO_KEYS.userData, GUESTINFO_KEYS.userDataEncoding].sort());
    assert.equal(g["guestinfo.userdata.encoding"], "gzip+base64");
    assert.equal(g["guestinfo.metadata.encoding"], "base64");
    assert.equal(gunzipSync(Buffer.from(g["guestinfo.userdata"], "base64")).toString(), "#cloud-config\nhostname: a\n");
    assert.equal(Buffer.from(g["guestinfo.metadata"], "base64").toString(), "instance-id: a\n");
    assert.deepEqual(guestinfo("x", "y"), guestinfo("x", "y"), "deterministic (no gzip timestamp)");
  });
});
