/**
 * A REAL `kubeadm init` in the boot lab (opt-in: `npm run test:boot:kubeadm`): the first control
 * plane's real guestinfo (the dev stack with `kubernetes.version: 1.34.4`, `installMode:
 * preinstalled`) boots in the lab's real-kubeadm image (real-k8s.ts, build-image.sh with
 * VSPHERE_SPARK_BOOT_K8S): the real kubeadm, kubelet and kubectl v1.34.4, Debian 12's containerd,
 * and real kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and etcd in images
 * kubeadm finds in containerd (imported at boot by guest-kubeadm/lab-registry, the registry's
 * stand-in). Stand-ins left: the guestinfo channel (as everywhere in the lab), the registry, the
 * CoreDNS image (never run: no pod network), and the load balancer: tcp-forward.ts forwards
 * 192.168.1.2:6443 (the HAProxy endpoint the program renders, which the bootstrap waits for and
 * admin.conf names) to the guest's API server, as the HAProxy VM does in TCP mode.
 *
 * The guest has 2 vCPUs (kubeadm's preflight NumCPU on a control plane) and 4 GiB, emulated (TCG).
 * The test measures, from the journal: when each of kubeadm's phases began, whether kubeadm init
 * reached its last phase, when the API server answered /readyz through the endpoint, memory, and
 * the whole boot; then what the bootstrap did after it (done, the kubeadm-config and cluster-info
 * objects, the node registered), read with kubectl inside the guest.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootResult, Chain, Image, KUBEADM_CONTROL_PLANE_CPUS, Lab, ProgramVm, boot, buildImage, programVms } from "./lab";
import { k8sPayload, K8sPayload } from "./real-k8s";
import { JournalLine, initAttempts, journalLines } from "./kubeadm-journal";

const VERSION = "1.34.4";
const SETS = [`vsphere-spark:kubernetes={version: ${VERSION}, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}`, "vsphere-spark:workersPerHost=1"];
const ENDPOINT = "192.168.1.2";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const GAVE_UP = "/var/lib/vsphere-spark/bootstrap.gave-up";
/** The guest's memory (MiB) and the report's deadline (s). */
const MEMORY_MIB = Number(process.env.VSPHERE_SPARK_BOOT_KUBEADM_MEMORY ?? 4096);
const TIMEOUT_S = Number(process.env.VSPHERE_SPARK_BOOT_KUBEADM_TIMEOUT ?? 2400);
/**
 * The guest's vCPUs: kubeadm's minimum for a control plane. VSPHERE_SPARK_BOOT_KUBEADM_VCPUS=1 is the
 * negative control: kubeadm's preflight refuses (`[ERROR NumCPU]`), no attempt reaches its last
 * phase, and the test fails saying so (run by hand; test/boot/README.md has its result).
 */
const VCPUS = Number(process.env.VSPHERE_SPARK_BOOT_KUBEADM_VCPUS ?? KUBEADM_CONTROL_PLANE_CPUS);

describe(`boot lab: a real kubeadm init (v${VERSION}, TCG, opt-in)`, function () {
  this.timeout(0);
  let payload: K8sPayload | undefined;
  let image: Image;
  let vms: Record<string, ProgramVm>;
  const lab = new Lab(() => image);
  let initBoot: Chain<BootResult>;
  let imageSeconds = 0;
  let cp: ProgramVm;
  let address = "";

  before(async function () {
    const t = Date.now();
    const r = k8sPayload(`v${VERSION}`);
    if (!r.payload) {
      console.log(`      NOT RUN: missing tools: ${r.missing!.join(", ")}`);
      this.skip();
    }
    payload = r.payload!;
    console.log(`      payload ${payload.dir} (${payload.seconds} s): ${payload.images.join(", ")}; etcd binary: ${payload.etcdVersion}`);
    image = buildImage(payload.dir);
    imageSeconds = Math.round((Date.now() - t) / 1000);
    vms = await programVms(SETS);
    const found = Object.values(vms).find((v) => /kind: InitConfiguration/.test(v.userData));
    if (!found) throw new Error("no init control plane");
    cp = found;
    address = /addresses:\n\s+- (\d+\.\d+\.\d+\.\d+)\/24/.exec(cp.metaData)![1];
    initBoot = lab.chain(
      [ENDPOINT],
      (net) =>
        boot(image, net, {
          extraConfig: cp.extraConfig,
          mac: cp.macAddress!,
          dataDisksGiB: cp.dataDisksGiB,
          vcpus: VCPUS,
          memoryMiB: MEMORY_MIB,
          until: `test -f ${DONE} || test -f ${GAVE_UP}`,
          timeoutSeconds: TIMEOUT_S,
        }),
      { forwardTo: address, vcpus: VCPUS },
    );
  });
  after(() => lab.down());

  it("kubeadm init runs to its last phase; the bootstrap is done; the node is registered (measured)", async () => {
    const load0 = os.loadavg()[0];
    const r = await initBoot.result;
    const out = process.env.VSPHERE_SPARK_BOOT_KUBEADM_OUT;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      for (const [k, v] of Object.entries(r.report)) fs.writeFileSync(path.join(out, `${k}.txt`), v);
      fs.writeFileSync(path.join(out, "console.log"), r.console);
      fs.copyFileSync(initBoot.apiLog, path.join(out, "endpoint.log"));
    }
    const lines = journalLines(r.report["kubeadm-journal"]);
    const attempts = initAttempts(lines);
    const bootAt = Date.parse((r.report["boot-clock"] ?? "").split("\n")[0]);
    const firstAttempt = attempts[0] ? Math.round((attempts[0].start - bootAt) / 1000) : undefined;
    const readyLine = lines.find((l) => /ready: API server through/.test(l.text));
    const doneLine = lines.find((l) => /vsphere-spark: control plane initialised/.test(l.text));
    const since = (l?: JournalLine) => (l ? Math.round((l.at - bootAt) / 1000) : undefined);
    const measured = {
      image: imageSeconds,
      boot: r.seconds,
      kubeadmInitStartAfterBoot: firstAttempt,
      attempts: attempts.map((a) => ({ succeeded: a.succeeded, seconds: a.end, failedPhase: a.failedPhase, phases: a.phases })),
      apiReadyThroughEndpointAfterBoot: since(readyLine),
      doneAfterBoot: since(doneLine),
      memory: r.report.memory,
      hostLoad: { atStart: load0, atEnd: os.loadavg()[0], cores: os.availableParallelism() },
    };
    console.log(`      measured: ${JSON.stringify(measured, null, 1)}`);
    const why = `\n${attempts.map((a) => a.lastLines.join("\n")).join("\n---\n")}\n${r.report["kubelet-journal"]}\n${r.report["cloud-init-output"]}`;
    assert.ok(attempts.length > 0, `kubeadm init never started${why}\n${r.report.journal}`);
    const ok = attempts.find((a) => a.succeeded);
    assert.ok(ok, `no kubeadm init reached its last phase${why}`);
    assert.ok(ok.phases.addons !== undefined, "the addons phase (init's last) ran");
    assert.ok(fs.readFileSync(initBoot.apiLog, "utf8").includes("connected"), "the endpoint forwarded to the guest's API server");
    // What the bootstrap does after it.
    assert.match(r.report.marks, /control plane initialised/, `the bootstrap's done mark\n${r.report.marks}`);
    assert.match(r.report["k-nodes"], new RegExp(`^${cp.name} +\\S+ +control-plane`, "m"), `the node registered\n${r.report["k-nodes"]}`);
    assert.match(r.report["k-kubeadm-config"], /controlPlaneEndpoint: 192\.168\.1\.2:6443/, "kubeadm-config names the endpoint");
    assert.match(r.report["k-cluster-info"], /server: https:\/\/192\.168\.1\.2:6443/, "cluster-info names the endpoint");
    assert.match(r.report["k-readyz"], /readyz check passed/, r.report["k-readyz"]);
    // Every image kubeadm names was the lab's (imported once, before kubeadm ran: nothing was pulled).
    for (const ref of payload!.images) assert.match(r.report["ctr-images"], new RegExp(`^${ref.replace(/[.]/g, "\\.")}$`, "m"), ref);
    assert.equal((r.report["lab-registry"].match(/imported in \d+ ms/g) ?? []).length, 1, `imported once\n${r.report["lab-registry"]}`);
  });
});
