/**
 * Bring-up decisions (issue 17, item 7): "kubeadm done" comes from the marker written after
 * kubeadm's last phase, never from kubelet.conf; a control plane never resets before its own etcd
 * member is removed through the others; retries are bounded and a node that gave up says so; once
 * the cluster exists the first control plane joins. The behaviour runs in the boot lab
 * (test/boot/first-boot.boot.ts: power cuts during init and during a control-plane join) and, for
 * the membership script, against a real etcd (test/lab/etcd-membership.lab.ts); these tests pin
 * the rendered documents and the facts they rest on.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import {
  BOOTSTRAP_GAVE_UP_PATH, BOOTSTRAP_SCRIPT_PATH, GAVE_UP_EXIT, KUBEADM_DONE_PATH, KUBEADM_LEFTOVERS, MAX_KUBEADM_ATTEMPTS, STATUS_GUESTINFO_KEY,
  renderBootstrapHook, renderBootstrapUnit,
} from "../../components/cluster/cloud-init";
import { ETCD_MEMBER_SCRIPT, ETCD_MEMBER_SCRIPT_PATH, etcdPeerUrl } from "../../components/cluster/etcd-member";
import { controlPlaneNodes, renderNode } from "../../components/cluster/topology";
import { caCertHash } from "../../components/cluster/pki";
import { referenceSpec, requireTool, samplePki, tmpDir } from "./helpers";

const TOKEN = "abcdef.0123456789abcdef";
const CERT_KEY = "fedcba9876543210".repeat(4);
const JOIN_TOKEN = "zyxwvu.9876543210zyxwvu";

function secrets() {
  const pki = samplePki();
  return { token: TOKEN, caCertHash: caCertHash(pki.caCert), pki, certificateKey: CERT_KEY };
}

function writeFiles(userData: string): { path: string; content: string; permissions: string }[] {
  return (parse(userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: { path: string; content: string; permissions: string }[] }).write_files;
}
function scriptOf(userData: string): string {
  return writeFiles(userData).find((f) => f.path === BOOTSTRAP_SCRIPT_PATH)!.content;
}

/**
 * kubeadm's phases, in order, and what each leaves on disk (kubernetes/kubernetes
 * cmd/kubeadm/app/cmd/init.go and join.go, the phases under cmd/phases/init and cmd/phases/join).
 * `last`: the phase after which kubeadm exits 0.
 */
const PHASES = {
  init: {
    order: ["preflight", "certs", "kubeconfig", "etcd", "control-plane", "kubelet-start", "wait-control-plane", "upload-config", "upload-certs", "mark-control-plane", "bootstrap-token", "kubelet-finalize", "addon", "show-join-command"],
    writes: { kubeconfig: ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"], etcd: ["/etc/kubernetes/manifests/etcd.yaml", "/var/lib/etcd/member"], "control-plane": ["/etc/kubernetes/manifests/kube-apiserver.yaml"], "kubelet-start": ["/var/lib/kubelet/config.yaml"] } as Record<string, string[]>,
  },
  joinControlPlane: {
    order: ["preflight", "control-plane-prepare", "check-etcd", "kubelet-start", "control-plane-join"],
    writes: { "control-plane-prepare": ["/etc/kubernetes/admin.conf", "/etc/kubernetes/manifests/kube-apiserver.yaml"], "kubelet-start": ["/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/config.yaml"], "control-plane-join": ["/etc/kubernetes/manifests/etcd.yaml", "/var/lib/etcd/member"] } as Record<string, string[]>,
  },
};

/** The check: the script decides "kubeadm done" from the marker alone, and writes it only after kubeadm exited 0. */
function decidesDoneFromMarker(script: string): string | undefined {
  if (/if \[ -f \/etc\/kubernetes\/kubelet\.conf \]/.test(script)) return "decides from kubelet.conf";
  if (!script.includes(`if [ -f ${KUBEADM_DONE_PATH} ]; then`)) return "no completion marker test";
  const m = /kubeadm (init|join) --config [^\n]*\|\| (?:return 1|\{[^\n]*return 1; \})\n\s*kubeadm_done (init|join)/.exec(script);
  if (!m) return "the marker is not written right after kubeadm exited 0";
  return undefined;
}

describe("bring-up: kubeadm's completion, not kubelet.conf", () => {
  it("kubelet.conf is written long before kubeadm's last phase (the facts), and every leftover the bootstrap looks for is one kubeadm writes", () => {
    const init = PHASES.init;
    assert.ok(init.order.indexOf("kubeconfig") < init.order.indexOf("etcd"));
    assert.ok(init.order.indexOf("kubeconfig") < init.order.indexOf("upload-certs"));
    assert.ok(init.order.indexOf("kubeconfig") < init.order.indexOf("bootstrap-token"));
    const join = PHASES.joinControlPlane;
    assert.ok(join.order.indexOf("kubelet-start") < join.order.indexOf("control-plane-join"), "kubelet.conf before the etcd member is announced");
    const written = new Set([...Object.values(init.writes), ...Object.values(join.writes)].flat());
    for (const f of KUBEADM_LEFTOVERS) assert.ok(written.has(f), `${f} is something kubeadm writes`);
  });

  it("every kubeadm node decides from the marker written after kubeadm exited 0; negative control: the old kubelet.conf test is caught", () => {
    const spec = referenceSpec("haproxy", "preinstalled", 1);
    const s = secrets();
    for (const node of spec.nodes.filter((n) => n.role !== "load-balancer")) {
      const script = scriptOf(renderNode(spec, node, s).userData);
      assert.equal(decidesDoneFromMarker(script), undefined, node.name);
    }
    const old = [
      "if [ -f /etc/kubernetes/kubelet.conf ]; then",
      '  log "kubeadm already done on this node"',
      "else",
      "  kubeadm_join() { kubeadm join --config /etc/kubernetes/vsphere-spark/kubeadm.yaml || { reset_node; return 1; }; }",
      "  retry 3 kubeadm_join",
      "fi",
    ].join("\n");
    assert.equal(decidesDoneFromMarker(old), "decides from kubelet.conf");
  });
});

describe("bring-up: a control plane's failed join never resets past its etcd member", () => {
  const spec = referenceSpec("haproxy", "preinstalled", 1);
  const cps = controlPlaneNodes(spec);
  const join = () => scriptOf(renderNode(spec, cps[1], secrets()).userData);

  /** The check: `kubeadm reset` only after the membership script said the member is gone (or none can exist). */
  function resetsOnlyAfterLeave(script: string): string | undefined {
    const resets = [...script.matchAll(/^.*kubeadm reset.*$/gm)].map((m) => m[0].trim());
    for (const r of resets) {
      if (r === "0) kubeadm reset -f || true ;;") continue; // leave: not (or no longer) a member
      if (r === "kubeadm reset -f || true" && /no etcd client certificate[^\n]*\n\s*kubeadm reset -f/.test(script)) continue; // never got to announce one
      return `resets without removing its member first: ${r}`;
    }
    if (/kubeadm join[^\n]*\|\|[^\n]*reset/.test(script)) return "resets on a failed join";
    return undefined;
  }

  it("resets only after `leave` removed its member (or before kubeadm could announce one); refuses otherwise; negative control: the old blind reset is caught", () => {
    const script = join();
    assert.equal(resetsOnlyAfterLeave(script), undefined);
    assert.match(script, /etcd_member leave "\$OTHER_ETCD" \|\| rc=\$\?/);
    assert.match(script, new RegExp(`--self-peer-url ${etcdPeerUrl(cps[1].address).replace(/\./g, "\\.")} `));
    // The other control planes' etcd, never its own.
    const others = cps.filter((n) => n !== cps[1]).map((n) => `https://${n.address}:2379`).join(",");
    assert.ok(script.includes(`OTHER_ETCD='${others}'`), others);
    assert.match(script, /3\) log "no other control plane's etcd answered[^\n]*return 1 ;;/, "membership unknown: no reset, the attempt fails");
    assert.match(script, /\*\) give_up "could not remove this node's etcd member/, "removal refused: gives up without resetting");
    const old = "reset_node() { kubeadm reset -f || true; }\nkubeadm_join() { kubeadm join --config /etc/kubernetes/vsphere-spark/kubeadm.yaml || { reset_node; return 1; }; }";
    assert.match(String(resetsOnlyAfterLeave(old)), /resets without removing its member first/);
  });

  it("writes the membership script (the lab's, verbatim) on control planes only, and it is valid Python", async function () {
    const s = secrets();
    for (const node of spec.nodes) {
      const f = writeFiles(renderNode(spec, node, s).userData).find((x) => x.path === ETCD_MEMBER_SCRIPT_PATH);
      if (node.role === "control-plane") {
        assert.equal(f?.content, ETCD_MEMBER_SCRIPT, node.name);
        assert.equal(f?.permissions, "0755");
      } else assert.equal(f, undefined, node.name);
    }
    requireTool(this, "python3", "python3");
    const dir = tmpDir("etcd-member");
    try {
      const p = path.join(dir, "m.py");
      fs.writeFileSync(p, ETCD_MEMBER_SCRIPT);
      execFileSync("python3", ["-m", "py_compile", p]);
      // Nothing answers: membership unknown (3), never "not a member" (0).
      let status = 0;
      try {
        execFileSync("python3", [p, "leave", "--self-peer-url", "https://127.0.0.1:2380", "--endpoints", "http://127.0.0.1:9", "--timeout", "1"], { stdio: "pipe" });
      } catch (e) {
        status = (e as { status: number }).status;
      }
      assert.equal(status, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bring-up: bounded retries, and a node that gave up says so", () => {
  it("counts kubeadm runs over boots, gives up after the budget; the unit stops on the give-up status and the hook says so", () => {
    const spec = referenceSpec("haproxy", "preinstalled", 1);
    const s = secrets();
    for (const node of spec.nodes.filter((n) => n.role !== "load-balancer")) {
      const script = scriptOf(renderNode(spec, node, s).userData);
      assert.match(script, new RegExp(`if \\(\\( n > ${MAX_KUBEADM_ATTEMPTS} \\)\\); then give_up `), node.name);
      assert.match(script, /^ {2}count_attempt (init|join)$/m, node.name);
      assert.match(script, new RegExp(`^ {2}exit ${GAVE_UP_EXIT}$`, "m"));
      assert.ok(script.includes(`echo "$(date -Is) $*" >${BOOTSTRAP_GAVE_UP_PATH}`), "the reason goes to a file");
      assert.match(script, /log "GAVE UP: \$\*"/, "and the journal");
      assert.ok(script.includes(`vmware-rpctool "info-set ${STATUS_GUESTINFO_KEY} $*"`), "and the VM's guestinfo");
    }
    const unit = renderBootstrapUnit();
    assert.match(unit, new RegExp(`^RestartPreventExitStatus=${GAVE_UP_EXIT}$`, "m"));
    assert.match(unit, new RegExp(`^ConditionPathExists=!${BOOTSTRAP_GAVE_UP_PATH.replace(/\./g, "\\.")}$`, "m"));
    const hook = renderBootstrapHook();
    assert.match(hook, /GAVE UP/);
    assert.ok(hook.indexOf("gave_up && exit 1") < hook.indexOf("systemctl start"), "a node that gave up is not restarted by the hook");
  });
});

describe("bring-up: once the cluster exists, the first control plane joins", () => {
  it("renders cp-1 as init before the first bring-up, as a control-plane join after (the shared CA files, the join token, no wait on a previous node)", () => {
    for (const kind of ["haproxy", "kube-vip"] as const) {
      const spec = referenceSpec(kind, "preinstalled", 1);
      const [first, second] = controlPlaneNodes(spec);
      const s = { ...secrets(), joinToken: JOIN_TOKEN };
      const before = renderNode(spec, first, s).userData;
      assert.match(before, /kind: InitConfiguration/);
      assert.match(before, /PRIVATE KEY/);
      const after = renderNode(spec, first, s, { clusterExists: true }).userData;
      assert.doesNotMatch(after, /kind: InitConfiguration/, kind);
      assert.match(after, /kind: JoinConfiguration/);
      assert.match(after, /controlPlane:/);
      // Joining a running cluster: the shared CA files on disk (kubeadm-certs is long gone), the join token (the init token expired).
      assert.match(after, /PRIVATE KEY/, "the shared CA files come with it");
      assert.doesNotMatch(after, /certificateKey/);
      assert.match(after, new RegExp(`token: ${JOIN_TOKEN}`));
      assert.doesNotMatch(scriptOf(after), /previous control plane/);
      assert.doesNotMatch(scriptOf(after), /kubeadm init --config/);
      // The others are rendered the same way once the cluster exists; in the first up they are not.
      assert.notEqual(renderNode(spec, second, s, { clusterExists: true }).userData, renderNode(spec, second, s).userData);
      assert.doesNotMatch(renderNode(spec, second, s).userData, /PRIVATE KEY/);
    }
  });

  it("an init node refuses to init where another control plane serves the API (the guest's own guard)", () => {
    const spec = referenceSpec("haproxy", "preinstalled", 1);
    const [first, ...rest] = controlPlaneNodes(spec);
    const script = scriptOf(renderNode(spec, first, secrets()).userData);
    assert.ok(script.includes(`for cp in ${rest.map((n) => n.address).join(" ")}; do if api_answers`), "asks every other control plane");
    assert.match(script, /if who=\$\(other_api\); then give_up "control plane \$who already serves the Kubernetes API/);
    const prepare = script.indexOf("  prepare_init\n");
    assert.ok(prepare > 0 && prepare < script.indexOf("  kubeadm init --config"), "before every kubeadm init");
  });
});
