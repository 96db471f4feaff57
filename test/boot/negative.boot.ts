/**
 * Negative controls for the boot lab: each bring-up defect of issue 8 put back into otherwise real
 * guestinfo, and the lab's own check shown to catch it; and (issue 17) HAProxy's health check
 * without its HTTP part, which the lab's health-check reading must catch. Run with `npm run test:boot:negative`
 * (not in CI: it proves the checks can fail, it does not test the product).
 */
import * as assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { BootResult, CONTROL_PLANE, Chain, Image, Lab, NETWORKD_RENDERER, ProgramVm, boot, buildImage, programVms, withDocuments, withMac } from "./lab";
import { addrOf, assertControlPlanePreflight, assertNetwork, defaultRoute, kubeadmCalls, memKiB } from "./checks";
import { LoadBalancerRun, haproxyCfgOf, loadBalancerBoot } from "./load-balancer";
import { healthProblems, readEvents, serverStatus, summarize } from "./haproxy-health";

const SETS = ["vsphere-spark:kubernetes={version: 1.31.4, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}", "vsphere-spark:workersPerHost=1"];
const ENDPOINT = "192.168.1.2";
const MAC = "00:50:56:3f:00:02";
const HOOK = "/var/lib/cloud/scripts/per-boot/vsphere-spark-bootstrap";
const SCRIPT = "/usr/local/sbin/vsphere-spark-bootstrap";

describe("boot lab negative controls: each defect put back is caught", function () {
  this.timeout(0);
  let image: Image;
  let vms: Record<string, ProgramVm>;
  const lab = new Lab(() => image);
  const vm = (suffix: string) => Object.values(vms).find((x) => x.name.endsWith(suffix))!;
  let nicByDriver: Chain<BootResult>;
  let toDefault: Chain<BootResult>;
  let control: Chain<BootResult>;
  let runcmd: Chain<BootResult>;
  let oneCpu: Chain<BootResult>;
  let tcpCheck: LoadBalancerRun;

  // All five boots start at once, each on its own network, side by side (see Lab).
  before(async () => {
    image = buildImage();
    vms = await programVms(SETS);
    const lb = vm("load-balancer");

    // NIC matched by driver + set-name (no MAC) at QEMU's default slot.
    const md = parse(lb.metaData);
    const eth = Object.values(md.network.ethernets)[0] as Record<string, unknown>;
    eth.match = { driver: "vmxnet3" };
    eth["set-name"] = "ens192";
    nicByDriver = lab.chain([], (net) => boot(image, net, { extraConfig: withDocuments(lb.extraConfig, undefined, stringify(md)), mac: MAC, memoryMiB: 8192, timeoutSeconds: 600 }));

    // Routes `to: default`: with netplan present cloud-init hands the v2 config to netplan, which
    // accepts `default`; its own renderers (networkd here, eni, sysconfig) reject it.
    const ec = withMac(lb, MAC);
    const routed = Buffer.from(ec["guestinfo.metadata"], "base64").toString().replace("to: 0.0.0.0/0", "to: default");
    assert.match(routed, /to: default/);
    toDefault = lab.chain([], (net) => boot(image, net, { extraConfig: withDocuments(ec, undefined, routed), mac: MAC, memoryMiB: 2048, timeoutSeconds: 600, kernelArgs: NETWORKD_RENDERER }));
    control = lab.chain([], (net) => boot(image, net, { extraConfig: withMac(lb, MAC), mac: MAC, memoryMiB: 2048, timeoutSeconds: 600, kernelArgs: NETWORKD_RENDERER }));

    // The bootstrap as runcmd instead of the per-boot hook + unit.
    const w = vm("worker-1");
    const ud = parse(w.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" });
    ud.write_files = ud.write_files.filter((f: { path: string }) => f.path !== HOOK);
    ud.runcmd = [["bash", SCRIPT]];
    const wec = withDocuments(withMac(w, MAC), `#cloud-config\n${stringify(ud, { version: "1.1", lineWidth: 0 })}`);
    // The real hook would start the unit after this boot's three failed joins; runcmd does not. The
    // worker's scratch disk is there, as in its real boots: without it the bootstrap stops before kubeadm.
    runcmd = lab.chain([ENDPOINT], (net) =>
      boot(image, net, { extraConfig: wec, mac: MAC, dataDisksGiB: w.dataDisksGiB, memoryMiB: 4096, standin: ["version v1.31.4", "fail kubeadm join 3"], until: "sleep 120; true", timeoutSeconds: 1500 }),
    );
    // The first control plane on one vCPU (the lab's control planes had one until 2026-12-05):
    // kubeadm's preflight refuses it, as the stand-in does now.
    const init = Object.values(vms).find((x) => /kind: InitConfiguration/.test(x.userData))!;
    oneCpu = lab.chain([ENDPOINT], (net) =>
      boot(image, net, { extraConfig: init.extraConfig, mac: init.macAddress!, ...CONTROL_PLANE, vcpus: 1, standin: ["version v1.31.4"], until: "test -s /var/log/lab-k8s-errors.log", timeoutSeconds: 1200 }),
    );

    // HAProxy's check without its HTTP part (`option httpchk` and the `http-check` lines removed):
    // `check` alone is a TCP connect, which a not-ready API server passes.
    const cfg = haproxyCfgOf(lb);
    const tcpOnly = cfg.split("\n").filter((l) => !/^\s+(option httpchk|http-check )/.test(l)).join("\n");
    assert.equal(cfg.split("\n").length - tcpOnly.split("\n").length, 4, "option httpchk and three http-check lines removed");
    tcpCheck = loadBalancerBoot(lab, () => image, lb, { haproxyCfg: tcpOnly });
  });
  after(() => lab.down());

  it("NIC matched by driver + set-name (no MAC) at QEMU's default slot: no address, the check fails", async () => {
    const lb = vm("load-balancer");
    const r = await nicByDriver.result;
    console.log(`      boot: ${r.seconds} s; MemTotal at 8192 MiB: ${memKiB(r)} kB; links: ${JSON.parse(r.report.link).map((l: any) => l.ifname).join(",")}`);
    assert.throws(() => assertNetwork(r, lb, ENDPOINT), /static address on ens192/);
    const all = JSON.parse(r.report.addr).flatMap((l: any) => addrOf(r, l.ifname));
    assert.deepEqual(all.filter((a: string) => !a.startsWith("127.")), [], "no IPv4 address on any NIC");
  });

  it("routes `to: default` with cloud-init's own (networkd) renderer: no default route, the check fails", async () => {
    const r = await toDefault.result;
    console.log(`      boot: ${r.seconds} s; route: ${r.report.route}; warnings: ${r.report["cloud-init-warnings"].split("\n").filter((l) => /default/.test(l)).join(" | ")}`);
    // cloud-init 22.4 rejects the whole network config ("failed stage init-local"): no address either.
    assert.throws(() => assertNetwork(r, vm("load-balancer"), ENDPOINT), /static address on ens192|default route/);
    assert.match(r.report["cloud-init-warnings"], /Address default is not a valid ip network/);
    assert.equal(defaultRoute(r), undefined);
  });

  it("control for the control: the same boot with `0.0.0.0/0` (what the program renders) has its default route", async () => {
    const r = await control.result;
    console.log(`      boot: ${r.seconds} s; route: ${r.report.route}`);
    assertNetwork(r, vm("load-balancer"), ENDPOINT);
  });

  it("bootstrap from runcmd instead of the per-boot hook + unit: a failed join is never retried", async () => {
    const r = await runcmd.result;
    console.log(`      boot: ${r.seconds} s; kubeadm calls: ${kubeadmCalls(r).length}; unit: ${r.report.unit.replace(/\n/g, " ")}`);
    const joins = kubeadmCalls(r).filter((c) => c.startsWith("kubeadm join"));
    assert.equal(joins.length, 3, "three failed joins, then nothing");
    assert.match(r.report.marks, /bootstrap\.failed/);
    assert.doesNotMatch(r.report.marks, /bootstrap\.done/);
  });

  it("control plane on one vCPU: kubeadm's preflight (NumCPU) fails, and the lab's control-plane check catches it", async () => {
    const r = await oneCpu.result;
    console.log(`      boot: ${r.seconds} s`);
    assert.match(r.report["standin-errors"], /\[ERROR NumCPU\]: the number of available CPUs 1 is less than the required 2/, r.report["standin-errors"]);
    assert.throws(() => assertControlPlanePreflight(r), /kubeadm's preflight failed: .*NumCPU=1/);
  });

  it("HAProxy's check as a plain TCP connect (no option httpchk / http-check): the not-ready API server stand-in stays UP and gets clients, the lab's check fails", async () => {
    const r = await tcpCheck.chain.result;
    const events = readEvents(tcpCheck.chain.healthDir);
    const [, , third] = tcpCheck.backends;
    const notReady = tcpCheck.scenario.phases[0];
    const problems = healthProblems(events, tcpCheck.scenario, tcpCheck.backends, { lbAddress: tcpCheck.address, haproxyCfg: tcpCheck.haproxyCfg });
    console.log(`      boot: ${r.seconds} s; problems: ${JSON.stringify(problems)}`);
    assert.ok(problems.includes(`${notReady.name}: HAProxy says ${third.name} is UP, its stand-in is not-ready`), problems.join("\n"));
    assert.ok(problems.includes(`${notReady.name}: no HTTPS GET /readyz check reached ${third.name}`), problems.join("\n"));
    assert.ok(summarize(events, tcpCheck.scenario, tcpCheck.backends).probedServers[notReady.name].includes(third.name), "clients sent to the not-ready one");
    // HAProxy's own view: its check of the third passed at layer 4.
    const lastOfPhase1 = events.filter((e) => e.phase === notReady.name && e.kind === "sample" && e.stat).pop()!;
    assert.deepEqual(serverStatus(lastOfPhase1.stat!)[third.name], { status: "UP", check: "L4OK", rise: "2", fall: "3" });
  });
});
