import * as assert from "node:assert/strict";
import {
  checkInvokeArgs,
  checkResourceInputs,
  describeType,
  schemaPropertyType,
  VSPHERE_PROVIDER_TOKEN,
} from "../support/vsphere-schema";

const VM = "vsphere:index/virtualMachine:VirtualMachine";
const GET_NETWORK = "vsphere:index/getNetwork:getNetwork";

/** A value as the SDK puts it on the wire when it is a secret. */
function wireSecret(value: unknown): Record<string, unknown> {
  return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

/** A VirtualMachine as the topology component builds it: cloned from a template, with cloud-init guestinfo. */
function realisticVm(): Record<string, unknown> {
  return {
    name: "spark-cp-0",
    resourcePoolId: "resgroup-1001",
    folder: "spark/prod",
    datastoreId: "datastore-12",
    hostSystemId: "host-21",
    numCpus: 4,
    numCoresPerSocket: 2,
    memory: 16384,
    guestId: "ubuntu64Guest",
    firmware: "efi",
    scsiType: "pvscsi",
    enableDiskUuid: true,
    // unknown in a preview (an output of another resource)
    annotation: undefined,
    waitForGuestNetTimeout: 5,
    networkInterfaces: [{ networkId: "dvportgroup-33", adapterType: "vmxnet3" }],
    disks: [{ label: "disk0", size: 80, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }],
    clone: { templateUuid: "4215e1a2-0b7e-7c4b-3a1e-9f2d6c0e8a11", linkedClone: false, timeout: 30 },
    extraConfig: wireSecret({
      "guestinfo.userdata": "I2Nsb3VkLWNvbmZpZwo=",
      "guestinfo.userdata.encoding": "base64",
      "guestinfo.metadata": "aW5zdGFuY2UtaWQ6IHNwYXJrLWNwLTAK",
      "guestinfo.metadata.encoding": "base64",
    }),
    tags: ["urn:vmomi:InventoryServiceTag:1:GLOBAL"],
    customAttributes: { "201": "spark" },
  };
}

describe("vSphere schema checker", () => {
  it("accepts a realistic VirtualMachine with a secret-wrapped extraConfig and unknown values", () => {
    assert.deepEqual(checkResourceInputs(VM, realisticVm()), []);
  });

  it("accepts secrets nested at any depth, and secret-wrapped required inputs", () => {
    const vm = realisticVm();
    vm.resourcePoolId = wireSecret("resgroup-1001");
    vm.disks = [wireSecret({ label: wireSecret("disk0"), size: 80 })];
    assert.deepEqual(checkResourceInputs(VM, vm), []);
  });

  it("catches a misspelled property and suggests the right name", () => {
    const problems = checkResourceInputs(VM, { ...realisticVm(), numCpu: 4 });
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /VirtualMachine\.numCpu: unknown input property "numCpu" \(did you mean "numCpus"\?\)/);
  });

  it("catches a wrong type (a string for memory)", () => {
    const problems = checkResourceInputs(VM, { ...realisticVm(), memory: "16384" });
    assert.deepEqual(problems, ['VirtualMachine.memory: expected integer, got string "16384"']);
    assert.match(checkResourceInputs(VM, { ...realisticVm(), numCpus: 2.5 })[0], /numCpus: expected integer, got number 2.5/);
    assert.match(checkResourceInputs(VM, { ...realisticVm(), enableDiskUuid: "true" })[0], /expected boolean/);
    assert.match(checkResourceInputs(VM, { ...realisticVm(), tags: "a" })[0], /tags: expected string\[\], got string/);
    assert.match(checkResourceInputs(VM, { ...realisticVm(), tags: ["a", 1] })[0], /tags\[1\]: expected string, got number 1/);
  });

  it("never prints a secret value in a problem", () => {
    const problems = checkResourceInputs(VM, { ...realisticVm(), memory: wireSecret("s3cr3t-value") });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /memory: expected integer, got string \[secret\]/);
    assert.ok(!problems[0].includes("s3cr3t"));
  });

  it("checks inside disks[]: wrong nested types, unknown nested names, missing nested required fields", () => {
    let problems = checkResourceInputs(VM, { ...realisticVm(), disks: [{ label: "disk0", size: "80" }] });
    assert.deepEqual(problems, ['VirtualMachine.disks[0].size: expected integer, got string "80"']);

    problems = checkResourceInputs(VM, { ...realisticVm(), disks: [{ label: "disk0" }, { lable: "disk1", size: 10 }] });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0], /disks\[1\]\.lable: unknown property of VirtualMachineDisk "lable" \(did you mean "label"\?\)/);
    assert.match(problems[1], /disks\[1\]\.label: required property of VirtualMachineDisk "label" is missing/);

    problems = checkResourceInputs(VM, { ...realisticVm(), disks: { label: "disk0" } });
    assert.deepEqual(problems, ["VirtualMachine.disks: expected VirtualMachineDisk[], got object"]);
  });

  it("checks inside clone, recursively", () => {
    let problems = checkResourceInputs(VM, { ...realisticVm(), clone: { templateUuid: 42 } });
    assert.deepEqual(problems, ["VirtualMachine.clone.templateUuid: expected string, got number 42"]);

    problems = checkResourceInputs(VM, { ...realisticVm(), clone: { templateUuid: "t", linkedclone: true } });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /clone\.linkedclone: unknown property of VirtualMachineClone "linkedclone" \(did you mean "linkedClone"\?\)/);

    problems = checkResourceInputs(VM, { ...realisticVm(), clone: { linkedClone: true } });
    assert.deepEqual(problems, ['VirtualMachine.clone.templateUuid: required property of VirtualMachineClone "templateUuid" is missing']);

    problems = checkResourceInputs(VM, {
      ...realisticVm(),
      clone: { templateUuid: "t", customize: { linuxOptions: { hostName: "n" }, networkInterfaces: [{ ipv4Netmask: "24" }] } },
    });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems.join("\n"), /clone\.customize\.networkInterfaces\[0\]\.ipv4Netmask: expected integer, got string "24"/);
    assert.match(
      problems.join("\n"),
      /clone\.customize\.linuxOptions\.domain: required property of VirtualMachineCloneCustomizeLinuxOptions "domain" is missing/,
    );
  });

  it("checks map values (extraConfig is map<string, string>)", () => {
    const problems = checkResourceInputs(VM, { ...realisticVm(), extraConfig: { "guestinfo.userdata": 1 } });
    assert.deepEqual(problems, ['VirtualMachine.extraConfig["guestinfo.userdata"]: expected string, got number 1']);
    assert.match(checkResourceInputs(VM, { ...realisticVm(), extraConfig: ["x"] })[0], /expected map<string, string>, got array/);
  });

  it("reports a missing required input (resourcePoolId), but not an unknown one", () => {
    const { resourcePoolId: _omit, ...rest } = realisticVm();
    void _omit;
    assert.deepEqual(checkResourceInputs(VM, rest), [
      'VirtualMachine.resourcePoolId: required input property "resourcePoolId" is missing',
    ]);
    assert.deepEqual(checkResourceInputs(VM, { ...rest, resourcePoolId: undefined }), []);
    assert.equal(checkResourceInputs(VM, { ...rest, resourcePoolId: null }).length, 1);
    assert.deepEqual(checkResourceInputs("vsphere:index/folder:Folder", { path: "spark" }), [
      'Folder.type: required input property "type" is missing',
    ]);
  });

  it("reports unknown tokens", () => {
    assert.deepEqual(checkResourceInputs("vsphere:index/virtualMachine:VirtualMachines", {}), [
      'unknown resource token "vsphere:index/virtualMachine:VirtualMachines" (did you mean "vsphere:index/virtualMachine:VirtualMachine"?)',
    ]);
    assert.match(checkResourceInputs("vsphere:index/supervisorV3:SupervisorV3", {})[0], /^unknown resource token/);
    assert.match(checkInvokeArgs("vsphere:index/getDataCenter:getDataCenter", {})[0], /^unknown function token .*did you mean "vsphere:index\/getDatacenter:getDatacenter"/);
  });

  it("checks invoke arguments: names, types, nested types and required arguments", () => {
    assert.deepEqual(checkInvokeArgs(GET_NETWORK, { name: "VM Network", datacenterId: "datacenter-3" }), []);
    assert.deepEqual(checkInvokeArgs("vsphere:index/getDatacenter:getDatacenter", {}), []);
    assert.deepEqual(checkInvokeArgs(GET_NETWORK, { datacenterId: "datacenter-3" }), [
      'getNetwork.name: required argument "name" is missing',
    ]);
    assert.deepEqual(checkInvokeArgs(GET_NETWORK, { name: "n", datacenter: "d" }), [
      'getNetwork.datacenter: unknown argument "datacenter" (did you mean "datacenterId"?)',
    ]);
    assert.deepEqual(checkInvokeArgs(GET_NETWORK, { name: "n", filters: [{ networkType: 3 }, { type: "Network" }] }), [
      "getNetwork.filters[0].networkType: expected string, got number 3",
      'getNetwork.filters[1].type: unknown property of GetNetworkFilter "type"',
    ]);
    assert.deepEqual(checkInvokeArgs("vsphere:index/getHost:getHost", { name: "esx-01" }), [
      'getHost.datacenterId: required argument "datacenterId" is missing',
    ]);
  });

  it("accepts the provider's JSON-encoded non-string inputs and checks what they encode", () => {
    assert.deepEqual(
      checkResourceInputs(VSPHERE_PROVIDER_TOKEN, {
        user: "administrator@vsphere.local",
        password: wireSecret("pw"),
        vsphereServer: "vcenter.example.com",
        allowUnverifiedSsl: "true",
        apiTimeout: "10",
        vimKeepAlive: undefined,
      }),
      [],
    );
    assert.deepEqual(checkResourceInputs(VSPHERE_PROVIDER_TOKEN, { allowUnverifiedSsl: "yes", apiTimeout: '"10"' }), [
      'vsphere.allowUnverifiedSsl: expected JSON-encoded boolean, got string "yes"',
      'vsphere.apiTimeout: expected integer, got string "10"',
    ]);
    assert.match(checkResourceInputs(VSPHERE_PROVIDER_TOKEN, { server: "x" })[0], /unknown input property "server"/);
  });

  it("exposes schema property types", () => {
    assert.equal(schemaPropertyType(VM, "memory")?.type, "integer");
    assert.equal(describeType(schemaPropertyType(VM, "disks")!), "VirtualMachineDisk[]");
    assert.equal(describeType(schemaPropertyType(VM, "extraConfig")!), "map<string, string>");
    assert.equal(schemaPropertyType(GET_NETWORK, "name")?.type, "string");
    assert.equal(schemaPropertyType(VM, "numCpu"), undefined);
    assert.equal(schemaPropertyType("vsphere:index/nope:Nope", "x"), undefined);
  });
});
