/**
 * Every property the library sets on every vSphere resource, and every argument of every vSphere
 * function it calls, held against the pulumi-vsphere 4.17.0 schema: the names exist, the types
 * match, the required inputs are set. Runs the real stack program for several configurations.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { VSPHERE_PROVIDER_CONFIG } from "../../src/config/stack-config";
import { plan } from "../../src/plan/plan";
import { checkRecorded, loadVsphereSchema } from "../support/vsphere-schema";

const ROOT = path.resolve(__dirname, "../../..");

const VARIANTS: Record<string, string[] | { stack: string; sets: string[] }> = {
  reference: [],
  "the Tanzu back end (Pulumi.tanzu.yaml)": { stack: "tanzu", sets: [] },
  "DRS rules off": ["vsphere-spark:drs={enabled: false}"],
  "DRS rules mandatory": ["vsphere-spark:drs={enabled: true, mandatory: true}"],
  "kube-vip endpoint": [
    "vsphere-spark:endpoint={kind: kube-vip, address: 192.168.1.5}",
    "vsphere-spark:network={cidr: 192.168.1.0/24, gateway: 192.168.1.254, dnsServers: [192.168.1.254]}",
  ],
  "one worker per host": ["vsphere-spark:workersPerHost=1"],
  "GPU workers (Pulumi.gpu.yaml: pciDeviceIds, memory reservation, EFI, MMIO extraConfig)": { stack: "gpu", sets: [] },
  "three zones (Pulumi.zones.yaml)": { stack: "zones", sets: [] },
  "three zones, one of an existing host group, a keepApart rule": {
    stack: "zones",
    sets: [
      "vsphere-spark:zones=[{name: zone-a, computeCluster: Spark-A, hosts: [esxi-a1, esxi-a2], hostGroup: rack-a}, {name: zone-b, computeCluster: Spark-B, hosts: [esxi-b1, esxi-b2]}, {name: zone-c, computeCluster: Spark-C, datacenter: Datacenter-2, hosts: [esxi-c1, esxi-c2]}]",
      "vsphere-spark:drs={enabled: true, keepApart: {two-workers: [esxi-a1-worker-1, esxi-a2-worker-1]}}",
    ],
  },
};

describe("vSphere schema conformance of the program", () => {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name}: every vSphere input and invoke argument matches schema.json`, async () => {
      const { stack, sets } = Array.isArray(variant) ? { stack: "dev", sets: variant } : variant;
      const r = await plan({ stack, cwd: ROOT, sets });
      if (!r.ok) assert.fail(JSON.stringify(r.errors));
      const vsphere = r.recorded.filter((x) => x.type.startsWith("vsphere:"));
      assert.ok(vsphere.length > 0 && r.recordedInvokes.length > 0);
      assert.deepEqual(checkRecorded({ resources: r.recorded, invokes: r.recordedInvokes }), []);
    });
  }

  it("would catch a misspelled property on what the program registers", async () => {
    const r = await plan({ stack: "dev", cwd: ROOT });
    if (!r.ok) assert.fail(JSON.stringify(r.errors));
    const vm = r.recorded.find((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine")!;
    const { numCpus, ...rest } = vm.inputs;
    const bad = { ...vm, inputs: { ...rest, numCpu: numCpus } };
    const problems = checkRecorded({ resources: [bad], invokes: [] });
    assert.ok(problems.some((p) => p.includes("numCpu")), problems.join("\n"));
    const inv = r.recordedInvokes[0];
    const badInvoke = { token: inv.token, args: { ...inv.args, nmae: "x" } };
    assert.ok(checkRecorded({ resources: [], invokes: [badInvoke] }).some((p) => p.includes("nmae")));
  });

  it("the provider configuration keys the validator accepts, and their types, are exactly the schema's", () => {
    const schema = loadVsphereSchema() as unknown as { config: { variables: Record<string, { type: string }> } };
    const fromSchema = Object.fromEntries(Object.entries(schema.config.variables).map(([k, v]) => [k, v.type]));
    assert.deepEqual({ ...VSPHERE_PROVIDER_CONFIG }, fromSchema);
  });
});
