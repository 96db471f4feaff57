/**
 * First boot, executed: each role's real guestinfo (from the program under the mock runtime) boots
 * in the lab VM, and the node ends up as the program meant. Run with `npm run test:boot`.
 *
 * Every role boots on its own private network (a namespace with a tap as the gateway and, where the
 * role needs one, the API stand-in on the addresses it waits for), so independent boots run side by
 * side (`Pool`: one single-vCPU TCG guest per host core, up to 4); each `it` awaits its own boots.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { parse } from "yaml";
import { BootOptions, BootResult, CONTROL_PLANE, Chain, Image, Lab, LabNetwork, ProgramVm, boot, buildImage, programVms } from "./lab";
import { assertControlPlanePreflight, assertNetwork, fileModes, kubeadmCalls, memKiB } from "./checks";
import { SHARED_PKI_FILES } from "../../components/cluster/pki";
import { CERTS_EXPIRED_HINT, PKI_BACKUP_PATH } from "../../components/cluster/cloud-init";
import { KUBE_VIP_MANIFEST_PATH, KUBE_VIP_STAGING_PATH } from "../../components/cluster/kube-vip";
import { containerdProblems, CRI_TABLE, tomlTable } from "../support/containerd";
import { LoadBalancerRun, loadBalancerBoot } from "./load-balancer";
import { healthProblems, readEvents, summarize } from "./haproxy-health";

const K8S = "vsphere-spark:kubernetes={version: 1.31.4, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}";
const SETS = [K8S, "vsphere-spark:workersPerHost=1"];
const VIP = "192.168.1.3";
/** The dev stack with kube-vip holding `VIP` instead of the HAProxy VM (whose pinned address goes with it). */
const KUBE_VIP_SETS = [
  ...SETS,
  `vsphere-spark:endpoint={kind: kube-vip, address: ${VIP}, port: 6443}`,
  "vsphere-spark:network={cidr: 192.168.1.0/24, gateway: 192.168.1.254, dnsServers: [192.168.1.254], searchDomains: [lab.local]}",
];

const ENDPOINT = "192.168.1.2";
const BOOTSTRAP = "/usr/local/sbin/vsphere-spark-bootstrap";
const KUBEADM_CONFIG = "/etc/kubernetes/vsphere-spark/kubeadm.yaml";
const UNIT = "/etc/systemd/system/vsphere-spark-bootstrap.service";
const HOOK = "/var/lib/cloud/scripts/per-boot/vsphere-spark-bootstrap";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const CONTAINERD = "/etc/containerd/config.toml";
const VERSION = "kubeadm version -o short";
const RESET = "kubeadm reset -f";

export const timings: Record<string, number> = {};
export const memTotal: { configuredMiB: number; memTotalKiB: number }[] = [];

describe("boot lab: first boot of each role's real guestinfo", function () {
  this.timeout(0);
  let image: Image;
  let vms: Record<string, ProgramVm>;
  let kubeVipVms: Record<string, ProgramVm>;
  let packagesVms: Record<string, ProgramVm>;
  const lab = new Lab(() => image);
  const chain = lab.chain.bind(lab);
  let t0 = 0;

  const timed = async (label: string, net: LabNetwork, o: BootOptions): Promise<BootResult> => {
    const r = await boot(image, net, o);
    timings[label] = r.seconds;
    return r;
  };

  const find = (set: Record<string, ProgramVm>, pred: (v: ProgramVm) => boolean, what: string) => {
    const v = Object.values(set).find(pred);
    if (!v) throw new Error(`no ${what} among ${Object.keys(set).join(", ")}`);
    assert.ok(v.macAddress, `${v.name}: the program gives the VM's NIC a static MAC`);
    return v;
  };
  const named = (set: Record<string, ProgramVm>, suffix: string) => find(set, (v) => v.name.endsWith(suffix), `VM named *${suffix}`);
  const initNode = (set: Record<string, ProgramVm>) => find(set, (v) => /kind: InitConfiguration/.test(v.userData), "init control plane");
  const joiningControlPlane = (set: Record<string, ProgramVm>) => find(set, (v) => /kind: JoinConfiguration/.test(v.userData) && /controlPlane:/.test(v.userData), "joining control plane");

  let lbRun: LoadBalancerRun;
  let lbBoot: Chain<BootResult>;
  let workerBoots: Chain<BootResult[]>;
  let packagesBoot: Chain<BootResult>;
  let initBoot: Chain<BootResult>;
  let joinBoot: Chain<BootResult>;
  let kubeVipBoot: Chain<BootResult>;

  before(async function () {
    const tImage = Date.now();
    image = buildImage();
    timings.image = Math.round((Date.now() - tImage) / 1000);
    vms = await programVms(SETS);
    kubeVipVms = await programVms(KUBE_VIP_SETS);
    packagesVms = await programVms(["vsphere-spark:kubernetes={version: 1.31.4, installMode: packages, cni: {kind: antrea, version: 2.2.0}}", "vsphere-spark:workersPerHost=1"]);
    t0 = Date.now();
    console.log(`      ${lab.pool.size} boot(s) at a time`);

    // The longest first: the worker's three boots, then the control planes, the load balancer, packages.
    const w = named(vms, "worker-1");
    const workerOpts = (net: LabNetwork, more: Partial<BootOptions>): BootOptions => ({
      extraConfig: w.extraConfig,
      mac: w.macAddress!,
      // The worker's scratch disk (vmProfiles.worker.scratchDiskGiB): the bootstrap formats and mounts it
      // at /var/lib/kubelet before anything else, and stops when it is missing, so reaching done proves it.
      dataDisksGiB: w.dataDisksGiB,
      nicSlot: "default",
      memoryMiB: 4096,
      standin: ["version v1.31.4", "poweroff kubeadm join 1", "fail kubeadm join 4 kubelet-start"],
      files: [KUBEADM_CONFIG, BOOTSTRAP, UNIT, HOOK, CONTAINERD, "/etc/modules-load.d/kubernetes.conf", "/etc/sysctl.d/99-kubernetes.conf"],
      ...more,
    });
    workerBoots = chain([ENDPOINT], async (net) => {
      const r1 = await timed("worker boot 1 (cut)", net, workerOpts(net, { until: "false", timeoutSeconds: 1500 }));
      const r2 = await timed("worker boot 2 (resume, retry)", net, workerOpts(net, { disk: r1.disk, until: `test -f ${DONE}`, timeoutSeconds: 1500 }));
      const r3 = await timed("worker boot 3 (after success)", net, workerOpts(net, { disk: r1.disk, until: "true", timeoutSeconds: 900 }));
      return [r1, r2, r3];
    });

    /** One boot of `v` until its bootstrap is done, on a network whose tap holds `addresses`. */
    const untilDone = (label: string, v: ProgramVm, addresses: string[], o: Pick<BootOptions, "standin" | "files">) =>
      chain(
        addresses,
        (net) =>
          timed(label, net, { extraConfig: v.extraConfig, mac: v.macAddress!, dataDisksGiB: v.dataDisksGiB, ...CONTROL_PLANE, until: `test -f ${DONE}`, timeoutSeconds: 1500, ...o }),
        { vcpus: CONTROL_PLANE.vcpus },
      );
    initBoot = untilDone("control plane init (haproxy; first init fails)", initNode(vms), [ENDPOINT], {
      // Fails where a real init most often does, after kubelet.conf, the manifests and etcd's data.
      standin: ["version v1.31.4", "fail kubeadm init 1 wait-control-plane"],
      files: [KUBEADM_CONFIG, ...SHARED_PKI_FILES.map((f) => f.path), `${PKI_BACKUP_PATH}/ca.key`],
    });
    const cp2 = joiningControlPlane(vms);
    joinBoot = untilDone("control plane join (haproxy; first join fails)", cp2, [ENDPOINT, previousControlPlane(cp2)], {
      standin: ["version v1.31.4", "fail kubeadm join 1"],
      files: [KUBEADM_CONFIG, "/etc/kubernetes/pki/ca.key", "/etc/kubernetes/pki/etcd/ca.key", PKI_BACKUP_PATH],
    });
    kubeVipBoot = untilDone("control plane init (kube-vip)", initNode(kubeVipVms), [VIP], {
      standin: ["version v1.31.4"],
      files: [KUBE_VIP_STAGING_PATH, KUBE_VIP_MANIFEST_PATH],
    });

    // Behind a PCIe root port at slot 192 (the kernel calls it ens192 already); the others at QEMU's
    // default slot (enp0s1): the MAC match names both ens192. The image has no HAProxy: the bootstrap
    // installs Debian's from the template's mirror. After the bootstrap, the kube-apiserver stand-ins
    // play the health-check scenario while the guest relays HAProxy's view of them.
    lbRun = loadBalancerBoot(lab, () => image, named(vms, "load-balancer"), {
      files: ["/etc/haproxy/haproxy.cfg", BOOTSTRAP, UNIT, HOOK],
      onDone: (r) => (timings["load-balancer (installs haproxy from the mirror, then the health-check scenario)"] = r.seconds),
    });
    lbBoot = lbRun.chain;

    const pw = named(packagesVms, "worker-1");
    packagesBoot = chain([], (net) =>
      timed("worker, packages (unreachable repository)", net, {
        extraConfig: pw.extraConfig,
        mac: pw.macAddress!,
        dataDisksGiB: pw.dataDisksGiB,
        memoryMiB: 2048,
        files: ["/etc/kubernetes/vsphere-spark/kubernetes.list", CONTAINERD],
        // The unit has retried at least once after the boot's attempt.
        until: "[ \"$(systemctl show -p NRestarts --value vsphere-spark-bootstrap.service)\" -ge 1 ]",
        timeoutSeconds: 1500,
      }),
    );
  });
  after(() => {
    lab.down();
    console.log(`      boot lab timings (s): ${JSON.stringify(timings)}; boots wall clock ${Math.round((Date.now() - t0) / 1000)} s at ${lab.pool.size} at a time`);
    console.log(`      MemTotal: ${JSON.stringify(memTotal)}`);
  });

  it("load balancer: network, files, haproxy installed from the mirror (our config kept), serving as haproxy:haproxy, chrooted, with its stats socket", async () => {
    const lb = named(vms, "load-balancer");
    const r = await lbBoot.result;
    memTotal.push({ configuredMiB: 2048, memTotalKiB: memKiB(r) });
    assertNetwork(r, lb, ENDPOINT);
    assert.deepEqual(fileModes(r), { "/etc/haproxy/haproxy.cfg": "644 root:root", [BOOTSTRAP]: "700 root:root", [UNIT]: "644 root:root", [HOOK]: "700 root:root" });
    assert.match(r.report.journal + r.report["cloud-init-output"], /installing haproxy/, "the bootstrap installed it");
    assert.match(fs.readFileSync(lbBoot.mirrorLog, "utf8"), /^192\.168\.1\.254 \/haproxy_[^ ]+_amd64\.deb 200$/m, "from the template's mirror");
    // The package ships its own haproxy.cfg (a conffile): the install keeps the one cloud-init wrote.
    const cfg = writeFiles(lb).find((f) => f.path === "/etc/haproxy/haproxy.cfg")!.content;
    assert.equal(digestsOf(r)["/etc/haproxy/haproxy.cfg"], createHash("sha256").update(cfg).digest("hex"), "the generated haproxy.cfg, byte for byte");
    assert.match(r.report.haproxy, /^active$/m, r.report.haproxy + r.report["cloud-init-output"]);
    assert.match(r.report.haproxy, /^haproxy +haproxy +\/usr\/sbin\/haproxy/m, "workers run as haproxy:haproxy");
    assert.match(r.report.haproxy, /admin\.sock/, "stats socket");
    assert.match(r.report["cloud-init-status"], /status: done/, r.report["cloud-init-status"]);
  });

  it("load balancer: HAProxy's HTTPS /readyz checks mark the kube-apiserver stand-ins up and down as fall 3, rise 2, inter 5s say; clients reach only UP servers", async () => {
    const r = await lbBoot.result;
    const events = readEvents(lbRun.chain.healthDir);
    const summary = summarize(events, lbRun.scenario, lbRun.backends);
    console.log(`      health checks: ${JSON.stringify({ checksToChange: summary.checksToChange, secondsToChange: summary.secondsToChange, medianInterval: summary.medianInterval, samples: summary.samples })}`);
    const why = `\n${r.report["haproxy-changes"]}\n${r.report["haproxy-watch"]}`;
    assert.deepEqual(healthProblems(events, lbRun.scenario, lbRun.backends, { lbAddress: lbRun.address, haproxyCfg: lbRun.haproxyCfg }), [], why);
    // HAProxy's own log says why: the 500 (layer 7) and the closed port (layer 4).
    assert.match(r.report["haproxy-changes"], /is DOWN, reason: Layer7 wrong status, code: 500/, r.report["haproxy-changes"]);
    assert.match(r.report["haproxy-changes"], /is DOWN, reason: Layer4 connection problem/, r.report["haproxy-changes"]);
  });

  // One worker, three boots: a power cut during `kubeadm join`, then a boot whose attempt fails (the
  // unit retries it until it succeeds), then a reboot after success that does nothing.
  describe("worker (installMode: preinstalled), NIC found by its MAC at QEMU's default slot", () => {
    it("boot 1: network, files, and the power is cut during kubeadm join", async () => {
      const [r] = await workerBoots.result;
      assert.ok(r.cut, "the stand-in cut the power before the collector reported");
      assert.match(r.console, /stand-in kubeadm: cutting the power during call 1 of kubeadm join/);
      assert.match(fs.readFileSync(workerBoots.apiLog, "utf8"), new RegExp(`^${ENDPOINT} /readyz$`, "m"), "waited for the API through the endpoint");
    });

    it("boot 2: resumes, the boot's attempt fails (cloud-init says so), the unit retries until joined", async () => {
      const w = named(vms, "worker-1");
      const [, r] = await workerBoots.result;
      memTotal.push({ configuredMiB: 4096, memTotalKiB: memKiB(r) });
      assertNetwork(r, w, addressOf(w));
      assert.deepEqual(fileModes(r), {
        [KUBEADM_CONFIG]: "600 root:root",
        [BOOTSTRAP]: "700 root:root",
        [UNIT]: "644 root:root",
        [HOOK]: "700 root:root",
        [CONTAINERD]: "644 root:root",
        "/etc/modules-load.d/kubernetes.conf": "644 root:root",
        "/etc/sysctl.d/99-kubernetes.conf": "644 root:root",
      });
      // Boot 1: version check, join #1 (cut before its first phase). Boot 2: version, joins #2-#4 fail
      // after kubelet-start (kubelet.conf written: each retry resets first) in the boot's attempt, then
      // the unit's attempt: version, reset, join #5 succeeds.
      const join = `kubeadm join --config ${KUBEADM_CONFIG}`;
      assert.deepEqual(kubeadmCalls(r), [VERSION, join, VERSION, join, RESET, join, RESET, join, VERSION, RESET, join], r.report.standin);
      assert.match(r.report["standin-configs"], /kind: JoinConfiguration/);
      assert.doesNotMatch(r.report["standin-configs"], /certificateKey|controlPlane:/, "a worker's join carries no certificate key");
      assert.match(r.report["cloud-init-status"], /status: error/, "this boot's attempt failed: cloud-init says so");
      assert.match(r.report["cloud-init-status"], /scripts.per.boot/, r.report["cloud-init-status"]);
      assert.match(r.report["cloud-init-output"], /node bootstrap not done: .*attempt failed \(exit 1\) during: kubeadm join/);
      assert.match(r.report.unit, /Result=success/, r.report.unit);
      assert.match(r.report.marks, /joined the cluster/);
      assert.doesNotMatch(r.report.marks, /bootstrap\.failed/, "a success clears the failure mark");
      // containerd's effective configuration (`containerd config dump` in the guest): runc with the systemd cgroup driver.
      assert.deepEqual(containerdProblems(r.report.containerd), [], r.report.containerd);
      // ... with the sandbox image the bootstrap took from `kubeadm config images list` (the stand-in answers as kubeadm 1.31).
      assert.equal(tomlTable(r.report.containerd, CRI_TABLE)?.sandbox_image, '"registry.k8s.io/pause:3.10"', r.report.containerd);
      assert.match(r.report.standin, / kubeadm config images list --kubernetes-version v1\.31\.4 --image-repository registry\.k8s\.io$/m);
    });

    it("boot 3: a reboot after success does nothing again", async () => {
      const [, , r] = await workerBoots.result;
      assert.equal(kubeadmCalls(r).length, 11, "no new kubeadm call");
      assert.match(r.report["cloud-init-status"], /status: done/, r.report["cloud-init-status"]);
      assert.match(r.report.unit, /ActiveState=inactive/);
    });
  });

  it("control plane init (haproxy): waits for the load balancer, writes the shared CA files, init --upload-certs; a failed init is retried with the same CA", async () => {
    const cp = initNode(vms);
    const r = await initBoot.result;
    assertNetwork(r, cp, addressOf(cp));
    assertControlPlanePreflight(r);
    const keyFiles = Object.fromEntries(SHARED_PKI_FILES.map((f) => [f.path, f.secret ? "600 root:root" : "644 root:root"]));
    assert.deepEqual(fileModes(r), { [KUBEADM_CONFIG]: "600 root:root", ...keyFiles, [`${PKI_BACKUP_PATH}/ca.key`]: "600 root:root" });
    const init = `kubeadm init --config ${KUBEADM_CONFIG} --upload-certs`;
    assert.deepEqual(kubeadmCalls(r), [VERSION, init, RESET, init], r.report.standin);
    // The stand-in's reset emptied /etc/kubernetes/pki (as kubeadm reset does); the retry put back
    // exactly the program's CA files, so the CA hash every other node pins still holds.
    const shared = new Set(SHARED_PKI_FILES.map((f) => f.path));
    assert.deepEqual(Object.fromEntries(Object.entries(pkiDigests(r, "/etc/kubernetes/pki")).filter(([p]) => shared.has(p))), programPkiDigests(cp), r.report.pki);
    const initConfig = parse(r.report["standin-configs"].split(/^--- .*$/m).filter((d) => d.trim())[0].split(/^---$/m)[0]);
    assert.equal(initConfig.kind, "InitConfiguration");
    assert.match(initConfig.certificateKey, /^[0-9a-f]{64}$/);
    assert.equal(initConfig.certificateKey, certificateKeyOf(cp));
    assert.match(fs.readFileSync(initBoot.apiLog, "utf8"), new RegExp(`^${ENDPOINT} /readyz$`, "m"), "waited for the API through the endpoint after init");
    assert.match(r.report.journal + r.report["cloud-init-output"], /ready: load balancer 192\.168\.1\.2:6443 accepting connections/);
    assert.match(r.report.marks, /control plane initialised/);
  });

  it("control plane join (haproxy): no CA keys in its guestinfo or on disk before kubeadm; waits for the previous control plane; joins with the certificate key", async () => {
    const cp = joiningControlPlane(vms);
    const r = await joinBoot.result;
    assertControlPlanePreflight(r);
    assertNetwork(r, cp, addressOf(cp));
    assert.doesNotMatch(cp.userData, /PRIVATE KEY/, "no key in the joining control plane's user-data");
    assert.deepEqual(fileModes(r), {
      [KUBEADM_CONFIG]: "600 root:root",
      "/etc/kubernetes/pki/ca.key": "missing",
      "/etc/kubernetes/pki/etcd/ca.key": "missing",
      [PKI_BACKUP_PATH]: "missing",
    });
    const join = `kubeadm join --config ${KUBEADM_CONFIG}`;
    // The first join failed in preflight (before any phase wrote anything): nothing to reset.
    assert.deepEqual(kubeadmCalls(r), [VERSION, join, join], r.report.standin);
    assert.ok(r.report["cloud-init-output"].includes(CERTS_EXPIRED_HINT) || r.report.journal.includes(CERTS_EXPIRED_HINT), "a failed join says how to upload the certificates again");
    const config = parse(r.report["standin-configs"].split(/^--- .*$/m).filter((d) => d.trim())[0]);
    assert.equal(config.kind, "JoinConfiguration");
    assert.equal(config.controlPlane.certificateKey, certificateKeyOf(initNode(vms)), "the init's certificate key");
    assert.equal(config.controlPlane.localAPIEndpoint.advertiseAddress, addressOf(cp));
    const requests = fs.readFileSync(joinBoot.apiLog, "utf8").split("\n");
    const prev = requests.indexOf(`${previousControlPlane(cp)} /readyz`);
    assert.ok(prev >= 0 && prev < requests.indexOf(`${ENDPOINT} /readyz`), `waited for the previous control plane, then the endpoint: ${requests.join(", ")}`);
    assert.match(r.report.marks, /joined the cluster/);
  });

  it("control plane init (kube-vip): kube-vip runs with super-admin.conf during init, admin.conf after, on the NIC the MAC named", async () => {
    const cp = initNode(kubeVipVms);
    const r = await kubeVipBoot.result;
    assertNetwork(r, cp, addressOf(cp));
    assertControlPlanePreflight(r);
    assert.deepEqual(fileModes(r), { [KUBE_VIP_STAGING_PATH]: "644 root:root", [KUBE_VIP_MANIFEST_PATH]: "644 root:root" });
    assert.deepEqual(kubeadmCalls(r), [VERSION, `kubeadm init --config ${KUBEADM_CONFIG} --upload-certs`], r.report.standin);
    const manifests = r.report.manifests.split(/^--- /m).filter(Boolean).map((b) => ({ file: b.split("\n")[0], doc: parse(b.slice(b.indexOf("\n") + 1)) }));
    const during = manifests.find((m) => m.file.startsWith("/var/log/lab-k8s-manifests-"));
    const after = manifests.find((m) => m.file === KUBE_VIP_MANIFEST_PATH);
    assert.ok(during && after, r.report.manifests);
    const kubeconfigPath = (d: any) => d.spec.volumes.find((v: any) => v.name === "kubeconfig").hostPath.path;
    assert.equal(kubeconfigPath(during.doc), "/etc/kubernetes/super-admin.conf", "during kubeadm init only super-admin.conf has rights");
    assert.equal(kubeconfigPath(after.doc), "/etc/kubernetes/admin.conf");
    const env = Object.fromEntries(after.doc.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    assert.equal(env.address, VIP);
    assert.equal(env.vip_interface, "ens192", "the interface the MAC match named");
    assert.match(fs.readFileSync(kubeVipBoot.apiLog, "utf8"), new RegExp(`^${VIP.replace(/\./g, "\\.")} /readyz$`, "m"), "waited for the API through the VIP");
    assert.match(r.report.marks, /control plane initialised/);
  });

  it("worker (installMode: packages): pkgs.k8s.io is unreachable, the attempt fails clearly and is retried", async () => {
    const r = await packagesBoot.result;
    assert.deepEqual(fileModes(r), { "/etc/kubernetes/vsphere-spark/kubernetes.list": "644 root:root", [CONTAINERD]: "644 root:root" });
    assert.match(r.report.marks, /attempt failed \(exit \d+\) during: fetching the Kubernetes package key/, r.report.marks);
    assert.doesNotMatch(r.report.marks, /bootstrap\.done/);
    assert.match(r.report["cloud-init-status"], /status: error/);
    assert.match(r.report.unit, /NRestarts=[1-9]/, r.report.unit);
    assert.equal(kubeadmCalls(r).length, 0, "never reaches kubeadm");
  });
});

function addressOf(v: ProgramVm): string {
  return /addresses:\n\s+- (\d+\.\d+\.\d+\.\d+)\/24/.exec(v.metaData)![1];
}

/** The address a joining control plane waits for (its bootstrap's "previous control plane"). */
function previousControlPlane(v: ProgramVm): string {
  return /previous control plane (\d+\.\d+\.\d+\.\d+)/.exec(v.userData)![1];
}

function writeFiles(v: ProgramVm): { path: string; content: string }[] {
  return (parse(v.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: { path: string; content: string }[] }).write_files;
}

function certificateKeyOf(v: ProgramVm): string {
  const kubeadm = writeFiles(v).find((f) => f.path === KUBEADM_CONFIG)!.content;
  return /certificateKey: ([0-9a-f]{64})/.exec(kubeadm)![1];
}

/** sha256 of each shared CA file as the program wrote it into the user-data. */
function programPkiDigests(v: ProgramVm): Record<string, string> {
  const files = writeFiles(v);
  return Object.fromEntries(
    SHARED_PKI_FILES.map((f) => [f.path, createHash("sha256").update(files.find((x) => x.path === f.path)!.content).digest("hex")]),
  );
}

/** sha256 of each file the boot listed (`files`), from the collector's `digests` section. */
function digestsOf(r: BootResult): Record<string, string> {
  return Object.fromEntries(
    r.report.digests.split("\n").flatMap((l) => {
      const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(l);
      return m ? [[m[2], m[1]]] : [];
    }),
  );
}

/** The collector's sha256 lines for files under `dir`. */
function pkiDigests(r: BootResult, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of r.report.pki.split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m && m[2].startsWith(`${dir}/`)) out[m[2]] = m[1];
  }
  return out;
}
