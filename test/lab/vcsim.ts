/**
 * vcsim (govmomi's simulator: the lab's STAND-IN for vCenter, the ESXi hosts and the guests, built by
 * `lab/build-tools.sh vcsim` from `lab/tools/vcsim/`) started with a stack's inventory, for the lab
 * specs that drive the vSphere provider against it.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadFlatConfig } from "../../src/plan/plan";
import { splitStackConfig, projectKey, vsphereValues } from "../../src/config/stack-config";
import { resolveVsphereSettings, VsphereDecisions } from "../../components/vsphere/settings";
import { freePort } from "../support/net";
import { atExit } from "../support/at-exit";
import { waitFor } from "./control-plane";
import { labDecisions } from "./stack";
import { Engine, makeEngine } from "./engine";
import * as vsphere from "../../components/vsphere/binding";
import type { InventoryReader } from "./vsphere-readback";
import { ROOT } from "./tools";

/** A stack's vSphere decisions, offline, and the plan's hosts as `decideStack` plans them. */
export function stackVsphere(stack: string, sets: string[] = []): { v: VsphereDecisions; planned: { name: string; cpuThreads: number; memoryMiB: number; vms: string[] }[] } {
  const { flat, errors } = loadFlatConfig({ stack, cwd: ROOT, sets });
  if (!flat || errors.length) throw new Error(`Pulumi.${stack}.yaml: ${JSON.stringify(errors)}`);
  const split = splitStackConfig(flat.values, flat.secretKeys);
  const r = resolveVsphereSettings(vsphereValues(split.values), projectKey);
  if (!r.decisions) throw new Error(`Pulumi.${stack}.yaml: ${JSON.stringify(r.errors)}`);
  const planned = labDecisions(stack, sets).cluster.plan().hosts.map((h) => ({ name: h.name, cpuThreads: h.cpuThreads, memoryMiB: h.memoryMiB, vms: h.vms.map((vm) => vm.name) }));
  return { v: r.decisions, planned };
}

/** The dev stack's vSphere decisions, offline, and the plan's hosts as `decideStack` plans them. */
export const devVsphere = () => stackVsphere("dev");

/** A compute cluster of the launcher's inventory: its hosts, the datastore on them, the port group they carry. */
export interface VcsimCluster {
  name: string;
  datastore: string;
  network: string;
  hosts: { name: string; cpuThreads: number; memoryGiB: number; pciDevices: string[] }[];
}

/**
 * What lab/tools/vcsim/main.go builds for a stack: its datacenter, template and default cluster,
 * and one compute cluster per distinct zone cluster (`vsphere-spark:zones`), each host with its
 * passthrough GPUs' PCI ids. The launcher holds one datacenter, and one datastore and port group per
 * compute cluster: a stack that needs more is refused here, by name.
 */
export function vcsimInventory(v: VsphereDecisions): VsphereDecisions["inventory"] & { hosts: VcsimCluster["hosts"]; clusters: VcsimCluster[] } {
  const host = (h: VsphereDecisions["topology"]["hosts"][number]) => ({
    name: h.name,
    cpuThreads: h.cpuThreads,
    memoryGiB: h.memoryMiB / 1024,
    pciDevices: (h.gpus?.devices ?? []).map((d) => d.pciId),
  });
  const byId = new Map(v.topology.hosts.map((h) => [h.id, h]));
  const clusters: VcsimCluster[] = [];
  if (!v.zones) {
    clusters.push({ name: v.inventory.computeCluster, datastore: v.inventory.datastore, network: v.inventory.network, hosts: v.topology.hosts.map(host) });
  } else {
    for (const z of v.zones) {
      if (z.datacenter !== v.inventory.datacenter) throw new Error(`vcsim launcher: one datacenter (${v.inventory.datacenter}); zone ${z.name} names ${z.datacenter}`);
      const c = clusters.find((x) => x.name === z.computeCluster);
      if (c && (c.datastore !== z.datastore || c.network !== z.network)) throw new Error(`vcsim launcher: one datastore and network per compute cluster; zone ${z.name} differs in ${z.computeCluster}`);
      const hosts = z.hosts.map((id) => host(byId.get(id)!));
      if (c) c.hosts.push(...hosts);
      else clusters.push({ name: z.computeCluster, datastore: z.datastore, network: z.network, hosts });
    }
  }
  return { ...v.inventory, hosts: v.topology.hosts.map(host), clusters };
}

/** vcsim on a free port of 127.0.0.1 with the stack's inventory; resolves once it serves. */
export async function startVcsim(bin: string, dir: string, v: VsphereDecisions): Promise<{ proc: ChildProcess; url: string; port: number; user: string; password: string }> {
  const inventory = vcsimInventory(v);
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


/** govc against a vcsim: JSON and text out, an object's properties by name, and the InventoryReader the read-back takes. */
export function govcClient(govcPath: string, url: () => string) {
  const run = (args: string[]) =>
    execFileSync(govcPath, args, { encoding: "utf8", env: { ...process.env, GOVC_URL: url(), GOVC_INSECURE: "1" }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  const govc = (...args: string[]): any => JSON.parse(run(args)); // eslint-disable-line @typescript-eslint/no-explicit-any
  const govcText = (...args: string[]): string => run(args);
  /** The properties of the object at `p` (an inventory path or `Type:id`), by name. */
  const props = (p: string, ...names: string[]): Record<string, any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = govc("object.collect", "-json", p, ...names) as { name: string; val: unknown }[];
    return Object.fromEntries(r.map((x) => [x.name, x.val]));
  };
  /** Each DRS group's and rule's type by name: `cluster.group.ls -l` prints "<type>  <name>", `cluster.rule.ls -l` "<name> (<type>)" (their JSON has no types). */
  const drsTypes = (cluster: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const l of govcText("cluster.group.ls", "-l", "-cluster", cluster).split("\n").filter(Boolean)) {
      const m = /^(\w+)\s+(.*)$/.exec(l.trim());
      if (m) out[m[2]] = m[1];
    }
    for (const l of govcText("cluster.rule.ls", "-l", "-cluster", cluster).split("\n").filter(Boolean)) {
      const m = /^(.*) \((\w+)\)$/.exec(l.trim());
      if (m) out[m[1]] = m[2];
    }
    return out;
  };
  const reader: InventoryReader = {
    props: (ref, ...names) => props(ref, ...names),
    vmsIn: (folder) => ((govc("find", "-json", folder, "-type", "m") as string[] | null) ?? []).sort(),
    deviceTypes: (vm) => (govc("device.ls", "-json", "-vm", vm).devices as { type: string }[]).map((d) => d.type),
    drsTypes,
  };
  return { govc, govcText, props, drsTypes, reader };
}

/**
 * An engine with a given pulumi-resource-vsphere binary installed as resource plugin vsphere at the
 * version the binding pins (its `-version` must say so, or the engine's plugin would lie).
 */
export async function engineWithVsphere(dir: string, pulumiPath: string, providerBin: string, envName: string, log: (s: string) => void): Promise<Engine> {
  if (!fs.existsSync(providerBin)) throw new Error(`${envName}=${providerBin}: no such file`);
  const version = execFileSync(providerBin, ["-version"], { encoding: "utf8" }).trim();
  if (version !== vsphere.providerVersion) throw new Error(`${envName}=${providerBin} reports version ${version}, the binding pins ${vsphere.providerVersion}`);
  log(`provider: ${providerBin}, -version ${version}`);
  const engine = await makeEngine(dir, pulumiPath, { vsphere: { version: vsphere.providerVersion, file: providerBin } });
  const ls = execFileSync(pulumiPath, ["plugin", "ls", "--json"], { env: { ...process.env, ...engine.env }, encoding: "utf8" });
  log(`plugins in the lab's PULUMI_HOME: ${(JSON.parse(ls) as { name: string; version: string; kind: string }[]).map((p) => `${p.kind} ${p.name} ${p.version}`).join(", ")}`);
  return engine;
}

/** The vSphere provider's stack configuration (the `vsphere:*` keys a stack file gives), pointed at a vcsim. */
export function vcsimProviderConfig(sim: { port: number; user: string; password: string }): Record<string, { value: string; secret?: boolean }> {
  return {
    "vsphere:vsphereServer": { value: `127.0.0.1:${sim.port}` },
    "vsphere:user": { value: sim.user },
    "vsphere:password": { value: sim.password, secret: true },
    "vsphere:allowUnverifiedSsl": { value: "true" },
  };
}

/**
 * One resource operation at a time (`pulumi up --parallel 1`): a vcsim gap. The provider waits for
 * its tasks on the session's one PropertyCollector (terraform-provider-vsphere
 * vsphere/internal/helper/virtualmachine/virtual_machine_helper.go, Clone: task.WaitForResultEx,
 * govmomi object/task.go: "the same PropertyCollector instance in each call"), so with the engine's
 * default parallelism several WaitForUpdatesEx calls are pending on one collector at once. vCenter
 * answers each from the version it is given; vcsim v0.46.3 (simulator/property_collector.go,
 * WaitForUpdatesEx) hands the collector's pending updates to whichever call takes them first
 * (`pc.updates = nil`), so the other clones' waits never see their task finish and `pulumi up` hangs
 * (10 of 20 VMs cloned, then nothing for 10 minutes, measured).
 */
export const VCSIM_PARALLEL = 1;

/** The variable naming a pulumi-resource-vsphere 4.17.0 binary (named as lab/build-tools.sh names a tool's binary); the lab cannot build it (lab/README.md). */
export const VSPHERE_PROVIDER_ENV = "VSPHERE_SPARK_LAB_PULUMI_RESOURCE_VSPHERE";

/** govc prints an array property as `{ _value: [...] }`. */
export const arrayOf = (x: any): any[] => (Array.isArray(x) ? x : (x?._value ?? [])); // eslint-disable-line @typescript-eslint/no-explicit-any
