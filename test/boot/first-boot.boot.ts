/**
 * First boot, executed: each role's real guestinfo (from the program under the mock runtime) boots
 * in the lab VM, and the node ends up as the program meant. Run with `npm run test:boot`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Image, LabNetwork, ProgramVm, boot, buildImage, programVms } from "./lab";
import { tmpDir } from "../cluster/helpers";
import { GATEWAY, assertNetwork, fileModes, kubeadmCalls, memKiB } from "./checks";

const K8S = "vsphere-spark:kubernetes={version: 1.31.4, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}";
const SETS = [K8S, "vsphere-spark:workersPerHost=1"];

const ENDPOINT = "192.168.1.2";
const BOOTSTRAP = "/usr/local/sbin/vsphere-spark-bootstrap";
const KUBEADM_CONFIG = "/etc/kubernetes/vsphere-spark/kubeadm.yaml";
const UNIT = "/etc/systemd/system/vsphere-spark-bootstrap.service";
const HOOK = "/var/lib/cloud/scripts/per-boot/vsphere-spark-bootstrap";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const CONTAINERD = "/etc/containerd/config.toml";

export const timings: Record<string, number> = {};
export const memTotal: { configuredMiB: number; memTotalKiB: number }[] = [];

describe("boot lab: first boot of each role's real guestinfo", function () {
  this.timeout(0);
  let image: Image;
  let vms: Record<string, ProgramVm>;
  let net: LabNetwork;
  const apiLog = path.join(tmpDir("api"), "requests.log");

  before(async function () {
    const t0 = Date.now();
    image = buildImage();
    timings.image = Math.round((Date.now() - t0) / 1000);
    vms = await programVms(SETS);
    net = new LabNetwork(`${GATEWAY}/24`, [ENDPOINT]);
    net.up();
  });
  after(() => {
    net?.down();
    console.log(`      boot lab timings (s): ${JSON.stringify(timings)}`);
    console.log(`      MemTotal: ${JSON.stringify(memTotal)}`);
  });

  const vm = (suffix: string) => {
    const v = Object.values(vms).find((x) => x.name.endsWith(suffix));
    if (!v) throw new Error(`no VM named *${suffix} in ${Object.keys(vms).join(", ")}`);
    return v;
  };

  it("load balancer: network, files, haproxy (user, chroot, stats socket) serving the generated config", async () => {
    const lb = vm("load-balancer");
    assert.ok(lb.macAddress, "the program gives the VM's NIC a static MAC");
    // This one behind a PCIe root port at slot 192 (the kernel calls it ens192 already); the worker
    // below at QEMU's default slot (enp0s1): the MAC match names both ens192.
    const r = await boot(image, net, {
      extraConfig: lb.extraConfig,
      mac: lb.macAddress!,
      nicSlot: "ens192",
      memoryMiB: 2048,
      files: ["/etc/haproxy/haproxy.cfg", BOOTSTRAP, UNIT, HOOK],
      until: `test -f ${DONE}`,
      timeoutSeconds: 1200,
    });
    timings["load-balancer"] = r.seconds;
    memTotal.push({ configuredMiB: 2048, memTotalKiB: memKiB(r) });
    assertNetwork(r, lb, ENDPOINT);
    assert.deepEqual(fileModes(r), { "/etc/haproxy/haproxy.cfg": "644 root:root", [BOOTSTRAP]: "700 root:root", [UNIT]: "644 root:root", [HOOK]: "700 root:root" });
    assert.match(r.report.haproxy, /^active$/m, r.report.haproxy + r.report["cloud-init-output"]);
    assert.match(r.report.haproxy, /^haproxy +haproxy +\/usr\/sbin\/haproxy/m, "workers run as haproxy:haproxy");
    assert.match(r.report.haproxy, /admin\.sock/, "stats socket");
    assert.match(r.report["cloud-init-status"], /status: done/, r.report["cloud-init-status"]);
  });

  // One worker, three boots: a power cut during `kubeadm join`, then a boot whose attempt fails (the
  // unit retries it until it succeeds), then a reboot after success that does nothing.
  describe("worker (installMode: preinstalled), NIC found by its MAC at QEMU's default slot", () => {
    let w: ProgramVm;
    let disk: string;
    const standin = ["version v1.31.4", "poweroff kubeadm join 1", "fail kubeadm join 4"];
    const files = [KUBEADM_CONFIG, BOOTSTRAP, UNIT, HOOK, CONTAINERD, "/etc/modules-load.d/kubernetes.conf", "/etc/sysctl.d/99-kubernetes.conf"];
    const opts = () => ({
      extraConfig: w.extraConfig,
      mac: w.macAddress!,
      nicSlot: "default" as const,
      memoryMiB: 4096,
      standin,
      files,
    });
    before(() => {
      w = vm("worker-1");
      assert.ok(w.macAddress, "the program gives the VM's NIC a static MAC");
      fs.writeFileSync(apiLog, "");
      net.serveApi([ENDPOINT], apiLog);
    });

    it("boot 1: network, files, and the power is cut during kubeadm join", async () => {
      const r = await boot(image, net, { ...opts(), until: "false", timeoutSeconds: 1500 });
      timings["worker boot 1 (cut)"] = r.seconds;
      disk = r.disk;
      assert.ok(r.cut, "the stand-in cut the power before the collector reported");
      assert.match(r.console, /stand-in kubeadm: cutting the power during call 1 of kubeadm join/);
      assert.match(fs.readFileSync(apiLog, "utf8"), new RegExp(`^${ENDPOINT} /readyz$`, "m"), "waited for the API through the endpoint");
    });

    it("boot 2: resumes, the boot's attempt fails (cloud-init says so), the unit retries until joined", async () => {
      const r = await boot(image, net, { ...opts(), disk, until: `test -f ${DONE}`, timeoutSeconds: 1500 });
      timings["worker boot 2 (resume, retry)"] = r.seconds;
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
      // Boot 1: version check, join #1 (cut). Boot 2: version, joins #2-#4 fail (each followed by a reset)
      // in the boot's attempt, then the unit's attempt: version, join #5 succeeds.
      const join = `kubeadm join --config ${KUBEADM_CONFIG}`;
      const version = "kubeadm version -o short";
      const reset = "kubeadm reset -f";
      assert.deepEqual(kubeadmCalls(r), [version, join, version, join, reset, join, reset, join, reset, version, join], r.report.standin);
      assert.match(r.report["standin-configs"], /kind: JoinConfiguration/);
      assert.match(r.report["cloud-init-status"], /status: error/, "this boot's attempt failed: cloud-init says so");
      assert.match(r.report["cloud-init-status"], /scripts.per.boot/, r.report["cloud-init-status"]);
      assert.match(r.report["cloud-init-output"], /node bootstrap not done: .*attempt failed \(exit 1\) during: kubeadm join/);
      assert.match(r.report.unit, /Result=success/, r.report.unit);
      assert.match(r.report.marks, /joined the cluster/);
      assert.doesNotMatch(r.report.marks, /bootstrap\.failed/, "a success clears the failure mark");
      assert.match(r.report.containerd, /SystemdCgroup = true/);
    });

    it("boot 3: a reboot after success does nothing again", async () => {
      const r = await boot(image, net, { ...opts(), disk, until: "true", timeoutSeconds: 900 });
      timings["worker boot 3 (after success)"] = r.seconds;
      assert.equal(kubeadmCalls(r).length, 11, "no new kubeadm call");
      assert.match(r.report["cloud-init-status"], /status: done/, r.report["cloud-init-status"]);
      assert.match(r.report.unit, /ActiveState=inactive/);
    });
  });

  it("worker (installMode: packages): pkgs.k8s.io is unreachable, the attempt fails clearly and is retried", async () => {
    const pkgs = await programVms(["vsphere-spark:kubernetes={version: 1.31.4, installMode: packages, cni: {kind: antrea, version: 2.2.0}}", "vsphere-spark:workersPerHost=1"]);
    const w = Object.values(pkgs).find((x) => x.name.endsWith("worker-1"))!;
    const r = await boot(image, net, {
      extraConfig: w.extraConfig,
      mac: w.macAddress!,
      memoryMiB: 2048,
      files: ["/etc/kubernetes/vsphere-spark/kubernetes.list", CONTAINERD],
      // The unit has retried at least once after the boot's attempt.
      until: "[ \"$(systemctl show -p NRestarts --value vsphere-spark-bootstrap.service)\" -ge 1 ]",
      timeoutSeconds: 1500,
    });
    timings["worker, packages (unreachable repository)"] = r.seconds;
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
