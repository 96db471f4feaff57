/**
 * What vCenter must already hold for the stack: every datacenter, compute cluster, datastore, network,
 * host and the template the settings name, each with the stack key that names it. Checked against
 * vCenter once, before any resource is registered (`deployStack`), so that a name vCenter lacks is one
 * line naming the key, all at once, rather than the engine's wall of failed lookups.
 *
 * Measured in the real-systems lab (test/lab/vsphere-zones.lab.ts, the real pulumi-resource-vsphere
 * 4.17.0 against vcsim): without this check, a zone naming a compute cluster vCenter lacks failed the
 * preview with "Unhandled exception: Error: error serializing property \"affinityHostGroupName\": …"
 * repeated for every resource that depends on the lookup, then the provider's own message, and no key.
 */
import * as vsphere from "./binding";
import type { FieldError } from "../validation";
import type { VsphereDecisions } from "./settings";

/** A stack key from its leaf, as the stack names it (`vsphere-spark:<leaf>`); a library caller passes its own, as to checkClusterChange. */
export type KeyOf = (leaf: string) => string;
const stackKey: KeyOf = (leaf) => `vsphere-spark:${leaf}`;

export type InventoryKind = "datacenter" | "computeCluster" | "datastore" | "network" | "host" | "template";

/** One object the stack names in vCenter. */
export interface NamedObject {
  kind: InventoryKind;
  name: string;
  /** Its datacenter (absent for a datacenter). */
  datacenter?: string;
  /** The stack key whose value names it (the leaf to fix). */
  key: string;
  /** A host's compute cluster, as the stack places it (its zone's, or `inventory.computeCluster`). */
  computeCluster?: string;
}

/**
 * Every object the stack names, once each (by kind, datacenter and name), with the key that names it:
 * a zone's own key when the zone sets a value of its own, else the `inventory` key it inherits.
 */
export function namedObjects(v: VsphereDecisions, key: KeyOf = stackKey): NamedObject[] {
  const inv = v.inventory;
  const out: NamedObject[] = [];
  const seen = new Set<string>();
  const add = (o: NamedObject) => {
    const k = `${o.kind}/${o.datacenter ?? ""}/${o.name}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(o);
  };
  add({ kind: "datacenter", name: inv.datacenter, key: key(`inventory.datacenter`) });
  add({ kind: "template", name: inv.template, datacenter: inv.datacenter, key: key(`inventory.template`) });
  const hostIndex = new Map(v.topology.hosts.map((h, i) => [h.id, i]));
  if (!v.zones) {
    add({ kind: "computeCluster", name: inv.computeCluster, datacenter: inv.datacenter, key: key(`inventory.computeCluster`) });
    add({ kind: "datastore", name: inv.datastore, datacenter: inv.datacenter, key: key(`inventory.datastore`) });
    add({ kind: "network", name: inv.network, datacenter: inv.datacenter, key: key(`inventory.network`) });
    v.topology.hosts.forEach((h, i) => add({ kind: "host", name: h.name, datacenter: inv.datacenter, key: key(`hosts[${i}].name`), computeCluster: inv.computeCluster }));
    return out;
  }
  v.zones.forEach((z, i) => {
    const own = (field: "datacenter" | "datastore" | "network") => (z[field] === inv[field] ? key(`inventory.${field}`) : key(`zones[${i}].${field}`));
    add({ kind: "datacenter", name: z.datacenter, key: own("datacenter") });
    add({ kind: "computeCluster", name: z.computeCluster, datacenter: z.datacenter, key: key(`zones[${i}].computeCluster`) });
    add({ kind: "datastore", name: z.datastore, datacenter: z.datacenter, key: own("datastore") });
    add({ kind: "network", name: z.network, datacenter: z.datacenter, key: own("network") });
    for (const id of z.hosts) {
      const hi = hostIndex.get(id)!;
      add({ kind: "host", name: v.topology.hosts[hi].name, datacenter: z.datacenter, key: key(`hosts[${hi}].name`), computeCluster: z.computeCluster });
    }
  });
  return out;
}

/** What a lookup of one object answers: found (with the ids the checks compare), or vCenter's message. */
export type LookupResult = { found: true; id: string; resourcePoolId?: string } | { found: false; message: string };

/** Looks an object up by name in a datacenter (its id), as the vSphere provider's data sources do. */
export type Lookup = (kind: InventoryKind, name: string, datacenterId: string | undefined) => Promise<LookupResult>;

const WHAT: Record<InventoryKind, string> = {
  datacenter: "datacenter",
  computeCluster: "compute cluster",
  datastore: "datastore",
  network: "network",
  host: "host",
  template: "template (VM)",
};

/**
 * The objects of `namedObjects(v)` that vCenter lacks, each as an error naming its key; and each
 * host that is not in the compute cluster the stack places it in. Datacenters are looked up first
 * (an object of a missing datacenter is not looked up again); the rest concurrently.
 */
export async function missingInventory(v: VsphereDecisions, lookup: Lookup, key: KeyOf = stackKey): Promise<FieldError[]> {
  const objects = namedObjects(v, key);
  const errors: FieldError[] = [];
  const dcIds = new Map<string, string>();
  for (const o of objects.filter((x) => x.kind === "datacenter")) {
    const r = await lookup("datacenter", o.name, undefined);
    if (r.found) dcIds.set(o.name, r.id);
    else errors.push({ path: o.key, message: `vCenter has no datacenter "${o.name}" (${r.message})` });
  }
  const rest = objects.filter((o) => o.kind !== "datacenter" && dcIds.has(o.datacenter!));
  const results = await Promise.all(rest.map((o) => lookup(o.kind, o.name, dcIds.get(o.datacenter!))));
  const clusterPool = new Map<string, string | undefined>();
  rest.forEach((o, i) => {
    const r = results[i];
    if (!r.found) errors.push({ path: o.key, message: `vCenter has no ${WHAT[o.kind]} "${o.name}" in datacenter "${o.datacenter}" (${r.message})` });
    else if (o.kind === "computeCluster") clusterPool.set(`${o.datacenter}/${o.name}`, r.resourcePoolId);
  });
  // A host found in another compute cluster than the stack's: its VMs' pool would be in a cluster the host is not in.
  rest.forEach((o, i) => {
    const r = results[i];
    if (o.kind !== "host" || !r.found) return;
    const pool = clusterPool.get(`${o.datacenter}/${o.computeCluster}`);
    if (typeof pool === "string" && typeof r.resourcePoolId === "string" && pool !== r.resourcePoolId) {
      errors.push({ path: o.key, message: `host "${o.name}" is not in compute cluster "${o.computeCluster}", where the stack places its VMs` });
    }
  });
  return errors;
}

/** The last line of an invoke's error: the provider's own message (the engine wraps it in its own lines). */
export function providerMessage(e: unknown): string {
  const lines = String((e as Error)?.message ?? e)
    .split("\n")
    .map((l) => l.replace(/^[\s*]+/, "").trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? "lookup failed";
}

/** The Lookup through the vSphere provider's data sources (the default provider: the stack's `vsphere:*` configuration). */
export const providerLookup: Lookup = async (kind, name, datacenterId) => {
  try {
    switch (kind) {
      case "datacenter":
        return { found: true, id: (await vsphere.getDatacenter({ name })).id };
      case "computeCluster": {
        const r = await vsphere.getComputeCluster({ name, datacenterId });
        return { found: true, id: r.id, resourcePoolId: r.resourcePoolId };
      }
      case "datastore":
        return { found: true, id: (await vsphere.getDatastore({ name, datacenterId })).id };
      case "network":
        return { found: true, id: (await vsphere.getNetwork({ name, datacenterId })).id };
      case "host": {
        const r = await vsphere.getHost({ name, datacenterId: datacenterId! });
        return { found: true, id: r.id, resourcePoolId: r.resourcePoolId };
      }
      case "template":
        return { found: true, id: (await vsphere.getVirtualMachine({ name, datacenterId })).id };
    }
  } catch (e) {
    return { found: false, message: providerMessage(e) };
  }
};
