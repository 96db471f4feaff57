/** Assertions on a boot lab report (see guest/lab-report for the sections). */
import * as assert from "node:assert/strict";
import type { BootResult, ProgramVm } from "./lab";

import { GATEWAY } from "./lab";

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
