/**
 * The vSphere half of the real-systems lab (lab/README.md), after the Spark half: the VM layer of
 * `Pulumi.dev.yaml` against vcsim. Simulated, and named so: vCenter, the ESXi hosts and the guests
 * (vcsim, govmomi's simulator, built by `lab/build-tools.sh vcsim` from `lab/tools/vcsim/`). Real:
 * the Pulumi engine, govc reading vcsim back through the vSphere API.
 *
 * Not run yet: `pulumi up` of the VM layer. pulumi-resource-vsphere 4.17.0 (the version the binding
 * pins) cannot be built here: the Go module proxy serves neither its provider module nor the
 * upstream terraform-provider-vsphere it is built from (lab/README.md).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadFlatConfig } from "../../src/plan/plan";
import { labDecisions } from "./stack";
import { splitStackConfig, projectKey, vsphereValues } from "../../src/config/stack-config";
import { resolveVsphereSettings, VsphereDecisions } from "../../components/vsphere/settings";
import { VsphereTopology, topologyArgs } from "../../components/vsphere/topology";
import * as vsphere from "../../components/vsphere/binding";
import { freePort } from "../support/net";
import { atExit } from "../support/at-exit";
import { waitFor } from "./control-plane";
import { inlineStack, makeEngine } from "./engine";
import { Parts, ROOT, Tool, resolveTools } from "./tools";

const log = (s: string) => console.log(`      ${s}`);

/** The dev stack's vSphere decisions, offline, and the plan's hosts as `decideStack` plans them. */
function devVsphere(): { v: VsphereDecisions; planned: { name: string; cpuThreads: number; memoryMiB: number; vms: string[] }[] } {
  const { flat, errors } = loadFlatConfig({ stack: "dev", cwd: ROOT });
  if (!flat || errors.length) throw new Error(`Pulumi.dev.yaml: ${JSON.stringify(errors)}`);
  const split = splitStackConfig(flat.values, flat.secretKeys);
  const r = resolveVsphereSettings(vsphereValues(split.values), projectKey);
  if (!r.decisions) throw new Error(`Pulumi.dev.yaml: ${JSON.stringify(r.errors)}`);
  const planned = labDecisions("dev").cluster.plan().hosts.map((h) => ({ name: h.name, cpuThreads: h.cpuThreads, memoryMiB: h.memoryMiB, vms: h.vms.map((vm) => vm.name) }));
  return { v: r.decisions, planned };
}

/** vcsim on a free port of 127.0.0.1 with the stack's inventory; resolves once it serves. */
async function startVcsim(bin: string, dir: string, v: VsphereDecisions): Promise<{ proc: ChildProcess; url: string; port: number; user: string; password: string }> {
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
  const proc = spawn(bin, ["-l", `127.0.0.1:${port}`, "-inventory", file, "-username", user, "-password", password], { stdio: ["ignore", fd, fd] });
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

describe("real-systems lab: the vSphere layer on vcsim (the stand-in for vCenter and ESXi)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-lab-vsphere-"));
  let tools: Record<string, Tool> = {};
  let v: VsphereDecisions;
  let planned: ReturnType<typeof devVsphere>["planned"];
  let sim: Awaited<ReturnType<typeof startVcsim>> | undefined;
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string, names: string[], needsVcsim = true) =>
    parts.need(ctx, part, names, needsVcsim ? { up: sim !== undefined, name: "vcsim" } : undefined);

  /** govc against vcsim, JSON out. */
  function govc(...args: string[]): any {
    const out = execFileSync(tools.govc.path!, args, {
      encoding: "utf8",
      env: { ...process.env, GOVC_URL: sim!.url, GOVC_INSECURE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out);
  }
  /** The properties of the object at `p`, by name. */
  function props(p: string, ...names: string[]): Record<string, any> {
    const r = govc("object.collect", "-json", p, ...names) as { name: string; val: unknown }[];
    return Object.fromEntries(r.map((x) => [x.name, x.val]));
  }

  before(async function () {
    tools = resolveTools(["vcsim", "pulumi"]);
    for (const t of Object.values(tools)) log(`tool ${t.name}: ${t.source}${t.path ? ` ${t.path}` : ""}${t.source === "built" ? ` (${t.seconds} s)` : ""}`);
    ({ v, planned } = devVsphere());
    if (!tools.vcsim?.path) return;
    const t0 = Date.now();
    sim = await startVcsim(tools.vcsim.path, dir, v);
    log(`vcsim (stand-in for vCenter and ESXi) serving on 127.0.0.1:${sim.port}, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    sim?.proc.kill();
    parts.summary("vSphere lab");
    log(`vSphere lab: logs in ${dir}`);
  });

  it("vcsim holds the inventory Pulumi.dev.yaml names, read back with govc: datacenter, cluster and its hosts (threads, memory), datastore on every host, network, template, folder, pool", function () {
    need(this, "vcsim inventory", ["vcsim", "govc"]);
    const inv = v.inventory;
    const dc = `/${inv.datacenter}`;
    const cluster = `${dc}/host/${inv.computeCluster}`;
    // The plan decideStack makes and the settings the topology gets agree on the hosts.
    assert.deepEqual(
      planned.map((h) => [h.name, h.cpuThreads, h.memoryMiB]),
      v.topology.hosts.map((h) => [h.name, h.cpuThreads, h.memoryMiB]),
    );
    const hostPaths = govc("find", "-json", "-type", "h", cluster) as string[];
    assert.deepEqual(hostPaths.sort(), v.topology.hosts.map((h) => `${cluster}/${h.name}`).sort());
    for (const h of v.topology.hosts) {
      const hw = props(`${cluster}/${h.name}`, "summary.hardware")["summary.hardware"];
      assert.equal(hw.numCpuThreads, h.cpuThreads, `${h.name} threads`);
      assert.equal(hw.memorySize, h.memoryMiB * 2 ** 20, `${h.name} memory`);
    }
    // (govc prints an array property as { _value: [...] })
    const mounts = props(`${dc}/datastore/${inv.datastore}`, "host").host._value as { key: { type: string; value: string } }[];
    const hostRefs = govc("find", "-json", "-i", "-type", "h", cluster) as string[];
    assert.deepEqual(mounts.map((m) => `${m.key.type}:${m.key.value}`).sort(), [...hostRefs].sort(), `${inv.datastore} mounted on every host`);
    assert.deepEqual(govc("find", "-json", `${dc}/network`, "-name", inv.network), [`${dc}/network/${inv.network}`]);
    const t = props(`${dc}/vm/${inv.template}`, "config.template", "config.guestId", "config.firmware");
    assert.deepEqual(t, { "config.template": true, "config.guestId": "ubuntu64Guest", "config.firmware": "efi" });
    assert.deepEqual(govc("find", "-json", `${dc}/vm`, "-type", "f", "-name", inv.folder), [`${dc}/vm/${inv.folder}`]);
    assert.deepEqual(govc("find", "-json", `${cluster}/Resources`, "-type", "p", "-name", inv.resourcePool), [`${cluster}/Resources/${inv.resourcePool}`]);
    log(`vcsim: ${hostPaths.length} hosts in ${inv.computeCluster}, the plan's ${planned.reduce((n, h) => n + h.vms.length, 0)} VMs to place on them`);
  });

  it("the engine asks for pulumi-resource-vsphere at the version the binding pins (4.17.0)", async function () {
    const p = need(this, "vsphere plugin version", ["pulumi", "vcsim"]);
    const engine = await makeEngine(path.join(dir, "engine-no-vsphere"), p.pulumi, {});
    // The VM layer as the stack builds it, with the provider pointed at vcsim.
    const stack = await inlineStack(engine, "lab-vsphere", "lab", async () => {
      const provider = new vsphere.Provider("vcsim", {
        vsphereServer: `127.0.0.1:${sim!.port}`,
        user: sim!.user,
        password: pulumi.secret(sim!.password),
        allowUnverifiedSsl: true,
      });
      new VsphereTopology(v.clusterName, topologyArgs(v), { providers: { vsphere: provider } });
    });
    const err = await stack.preview().then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, "preview must fail without the plugin");
    const text = String(err);
    assert.equal(vsphere.providerVersion, "4.17.0");
    assert.match(text, /vsphere[^\n]*4\.17\.0/, text.slice(0, 2000));
    log(`engine: ${text.split("\n").find((l) => /plugin/.test(l) && l.includes("4.17.0"))?.trim()}`);
  });

  // Pending until the provider can be built (issue 16): no body, so mocha counts it pending.
  const vmLayer = "the VM layer under the engine: up of VsphereTopology on vcsim, read back, preview --expect-no-changes, destroy";
  parts.notRun.push(`${vmLayer} (pulumi-resource-vsphere 4.17.0 cannot be built here, see lab/README.md)`);
  it(`${vmLayer} (NOT RUN: pulumi-resource-vsphere 4.17.0 cannot be built here, see lab/README.md)`);
});
