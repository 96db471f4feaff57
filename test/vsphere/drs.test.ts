import * as assert from "node:assert/strict";
import { DrsSettings, DrsVm, NO_DRS_RULES, planDrsRules } from "../../components/vsphere/drs";
import { REFERENCE_HOST_IDS, REFERENCE_SLOTS } from "./reference-slots";

const cp = (name: string, hostId: string): DrsVm => ({ name, role: "control-plane", hostId });
const lb = (name: string, hostId: string): DrsVm => ({ name, role: "load-balancer", hostId });
const wk = (name: string, hostId: string): DrsVm => ({ name, role: "worker", hostId });
const hosts = (...ids: string[]) => ids.map((id) => ({ id }));
const SHOULD: DrsSettings = { enabled: true, mandatory: false };
const MUST: DrsSettings = { enabled: true, mandatory: true };

/** Compact view of a plan: the Pulumi name suffixes and vCenter names, and what each holds. */
function view(p: ReturnType<typeof planDrsRules>) {
  return {
    hostGroups: p.hostGroups.map((g) => `${g.suffix} ${g.name} [${g.hostId}]`),
    vmGroups: p.vmGroups.map((g) => `${g.suffix} ${g.name} [${g.vm}]`),
    vmHostRules: p.vmHostRules.map((r) => `${r.suffix} ${r.name} ${r.vmGroup} -> ${r.hostGroup}${r.mandatory ? " must" : " should"}`),
    antiAffinityRules: p.antiAffinityRules.map((r) => `${r.suffix} ${r.name} [${r.vms.join(",")}]${r.mandatory ? " must" : " should"}`),
  };
}

interface Row {
  title: string;
  hosts: { id: string }[];
  vms: DrsVm[];
  drs?: DrsSettings;
  expected: ReturnType<typeof view>;
}

const TABLE: Row[] = [
  {
    title: "one control plane and one worker on one host: no anti-affinity",
    hosts: hosts("h1"),
    vms: [cp("h1-control-plane", "h1"), wk("h1-worker-1", "h1")],
    expected: {
      hostGroups: ["h1-hosts k-h1 [h1]"],
      vmGroups: ["h1-control-plane-vm-group k-h1-control-plane [h1-control-plane]", "h1-worker-1-vm-group k-h1-worker-1 [h1-worker-1]"],
      vmHostRules: [
        "h1-control-plane-on-host k-h1-control-plane-on-h1 h1-control-plane-vm-group -> h1-hosts should",
        "h1-worker-1-on-host k-h1-worker-1-on-h1 h1-worker-1-vm-group -> h1-hosts should",
      ],
      antiAffinityRules: [],
    },
  },
  {
    title: "three control planes on three hosts, a host without VMs gets no group",
    hosts: hosts("h1", "h2", "h3", "h4"),
    vms: [cp("h1-control-plane", "h1"), cp("h2-control-plane", "h2"), cp("h3-control-plane", "h3")],
    expected: {
      hostGroups: ["h1-hosts k-h1 [h1]", "h2-hosts k-h2 [h2]", "h3-hosts k-h3 [h3]"],
      vmGroups: [
        "h1-control-plane-vm-group k-h1-control-plane [h1-control-plane]",
        "h2-control-plane-vm-group k-h2-control-plane [h2-control-plane]",
        "h3-control-plane-vm-group k-h3-control-plane [h3-control-plane]",
      ],
      vmHostRules: [
        "h1-control-plane-on-host k-h1-control-plane-on-h1 h1-control-plane-vm-group -> h1-hosts should",
        "h2-control-plane-on-host k-h2-control-plane-on-h2 h2-control-plane-vm-group -> h2-hosts should",
        "h3-control-plane-on-host k-h3-control-plane-on-h3 h3-control-plane-vm-group -> h3-hosts should",
      ],
      antiAffinityRules: ["control-plane-apart k-control-plane-apart [h1-control-plane,h2-control-plane,h3-control-plane] should"],
    },
  },
  {
    title: "mandatory: every VM-host rule and the anti-affinity rule are 'must' rules",
    hosts: hosts("h1", "h2"),
    vms: [cp("h1-control-plane", "h1"), lb("h2-load-balancer", "h2"), cp("h2-control-plane", "h2")],
    drs: MUST,
    expected: {
      hostGroups: ["h1-hosts k-h1 [h1]", "h2-hosts k-h2 [h2]"],
      vmGroups: [
        "h1-control-plane-vm-group k-h1-control-plane [h1-control-plane]",
        "h2-load-balancer-vm-group k-h2-load-balancer [h2-load-balancer]",
        "h2-control-plane-vm-group k-h2-control-plane [h2-control-plane]",
      ],
      vmHostRules: [
        "h1-control-plane-on-host k-h1-control-plane-on-h1 h1-control-plane-vm-group -> h1-hosts must",
        "h2-load-balancer-on-host k-h2-load-balancer-on-h2 h2-load-balancer-vm-group -> h2-hosts must",
        "h2-control-plane-on-host k-h2-control-plane-on-h2 h2-control-plane-vm-group -> h2-hosts must",
      ],
      antiAffinityRules: ["control-plane-apart k-control-plane-apart [h1-control-plane,h2-control-plane] must"],
    },
  },
  {
    title: "host groups follow the order of the hosts, not of the VMs",
    hosts: hosts("h2", "h1"),
    vms: [wk("h1-worker-1", "h1"), wk("h2-worker-1", "h2")],
    expected: {
      hostGroups: ["h2-hosts k-h2 [h2]", "h1-hosts k-h1 [h1]"],
      vmGroups: ["h1-worker-1-vm-group k-h1-worker-1 [h1-worker-1]", "h2-worker-1-vm-group k-h2-worker-1 [h2-worker-1]"],
      vmHostRules: [
        "h1-worker-1-on-host k-h1-worker-1-on-h1 h1-worker-1-vm-group -> h1-hosts should",
        "h2-worker-1-on-host k-h2-worker-1-on-h2 h2-worker-1-vm-group -> h2-hosts should",
      ],
      antiAffinityRules: [],
    },
  },
  {
    title: "disabled: nothing at all, even with several control planes",
    hosts: hosts("h1", "h2", "h3"),
    vms: [cp("h1-control-plane", "h1"), cp("h2-control-plane", "h2"), cp("h3-control-plane", "h3")],
    drs: { enabled: false, mandatory: true },
    expected: { hostGroups: [], vmGroups: [], vmHostRules: [], antiAffinityRules: [] },
  },
];

describe("DRS rules (planDrsRules)", () => {
  for (const row of TABLE) {
    it(row.title, () => {
      assert.deepEqual(view(planDrsRules("k", row.hosts, row.vms, row.drs ?? SHOULD)), row.expected);
    });
  }

  it("defaults to 'should' rules when no settings are given", () => {
    const p = planDrsRules("k", hosts("h1", "h2"), [cp("a", "h1"), cp("b", "h2")]);
    assert.ok(p.vmHostRules.every((r) => !r.mandatory) && p.antiAffinityRules.every((r) => !r.mandatory));
    assert.equal(p.antiAffinityRules.length, 1);
    assert.deepEqual(planDrsRules("k", hosts("h1"), [cp("a", "h1")], { enabled: false, mandatory: false }), NO_DRS_RULES);
  });

  describe("the reference topology (4 hosts, 3 control planes, an HAProxy VM, 16 workers)", () => {
    const slots = REFERENCE_SLOTS;
    const p = planDrsRules("spark", REFERENCE_HOST_IDS.map((id) => ({ id })), slots);

    it("4 host groups, 20 VM groups, 20 VM-host rules, 1 anti-affinity rule over the 3 control planes", () => {
      assert.deepEqual(
        [p.hostGroups.length, p.vmGroups.length, p.vmHostRules.length, p.antiAffinityRules.length],
        [4, 20, 20, 1],
      );
      assert.deepEqual(p.antiAffinityRules[0].vms, ["esxi-01-control-plane", "esxi-02-control-plane", "esxi-03-control-plane"]);
    });

    it("every rule refers to groups that exist, and pins each VM to the host placement chose", () => {
      const hostGroups = new Map(p.hostGroups.map((g) => [g.suffix, g]));
      const vmGroups = new Map(p.vmGroups.map((g) => [g.suffix, g]));
      for (const r of p.vmHostRules) {
        const vm = vmGroups.get(r.vmGroup)!.vm;
        assert.equal(hostGroups.get(r.hostGroup)!.hostId, slots.find((s) => s.name === vm)!.hostId, r.suffix);
      }
      assert.deepEqual(p.vmHostRules.map((r) => vmGroups.get(r.vmGroup)!.vm), slots.map((s) => s.name));
    });

    it("names are unique: Pulumi suffixes per resource kind, and vCenter names across groups and rules", () => {
      for (const list of [p.hostGroups, p.vmGroups, p.vmHostRules, p.antiAffinityRules]) {
        const suffixes = list.map((x) => x.suffix);
        assert.equal(new Set(suffixes).size, suffixes.length);
      }
      const groupNames = [...p.hostGroups, ...p.vmGroups].map((g) => g.name);
      assert.equal(new Set(groupNames).size, groupNames.length, "host and VM groups share one namespace in vCenter");
      const ruleNames = [...p.vmHostRules, ...p.antiAffinityRules].map((r) => r.name);
      assert.equal(new Set(ruleNames).size, ruleNames.length);
      for (const n of [...groupNames, ...ruleNames]) assert.ok(n.startsWith("spark-"), n);
    });

    it("adding a worker adds only its group and rule", () => {
      const more = [...slots, { ...slots[slots.length - 1], name: "esxi-04-worker-5", index: 5 }];
      const q = planDrsRules("spark", REFERENCE_HOST_IDS.map((id) => ({ id })), more);
      assert.deepEqual(q.hostGroups, p.hostGroups);
      assert.deepEqual(q.vmGroups.slice(0, 20), p.vmGroups);
      assert.deepEqual(q.vmHostRules.slice(0, 20), p.vmHostRules);
      assert.deepEqual(q.antiAffinityRules, p.antiAffinityRules);
      assert.deepEqual(q.vmGroups.slice(20).map((g) => g.suffix), ["esxi-04-worker-5-vm-group"]);
    });
  });
});
