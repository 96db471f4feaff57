/**
 * vcsim (govmomi's simulator: the lab's STAND-IN for vCenter, the ESXi hosts and the guests, built by
 * `lab/build-tools.sh vcsim` from `lab/tools/vcsim/`) started with a stack's inventory, for the lab
 * specs that drive the vSphere provider against it.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadFlatConfig } from "../../src/plan/plan";
import { splitStackConfig, projectKey, vsphereValues } from "../../src/config/stack-config";
import { resolveVsphereSettings, VsphereDecisions } from "../../components/vsphere/settings";
import { freePort } from "../support/net";
import { atExit } from "../support/at-exit";
import { waitFor } from "./control-plane";
import { labDecisions } from "./stack";
import { ROOT } from "./tools";

/** The dev stack's vSphere decisions, offline, and the plan's hosts as `decideStack` plans them. */
export function devVsphere(): { v: VsphereDecisions; planned: { name: string; cpuThreads: number; memoryMiB: number; vms: string[] }[] } {
  const { flat, errors } = loadFlatConfig({ stack: "dev", cwd: ROOT });
  if (!flat || errors.length) throw new Error(`Pulumi.dev.yaml: ${JSON.stringify(errors)}`);
  const split = splitStackConfig(flat.values, flat.secretKeys);
  const r = resolveVsphereSettings(vsphereValues(split.values), projectKey);
  if (!r.decisions) throw new Error(`Pulumi.dev.yaml: ${JSON.stringify(r.errors)}`);
  const planned = labDecisions("dev").cluster.plan().hosts.map((h) => ({ name: h.name, cpuThreads: h.cpuThreads, memoryMiB: h.memoryMiB, vms: h.vms.map((vm) => vm.name) }));
  return { v: r.decisions, planned };
}

/** vcsim on a free port of 127.0.0.1 with the stack's inventory; resolves once it serves. */
export async function startVcsim(bin: string, dir: string, v: VsphereDecisions): Promise<{ proc: ChildProcess; url: string; port: number; user: string; password: string }> {
  const inventory = {
    ...v.inventory,
    hosts: v.topology.hosts.map((h) => ({ name: h.name, cpuThreads: h.cpuThreads, memoryGiB: h.memoryMiB / 1024 })),
  };
  const file = path.join(dir, "inventory.json");
  fs.writeFileSync(file, JSON.stringify(inventory, null, 2));
  const port = await freePort();
  const user = "administrator@vsphere.local";
  const password = "vcsim-lab";
  const logFile = path.join(dir, "vcsim.log");
  const fd = fs.openSync(logFile, "w");
  // TMPDIR: the launcher's datastore directory (os.MkdirTemp) lands in the lab's directory, not in /tmp for good.
  const proc = spawn(bin, ["-l", `127.0.0.1:${port}`, "-inventory", file, "-username", user, "-password", password], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, TMPDIR: dir },
  });
  fs.closeSync(fd);
  proc.once("exit", atExit(() => proc.kill("SIGKILL")));
  const url = await waitFor(
    "vcsim serving",
    async () => {
      const text = fs.readFileSync(logFile, "utf8");
      if (proc.exitCode !== null) throw new Error(`vcsim exited ${proc.exitCode}: ${text}`);
      return /serving at (\S+)/.exec(text)?.[1];
    },
    60_000,
    200,
  );
  return { proc, url, port, user, password };
}

