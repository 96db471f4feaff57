/**
 * Bring-up under power cuts (issue 17, item 7), executed: the program's real guestinfo, with the
 * kubeadm stand-in running kubeadm's phases in kubeadm's order (kubelet.conf early), cut off at
 * the phase where a power cut hurts. Run with `npm run test:boot:bring-up` (or in `npm run test:boot`).
 *
 * - init, power cut right after the kubeconfig phase (kubelet.conf written, nothing else): the next
 *   boot sees an unfinished init, finds no other etcd member, resets (same CA) and runs init again;
 * - control-plane join, power cut right after kubelet-start (kubelet.conf written, its etcd member
 *   about to be announced): the next boot cannot ask the other members (none answers in this
 *   lab), so it never resets, spends its bounded attempts and gives up, saying so in the file, the
 *   journal and the VM's guestinfo. (Removing the member and rejoining against a real etcd:
 *   test/lab/etcd-membership.lab.ts.)
 * - negative control: the same init cut with the old "already joined" test (kubelet.conf) put
 *   back: the node reports itself initialised, and the lab's check catches it.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parse, stringify } from "yaml";
import { BootOptions, BootResult, CONTROL_PLANE, Chain, Image, Lab, LabNetwork, ProgramVm, boot, buildImage, programVms, withDocuments } from "./lab";
import { assertControlPlanePreflight, kubeadmCalls, phasesByCall } from "./checks";
import { SHARED_PKI_FILES } from "../../components/cluster/pki";
import { BOOTSTRAP_GAVE_UP_PATH, BOOTSTRAP_SCRIPT_PATH, KUBEADM_DONE_PATH, MAX_KUBEADM_ATTEMPTS, STATUS_GUESTINFO_KEY } from "../../components/cluster/cloud-init";

const SETS = ["vsphere-spark:kubernetes={version: 1.31.4, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}", "vsphere-spark:workersPerHost=1"];
const ENDPOINT = "192.168.1.2";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const KUBEADM_CONFIG = "/etc/kubernetes/vsphere-spark/kubeadm.yaml";
const VERSION = "kubeadm version -o short";
const RESET = "kubeadm reset -f";
const INIT = `kubeadm init --config ${KUBEADM_CONFIG} --upload-certs`;
const JOIN = `kubeadm join --config ${KUBEADM_CONFIG}`;

export const timings: Record<string, number> = {};

/**
 * The lab's check: a node that says its bootstrap is done ran kubeadm to its last phase (init:
 * show-join-command; control-plane join: control-plane-join), in its last kubeadm call.
 */
export function assertKubeadmFinished(r: BootResult): void {
  if (!/bootstrap\.done/.test(r.report.marks)) return;
  const calls = phasesByCall(r).filter((c) => c.what === "kubeadm init" || c.what === "kubeadm join");
  const last = calls[calls.length - 1];
  assert.ok(last, `bootstrap.done without any kubeadm run:\n${r.report.marks}`);
  const final = last.what === "kubeadm init" ? "show-join-command" : /control-plane-prepare/.test(last.phases.join(" ")) ? "control-plane-join" : "kubelet-start";
  assert.equal(last.phases[last.phases.length - 1], final, `the node says done, but its last ${last.what} stopped after ${last.phases[last.phases.length - 1]}:\n${r.report.marks}`);
}

function writeFiles(userData: string): { path: string; content: string }[] {
  return (parse(userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: { path: string; content: string }[] }).write_files;
}

describe("boot lab: bring-up under power cuts (kubeadm's phase order)", function () {
  this.timeout(0);
  let image: Image;
  let vms: Record<string, ProgramVm>;
  const lab = new Lab(() => image);
  let t0 = 0;
  let initCut: Chain<BootResult[]>;
  let joinCut: Chain<BootResult[]>;
  let oldTest: Chain<BootResult[]>;

  const find = (pred: (v: ProgramVm) => boolean, what: string) => {
    const v = Object.values(vms).find(pred);
    if (!v) throw new Error(`no ${what}`);
    return v;
  };

  before(async function () {
    const tImage = Date.now();
    image = buildImage();
    timings.image = Math.round((Date.now() - tImage) / 1000);
    vms = await programVms(SETS);
    t0 = Date.now();
    const init = find((v) => /kind: InitConfiguration/.test(v.userData), "init control plane");
    const joiner = find((v) => /kind: JoinConfiguration/.test(v.userData) && /controlPlane:/.test(v.userData), "joining control plane");
    const prev = /previous control plane (\d+\.\d+\.\d+\.\d+)/.exec(joiner.userData)![1];

    /** Two boots of one disk: the first cut by the stand-in, the second until `until`. */
    const twoBoots = (label: string, v: ProgramVm, extraConfig: Record<string, string>, addresses: string[], standin: string[], until: string) =>
      lab.chain(addresses, async (net: LabNetwork) => {
        const o = (more: Partial<BootOptions>): BootOptions => ({ extraConfig, mac: v.macAddress!, ...CONTROL_PLANE, standin: ["version v1.31.4", ...standin], ...more });
        const t1 = Date.now();
        const r1 = await boot(image, net, o({ until: "false", timeoutSeconds: 1500 }));
        timings[`${label}, boot 1 (cut)`] = Math.round((Date.now() - t1) / 1000);
        const t2 = Date.now();
        const r2 = await boot(image, net, o({ disk: r1.disk, until, timeoutSeconds: 1800, files: [KUBEADM_DONE_PATH, BOOTSTRAP_GAVE_UP_PATH, DONE] }));
        timings[`${label}, boot 2`] = Math.round((Date.now() - t2) / 1000);
        return [r1, r2];
      }, { vcpus: CONTROL_PLANE.vcpus });

    initCut = twoBoots("init cut after kubeconfig", init, init.extraConfig, [ENDPOINT], ["poweroff kubeadm init 1 kubeconfig"], `test -f ${DONE}`);
    joinCut = twoBoots("control-plane join cut after kubelet-start", joiner, joiner.extraConfig, [ENDPOINT, prev], ["poweroff kubeadm join 1 kubelet-start"], `test -f ${BOOTSTRAP_GAVE_UP_PATH}`);

    // The old "already joined" test put back into the init node's real bootstrap.
    const ud = parse(init.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" });
    const f = ud.write_files.find((x: { path: string }) => x.path === BOOTSTRAP_SCRIPT_PATH);
    const patched = f.content.replace(`if [ -f ${KUBEADM_DONE_PATH} ]; then`, "if [ -f /etc/kubernetes/kubelet.conf ]; then");
    assert.notEqual(patched, f.content);
    f.content = patched;
    const oldEc = withDocuments(init.extraConfig, `#cloud-config\n${stringify(ud, { version: "1.1", lineWidth: 0 })}`);
    oldTest = twoBoots("negative control: old kubelet.conf test", init, oldEc, [ENDPOINT], ["poweroff kubeadm init 1 kubeconfig"], `test -f ${DONE}`);
  });
  after(() => {
    lab.down();
    console.log(`      bring-up boot timings (s): ${JSON.stringify(timings)}; wall clock ${Math.round((Date.now() - t0) / 1000)} s at ${lab.pool.size} at a time`);
  });

  it("init cut after the kubeconfig phase (kubelet.conf there): the next boot resets (same CA) and runs init to its last phase", async () => {
    const [r1, r2] = await initCut.result;
    assert.ok(r1.cut, "the stand-in cut the power");
    assert.match(r1.console, /cutting the power during call 1 of kubeadm init after phase kubeconfig/);
    assert.deepEqual(kubeadmCalls(r2), [VERSION, INIT, VERSION, RESET, INIT], r2.report.standin);
    const calls = phasesByCall(r2).filter((c) => c.what === "kubeadm init");
    assert.deepEqual(calls[0].phases, ["preflight", "certs", "kubeconfig"], "boot 1 stopped after kubeconfig");
    assertKubeadmFinished(r2);
    assertControlPlanePreflight(r2);
    assert.match(r2.report.journal + r2.report["cloud-init-output"], /an earlier kubeadm init did not finish: asking etcd before resetting/);
    assert.match(r2.report.journal + r2.report["cloud-init-output"], /membership unknown/);
    assert.match(r2.report.marks, /kubeadm init finished/);
    assert.match(r2.report.marks, /control plane initialised/);
    // The reset emptied /etc/kubernetes/pki; the retry ran on exactly the program's CA files.
    const files = writeFiles(find((v) => /kind: InitConfiguration/.test(v.userData), "init").userData);
    const want = Object.fromEntries(SHARED_PKI_FILES.map((p) => [p.path, createHash("sha256").update(files.find((x) => x.path === p.path)!.content).digest("hex")]));
    const have: Record<string, string> = {};
    for (const line of r2.report.pki.split("\n")) {
      const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      if (m && m[2] in want) have[m[2]] = m[1];
    }
    assert.deepEqual(have, want, r2.report.pki);
  });

  it("control-plane join cut after kubelet-start: never resets without asking etcd; bounded attempts; gives up and says so (file, journal, guestinfo)", async () => {
    const [r1, r2] = await joinCut.result;
    assert.ok(r1.cut);
    assert.match(r1.console, /cutting the power during call 1 of kubeadm join after phase kubelet-start/);
    const calls = kubeadmCalls(r2);
    assert.equal(calls.filter((c) => c === JOIN).length, 1, `only the cut join ran: ${calls.join(" | ")}`);
    assert.ok(!calls.includes(RESET), `no reset: ${calls.join(" | ")}`);
    assertControlPlanePreflight(r2);
    const log = r2.report.journal + r2.report["cloud-init-output"];
    assert.match(log, /whether this node is an etcd member is unknown, so nothing is reset/);
    assert.match(r2.report.marks, new RegExp(`kubeadm join did not succeed in ${MAX_KUBEADM_ATTEMPTS} attempts`), r2.report.marks);
    assert.doesNotMatch(r2.report.marks, /bootstrap\.done|kubeadm\.done/);
    assert.match(log, /GAVE UP: /);
    assert.match(r2.report.rpctool, new RegExp(`info-set ${STATUS_GUESTINFO_KEY.replace(/\./g, "\\.")} gave up: `), r2.report.rpctool);
    assert.match(r2.report.unit, /Result=exit-code/, r2.report.unit);
  });

  it("negative control: the old kubelet.conf test takes the cut init for done, and the check catches it", async () => {
    const [, r2] = await oldTest.result;
    assert.deepEqual(kubeadmCalls(r2), [VERSION, INIT, VERSION], "boot 2 never ran kubeadm again");
    assert.match(r2.report.marks, /control plane initialised/, "the old test says initialised");
    assert.throws(() => assertKubeadmFinished(r2), /stopped after kubeconfig/);
  });
});
