/**
 * Failure domains and GPU workers on the vSphere side of the real-systems lab (lab/README.md, "Zones
 * and GPUs on vcsim"): the VM layer of the three-zone example stack (Pulumi.zones.yaml: three
 * compute clusters, each with its own datastore and port group, and a GPU pool of A100s by PCI
 * passthrough in zones b and c) against vcsim. Simulated, and named so: vCenter, the ESXi hosts,
 * their GPUs and the guests (vcsim, govmomi's simulator, lab/tools/vcsim/: a host's GPUs are PCI
 * devices of its hardware, listed as passthrough-capable by the cluster's environment browser, as
 * vCenter lists them; no device exists), and the secrets in the guestinfo (STAND_IN_SECRETS).
 *
 * The inventory part runs everywhere vcsim does (CI too). The VM layer under the engine needs a
 * pulumi-resource-vsphere 4.17.0 binary (VSPHERE_SPARK_LAB_PULUMI_RESOURCE_VSPHERE, as
 * vsphere.lab.ts; the lab cannot build it): without it, that part is pending and printed NOT RUN.
 * With it: `pulumi up` of VsphereTopology as the stack builds it, read back with govc and compared
 * with the plan (each VM's compute cluster, datastore, network, pool and host; each GPU worker's PCI
 * devices, reservation, EFI and MMIO settings; the DRS groups and rules of each compute cluster),
 * a second preview with no changes, then destroy.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import type { VsphereDecisions } from "../../components/vsphere/settings";
import { VsphereTopology, topologyArgs } from "../../components/vsphere/topology";
import { kubeadmClusterSpec } from "../../components/stack/kubeadm-on-vsphere";
import { inlineStack } from "./engine";
import { labDecisions } from "./stack";
import { Parts, ROOT, Tool, resolveTools } from "./tools";
import { LayerVm, VmLayer, compareVmLayer, expectedVmLayer, observedVmLayer, standInGuestinfo } from "./vsphere-readback";
import { VCSIM_PARALLEL, VSPHERE_PROVIDER_ENV, VcsimCluster, arrayOf, engineWithVsphere, govcClient, stackVsphere, startVcsim, vcsimInventory, vcsimProviderConfig } from "./vcsim";
import { loadFlatConfig } from "../../src/plan/plan";
import { checkInfrastructure } from "../../src/stack";

const log = (s: string) => console.log(`      ${s}`);
const PROVIDER_ENV = VSPHERE_PROVIDER_ENV;
const STACK = "zones";

describe("real-systems lab: zones and GPU workers on vcsim (the stand-in for vCenter, ESXi and the GPUs)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-lab-zones-"));
  let tools: Record<string, Tool> = {};
  let v: VsphereDecisions;
  let clusters: VcsimCluster[];
  let sim: Awaited<ReturnType<typeof startVcsim>> | undefined;
  const parts = new Parts(() => tools, log);
  const need = (ctx: Mocha.Context, part: string, names: string[]) => parts.need(ctx, part, names, { up: sim !== undefined, name: "vcsim" });
  const client = () => govcClient(tools.govc.path!, () => sim!.url);
  const dc = () => `/${v.inventory.datacenter}`;

  before(async function () {
    tools = resolveTools(["vcsim", "pulumi"]);
    ({ v } = stackVsphere(STACK));
    clusters = vcsimInventory(v).clusters;
    if (!tools.vcsim?.path) return;
    const t0 = Date.now();
    sim = await startVcsim(tools.vcsim.path, dir, v);
    log(`vcsim (stand-in for vCenter, ESXi and the GPUs) serving on 127.0.0.1:${sim.port}, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    sim?.proc.kill();
    parts.summary("zones lab");
    log(`zones lab: logs in ${dir}`);
  });

  it("vcsim holds the inventory Pulumi.zones.yaml names: a compute cluster per zone with its hosts, its datastore on them and its port group; each GPU host's A100s as passthrough-capable PCI devices, and no GPU elsewhere", function () {
    need(this, "zones inventory", ["vcsim", "govc"]);
    const { govc, props } = client();
    assert.deepEqual(
      clusters.map((c) => c.name),
      [...new Set(v.zones!.map((z) => z.computeCluster))],
      "one compute cluster per zone cluster",
    );
    let gpus = 0;
    for (const c of clusters) {
      const cluster = `${dc()}/host/${c.name}`;
      const hostPaths = (govc("find", "-json", "-type", "h", cluster) as string[]).sort();
      assert.deepEqual(hostPaths, c.hosts.map((h) => `${cluster}/${h.name}`).sort(), `${c.name}: its hosts`);
      const mounts = arrayOf(props(`${dc()}/datastore/${c.datastore}`, "host").host).map((m) => `${m.key.type}:${m.key.value}`).sort();
      const refs = (govc("find", "-json", "-i", "-type", "h", cluster) as string[]).sort();
      assert.deepEqual(mounts, refs, `${c.datastore} mounted on every host of ${c.name}`);
      assert.deepEqual(govc("find", "-json", `${dc()}/network`, "-name", c.network), [`${dc()}/network/${c.network}`], `${c.network} is a network of the datacenter`);
      for (const h of c.hosts) {
        const hostPath = `${cluster}/${h.name}`;
        const pci = arrayOf(props(hostPath, "hardware.pciDevice")["hardware.pciDevice"]).filter((d) => d.vendorName === "NVIDIA Corporation");
        assert.deepEqual(pci.map((d) => d.id).sort(), [...h.pciDevices].sort(), `${h.name}: its GPUs in hardware.pciDevice`);
        // What the provider asks for a passthrough device's SystemId (QueryConfigTarget of the host's cluster).
        const target = govc("vm.target.info", "-json", "-host", hostPath);
        const listed = arrayOf(target.pciPassthrough ?? target.PciPassthrough ?? target.configTarget?.pciPassthrough).map((p) => p.pciDevice?.id).sort();
        assert.deepEqual(listed, [...h.pciDevices].sort(), `${h.name}: the config target lists its GPUs for passthrough`);
        gpus += h.pciDevices.length;
      }
    }
    assert.ok(gpus > 0, "negative control: the stack has GPUs, so the checks above saw some");
    const t = props(`${dc()}/vm/${v.inventory.template}`, "config.template", "runtime.host");
    assert.equal(t["config.template"], true);
    log(`vcsim: ${clusters.map((c) => `${c.name} (${c.hosts.length} hosts, ${c.datastore}, ${c.network}, ${c.hosts.reduce((n, h) => n + h.pciDevices.length, 0)} GPUs)`).join("; ")}; template in ${v.inventory.computeCluster}`);
  });

  const vmLayer = "the zones stack's VM layer under the engine: up on vcsim over three compute clusters with GPU passthrough, read back, preview --expect-no-changes, destroy";
  const providerBin = process.env[PROVIDER_ENV];
  if (!providerBin) {
    parts.notRun.push(`${vmLayer} (pulumi-resource-vsphere 4.17.0 cannot be built here and ${PROVIDER_ENV} is not set, see lab/README.md)`);
    it(`${vmLayer} (NOT RUN: pulumi-resource-vsphere 4.17.0 cannot be built here and ${PROVIDER_ENV} is not set, see lab/README.md)`);
    return;
  }

  describe(`${vmLayer}, with ${PROVIDER_ENV}`, function () {
    let stack: Stack | undefined;
    let expected: VmLayer | undefined;
    const guest = () => standInGuestinfo(kubeadmClusterSpec({ vsphere: v, kubernetes: labDecisions(STACK).kubernetes }));
    const program = (dv: VsphereDecisions = v) => async () => {
      const g = guest();
      const secret = Object.fromEntries(dv.slots.map((s) => [s.name, s.role === "load-balancer" ? pulumi.output(g[s.name]) : pulumi.secret(g[s.name])]));
      new VsphereTopology(dv.clusterName, topologyArgs(dv, secret));
    };
    const folders = () => [...new Set(v.zones!.map((z) => `/${z.datacenter}/vm/${v.inventory.folder}`))];
    const clusterPaths = () => clusters.map((c) => `${dc()}/host/${c.name}`);
    const readBack = () => observedVmLayer(client().reader, folders(), clusterPaths());
    /** What is left in vcsim of the layer: VMs, folders, the zones' resource pools, DRS groups and rules named after the cluster. */
    const leftovers = (): string[] => {
      const { govc, drsTypes } = client();
      const left: string[] = [];
      const vms = ((govc("find", "-json", `${dc()}/vm`, "-type", "m") as string[] | null) ?? []).filter((p) => p !== `${dc()}/vm/${v.inventory.template}`);
      left.push(...vms.map((p) => `VM ${p}`));
      left.push(...((govc("find", "-json", `${dc()}/vm`, "-type", "f", "-name", v.inventory.folder) as string[] | null) ?? []).map((p) => `folder ${p}`));
      for (const z of v.zones!) {
        const c = `${dc()}/host/${z.computeCluster}`;
        left.push(...((govc("find", "-json", `${c}/Resources`, "-type", "p", "-name", z.resourcePool) as string[] | null) ?? []).map((p) => `resource pool ${p}`));
      }
      for (const c of clusterPaths()) for (const [name, type] of Object.entries(drsTypes(c))) if (name.startsWith(`${v.clusterName}-`)) left.push(`DRS ${type} ${name} in ${c}`);
      return [...new Set(left)];
    };

    before(async function () {
      if (!sim || !tools.pulumi?.path || !tools.govc?.path) return;
      const engine = await engineWithVsphere(path.join(dir, "engine-vsphere"), tools.pulumi.path, providerBin, PROVIDER_ENV, log);
      stack = await inlineStack(engine, "lab-vsphere-zones", STACK, program());
      await stack.setAllConfig(vcsimProviderConfig(sim));
    });

    it("pulumi up over three compute clusters, read back with govc: each VM in its zone's cluster, pool, datastore and network on its host; each GPU worker with its host's A100 by passthrough, memory reserved and locked, EFI, the MMIO window; DRS groups and rules in each cluster", async function () {
      need(this, "zones VM layer up and read back", ["pulumi", "vcsim", "govc"]);
      const t0 = Date.now();
      const up = await stack!.up({ parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, "up.log"), o) });
      log(`up: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up.summary.resourceChanges)}`);
      const { props } = client();
      const template = props(`${dc()}/vm/${v.inventory.template}`, "config.hardware.device")["config.hardware.device"];
      const templateDisk = arrayOf(template).find((d) => typeof d.capacityInKB === "number")!.capacityInKB / 2 ** 20;
      const exp = expectedVmLayer(v, templateDisk, guest());
      const observed = readBack();
      const problems = compareVmLayer(exp, observed);
      assert.deepEqual(problems, [], problems.join("\n"));
      expected = exp;
      const perCluster = clusters.map((c) => `${c.name}: ${observed.vms.filter((x) => x.cluster === c.name).length} VMs`).join(", ");
      const gpuVms = observed.vms.filter((x) => x.gpu);
      log(`read back: ${observed.vms.length} VMs (${perCluster}); ${gpuVms.length} GPU workers (${gpuVms.map((x) => `${x.name} on ${x.host}: ${x.gpu!.pciIds.join(",")}, ${x.gpu!.memoryReservationMiB} MiB reserved`).join("; ")})`);
      log(`DRS: ${observed.drs.hostGroups.length} host groups, ${observed.drs.vmGroups.length} VM groups, ${observed.drs.vmHostRules.length} VM-host rules, ${observed.drs.antiAffinityRules.length} anti-affinity rules, in ${clusters.length} clusters: as planned`);
      assert.ok(gpuVms.length > 0 && new Set(observed.vms.map((x) => x.cluster)).size === clusters.length, "the stack spans every cluster and has GPU workers");
      // Negative controls: the comparison names each zone and GPU difference.
      const gi = exp.vms.findIndex((x) => x.gpu);
      const ci = exp.vms.findIndex((x) => !x.gpu && x.cluster !== exp.vms[gi].cluster);
      const mutations: [string, (w: LayerVm, g: LayerVm) => void, RegExp][] = [
        ["a VM's compute cluster", (w) => (w.cluster = clusters.find((c) => c.name !== w.cluster)!.name), /\.cluster:/],
        ["a VM's datastore", (w) => (w.datastores = [clusters.find((c) => c.name !== w.cluster)!.datastore]), /\.datastores:/],
        ["a VM's network", (w) => (w.nics[0].network = clusters.find((c) => c.name !== w.cluster)!.network), /\.nics:/],
        ["a GPU worker's PCI device", (_w, g) => (g.gpu!.pciIds = ["0000:00:00.0"]), /\.gpu:/],
        ["a GPU worker's memory reservation", (_w, g) => (g.gpu!.memoryReservationMiB -= 1024), /\.gpu:/],
        ["a GPU worker's MMIO window", (_w, g) => (g.gpu!.extraConfig["pciPassthru.64bitMMIOSizeGB"] = "64"), /\.gpu:/],
        ["a CPU worker given a GPU", (w, g) => (w.gpu = structuredClone(g.gpu)), /\.gpu:/],
      ];
      for (const [what, mutate, expect] of mutations) {
        const e = structuredClone(exp);
        mutate(e.vms[ci], e.vms[gi]);
        const p = compareVmLayer(e, observed);
        assert.ok(p.some((x) => expect.test(x)), `negative control (${what}) must fail the comparison: ${p.join("; ") || "no difference found"}`);
      }
      log(`negative controls: ${mutations.length} mutated plans (${mutations.map((m) => m[0]).join(", ")}), each named by the comparison`);
    });

    it("a second preview changes nothing (the GPU workers' devices, reservation and firmware read back as given)", async function () {
      need(this, "zones VM layer idempotence", ["pulumi", "vcsim", "govc"]);
      if (!expected) throw new Error("the up before did not complete");
      const pre = await stack!.preview({ diff: true, parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, "preview-2.log"), o) });
      const changed = Object.entries(pre.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
      assert.deepEqual(changed, [], `second preview: ${JSON.stringify(pre.changeSummary)} (see ${path.join(dir, "preview-2.log")})`);
      log(`second preview: ${JSON.stringify(pre.changeSummary)}`);
    });

    it("a zone naming what vCenter does not have (a compute cluster, a datastore, a network): the stack's infrastructure check fails the preview with one line naming the key, before anything is registered, no stack trace; negative control: without the check, the engine's wall of failed lookups names no key", async function () {
      need(this, "zones missing inventory", ["pulumi", "vcsim", "govc"]);
      if (!stack) throw new Error("no stack: the engine did not start");
      const edits: [string, string][] = [
        ["computeCluster", "Spark-X"],
        ["datastore", "vsanDatastore-x"],
        ["network", "spark-x"],
      ];
      const ws = stack.workspace as LocalWorkspace;
      const raw = JSON.parse(loadFlatConfig({ stack: STACK, cwd: ROOT }).flat!.values["vsphere-spark:zones"]) as Record<string, unknown>[];
      /** A preview of the zones stack's VM layer with zone-c's `key` set to `value`, behind the stack's infrastructure check or not. */
      const preview = async (key: string, value: string, checked: boolean) => {
        const sets = [`vsphere-spark:zones=${JSON.stringify(raw.map((z, i) => (i === 2 ? { ...z, [key]: value } : z)))}`];
        const d = labDecisions(STACK, sets);
        const dv = stackVsphere(STACK, sets).v;
        const edited = await LocalWorkspace.createOrSelectStack(
          {
            projectName: "lab-vsphere-zones",
            stackName: STACK,
            program: async () => {
              if (checked) await checkInfrastructure(d);
              await program(dv)();
            },
          },
          { workDir: ws.workDir, envVars: ws.envVars, pulumiHome: ws.pulumiHome, pulumiCommand: ws.pulumiCommand },
        );
        let out = "";
        const err = await edited.preview({ parallel: VCSIM_PARALLEL, onOutput: (o) => (out += o) }).then(
          () => undefined,
          (e: Error) => e,
        );
        const text = `${out}\n${String(err ?? "")}`;
        fs.writeFileSync(path.join(dir, `preview-missing-${key}${checked ? "" : "-unchecked"}.log`), text);
        return { err, text };
      };
      for (const [key, value] of edits) {
        const { err, text } = await preview(key, value, true);
        const line = text.split("\n").find((l) => l.includes(`vsphere-spark:zones[2].${key}:`))?.trim();
        log(`zone-c.${key}: ${value}: ${line ?? "NO LINE NAMING THE KEY"}`);
        assert.ok(err, `a zone naming a ${key} vCenter lacks must fail the preview`);
        assert.ok(line && line.includes(`"${value}"`), `the key and the name: ${text.slice(0, 3000)}`);
        assert.ok(!/error serializing property|^\s+at .*\.js:\d+/m.test(text), `no wall of failed lookups, no stack trace: ${text.slice(0, 3000)}`);
        assert.match(text, /vCenter does not hold what the stack names \(1 problem\)/);
      }
      const { err, text } = await preview("computeCluster", "Spark-X", false);
      assert.ok(err && /error serializing property/.test(text) && !text.includes("vsphere-spark:zones[2]"), `negative control: without the check: ${text.slice(0, 2000)}`);
      log(`negative control: without the check, ${(text.match(/error serializing property/g) ?? []).length} "error serializing property" and no key`);
    });

    it("pulumi destroy leaves nothing of the layer in any cluster (govc find); negative control: the same check before destroy lists it all", async function () {
      need(this, "zones VM layer destroy", ["pulumi", "vcsim", "govc"]);
      if (!stack) throw new Error("no stack: the engine did not start");
      const before = leftovers();
      assert.equal(before.filter((x) => x.startsWith("VM ")).length, v.slots.length, `negative control: the check must see the ${v.slots.length} VMs`);
      assert.equal(before.filter((x) => x.startsWith("resource pool ")).length, new Set(v.zones!.map((z) => `${z.computeCluster}/${z.resourcePool}`)).size, "negative control: a pool per zone cluster");
      assert.ok(before.some((x) => x.startsWith("DRS ")), before.join(", "));
      const t0 = Date.now();
      const d = await stack.destroy({ parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, "destroy.log"), o) });
      log(`destroy: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(d.summary.resourceChanges)}`);
      assert.deepEqual(leftovers(), []);
      log(`vcsim after destroy: nothing left (before it: ${before.length} objects); the template stays`);
    });
  });
});
