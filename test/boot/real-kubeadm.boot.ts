/**
 * A REAL `kubeadm init` in the boot lab (in `npm run test:boot`; alone: `npm run test:boot:kubeadm`): the first control
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
import { KUBEADM_CA_CERTIFICATES, KUBEADM_LEAF_CERTIFICATES, KUBEADM_RENEWED_KUBECONFIGS } from "../../components/cluster/cert-renewal";

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

describe(`boot lab: a real kubeadm init (v${VERSION}, TCG)`, function () {
  this.timeout(0);
  let payload: K8sPayload | undefined;
  let image: Image;
  let vms: Record<string, ProgramVm>;
  const lab = new Lab(() => image);
  let initBoot: Chain<BootResult>;
  let imageSeconds = 0;
  let cp: ProgramVm;
  let address = "";
  let otherApis: string[] = [];

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
    // The other control planes the renewal's unit asks for /readyz before restarting anything (their
    // stand-ins start inside the guest after the bootstrap: at boot, the init refuses to start a second
    // cluster when one of them answers).
    otherApis = [...cp.userData.matchAll(/--other-api (\d+\.\d+\.\d+\.\d+):6443/g)].map((m) => m[1]);
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

  /**
   * The program's certificate renewal (components/cluster/cert-renewal.ts) executed against the real
   * kubeadm and kubelet, by the lab's collector (guest-kubeadm/lab-report-kubeadm) once the bootstrap
   * is done: the user-data's service started three times as its timer would start it: at the boot's
   * clock (the first control: nothing is due, nothing changes); with the guest's clock moved 340 days
   * on while the other control planes it names do not answer (the second: deferred, nothing changes);
   * then with the lab's stand-ins answering /readyz for them (renewed).
   */
  it("certificate renewal: nothing due at boot; 340 days on, deferred while the other control planes do not answer, then kubeadm renews every leaf, each static Pod restarts, the API is ready (measured)", async () => {
    const r = await initBoot.result;
    const rep = (k: string) => r.report[k] ?? "";
    const certs = (k: string) => {
      const m = new Map<string, { notAfter: number; sha: string }>();
      for (const line of rep(k).split("\n").filter(Boolean)) {
        const parts = line.split(/\s+/);
        const date = parts.slice(1, -1).join(" ");
        m.set(parts[0], { notAfter: date === "-" ? NaN : Date.parse(date), sha: parts[parts.length - 1] });
      }
      return m;
    };
    const pods = (k: string) => new Map(rep(k).split("\n").filter(Boolean).map((l) => [l.split(" ")[0], l.split(" ").slice(1).filter(Boolean)] as const));
    const run = (k: string) => {
      const text = rep(k);
      return {
        text,
        seconds: Number(/seconds=(\d+)/.exec(text)?.[1]),
        clock: Number(/clock=(\d+)/.exec(text)?.[1]) * 1000,
        status: /ExecMainStatus=(\d+)/.exec(text)?.[1],
        result: /Result=(\S+)/.exec(text)?.[1],
        decision: /decision=(\S+)/.exec(text)?.[1],
        restarted: [...text.matchAll(/vsphere-spark-cert-renewal: (\S+) restarted with the new certificates/g)].map((m) => m[1]),
        timedOut: [...text.matchAll(/timed out: .*/g)].map((m) => m[0]),
      };
    };
    const c0 = certs("renewal-certs-0");
    const c1 = certs("renewal-certs-1");
    const p0 = pods("renewal-pods-0");
    const c3 = certs("renewal-certs-3");
    const p2 = pods("renewal-pods-3");
    const run1 = run("renewal-run-1");
    const run2 = run("renewal-run-2");
    const run3 = run("renewal-run-3");
    const moved = Number(/after=(\d+)/.exec(rep("renewal-clock"))?.[1]) * 1000;
    const DAY = 86400e3;
    const renewed: string[] = [...KUBEADM_LEAF_CERTIFICATES, ...KUBEADM_RENEWED_KUBECONFIGS];
    const cas = [...KUBEADM_CA_CERTIFICATES];
    const unchanged = [...cas, "kubelet.conf"];
    const days = (ms: number) => Math.round((ms / DAY) * 10) / 10;
    const measured = {
      run1: { seconds: run1.seconds, status: run1.status, decision: run1.decision },
      run2: { seconds: run2.seconds, status: run2.status, decision: run2.decision },
      run3: { seconds: run3.seconds, status: run3.status, decision: run3.decision, restarted: run3.restarted, timedOut: run3.timedOut },
      clockMovedDays: days(moved - Date.parse((rep("boot-clock") || "").split("\n")[0])),
      leafDaysLeftBefore: Object.fromEntries(renewed.map((f) => [f, days((c1.get(f)?.notAfter ?? NaN) - moved)])),
      leafDaysLeftAfter: Object.fromEntries(renewed.map((f) => [f, days((c3.get(f)?.notAfter ?? NaN) - run3.clock)])),
      kubeletClient: { before: days((c1.get("kubelet-client")?.notAfter ?? NaN) - moved), after: days((c3.get("kubelet-client")?.notAfter ?? NaN) - run3.clock), rotated: c1.get("kubelet-client")?.sha !== c3.get("kubelet-client")?.sha },
      containers: Object.fromEntries([...p0.keys()].map((n) => [n, { before: p0.get(n)?.map((i) => i.slice(0, 12)), after: p2.get(n)?.map((i) => i.slice(0, 12)) }])),
    };
    console.log(`      renewal measured: ${JSON.stringify(measured, null, 1)}`);
    const why = `\n${run1.text}\n${run2.text}\n${rep("renewal-standins")}\n${run3.text}\n${rep("renewal-crictl")}\n${rep("renewal-kubelet")}`;
    // The control: at the boot's clock the same unit says nothing is due and changes nothing.
    assert.equal(run1.status, "0", `first run's exit status${why}`);
    assert.equal(run1.decision, "not-due", `first run: nothing due${why}`);
    assert.equal(rep("renewal-certs-1"), rep("renewal-certs-0"), "the first run changed no certificate");
    assert.ok(renewed.every((f) => c0.has(f)), `every renewable leaf found before\n${rep("renewal-certs-0")}`);
    // Moved 340 days: the leaves inside the 30-day window, the CAs not.
    assert.ok(moved > 0, rep("renewal-clock"));
    for (const f of renewed) {
      const left = c1.get(f)!.notAfter - moved;
      assert.ok(left > 0 && left <= 30 * DAY, `${f}: ${days(left)} days left after the clock moved`);
    }
    for (const f of cas) assert.ok(c1.get(f)!.notAfter - moved > 30 * DAY, `${f} is valid after the clock moved (expires ${new Date(c1.get(f)!.notAfter).toISOString()})`);
    assert.ok(otherApis.length > 0, "the first control plane's unit names the other control planes (--other-api)");
    for (const o of otherApis) assert.match(rep("renewal-standins"), new RegExp(`^${o.replace(/\./g, "\\.")} ok$`, "m"), `the stand-in answers for ${o}`);
    // The second control: due, but the other control planes do not answer: deferred (exit 11, a
    // success for the unit), nothing changed.
    assert.equal(run2.status, "11", `second run's exit status${why}`);
    assert.equal(run2.result, "success", `second run's result${why}`);
    assert.equal(run2.decision, "deferred", `second run: deferred${why}`);
    assert.equal(rep("renewal-certs-2"), rep("renewal-certs-1"), "the deferred run changed no certificate");
    // With the other control planes ready: the renewal ran, renewed and exited ok.
    assert.equal(run3.timedOut.length, 0, `the script's waits: ${run3.timedOut.join("; ")}${why}`);
    assert.equal(run3.status, "0", `third run's exit status${why}`);
    assert.equal(run3.result, "success", `third run's result${why}`);
    assert.equal(run3.decision, "renewed", `third run: renewed${why}`);
    for (const f of renewed) {
      const left = c3.get(f)!.notAfter - run3.clock;
      assert.ok(left > 364 * DAY && left <= 365 * DAY + 1e3, `${f}: expires ${days(left)} days after the moved clock (a year)\n${rep("renewal-certs-2")}`);
      assert.notEqual(c3.get(f)!.sha, c1.get(f)!.sha, `${f} rewritten`);
    }
    // kubeadm renews neither the CAs nor kubelet.conf (renewal/manager.go).
    for (const f of unchanged) assert.equal(c3.get(f)?.sha, c1.get(f)?.sha, `${f} unchanged`);
    // Each static Pod restarted, one at a time, in the script's order, each with a new container.
    assert.deepEqual(run3.restarted, ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"], why);
    for (const n of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      assert.equal(p0.get(n)?.length, 1, `${n} running before\n${rep("renewal-pods-0")}`);
      assert.equal(p2.get(n)?.length, 1, `${n} running after\n${rep("renewal-pods-3")}`);
      assert.notEqual(p2.get(n)![0], p0.get(n)![0], `${n} has a new container`);
    }
    assert.match(rep("renewal-readyz"), /readyz check passed/, rep("renewal-readyz"));
  });
});
