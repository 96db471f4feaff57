/** Assertions on a boot lab report (see guest/lab-report for the sections). */
import * as assert from "node:assert/strict";
import type { BootResult, ProgramVm } from "./lab";

import { GATEWAY, KUBEADM_CONTROL_PLANE_CPUS, KUBEADM_CONTROL_PLANE_MEMORY_MB } from "./lab";

export { GATEWAY };

export function addrOf(r: BootResult, ifname: string): string[] {
  const links = JSON.parse(r.report.addr) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[];
  const l = links.find((x) => x.ifname === ifname);
  return l ? l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`) : [];
}

export function defaultRoute(r: BootResult): { gateway?: string; dev?: string } | undefined {
  return (JSON.parse(r.report.route) as { dst: string; gateway?: string; dev?: string }[]).find((x) => x.dst === "default");
}

export function memKiB(r: BootResult): number {
  return Number(/MemTotal:\s+(\d+) kB/.exec(r.report.meminfo)![1]);
}

/** Asserts what every node shares: name, address on the NIC, default route, DNS, datasource. */
export function assertNetwork(r: BootResult, vm: ProgramVm, address: string, ifname = "ens192"): void {
  const why = `\n${r.report["cloud-init-warnings"]}\n${r.report.netplan}\n${r.report.link}`;
  assert.equal(r.report.hostname.trim(), vm.name, "host name");
  assert.match(r.report.datasource, /datasource_list: \[ ?VMware/, "VMware datasource");
  assert.deepEqual(addrOf(r, ifname), [`${address}/24`], `static address on ${ifname}${why}`);
  assert.deepEqual(defaultRoute(r), { dst: "default", gateway: GATEWAY, dev: ifname, ...pick(defaultRoute(r), ["flags", "protocol", "metric", "onlink"]) }, `default route${why}`);
  assert.match(r.report.dns, new RegExp(`\\(${ifname}\\): ${GATEWAY.replace(/\./g, "\\.")}`), `DNS on ${ifname}\n${r.report.dns}`);
}

function pick(o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o && k in o).map((k) => [k, o![k]]));
}

export function fileModes(r: BootResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of r.report.files.split("\n").filter(Boolean)) {
    const [mode, owner, p] = line.split(" ");
    out[p === undefined ? owner : p] = mode === "missing" ? "missing" : `${mode} ${owner}`;
  }
  return out;
}

/** `kubeadm ...` invocations the stand-in recorded, without the sequence number. */
export function kubeadmCalls(r: BootResult): string[] {
  // `kubeadm config images list` (the bootstrap asks it for the pause image) changes nothing: left out.
  return r.report.standin.split("\n").filter((l) => / kubeadm /.test(l) && !/ kubeadm config images list/.test(l)).map((l) => l.replace(/^\d+ /, ""));
}


/** The stand-in's phase log: per kubeadm call (its sequence number), the phases it ran. */
export function phasesByCall(r: BootResult): { seq: number; what: string; phases: string[] }[] {
  const out = new Map<number, { seq: number; what: string; phases: string[] }>();
  for (const l of (r.report.phases ?? "").split("\n").filter(Boolean)) {
    const [seq, tool, sub, phase] = l.split(" ");
    const k = Number(seq);
    if (!out.has(k)) out.set(k, { seq: k, what: `${tool} ${sub}`, phases: [] });
    out.get(k)!.phases.push(phase);
  }
  return [...out.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * A control plane's guest has what kubeadm's preflight requires of one (NumCPU, Mem: see
 * `KUBEADM_CONTROL_PLANE_CPUS` in lab.ts), and every `kubeadm init` / control-plane `join` the
 * stand-in ran checked it and passed. Returns the guest's CPU count.
 */
export function assertControlPlanePreflight(r: BootResult, cpus = KUBEADM_CONTROL_PLANE_CPUS, memoryMb = KUBEADM_CONTROL_PLANE_MEMORY_MB): number {
  const text = r.report.preflight ?? "";
  const nproc = Number(/^nproc (\d+)$/m.exec(text)?.[1]);
  const runs = text.split("\n").filter((l) => /^\d+ kubeadm (init|join) /.test(l));
  assert.ok(runs.length > 0, `no kubeadm init/join preflight ran:\n${text}`);
  for (const l of runs) {
    const m = /NumCPU=(\d+) Mem=(\d+) (.*)$/.exec(l);
    assert.ok(m, l);
    assert.equal(m[3], "ok", `kubeadm's preflight failed: ${l}`);
    assert.ok(Number(m[1]) >= cpus && Number(m[2]) >= memoryMb, l);
  }
  assert.ok(nproc >= cpus, `the guest has ${nproc} CPU(s); kubeadm's preflight requires ${cpus} of a control plane`);
  return nproc;
}
