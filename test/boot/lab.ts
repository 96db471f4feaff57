/**
 * The boot lab: boots the program's real guestinfo in a Debian 12 VM (QEMU, TCG) that looks like a
 * vSphere VM to the guest (VMware DMI, a vmxnet3 NIC, guestinfo through a stand-in vmware-rpctool),
 * on a private network namespace whose only other address is a tap acting as the gateway. Nothing
 * in the guest can reach a non-local address. See test/boot/README.md.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { plan } from "../../src/plan/plan";
import { unwrapSecrets } from "../../src/plan/mock-runtime";
import { parse } from "yaml";
import { renderMetaData } from "../../components/cluster/cloud-init";
import type { ClusterNode, NodeNetwork } from "../../components/cluster/types";
import { realisticOutputs, tmpDir } from "../cluster/helpers";
import type { HealthScenario } from "./haproxy-health";
import { atExit } from "../support/at-exit";

export const GATEWAY = "192.168.1.254";

const HERE = path.resolve(__dirname, "../../../test/boot");
const ROOT = path.resolve(__dirname, "../../..");
const VM_TYPE = "vsphere:index/virtualMachine:VirtualMachine";

export interface Image {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** The flat Debian repository the template's apt source points at (HAProxy and what it needs). */
  mirror: string;
}

/**
 * Builds (or reuses from the cache) the guest image; with `k8s` (a payload folder of real-k8s.ts), the
 * variant with the real kubeadm, kubelet and kubectl and the control plane's images.
 */
export function buildImage(k8s?: string): Image {
  const env = k8s ? { ...process.env, VSPHERE_SPARK_BOOT_K8S: k8s } : process.env;
  const dir = execFileSync("bash", [path.join(HERE, "build-image.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env }).trim();
  return { dir, disk: path.join(dir, "disk.raw"), kernel: path.join(dir, "vmlinuz"), initrd: path.join(dir, "initrd.img"), mirror: path.join(dir, "mirror") };
}

export interface ProgramVm {
  name: string;
  /** The VM resource's `extraConfig`, as the program sets it (secrets unwrapped). */
  extraConfig: Record<string, string>;
  /** The NIC's static MAC when the program sets one (`useStaticMac`). */
  macAddress?: string;
  userData: string;
  metaData: string;
  /** Sizes of the VM's disks after the boot disk (unit 1, 2, …), e.g. a worker's scratch disk. */
  dataDisksGiB: number[];
}

/**
 * Runs the real program (the dev stack plus `sets`) under the mock runtime and returns its VMs. With
 * `previousCluster` (the `clusterLifecycle` output of an earlier run, see `programState`): the program
 * renders them for a cluster that exists (`pulumi up` on a running cluster). `simulate`: the mocks'
 * outputs; pass the same one to two calls for renders of one cluster (one PKI, the same tokens).
 */
export async function programVms(sets: string[], previousCluster?: unknown, simulate = realisticOutputs()): Promise<Record<string, ProgramVm>> {
  return (await programResources(sets, previousCluster, simulate)).vms;
}

/** `programVms`, and every resource the run registered (type, name, inputs with secrets unwrapped). */
export async function programResources(
  sets: string[],
  previousCluster?: unknown,
  simulate = realisticOutputs(),
): Promise<{ vms: Record<string, ProgramVm>; resources: { type: string; name: string; inputs: Record<string, unknown> }[] }> {
  const r = await plan({ stack: "dev", cwd: ROOT, sets, simulate, ...(previousCluster !== undefined ? { previousCluster } : {}) });
  if (!r.ok) throw new Error(`plan failed: ${JSON.stringify(r.errors)}`);
  const resources = r.recorded.map((x) => ({ type: x.type, name: x.name, inputs: unwrapSecrets(x.inputs) as Record<string, unknown> }));
  const out: Record<string, ProgramVm> = {};
  for (const vm of r.recorded.filter((x) => x.type === VM_TYPE)) {
    const inputs = unwrapSecrets(vm.inputs) as Record<string, any>;
    const ec = inputs.extraConfig as Record<string, string>;
    const nic = (inputs.networkInterfaces ?? [])[0] ?? {};
    out[vm.name] = {
      // The VM's name in vCenter: the node's host name and Kubernetes name.
      name: inputs.name ?? vm.name,
      extraConfig: ec,
      macAddress: nic.useStaticMac ? nic.macAddress : undefined,
      userData: gunzipSync(Buffer.from(ec["guestinfo.userdata"], "base64")).toString(),
      metaData: Buffer.from(ec["guestinfo.metadata"], "base64").toString(),
      dataDisksGiB: ((inputs.disks ?? []) as { unitNumber?: number; size: number }[])
        .filter((d) => (d.unitNumber ?? 0) > 0)
        .sort((a, b) => (a.unitNumber ?? 0) - (b.unitNumber ?? 0))
        .map((d) => Number(d.size)),
    };
  }
  return { vms: out, resources };
}

/**
 * The program's `clusterLifecycle` output (what a `pulumi up` of the dev stack plus `sets` applies);
 * `simulate` as in `programVms`.
 */
export async function programState(sets: string[], simulate = realisticOutputs()): Promise<Record<string, unknown>> {
  const r = await plan({ stack: "dev", cwd: ROOT, sets, simulate });
  if (!r.ok) throw new Error(`plan failed: ${JSON.stringify(r.errors)}`);
  return r.plan.outputs.clusterLifecycle as Record<string, unknown>;
}

/**
 * kubeadm's preflight minimum of a control plane: kubernetes/kubernetes v1.34.4
 * cmd/kubeadm/app/constants/constants.go (ControlPlaneNumCPU = 2, ControlPlaneMem = 1700 MB), checked
 * by NumCPUCheck and MemCheck in cmd/kubeadm/app/preflight/checks.go (InitNodeChecks, run by `init`
 * and by a control-plane `join`). The lab's control planes boot with these; the stand-in checks them.
 */
export const KUBEADM_CONTROL_PLANE_CPUS = 2;
export const KUBEADM_CONTROL_PLANE_MEMORY_MB = 1700;
/** A control plane's boot: kubeadm's CPUs, and 2 GiB (MemTotal about 1.9 GiB, above its 1700 MB). */
export const CONTROL_PLANE = { vcpus: KUBEADM_CONTROL_PLANE_CPUS, memoryMiB: 2048 } as const;

export interface BootOptions {
  extraConfig: Record<string, string>;
  /** MAC of the QEMU vmxnet3 NIC (the program's static MAC). */
  mac: string;
  memoryMiB?: number;
  /**
   * The guest's vCPUs (`-smp`, default 1): control planes get kubeadm's preflight minimum (2,
   * `KUBEADM_CONTROL_PLANE_CPUS`). A TCG vCPU is a host thread, so a boot needs as many of its
   * chain's slots (`Lab.chain`'s `vcpus`).
   */
  vcpus?: number;
  /** `default`: QEMU's first free slot (the kernel names it enp0sN); `ens192`: behind a root port at slot 192. */
  nicSlot?: "default" | "ens192";
  /** Lines for the kubeadm/kubelet/kubectl stand-ins (see guest/k8s-standin). */
  standin?: string[];
  /** Shell condition the collector waits for before reporting. */
  until?: string;
  timeoutSeconds?: number;
  /** Paths whose mode and owner the collector reports. */
  files?: string[];
  /** Appended to the kernel command line (e.g. cloud-config for cloud-init as `cc: ... end_cc`). */
  kernelArgs?: string;
  /**
   * Further files for the collector, as fw_cfg `opt/lab/<name>` (e.g. `sections`: a spec's own report
   * sections; `kubeadm-report`: which of the real-kubeadm image's sections to take; see
   * guest-kubeadm/lab-report-kubeadm).
   */
  labFiles?: Record<string, string>;
  /** The network's tap the NIC uses (default the first; see `LabNetwork`'s `taps`). */
  tap?: string;
  /** Keep using this disk (a reboot): pass the `disk` of an earlier result. */
  disk?: string;
  /**
   * Further virtio disks of these sizes (the VM's data disks, e.g. a worker's scratch disk): sparse
   * qcow2 files beside the boot disk, kept across its reboots. Discards and zero writes are unmapped, so
   * mkfs.ext4 of a 400 GiB disk writes almost nothing.
   */
  dataDisksGiB?: number[];
}

export interface BootResult {
  /** Section name → text (see guest/lab-report). */
  report: Record<string, string>;
  seconds: number;
  console: string;
  disk: string;
  /** The QEMU process ended without a report (e.g. a power cut by a stand-in). */
  cut: boolean;
}

/** A private network namespace: a tap at the gateway address, and local stand-in services. */
let networks = 0;

export class LabNetwork {
  /** One namespace per network: boots on different networks run side by side, each alone on its wire. */
  readonly ns = `vss-lab-${process.pid}-${++networks}`;
  readonly tap = "lab0";
  /** With more than one tap: the bridge that joins them and holds the addresses. */
  readonly bridge = "labbr";
  private services: ChildProcess[] = [];
  /** Running QEMU processes (killed with the namespace). */
  readonly vms: ChildProcess[] = [];
  constructor(
    readonly gatewayCidr: string,
    readonly extraAddresses: string[] = [],
    /** Host threads (pool slots) its boots may use: a boot's `vcpus` must not exceed it. */
    readonly slots = 1,
    /**
     * Taps (guests on this network at once): with more than one, a bridge joins them (one wire for
     * several guests, e.g. two control planes, cp-join-real.boot.ts) and holds the addresses.
     */
    readonly taps = 1,
  ) {}

  /** The taps' names: `lab0`, `lab1`, … */
  get tapNames(): string[] {
    return Array.from({ length: this.taps }, (_, i) => `lab${i}`);
  }

  up(): void {
    const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "inherit" });
    ip("netns", "add", this.ns);
    ip("-n", this.ns, "link", "set", "lo", "up");
    for (const t of this.tapNames) ip("-n", this.ns, "tuntap", "add", t, "mode", "tap");
    // One tap: the addresses on it. Several: on a bridge joining them (guests reach each other).
    const dev = this.taps > 1 ? this.bridge : this.tap;
    if (this.taps > 1) {
      ip("-n", this.ns, "link", "add", this.bridge, "type", "bridge");
      for (const t of this.tapNames) ip("-n", this.ns, "link", "set", t, "master", this.bridge);
    }
    ip("-n", this.ns, "addr", "add", this.gatewayCidr, "dev", dev);
    for (const a of this.extraAddresses) ip("-n", this.ns, "addr", "add", `${a}/32`, "dev", dev);
    for (const t of this.tapNames) ip("-n", this.ns, "link", "set", t, "up");
    if (this.taps > 1) ip("-n", this.ns, "link", "set", this.bridge, "up");
    // No default route in the namespace: any non-local address is unreachable at once.
    this.offExit = atExit(() => this.down());
  }

  /** Starts the stand-in API server (answers `/readyz`) on `addresses`:6443 inside the namespace. */
  serveApi(addresses: string[], log: string): void {
    this.serve("api-standin.js", [log, ...addresses]);
  }

  /**
   * Starts the etcd stand-in (etcd-standin.ts) on `addresses`:2379 inside the namespace: TLS with
   * `certPem`/`keyPem` (a server certificate the guest's etcd CA signed), asking for a client
   * certificate signed by `caPem`; its member list starts as `members` and loses those removed.
   */
  serveEtcd(addresses: string[], o: { caPem: string; certPem: string; keyPem: string; members: { ID: string }[] }, log: string): void {
    const dir = path.dirname(log);
    fs.writeFileSync(path.join(dir, "ca.crt"), o.caPem);
    fs.writeFileSync(path.join(dir, "server.crt"), o.certPem);
    fs.writeFileSync(path.join(dir, "server.key"), o.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "members.json"), JSON.stringify(o.members));
    this.serve("etcd-standin.js", [log, dir, ...addresses]);
  }

  /**
   * Forwards `listen`:`port` (addresses the namespace holds) to `target`:`port`: the load balancer's
   * stand-in in front of a real API server (tcp-forward.ts).
   */
  forward(listen: string[], target: string, port: number, log: string): void {
    this.serve("tcp-forward.js", [log, target, String(port), ...listen]);
  }

  /**
   * Starts the kube-apiserver stand-ins behind HAProxy (apiserver-standins.ts) on the scenario's
   * addresses:6443, and their controller on the gateway, port 8080; their log is `<dir>/events.jsonl`.
   */
  serveApiservers(scenario: HealthScenario, dir: string): void {
    fs.writeFileSync(path.join(dir, "scenario.json"), JSON.stringify(scenario));
    this.serve("apiserver-standins.js", [dir, this.gatewayCidr.split("/")[0]]);
  }

  /** Serves the image's package mirror on the gateway address, port 80 (the template's apt source). */
  serveMirror(dir: string, log: string): void {
    this.serve("lab-mirror.js", [dir, log, this.gatewayCidr.split("/")[0]]);
  }

  /** Runs one of the lab's node scripts (next to this file) inside the namespace until `down()`. */
  private serve(script: string, args: string[]): void {
    this.services.push(spawn("ip", ["netns", "exec", this.ns, process.execPath, path.join(__dirname, script), ...args], { stdio: "inherit" }));
  }

  exec(argv: string[], opts: { stdio?: "inherit" | "pipe" } = {}): ChildProcess {
    return spawn("ip", ["netns", "exec", this.ns, ...argv], { stdio: opts.stdio ?? "pipe" });
  }

  private offExit?: () => void;

  down(): void {
    this.offExit?.();
    for (const p of [...this.services, ...this.vms]) p.kill();
    this.services = [];
    try {
      execFileSync("ip", ["netns", "del", this.ns], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  }
}

/**
 * The VM's guestinfo with its meta-data rendered (by the real renderer) for a node carrying `mac`:
 * for program output that sets no static MAC on the VM yet. Only the network part changes.
 */
export function withMac(vm: ProgramVm, mac: string): Record<string, string> {
  const md = parse(vm.metaData) as { "local-hostname": string; network: { ethernets: Record<string, any> } };
  const [ifname, eth] = Object.entries(md.network.ethernets)[0];
  const [address, prefix] = String(eth.addresses[0]).split("/");
  const node: ClusterNode = { name: md["local-hostname"], role: "worker", address, cpus: 1, memoryMiB: 1, macAddress: mac };
  const network: NodeNetwork = {
    prefixLength: Number(prefix),
    gateway: eth.routes[0].via,
    dnsServers: eth.nameservers.addresses,
    searchDomains: eth.nameservers.search ?? [],
    interfaceName: ifname,
  };
  return { ...vm.extraConfig, "guestinfo.metadata": Buffer.from(renderMetaData(node, network)).toString("base64") };
}

/** Re-encodes guestinfo with changed user-data and/or meta-data (negative controls). */
export function withDocuments(extraConfig: Record<string, string>, userData?: string, metaData?: string): Record<string, string> {
  const out = { ...extraConfig };
  if (userData !== undefined) out["guestinfo.userdata"] = gzipSync(Buffer.from(userData)).toString("base64");
  if (metaData !== undefined) out["guestinfo.metadata"] = Buffer.from(metaData).toString("base64");
  return out;
}

/**
 * Kernel arguments that make cloud-init render the network with its systemd-networkd renderer
 * instead of netplan (a template without netplan: what cloud-init does on its own).
 */
export const NETWORKD_RENDERER = "cc: system_info: {network: {renderers: [networkd]}} end_cc";

/** Parses the collector's "=== name" blocks. */
export function parseReport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let cur: string | undefined;
  let buf: string[] = [];
  for (const line of text.replace(/\r/g, "").split("\n")) {
    // A section whose output does not end in a newline (etcd's /health body, curl's output as is):
    // the collector's `echo "=== rc $?"` (guest/lab-report, `sec`) lands at the end of its last line.
    const glued = cur !== undefined ? /^(.+)=== rc (-?[0-9]+)$/.exec(line) : null;
    if (glued && !glued[1].startsWith("=== ")) {
      buf.push(glued[1]);
      out[cur!] = buf.join("\n");
      out[`${cur}.rc`] = glued[2];
      cur = undefined;
      buf = [];
      continue;
    }
    const m = /^=== (.*)$/.exec(line);
    if (m) {
      if (m[1].startsWith("rc ")) {
        if (cur !== undefined) out[cur] = buf.join("\n");
        if (cur !== undefined) out[`${cur}.rc`] = m[1].slice(3);
        cur = undefined;
        buf = [];
      } else {
        cur = m[1];
        buf = [];
      }
    } else if (cur !== undefined) buf.push(line);
  }
  return out;
}

/** Boots one VM to the collector's report (or until it powers off), inside `net`. */
export async function boot(image: Image, net: LabNetwork, o: BootOptions): Promise<BootResult> {
  const vcpus = o.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > net.slots) {
    throw new Error(`boot: ${vcpus} vCPUs on a chain of ${net.slots} slot(s): pass { vcpus: ${vcpus} } to Lab.chain`);
  }
  const work = tmpDir("boot");
  const disk = o.disk ?? path.join(work, "disk.qcow2");
  if (!o.disk) execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", image.disk, disk]);
  const dataDrives = (o.dataDisksGiB ?? []).flatMap((gib, i) => {
    const f = `${disk}.data${i + 1}.qcow2`;
    if (!fs.existsSync(f)) execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", f, `${gib}G`]);
    return ["-drive", `file=${f},if=virtio,format=qcow2,discard=unmap,detect-zeroes=unmap`];
  });
  const fwcfg: string[] = [];
  const put = (name: string, content: string) => {
    const f = path.join(work, name.replace(/\//g, "_"));
    fs.writeFileSync(f, content);
    fwcfg.push("-fw_cfg", `name=opt/${name},file=${f}`);
  };
  for (const [k, v] of Object.entries(o.extraConfig)) put(`guestinfo/${k}`, v);
  put("lab/standin", (o.standin ?? []).join("\n") + "\n");
  put("lab/until", o.until ?? "true");
  put("lab/timeout", String(o.timeoutSeconds ?? 900));
  put("lab/files", (o.files ?? []).join("\n") + "\n");
  for (const [k, v] of Object.entries(o.labFiles ?? {})) put(`lab/${k}`, v);
  const tap = o.tap ?? net.tap;
  if (!net.tapNames.includes(tap)) throw new Error(`boot: no tap ${tap} on this network (${net.tapNames.join(", ")})`);
  const nic =
    o.nicSlot === "ens192"
      ? ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off", "-device", "pcie-root-port,id=rp192,chassis=1,slot=192",
         "-device", `vmxnet3,netdev=n0,mac=${o.mac},bus=rp192`]
      : ["-device", `vmxnet3,netdev=n0,mac=${o.mac}`];
  const consoleLog = path.join(work, "console.log");
  const reportLog = path.join(work, "report.txt");
  const argv = [
    "qemu-system-x86_64",
    "-machine", "q35,accel=tcg",
    "-cpu", "max,tcg-cpuid=off",
    "-smp", String(vcpus),
    "-m", String(o.memoryMiB ?? 2048),
    "-smbios", "type=1,manufacturer=VMware,, Inc.,product=VMware Virtual Platform",
    "-display", "none", "-vga", "none", "-no-reboot",
    "-kernel", image.kernel, "-initrd", image.initrd,
    "-append", `root=/dev/vda rw console=ttyS0 systemd.show_status=1${o.kernelArgs ? ` ${o.kernelArgs}` : ""}`,
    "-drive", `file=${disk},if=virtio,format=qcow2`,
    ...dataDrives,
    "-netdev", `tap,id=n0,ifname=${tap},script=no,downscript=no`,
    ...nic,
    "-serial", `file:${consoleLog}`,
    "-serial", `file:${reportLog}`,
    ...fwcfg,
  ];
  const t0 = Date.now();
  const p = net.exec(argv, { stdio: "pipe" });
  net.vms.push(p);
  let stderr = "";
  p.stderr?.on("data", (d) => (stderr += d));
  const limit = ((o.timeoutSeconds ?? 900) + 600) * 1000;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => p.kill("SIGKILL"), limit);
    p.on("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const seconds = Math.round((Date.now() - t0) / 1000);
  const reportText = fs.existsSync(reportLog) ? fs.readFileSync(reportLog, "utf8") : "";
  const consoleText = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "utf8") : "";
  if (code !== 0 && !reportText) throw new Error(`qemu exited ${code}: ${stderr}\n${consoleText.slice(-3000)}`);
  return { report: parseReport(reportText), seconds, console: consoleText, disk, cut: !reportText.includes("=== end") };
}

/**
 * Runs tasks while their slots fit in `size` (a TCG vCPU is a host thread: one slot per vCPU, one
 * host core each). A task wider than the pool runs alone. Default size:
 * `$VSPHERE_SPARK_BOOT_PARALLEL`, else the host's cores up to 4. First come, first served: a wide
 * task waiting at the head is not overtaken by narrow ones behind it.
 */
export class Pool {
  private used = 0;
  private waiting: { slots: number; go: () => void }[] = [];
  constructor(readonly size: number = defaultParallelism()) {}

  private fits(slots: number): boolean {
    return this.used === 0 || this.used + slots <= this.size;
  }

  async run<T>(task: () => Promise<T>, slots = 1): Promise<T> {
    if (this.waiting.length === 0 && this.fits(slots)) this.used += slots;
    // Woken by `release`, which has already counted its slots.
    else await new Promise<void>((go) => this.waiting.push({ slots, go }));
    try {
      return await task();
    } finally {
      this.release(slots);
    }
  }

  private release(slots: number): void {
    this.used -= slots;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].slots)) {
      const next = this.waiting.shift()!;
      this.used += next.slots;
      next.go();
    }
  }
}

export function defaultParallelism(): number {
  const env = Number(process.env.VSPHERE_SPARK_BOOT_PARALLEL);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/** A role's boots on its own network; started at once, awaited by its tests. */
export interface Chain<T> {
  result: Promise<T>;
  /** Requests to the API stand-in ("<address> <path>"), or the connections tcp-forward.ts forwarded. */
  apiLog: string;
  /** Requests to the lab's package mirror ("<address> <path> <status>"), when it served one. */
  mirrorLog: string;
  /** The kube-apiserver stand-ins' folder (`events.jsonl`), when the chain has them. */
  healthDir: string;
}

/**
 * Independent boots side by side: each chain gets its own network (a namespace whose tap is the
 * gateway and holds `addresses`, where the API stand-in answers) and waits for a slot in the pool.
 */
export class Lab {
  readonly pool = new Pool();
  private readonly nets: LabNetwork[] = [];

  constructor(private readonly image: () => Image) {}

  /**
   * `opts.mirror`: the lab mirror on the gateway; `opts.apiservers`: the kube-apiserver stand-ins
   * behind HAProxy, playing that scenario on its addresses (the load balancer's network);
   * `opts.vcpus`: the pool slots its boots need (their largest `vcpus`); `opts.forwardTo`: `addresses`
   * are the load balancer's and forward port 6443 to that address (a real API server in the guest,
   * real-kubeadm.boot.ts) instead of the API stand-in answering there; `opts.taps`: guests on the
   * network at once (a bridge joins their taps, see `LabNetwork`).
   */
  chain<T>(
    addresses: string[],
    boots: (net: LabNetwork) => Promise<T>,
    opts: { mirror?: boolean; apiservers?: HealthScenario; vcpus?: number; forwardTo?: string; taps?: number } = {},
  ): Chain<T> {
    const slots = opts.vcpus ?? 1;
    const apiLog = path.join(tmpDir("api"), "requests.log");
    const mirrorLog = path.join(tmpDir("mirror"), "requests.log");
    const healthDir = tmpDir("apiservers");
    fs.writeFileSync(apiLog, "");
    fs.writeFileSync(mirrorLog, "");
    const standins = opts.apiservers ? Object.keys(opts.apiservers.phases[0].behaviour) : [];
    const result = this.pool.run(async () => {
      const net = new LabNetwork(`${GATEWAY}/24`, [...addresses, ...standins], slots, opts.taps ?? 1);
      this.nets.push(net);
      net.up();
      try {
        if (addresses.length > 0 && opts.forwardTo) net.forward(addresses, opts.forwardTo, 6443, apiLog);
        else if (addresses.length > 0) net.serveApi(addresses, apiLog);
        if (opts.mirror) net.serveMirror(this.image().mirror, mirrorLog);
        if (opts.apiservers) net.serveApiservers(opts.apiservers, healthDir);
        return await boots(net);
      } finally {
        net.down();
      }
    }, slots);
    result.catch(() => undefined); // awaited (and reported) by its test
    return { result, apiLog, mirrorLog, healthDir };
  }

  down(): void {
    for (const n of this.nets) n.down();
  }
}
