/**
 * What vCenter must hold for the stack (components/vsphere/inventory-check.ts): every object the
 * settings name with the key that names it, and the check against a vCenter (here a table standing in
 * for the provider's lookups; the real provider against vcsim is in test/lab/vsphere-zones.lab.ts).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { splitStackConfig, projectKey, vsphereValues } from "../../src/config/stack-config";
import { resolveVsphereSettings, VsphereDecisions } from "../../components/vsphere/settings";
import { InventoryKind, Lookup, missingInventory, namedObjects, providerMessage } from "../../components/vsphere/inventory-check";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function decisions(stack: string, edit: (c: Cfg) => void = () => {}): VsphereDecisions {
  const c = readStackFile(path.join(ROOT, `Pulumi.${stack}.yaml`)) as Cfg;
  edit(c);
  const flat = flatten(c);
  const split = splitStackConfig(flat.values, []);
  const r = resolveVsphereSettings(vsphereValues(split.values), projectKey);
  assert.deepEqual(r.errors, []);
  return r.decisions!;
}

/** A vCenter as a table: kind → datacenter → name → { id, resourcePoolId }. */
type Table = Partial<Record<InventoryKind, Record<string, Record<string, { id: string; resourcePoolId?: string }>>>>;
function tableLookup(t: Table): Lookup & { asked: string[] } {
  const asked: string[] = [];
  const f = (async (kind, name, dcId) => {
    asked.push(`${kind} ${name}`);
    const hit = t[kind]?.[dcId ?? ""]?.[name];
    return hit ? { found: true as const, ...hit } : { found: false as const, message: `${kind} '${name}' not found` };
  }) as Lookup & { asked: string[] };
  f.asked = asked;
  return f;
}

/** The vCenter a stack expects: everything it names, hosts in their clusters. */
function inventoryOf(v: VsphereDecisions): Table {
  const t: Table = { datacenter: { "": {} }, computeCluster: {}, datastore: {}, network: {}, host: {}, template: {} };
  for (const o of namedObjects(v)) {
    if (o.kind === "datacenter") t.datacenter![""][o.name] = { id: `dc-${o.name}` };
  }
  for (const o of namedObjects(v)) {
    if (o.kind === "datacenter") continue;
    const dc = `dc-${o.datacenter}`;
    const pool = (cluster: string) => `pool-${cluster}`;
    ((t[o.kind]![dc] ??= {})[o.name] = { id: `${o.kind}-${o.name}`, ...(o.kind === "computeCluster" ? { resourcePoolId: pool(o.name) } : o.kind === "host" ? { resourcePoolId: pool(o.computeCluster!) } : {}) });
  }
  return t;
}

describe("vCenter holds what the stack names: every object with its key, checked before anything is registered", () => {
  it("the dev stack names a datacenter, the template, its cluster, datastore, network and four hosts, each with its key", () => {
    const v = decisions("dev");
    assert.deepEqual(
      namedObjects(v).map((o) => [o.kind, o.name, o.key]),
      [
        ["datacenter", "Datacenter", "vsphere-spark:inventory.datacenter"],
        ["template", "ubuntu-2404-kube-template", "vsphere-spark:inventory.template"],
        ["computeCluster", "Spark-Cluster", "vsphere-spark:inventory.computeCluster"],
        ["datastore", "vsanDatastore", "vsphere-spark:inventory.datastore"],
        ["network", "VM Network", "vsphere-spark:inventory.network"],
        ["host", "esxi-01.lab.local", "vsphere-spark:hosts[0].name"],
        ["host", "esxi-02.lab.local", "vsphere-spark:hosts[1].name"],
        ["host", "esxi-03.lab.local", "vsphere-spark:hosts[2].name"],
        ["host", "esxi-04.lab.local", "vsphere-spark:hosts[3].name"],
      ],
    );
  });

  it("with zones, each zone's own key, and the inventory key where a zone inherits the value", () => {
    // zone-a inherits datastore and network from `inventory` in this edit; zones b and c set their own.
    const v = decisions("zones", (c) => {
      delete c["vsphere-spark:zones"][0].datastore;
      delete c["vsphere-spark:zones"][0].network;
    });
    const keyOf = (kind: string, name: string) => namedObjects(v).find((o) => o.kind === kind && o.name === name)?.key;
    assert.equal(keyOf("datastore", "vsanDatastore-a"), "vsphere-spark:inventory.datastore");
    assert.equal(keyOf("network", "spark-a"), "vsphere-spark:inventory.network");
    assert.equal(keyOf("datastore", "vsanDatastore-b"), "vsphere-spark:zones[1].datastore");
    assert.equal(keyOf("network", "spark-c"), "vsphere-spark:zones[2].network");
    assert.equal(keyOf("computeCluster", "Spark-C"), "vsphere-spark:zones[2].computeCluster");
    assert.equal(keyOf("host", "esxi-c2.lab.local"), "vsphere-spark:hosts[5].name");
    assert.equal(namedObjects(v).find((o) => o.name === "esxi-c2.lab.local")?.computeCluster, "Spark-C");
    // One datacenter, looked up once.
    assert.equal(namedObjects(v).filter((o) => o.kind === "datacenter").length, 1);
  });

  it("a vCenter holding everything: no problem (the negative control of the cases below)", async () => {
    for (const stack of ["dev", "zones"]) {
      const v = decisions(stack);
      assert.deepEqual(await missingInventory(v, tableLookup(inventoryOf(v))), [], stack);
    }
  });

  it("every missing object at once, each naming its key: a zone's compute cluster, its network, a host, the template", async () => {
    const v = decisions("zones");
    const t = inventoryOf(v);
    delete t.computeCluster!["dc-Datacenter"]["Spark-C"];
    delete t.network!["dc-Datacenter"]["spark-b"];
    delete t.host!["dc-Datacenter"]["esxi-a2.lab.local"];
    delete t.template!["dc-Datacenter"]["ubuntu-2404-kube-template"];
    const errors = await missingInventory(v, tableLookup(t));
    assert.deepEqual(
      errors.map((e) => e.path).sort(),
      ["vsphere-spark:hosts[1].name", "vsphere-spark:inventory.template", "vsphere-spark:zones[1].network", "vsphere-spark:zones[2].computeCluster"],
    );
    assert.match(errors.find((e) => e.path === "vsphere-spark:zones[2].computeCluster")!.message, /vCenter has no compute cluster "Spark-C" in datacenter "Datacenter" \(computeCluster 'Spark-C' not found\)/);
  });

  it("a missing datacenter is one problem: nothing in it is looked up", async () => {
    const v = decisions("dev");
    const t = inventoryOf(v);
    delete t.datacenter![""]["Datacenter"];
    const lookup = tableLookup(t);
    const errors = await missingInventory(v, lookup);
    assert.deepEqual(errors.map((e) => e.path), ["vsphere-spark:inventory.datacenter"]);
    assert.deepEqual(lookup.asked, ["datacenter Datacenter"]);
  });

  it("a host vCenter has in another compute cluster than the stack's is named (its root pool is another cluster's)", async () => {
    const v = decisions("zones");
    const t = inventoryOf(v);
    t.host!["dc-Datacenter"]["esxi-b1.lab.local"].resourcePoolId = "pool-Spark-A";
    const errors = await missingInventory(v, tableLookup(t));
    assert.deepEqual(errors, [{ path: "vsphere-spark:hosts[2].name", message: 'host "esxi-b1.lab.local" is not in compute cluster "Spark-B", where the stack places its VMs' }]);
  });

  it("the provider's message is the last line of the engine's invoke error", () => {
    const e = new Error("invocation of vsphere:index/getComputeCluster:getComputeCluster returned an error: invoking vsphere:index/getComputeCluster:getComputeCluster: 1 error occurred:\n\t* error loading cluster: cluster 'Spark-X' not found\n\n");
    assert.equal(providerMessage(e), "error loading cluster: cluster 'Spark-X' not found");
  });
});
