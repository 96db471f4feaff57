/**
 * The change rules in the program (under the SDK's mock runtime): the last applied state is read
 * through a StackReference to the stack itself before anything else registers; a refused change
 * registers nothing; an accepted one exports the new state and carries the creation date.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../../src/stack";
import { gunzipSync } from "node:zlib";
import { isSecretMarker, runUnderMocks, unwrapSecrets } from "../../src/plan/mock-runtime";
import { simulatedInventory, simulatedOutputs } from "../../src/plan/simulated-inventory";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { decideStack } from "../../src/config/decisions";
import { KubeadmVsphereCluster, kubeadmClusterSpec } from "../../components/stack/kubeadm-on-vsphere";
import { workerPool } from "../../components/cluster/worker-pool";
import { workerNodes } from "../../components/cluster/topology";
import { ValidationError } from "../../components/validation";
import type { ClusterLifecycleState } from "../../components/cluster/lifecycle";
import { resolveVsphereSettings } from "../../components/vsphere/settings";
import { resolveKubernetesSettings } from "../../components/cluster/settings";
import { realisticOutputs } from "../cluster/helpers";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>;

function config(edit: (c: Cfg) => void = () => {}): Record<string, string> {
  const cfg = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
  edit(cfg);
  return flatten(cfg).values;
}

/** The state the reference stack exports (as `pulumi up` would have stored it). */
function appliedState(edit: (c: Cfg) => void = () => {}, createdAt = "2026-03-01T10:00:00.000Z"): ClusterLifecycleState {
  const d = decideStack(config(edit));
  return { ...(structuredClone(d.decisions!.cluster.lifecycle!.state) as ClusterLifecycleState), createdAt };
}

/** Runs the stack program as `pulumi up` would, with `previous` as the stack's own last outputs (`real`: real PKI and tokens). */
async function up(cfg: Record<string, string>, previousOutputs: Record<string, unknown>, real = false) {
  let registered: { type: string; name: string }[] = [];
  const run = runUnderMocks(
    {
      project: "vsphere-spark",
      stack: "dev",
      config: cfg,
      invokes: simulatedInventory,
      outputs: { ...simulatedOutputs, ...(real ? realisticOutputs() : {}), "pulumi:pulumi:StackReference": () => ({ outputs: previousOutputs }) },
      stackTraces: false,
    },
    () => deployStack(),
  ).catch((e) => {
    registered = e.recordedResources ?? [];
    throw e;
  });
  return { run, registered: () => registered.filter((r) => r.type !== "pulumi:pulumi:Stack") };
}

describe("the change rules in the stack program", () => {
  it("a refused change (scale-in of VMs an older version registered without their retirement hook) registers nothing but the self StackReference", async () => {
    const { retireHooks: _none, ...older } = appliedState();
    const r = await up(config((c) => (c["vsphere-spark:workersPerHost"] = 3)), { clusterLifecycle: older });
    await assert.rejects(r.run, (e: Error) => {
      assert.ok(e instanceof pulumi.RunError, "a RunError prints without a stack trace");
      assert.match(e.message, /refused change to a running cluster \(1 change\); nothing was changed/);
      assert.match(e.message, /vsphere-spark:workersPerHost: removes workers esxi-01-worker-4/);
      return true;
    });
    assert.deepEqual(
      r.registered().map((x) => `${x.type}::${x.name}`),
      ["pulumi:pulumi:StackReference::organization/vsphere-spark/dev"],
    );
  });

  it("the same scale-in of VMs that carry their retirement hook deploys without acknowledgement; every worker and control-plane VM is bound its hook", async () => {
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: (m: string) => void }).warn = (m: string) => void warnings.push(m);
    const out = await (await up(config((c) => (c["vsphere-spark:workersPerHost"] = 3)), { clusterLifecycle: appliedState() })).run.finally(
      () => ((pulumi.log as { warn: typeof warn }).warn = warn),
    );
    assert.match(warnings.join("\n"), /workers esxi-01-worker-4, esxi-02-worker-4, esxi-03-worker-4, esxi-04-worker-4 are drained and removed before deletion/);
    const vms = out.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine");
    assert.equal(vms.length, 16);
    const hookOf = (name: string) => vms.find((v) => v.name.endsWith(name))?.beforeDelete;
    assert.deepEqual(hookOf("esxi-01-worker-1"), ["spark-retire-worker"]);
    assert.deepEqual(hookOf("esxi-01-control-plane"), ["spark-retire-control-plane"]);
    assert.equal(hookOf("esxi-04-load-balancer"), undefined, "the load balancer is not a node: no retirement");
    // And the rolling power cycle's drain, on the same VMs (not on the load balancer).
    const rollOf = (name: string) => vms.find((v) => v.name.endsWith(name))?.beforeUpdate;
    assert.deepEqual(rollOf("esxi-01-worker-1"), ["spark-power-cycle-drain"]);
    assert.deepEqual(rollOf("esxi-02-control-plane"), ["spark-power-cycle-drain"]);
    assert.equal(rollOf("esxi-04-load-balancer"), undefined);
    assert.equal((out.outputs.clusterLifecycle as ClusterLifecycleState).retireHooks, true);
  });

  it("negative control: the same scale-in, drained and acknowledged, deploys; the new state keeps the creation date", async () => {
    const cfg = config((c) => {
      c["vsphere-spark:workersPerHost"] = 3;
      c["vsphere-spark:lifecycle"] = { preparedNodes: ["esxi-01-worker-4", "esxi-02-worker-4", "esxi-03-worker-4", "esxi-04-worker-4"] };
    });
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: (m: string) => void }).warn = (m: string) => void warnings.push(m);
    const out = await (await up(cfg, { clusterLifecycle: appliedState() })).run.finally(() => ((pulumi.log as { warn: typeof warn }).warn = warn));
    // Only what changed is noted (a state read back through the engine is compared by value).
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings[0], /4 worker\(s\) removed/);
    assert.match(warnings[1], /leaf certificates .* issued at the init on 2026-03-01/);
    const vms = out.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine");
    assert.equal(vms.length, 16);
    const state = out.outputs.clusterLifecycle as ClusterLifecycleState;
    assert.equal(state.createdAt, "2026-03-01T10:00:00.000Z");
    assert.equal(state.nodes.filter((n) => n.role === "worker").length, 12);
  });

  it("a new stack (no previous output): everything is created and the state records when", async () => {
    const before = Date.now();
    const out = await (await up(config(), {})).run;
    assert.equal(out.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine").length, 20);
    const created = Date.parse((out.outputs.clusterLifecycle as ClusterLifecycleState).createdAt!);
    assert.ok(created >= before - 1000 && created <= Date.now() + 1000, String(created));
    // The join token's parts carry this TTL window's generation (they rotate with it); the init token's do not.
    const randoms = out.resources.filter((x) => x.type === "random:index/randomString:RandomString");
    const generation = String(Math.floor(before / 86_400_000));
    for (const r of randoms) {
      const keepers = (r.inputs as { keepers?: Record<string, string> }).keepers;
      if (r.name.includes("-join-token-")) assert.ok(keepers?.generation === generation || keepers?.generation === String(Number(generation) + 1), `${r.name}: ${JSON.stringify(keepers)}`);
      else assert.equal(keepers, undefined, r.name);
    }
    assert.equal(randoms.filter((x) => x.name.includes("-join-token-")).length, 2);
  });

  it("an older stack (a vms output, no clusterLifecycle): its nodes are checked; a scale-in without drain registers nothing", async () => {
    const prev = appliedState();
    const vms = Object.fromEntries(prev.nodes.map((n) => [n.name, { name: n.name, role: n.role, host: "esxi", cpus: n.cpus, memoryMiB: n.memoryMiB, ipAddress: n.address, macAddress: n.macAddress }]));
    const r = await up(config((c) => (c["vsphere-spark:workersPerHost"] = 3)), { vms });
    await assert.rejects(r.run, /vsphere-spark:workersPerHost: removes workers esxi-01-worker-4/);
    assert.deepEqual(r.registered().map((x) => x.type), ["pulumi:pulumi:StackReference"]);
    // Negative control: unchanged, it deploys, and its state has no creation date (unknown).
    const ok = await (await up(config(), { vms })).run;
    assert.equal((ok.outputs.clusterLifecycle as ClusterLifecycleState).createdAt, undefined);
    assert.equal(ok.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine").length, 20);
  });

  it("3 → 5 control planes on a running cluster deploys without acknowledgement: the new ones carry the shared CA files and the join token, and join one after the other; negative control: an older state registers nothing", async () => {
    const fiveHosts = (cps: number) => (c: Cfg) => {
      c["vsphere-spark:hosts"].push({ name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
      c["vsphere-spark:controlPlane"] = { hosts: ["esxi-01", "esxi-02", "esxi-03", "esxi-05", "esxi-04"].slice(0, cps) };
      c["vsphere-spark:endpoint"].host = "esxi-04";
    };
    const previous = appliedState(fiveHosts(3));
    assert.equal(previous.sharedPkiJoins, true);
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: (m: string) => void }).warn = (m: string) => void warnings.push(m);
    const out = await (await up(config(fiveHosts(5)), { clusterLifecycle: previous }, true)).run.finally(() => ((pulumi.log as { warn: typeof warn }).warn = warn));
    assert.match(warnings.join("\n"), /control planes esxi-04-control-plane, esxi-05-control-plane join the running cluster one after the other/);
    const vm = (name: string) => out.resources.find((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine" && x.name.endsWith(name))!;
    const userData = (name: string) => {
      const ec = vm(name).inputs.extraConfig;
      assert.ok(isSecretMarker(ec), `${name}: extraConfig is secret`);
      return gunzipSync(Buffer.from((unwrapSecrets(ec) as Record<string, string>)["guestinfo.userdata"], "base64")).toString();
    };
    const added = ["esxi-04-control-plane", "esxi-05-control-plane"];
    for (const n of added) {
      const ud = userData(n);
      assert.match(ud, /path: \/etc\/kubernetes\/pki\/etcd\/ca\.key/, `${n}: the shared files`);
      assert.doesNotMatch(ud, /certificateKey|--certificate-key/, `${n}: no certificate key`);
      assert.match(ud, /kind: JoinConfiguration/);
    }
    // One after the other: the first new one waits for nobody (the running ones serve), the second for the first.
    const addr = (n: string) => (out.outputs.clusterLifecycle as ClusterLifecycleState).nodes.find((x) => x.name === n)!.address;
    assert.doesNotMatch(userData(added[0]), /previous control plane/);
    assert.ok(userData(added[1]).includes(`previous control plane ${addr(added[0])}`));
    assert.equal((out.outputs.clusterLifecycle as ClusterLifecycleState).sharedPkiJoins, true);
    // Negative control: a state an older version wrote: refused, nothing but the self reference registered.
    const { sharedPkiJoins: _none, ...older } = previous;
    const r = await up(config(fiveHosts(5)), { clusterLifecycle: older });
    await assert.rejects(r.run, /vsphere-spark:controlPlane: adds control planes esxi-04-control-plane, esxi-05-control-plane to a running cluster whose applied state was written by an earlier version/);
    assert.deepEqual(r.registered().map((x) => x.type), ["pulumi:pulumi:StackReference"]);
  });

  it("5 → 3 control planes without the first one (esxi-01's, which ran kubeadm init): deploys; no VM renders `kubeadm init`, the new first one is a join; negative control: the same stack as a new cluster renders an init", async () => {
    const hosts = (cps: string[]) => (c: Cfg) => {
      c["vsphere-spark:hosts"].push({ name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
      c["vsphere-spark:controlPlane"] = { hosts: cps };
      c["vsphere-spark:endpoint"].host = "esxi-04";
    };
    const moved = hosts(["esxi-02", "esxi-03", "esxi-05"]);
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: (m: string) => void }).warn = (m: string) => void warnings.push(m);
    const out = await (await up(config(moved), { clusterLifecycle: appliedState(hosts(["esxi-01", "esxi-02", "esxi-03", "esxi-05", "esxi-04"])) }, true)).run.finally(
      () => ((pulumi.log as { warn: typeof warn }).warn = warn),
    );
    assert.match(warnings.join("\n"), /esxi-02-control-plane is now first in the control-plane order instead of esxi-01-control-plane/);
    const userData = (o: typeof out, name: string) => {
      const v = o.resources.find((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine" && x.name.endsWith(name))!;
      return gunzipSync(Buffer.from((unwrapSecrets(v.inputs.extraConfig) as Record<string, string>)["guestinfo.userdata"], "base64")).toString();
    };
    const cps = ["esxi-02-control-plane", "esxi-03-control-plane", "esxi-05-control-plane"];
    for (const n of cps) {
      assert.doesNotMatch(userData(out, n), /kind: InitConfiguration/, `${n} does not run kubeadm init`);
      assert.match(userData(out, n), /kind: JoinConfiguration/);
    }
    // Negative control: the same configuration as a new stack: its first control plane runs kubeadm init.
    const fresh = await (await up(config(moved), {}, true)).run;
    assert.match(userData(fresh, "esxi-02-control-plane"), /kind: InitConfiguration/);
  });

  it("a previous output this program does not understand is refused, not taken for a new cluster", async () => {
    const r = await up(config(), { clusterLifecycle: { format: 99 } });
    await assert.rejects(r.run, /vsphere-spark:lifecycle: the stack output clusterLifecycle is not a state this program understands \(format 99/);
    assert.equal(r.registered().filter((x) => x.type !== "pulumi:pulumi:StackReference").length, 0);
  });

  it("the component alone refuses before registering anything (library use)", async () => {
    const d = decideStack(config((c) => (c["vsphere-spark:inventory"].template = "ubuntu-2604-kube-template")));
    assert.ok(d.decisions);
    // Rebuild the component's arguments from the same spec the back end decided.
    const cfg = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
    const k = resolveKubernetesSettings(cfg["vsphere-spark:kubernetes"]).settings;
    const raw = Object.fromEntries(Object.entries(cfg).filter(([key]) => key.startsWith("vsphere-spark:")).map(([key, v]) => [key.slice("vsphere-spark:".length), v]));
    raw.inventory = { ...raw.inventory, template: "ubuntu-2604-kube-template" };
    const v = resolveVsphereSettings(raw, (x: string) => `vsphere-spark:${x}`).decisions!;
    const spec = { vsphere: v, kubernetes: k };
    const cluster = kubeadmClusterSpec(spec);
    let registered: { type: string }[] = [];
    await assert.rejects(
      runUnderMocks({ project: "vsphere-spark", stack: "dev", config: {}, invokes: simulatedInventory }, async () => {
        new KubeadmVsphereCluster("spark", { spec, cluster, workerPool: workerPool(workerNodes(cluster), k), previous: appliedState() });
        return {};
      }).catch((e) => {
        registered = e.recordedResources ?? [];
        throw e;
      }),
      (e: Error) => e instanceof ValidationError && /refused change to a running cluster/.test(e.message) && /vsphere-spark:inventory\.template/.test(e.message),
    );
    assert.deepEqual(registered.filter((x) => x.type !== "pulumi:pulumi:Stack"), []);
    // Negative control: the same component with the template unchanged registers its VMs.
    const same = { vsphere: resolveVsphereSettings({ ...raw, inventory: cfg["vsphere-spark:inventory"] }, (x: string) => `vsphere-spark:${x}`).decisions!, kubernetes: k };
    const sameCluster = kubeadmClusterSpec(same);
    const ok = await runUnderMocks({ project: "vsphere-spark", stack: "dev", config: {}, invokes: simulatedInventory, outputs: simulatedOutputs }, async () => {
      new KubeadmVsphereCluster("spark", { spec: same, cluster: sameCluster, workerPool: workerPool(workerNodes(sameCluster), k), previous: appliedState() });
      return {};
    });
    assert.equal(ok.resources.filter((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine").length, 20);
  });
});
