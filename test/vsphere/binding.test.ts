import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import * as vsphere from "../../components/vsphere/binding";
import {
  BINDING_PATH,
  BOUND_FUNCTIONS,
  BOUND_RESOURCES,
  PROVIDER_TOKEN,
  VSPHERE_PROVIDER_VERSION,
  loadSchema,
  renderBinding,
} from "../../src/codegen/generate-vsphere-binding";
import { RecordedResource, isSecretMarker, runUnderMocks } from "../../src/plan/mock-runtime";
import { VSPHERE_SCHEMA_PATH, checkRecorded, loadVsphereSchema } from "../support/vsphere-schema";
import { readSchemaFile } from "../../src/codegen/schemas";

const GET_DATACENTER = "vsphere:index/getDatacenter:getDatacenter";
const GET_NETWORK = "vsphere:index/getNetwork:getNetwork";

function lastSegment(token: string): string {
  const parts = token.split(":");
  return parts[parts.length - 1];
}

/** Compiles a rendered binding in memory and loads it as a module (for a synthetic schema). */
function loadRendered(source: string): Record<string, any> {
  const js = ts.transpileModule(source, {
    // As tsconfig.json: declared output properties must not be redefined as fields after super().
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, useDefineForClassFields: false },
  }).outputText;
  const module = { exports: {} as Record<string, any> };
  new Function("require", "exports", "module", js)(require, module.exports, module);
  return module.exports;
}

describe("vSphere binding", () => {
  const schema = loadSchema() as Record<string, any>;
  const committed = fs.readFileSync(BINDING_PATH, "utf8");

  it("is exactly what the generator renders from the schema (regenerate, never edit by hand)", () => {
    const rendered = renderBinding(schema);
    if (rendered !== committed) {
      const a = rendered.split("\n");
      const b = committed.split("\n");
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.fail(
        `components/vsphere/binding/index.ts differs from the generator's output at line ${i + 1}:\n` +
          `  generated: ${JSON.stringify(a[i])}\n  committed: ${JSON.stringify(b[i])}\n` +
          "Regenerate with: npx tsc -p . && node dist/src/codegen/generate-vsphere-binding.js",
      );
    }
    assert.ok(committed.startsWith("// *** GENERATED FILE: DO NOT EDIT BY HAND. ***\n"));
    assert.ok(committed.includes("node dist/src/codegen/generate-vsphere-binding.js"));
    assert.ok(committed.includes("schemas/vsphere/schema.json"));
    // The generator and the checker read the same schema file.
    assert.deepEqual(loadVsphereSchema(), schema);
    assert.ok(VSPHERE_SCHEMA_PATH.endsWith("/schemas/vsphere/schema.json.gz"));
  });

  it("binds exactly the listed tokens, and each exists in the schema", () => {
    for (const token of BOUND_RESOURCES) {
      assert.ok(schema.resources[token], `schema has no resource ${token}`);
      const cls = (vsphere as Record<string, any>)[lastSegment(token)];
      assert.equal(typeof cls, "function", `binding exports no class ${lastSegment(token)}`);
      assert.equal(cls.__pulumiType, token);
    }
    for (const token of BOUND_FUNCTIONS) {
      assert.ok(schema.functions[token], `schema has no function ${token}`);
      const name = lastSegment(token);
      assert.equal(typeof (vsphere as Record<string, any>)[name], "function", `binding exports no ${name}`);
      assert.equal(typeof (vsphere as Record<string, any>)[`${name}Output`], "function", `binding exports no ${name}Output`);
    }
    assert.equal(PROVIDER_TOKEN, `pulumi:providers:${schema.name}`);
    assert.equal(`pulumi:providers:${vsphere.Provider.__pulumiType}`, PROVIDER_TOKEN);

    // Every token the generated code names is one of the bound, existing tokens.
    const registered = [...committed.matchAll(/__pulumiType = "([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(registered, [schema.name, ...BOUND_RESOURCES]);
    const invoked = [...committed.matchAll(/pulumi\.runtime\.invoke(?:Output)?\("([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(invoked)], [...BOUND_FUNCTIONS]);
    assert.equal(invoked.length, 2 * BOUND_FUNCTIONS.length);
    for (const m of committed.matchAll(/pulumi\.runtime\.call\("([^"]+)"/g)) {
      assert.ok(schema.functions[m[1]], `schema has no method ${m[1]}`);
    }
  });

  it("registers every input its caller sets and every output-only property of each resource", () => {
    for (const token of BOUND_RESOURCES) {
      const cls = lastSegment(token);
      const start = committed.indexOf(`export class ${cls} extends pulumi.CustomResource {`);
      const body = committed.slice(start, committed.indexOf("\n}\n", start));
      const r = schema.resources[token];
      const required = new Set<string>(r.requiredInputs ?? []);
      for (const p of Object.keys(r.inputProperties)) {
        assert.ok(body.includes(`if (args?.${p} !== undefined) resourceInputs["${p}"] = args.${p};`), `${cls} does not register input ${p} when set`);
      }
      for (const p of Object.keys(r.properties)) {
        if (!(p in r.inputProperties)) {
          assert.ok(body.includes(`resourceInputs["${p}"] = undefined /*out*/;`), `${cls} does not declare output ${p}`);
        }
        // An optional input's property exists only when it was set: typed as possibly absent.
        const mark = p in r.inputProperties && !required.has(p) ? "?" : "!";
        assert.ok(body.includes(`public readonly ${p}${mark}: pulumi.Output<`), `${cls} has no output property ${p}${mark}`);
      }
      for (const req of r.requiredInputs) assert.ok(body.includes(`throw new Error("Missing required property '${req}'")`));
    }
  });

  it("defaults every resource and invoke to provider version 4.17.0 (caller options win)", async () => {
    assert.equal(VSPHERE_PROVIDER_VERSION, "4.17.0");
    assert.equal(vsphere.providerVersion, "4.17.0");
    assert.deepEqual(vsphere.resourceOptsDefaults(), { version: "4.17.0" });
    // The vendored schema's VERSION file names the same plugin release.
    const versionFile = readSchemaFile("vsphere/VERSION");
    assert.match(versionFile, /^pulumi-vsphere 4\.17\.0 /);

    // Invokes: the version is not recorded by the mock runtime, so check the generated code.
    const fnBodies = [...committed.matchAll(/^export function (get\w+)\([^]*?^}$/gm)];
    assert.equal(fnBodies.length, 2 * BOUND_FUNCTIONS.length);
    for (const m of fnBodies) {
      assert.ok(m[0].includes("opts = pulumi.mergeOptions(resourceOptsDefaults(), opts || {});"), `${m[1]} lacks version defaults`);
    }
    const ctorDefaults = committed.match(/opts = pulumi\.mergeOptions\(resourceOptsDefaults\(\), opts\);/g) ?? [];
    assert.equal(ctorDefaults.length, BOUND_RESOURCES.length + 1);

    const r = await runUnderMocks(
      {
        project: "p",
        stack: "s",
        config: {},
        // an update, so that output-only properties resolve (in a preview they stay unknown)
        preview: false,
        invokes: {
          [GET_DATACENTER]: (args) => ({ id: "datacenter-3", name: args.name, virtualMachines: [] }),
          [GET_NETWORK]: (args) => ({ id: "dvportgroup-33", name: args.name, type: "DistributedVirtualPortgroup" }),
        },
      },
      async () => {
        const dc = await vsphere.getDatacenter({ name: "dc-01" });
        const net = vsphere.getNetworkOutput({ name: "VM Network", datacenterId: dc.id });
        const provider = new vsphere.Provider("vc", {
          user: "administrator@vsphere.local",
          password: pulumi.secret("pw"),
          vsphereServer: "vcenter.example.com",
          allowUnverifiedSsl: true,
          apiTimeout: 10,
        });
        const folder = new vsphere.Folder("f", { path: "spark", type: "vm", datacenterId: dc.id }, { provider });
        new vsphere.Folder("pinned", { path: "other", type: "vm", datacenterId: dc.id }, { version: "4.16.2" });
        const pool = new vsphere.ResourcePool("pool", { parentResourcePoolId: "resgroup-8", name: "spark" });
        const vm = new vsphere.VirtualMachine("vm", {
          resourcePoolId: pool.id,
          folder: folder.path,
          numCpus: 2,
          memory: 4096,
          networkInterfaces: [{ networkId: net.id }],
          disks: [{ label: "disk0", size: 40 }],
          clone: { templateUuid: "tmpl-uuid" },
          extraConfig: pulumi.secret({ "guestinfo.userdata": "e30=" }),
        });
        const group = new vsphere.ComputeClusterVmGroup("g", {
          computeClusterId: "domain-c7",
          name: "spark-vms",
          virtualMachineIds: [vm.id],
        });
        new vsphere.ComputeClusterHostGroup("hg", { computeClusterId: "domain-c7", hostSystemIds: ["host-21"] });
        new vsphere.ComputeClusterVmHostRule("rule", {
          computeClusterId: "domain-c7",
          vmGroupName: group.name!,
          affinityHostGroupName: "hg",
        });
        new vsphere.ComputeClusterVmAntiAffinityRule("anti", { computeClusterId: "domain-c7", virtualMachineIds: [vm.id] });
        return {
          isVm: vsphere.VirtualMachine.isInstance(vm) && !vsphere.VirtualMachine.isInstance(folder),
          isProvider: vsphere.Provider.isInstance(provider),
          folderPath: folder.path,
          netId: net.id,
          // output-only properties resolve (to undefined under mocks) instead of hanging
          moidResolved: vm.moid.apply((m) => m === undefined),
        };
      },
    );

    const vsphereResources = r.resources.filter((x) => x.type.startsWith("vsphere:") || x.type === PROVIDER_TOKEN);
    assert.equal(vsphereResources.length, 9);
    for (const res of vsphereResources) {
      assert.equal(res.version, res.name === "pinned" ? "4.16.2" : "4.17.0", `${res.type} ${res.name}`);
    }
    assert.deepEqual(
      r.invokes.map((i) => i.token),
      [GET_DATACENTER, GET_NETWORK],
    );
    assert.equal(r.outputs.isVm, true);
    assert.equal(r.outputs.isProvider, true);
    assert.equal(r.outputs.folderPath, "spark");
    assert.equal(r.outputs.netId, "dvportgroup-33");
    assert.equal(r.outputs.moidResolved, true);

    // What the binding sends is what the schema accepts.
    assert.deepEqual(checkRecorded(r), []);

    const byName = (n: string) => r.resources.find((x) => x.name === n) as RecordedResource;
    const prov = byName("vc");
    assert.equal(prov.type, PROVIDER_TOKEN);
    // Like the generated SDK, non-string provider inputs are JSON-encoded.
    assert.equal(prov.inputs.allowUnverifiedSsl, "true");
    assert.equal(prov.inputs.apiTimeout, "10");
    assert.ok(isSecretMarker(prov.inputs.password));
    const vmRec = byName("vm");
    assert.ok(isSecretMarker(vmRec.inputs.extraConfig));
    assert.deepEqual(vmRec.inputs.disks, [{ label: "disk0", size: 40 }]);
  });

  it("wraps schema-secret inputs in pulumi.secret and lists secret outputs in additionalSecretOutputs", async () => {
    // No top-level property of the bound resources is secret in 4.17.0 (only nested ones such as
    // clone.customize.linuxOptions.scriptText), so exercise the generator with a schema that marks one.
    const s = JSON.parse(JSON.stringify(schema));
    const folder = s.resources["vsphere:index/folder:Folder"];
    folder.inputProperties.path.secret = true;
    folder.properties.path.secret = true;
    const text = renderBinding(s);
    assert.ok(text.includes('if (args?.path !== undefined) resourceInputs["path"] = pulumi.secret(args.path);'));
    assert.ok(text.includes('const secretOpts = { additionalSecretOutputs: ["path"] };'));
    assert.ok(!committed.includes("additionalSecretOutputs"));

    const mod = loadRendered(text);
    let secretOutputsOption: unknown;
    const r = await runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
      pulumi.runtime.registerStackTransformation((a) => {
        if (a.type === "vsphere:index/folder:Folder") {
          secretOutputsOption = (a.opts as pulumi.CustomResourceOptions).additionalSecretOutputs;
        }
        return undefined;
      });
      new mod.Folder("f", { path: "spark", type: "vm" });
      return {};
    });
    const rec = r.resources.find((x) => x.type === "vsphere:index/folder:Folder");
    assert.ok(rec && isSecretMarker(rec.inputs.path));
    assert.equal(rec.version, "4.17.0");
    assert.deepEqual(secretOutputsOption, ["path"]);
  });

  it("registers only the inputs a caller sets: the engine gets the same inputs, the resource has a property for each set input and every output", async () => {
    let vm: vsphere.VirtualMachine | undefined;
    const r = await runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
      vm = new vsphere.VirtualMachine("vm", { resourcePoolId: "resgroup-1", name: "w1", numCpus: 16, memory: 122880 });
      return {};
    });
    const rec = r.resources.find((x) => x.type === "vsphere:index/virtualMachine:VirtualMachine")!;
    assert.deepEqual(Object.keys(rec.inputs).sort(), ["memory", "name", "numCpus", "resourcePoolId"]);
    assert.ok(pulumi.Output.isInstance(vm!.numCpus), "a set input's property is an Output");
    assert.ok(pulumi.Output.isInstance(vm!.defaultIpAddress), "an output-only property is an Output");
    assert.ok(pulumi.Output.isInstance(vm!.moid));
    assert.equal(vm!.annotation, undefined, "an unset optional input has no property");
    // Negative control: the shape of @pulumi/vsphere (every input registered, undefined when unset)
    // gives every input a property.
    const s = JSON.parse(JSON.stringify(schema));
    const eager = renderBinding(s).replace(/if \(args\?\.(\w+) !== undefined\) resourceInputs\["\w+"\] = args\.\w+;/g, 'resourceInputs["$1"] = args?.$1;');
    let f: any;
    await runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
      f = new (loadRendered(eager).Folder)("f", { path: "spark", type: "vm" });
      return {};
    });
    assert.ok(pulumi.Output.isInstance(f.tags), "the eager shape registers unset inputs too");
    let g: any;
    await runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
      g = new (loadRendered(renderBinding(s)).Folder)("f", { path: "spark", type: "vm" });
      return {};
    });
    assert.equal(g.tags, undefined);
  });

  it("fails on a missing required input like the generated SDK", () => {
    assert.throws(
      () => new vsphere.VirtualMachine("vm", {} as vsphere.VirtualMachineArgs),
      /Missing required property 'resourcePoolId'/,
    );
  });
});
