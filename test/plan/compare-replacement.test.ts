/**
 * The replace-vs-update tables (src/plan/compare/replacement.ts), case by case, against the facts
 * read from the providers' source (cited there): terraform-provider-vsphere's ForceNew,
 * pulumi-kubernetes' forceNewProperties, terraform-provider-tls/random's RequiresReplace.
 */
import * as assert from "node:assert/strict";
import { VSPHERE_RULES, classify, pathMatches } from "../../src/plan/compare/replacement";

const VM = "vsphere:index/virtualMachine:VirtualMachine";
type Case = [type: string, path: string, expected: "replace" | "update", before?: unknown, after?: unknown];

const CASES: Case[] = [
  // vsphere_virtual_machine: clone.* ForceNew except clone.timeout; the rest reconfigures or migrates.
  [VM, "clone.templateUuid", "replace"],
  [VM, "clone.linkedClone", "replace"],
  [VM, "clone.customize.linuxOptions.hostName", "replace"],
  [VM, "clone.timeout", "update"],
  [VM, "numCpus", "update"],
  [VM, "memory", "update"],
  [VM, "hostSystemId", "update"],
  [VM, "datastoreId", "update"],
  [VM, "resourcePoolId", "update"],
  [VM, "folder", "update"],
  [VM, "name", "update"],
  [VM, "disks[0].size", "update", 100, 120],
  [VM, "networkInterfaces[0].adapterType", "update"],
  [VM, "networkInterfaces[0].ovfMapping", "replace"],
  ["vsphere:index/folder:Folder", "type", "replace"],
  ["vsphere:index/folder:Folder", "datacenterId", "replace"],
  ["vsphere:index/folder:Folder", "path", "update"],
  ["vsphere:index/resourcePool:ResourcePool", "name", "update"],
  ["vsphere:index/resourcePool:ResourcePool", "parentResourcePoolId", "update"],
  ["vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup", "name", "replace"],
  ["vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup", "computeClusterId", "replace"],
  ["vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup", "hostSystemIds[0]", "update"],
  ["vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup", "name", "replace"],
  ["vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup", "virtualMachineIds[2]", "update"],
  ["vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule", "name", "update"],
  ["vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule", "affinityHostGroupName", "update"],
  ["vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule", "computeClusterId", "replace"],
  ["vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule", "virtualMachineIds[1]", "update"],
  ["vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule", "computeClusterId", "replace"],
  ["vsphere:index/virtualMachineClass:VirtualMachineClass", "cpus", "update"],
  // Kubernetes: metadata.name/namespace of every object, and the per-kind immutable fields.
  ["kubernetes:core/v1:Namespace", "metadata.name", "replace"],
  ["kubernetes:core/v1:Namespace", "metadata.labels.team", "update"],
  ["kubernetes:core/v1:ServiceAccount", "metadata.namespace", "replace"],
  ["kubernetes:core/v1:Service", "spec.clusterIP", "replace"],
  ["kubernetes:core/v1:Service", "spec.ports[0].port", "update"],
  ["kubernetes:core/v1:PersistentVolumeClaim", "spec.storageClassName", "replace"],
  ["kubernetes:core/v1:PersistentVolumeClaim", "spec.accessModes[0]", "replace"],
  ["kubernetes:core/v1:PersistentVolumeClaim", "spec.resources.requests.storage", "update"],
  ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "roleRef.name", "replace"],
  ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "subjects[0].name", "update"],
  ["kubernetes:rbac.authorization.k8s.io/v1:Role", "rules[0].verbs[1]", "update"],
  ["kubernetes:batch/v1:Job", "spec.template.spec.containers[0].image", "replace"],
  ["kubernetes:batch/v1:Job", "spec.backoffLimit", "update"],
  // Data is mutable: the stack's cluster providers set enableConfigMapMutable (components/cluster/backend.ts, DATA_MUTABLE).
  ["kubernetes:core/v1:ConfigMap", "data.spark-defaults.conf", "update"],
  ["kubernetes:core/v1:Secret", "stringData.expiration", "update"],
  ["kubernetes:core/v1:Secret", "type", "replace"],
  ["kubernetes:core/v1:ConfigMap", "metadata.labels.app", "update"],
  ["kubernetes:core/v1:ResourceQuota", "spec.hard.pods", "update"],
  ["kubernetes:core/v1:ResourceQuota", "spec.scopes[0]", "replace"],
  ["kubernetes:apps/v1:StatefulSet", "spec.serviceName", "replace"],
  ["kubernetes:apps/v1:Deployment", "spec.replicas", "update"],
  // A custom resource (e.g. a Tanzu VM class object) follows the metadata rule.
  ["kubernetes:vmoperator.vmware.com/v1alpha2:VirtualMachineClass", "metadata.name", "replace"],
  ["kubernetes:vmoperator.vmware.com/v1alpha2:VirtualMachineClass", "spec.hardware.cpus", "update"],
  // TLS and random.
  ["tls:index/privateKey:PrivateKey", "rsaBits", "replace"],
  ["tls:index/selfSignedCert:SelfSignedCert", "subject.commonName", "replace"],
  ["tls:index/selfSignedCert:SelfSignedCert", "validityPeriodHours", "replace"],
  ["tls:index/locallySignedCert:LocallySignedCert", "earlyRenewalHours", "update"],
  ["tls:index/locallySignedCert:LocallySignedCert", "caCertPem", "replace"],
  ["random:index/randomString:RandomString", "length", "replace"],
  ["random:index/randomString:RandomString", "special", "replace"],
  ["random:index/randomBytes:RandomBytes", "length", "replace"],
];

describe("compare: replace-vs-update table (cited provider facts)", function () {
  for (const [type, path, expected, before = "a", after = "b"] of CASES) {
    it(`${type.split(":").pop()} ${path}: ${expected}`, () => {
      const c = classify(type, [{ path, before, after }]);
      assert.equal(c.action, expected, JSON.stringify(c));
      assert.deepEqual(c.replaceBecause, expected === "replace" ? [path] : []);
      assert.notEqual(c.source, "", "every decision names its source");
    });
  }

  it("a smaller VM disk is refused by the provider (cannot be shrunk), a larger one is an update", () => {
    assert.deepEqual(classify(VM, [{ path: "disks[0].size", before: 100, after: 80 }]).refused, ["disks[0].size: virtual disks cannot be shrunk"]);
    assert.deepEqual(classify(VM, [{ path: "disks[0].size", before: 100, after: 120 }]).refused, []);
  });

  it("an ignoreChanges input is ignored, not an update reason", () => {
    const c = classify(VM, [{ path: "extraConfig.guestinfo.userdata", before: "a", after: "b" }, { path: "numCpus", before: 8, after: 16 }], ["extraConfig"]);
    assert.deepEqual(c.ignored, ["extraConfig.guestinfo.userdata"]);
    assert.equal(c.action, "update");
  });

  it("a replaceOnChanges path replaces whatever the provider does, and the source says so", () => {
    const ns = "vsphere:index/namespace:Namespace";
    assert.equal(classify(ns, [{ path: "name", before: "a", after: "b" }]).action, "update", "the provider updates a namespace in place");
    const c = classify(ns, [{ path: "name", before: "a", after: "b" }, { path: "storagePolicies[0]", before: "p1", after: "p2" }], [], ["name"]);
    assert.equal(c.action, "replace");
    assert.deepEqual(c.replaceBecause, ["name"]);
    assert.match(c.source, /replaceOnChanges/);
    assert.equal(classify(ns, [{ path: "storagePolicies[0]", before: "p1", after: "p2" }], [], ["name"]).action, "update");
    assert.equal(classify("helm:index:Unknown", [{ path: "x", before: 1, after: 2 }], [], ["x"]).action, "replace");
    // An ignored path does not replace even when listed.
    assert.equal(classify(ns, [{ path: "name", before: "a", after: "b" }], ["name"], ["name"]).action, "update");
  });

  it("a type no table covers is shown as an update and says so", () => {
    const c = classify("kubernetes:helm.sh/v3:Release", [{ path: "values.foo", before: 1, after: 2 }]);
    assert.equal(c.action, "update");
    assert.equal(classify("helm:index:Unknown", [{ path: "x", before: 1, after: 2 }]).source.startsWith("unknown"), true);
  });

  it("path patterns: list indices, subtrees, no prefix confusion", () => {
    assert.ok(pathMatches("disks[*].size", "disks[3].size"));
    assert.ok(pathMatches("clone.", "clone.templateUuid"));
    assert.ok(pathMatches("spec.selector.", "spec.selector.matchLabels.app"));
    assert.ok(!pathMatches("name", "namespace"));
    assert.ok(!pathMatches("metadata.name", "metadata.namespace"));
    assert.ok(!pathMatches("clone.", "cloneCount"));
  });

  it("negative control: without the virtual_machine rule a template change would pass as an update", () => {
    const saved = VSPHERE_RULES[VM];
    try {
      delete VSPHERE_RULES[VM];
      assert.equal(classify(VM, [{ path: "clone.templateUuid", before: "a", after: "b" }]).action, "update");
    } finally {
      VSPHERE_RULES[VM] = saved;
    }
    assert.equal(classify(VM, [{ path: "clone.templateUuid", before: "a", after: "b" }]).action, "replace");
  });
});

/**
 * The reboot table (components/vsphere/reboot.ts), from terraform-provider-vsphere @ b45b5b41:
 * expandCPUCountConfig / expandMemorySizeConfig (the pre-update hot-add flags decide; removing
 * memory always reboots), getWithRestart / getBoolWithRestart fields, extra_config, the SCSI bus
 * (NormalizeBus) and a disk's unit_number; and what does not reboot (vMotion, Storage vMotion, disk growth).
 */
describe("plan --compare: which in-place VM updates reboot (terraform-provider-vsphere reboot_required)", () => {
  const { rebootReasons } = require("../../components/vsphere/reboot") as typeof import("../../components/vsphere/reboot");
  const vm = { numCpus: 16, memory: 122880, firmware: "efi", guestId: "ubuntu64Guest", scsiType: "pvscsi", enableDiskUuid: true, datastoreId: "ds-1", hostSystemId: "host-1", disks: [{ size: 100, unitNumber: 0 }], networkInterfaces: [{ networkId: "n-1" }] };
  type Row = [what: string, before: Record<string, unknown>, after: Record<string, unknown>, reboots: boolean, ignore?: string[]];
  const ROWS: Row[] = [
    ["vCPU added, no hot-add", {}, { numCpus: 20 }, true],
    ["vCPU added, hot-add on before", { cpuHotAddEnabled: true }, { cpuHotAddEnabled: true, numCpus: 20 }, false],
    ["vCPU added, hot-add turned on in the same change (the pre-update value counts; the flag change itself reboots)", {}, { cpuHotAddEnabled: true, numCpus: 20 }, true],
    ["vCPU removed, no hot-remove", {}, { numCpus: 12 }, true],
    ["vCPU removed, hot-remove on", { cpuHotRemoveEnabled: true }, { cpuHotRemoveEnabled: true, numCpus: 12 }, false],
    ["memory added, no hot-add", {}, { memory: 131072 }, true],
    ["memory added, hot-add on", { memoryHotAddEnabled: true }, { memoryHotAddEnabled: true, memory: 131072 }, false],
    ["memory removed, hot-add on: always", { memoryHotAddEnabled: true }, { memoryHotAddEnabled: true, memory: 65536 }, true],
    ["firmware", {}, { firmware: "bios" }, true],
    ["guest id", {}, { guestId: "ubuntu64Guest2" }, true],
    ["SCSI type (NormalizeBus)", {}, { scsiType: "lsilogic" }, true],
    ["enable_disk_uuid", {}, { enableDiskUuid: false }, true],
    ["extra_config (default extra_config_reboot_required)", { extraConfig: { a: "1" } }, { extraConfig: { a: "2" } }, true],
    ["extra_config under ignoreChanges: never sent", { extraConfig: { a: "1" } }, { extraConfig: { a: "2" } }, false, ["extraConfig"]],
    ["extra_config with extra_config_reboot_required: false", { extraConfig: { a: "1" }, extraConfigRebootRequired: false }, { extraConfig: { a: "2" }, extraConfigRebootRequired: false }, false],
    ["disk unit number", {}, { disks: [{ size: 100, unitNumber: 1 }] }, true],
    ["disk growth", {}, { disks: [{ size: 120, unitNumber: 0 }] }, false],
    ["datastore (Storage vMotion)", {}, { datastoreId: "ds-2" }, false],
    ["host (vMotion)", {}, { hostSystemId: "host-2" }, false],
    ["network", {}, { networkInterfaces: [{ networkId: "n-2" }] }, false],
  ];
  for (const [what, b, a, reboots, ignore] of ROWS) {
    it(`${what}: ${reboots ? "reboots" : "no reboot"}`, () => {
      const r = rebootReasons({ ...vm, ...b }, { ...vm, ...b, ...a }, ignore);
      assert.equal(r.length > 0, reboots, r.join("; "));
    });
  }
});
