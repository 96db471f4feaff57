/**
 * What the zones mean, as the plan shows them (pure): capacity per zone, what each zone's failure
 * takes with it (zones.ts, `zoneFailures`), what happens to the API endpoint, the DRS groups and
 * rules per compute cluster, and the worker pool's zones for the Spark layer.
 */
import type { WorkerPool } from "../cluster/backend";
import type { NodeShape } from "../cluster/allocatable";
import type { VsphereDecisions } from "./settings";
import { ZoneCapacity, ZoneFailure, ZoneSpec, describeZoneFailure, endpointZoneNote, planZonedDrsRules, zoneCapacities, zoneFailures, zoneOfHost } from "./zones";
import { fmtGiB } from "./placement";

/** The worker pool with the zones its workers are in (in the order the zones are listed). */
export function withZones<P extends Omit<WorkerPool, "gpuWorkers">>(pool: P, workers: readonly (NodeShape & { topology?: { zone: string; region: string } })[], zones: readonly ZoneSpec[] | undefined): P {
  if (!zones) return pool;
  return {
    ...pool,
    zones: zones.map((z) => ({ name: z.name, region: z.region, workers: workers.filter((w) => w.topology?.zone === z.name).length })),
  };
}

export interface ZonesPlanSection {
  zones: ZoneCapacity[];
  /** One entry per zone: what its failure takes down. */
  failures: (ZoneFailure & { text: string })[];
  /** What happens to the API when the endpoint's zone fails. */
  endpoint: string;
  /** Control planes per zone and what that means for etcd's quorum. */
  notes: string[];
  /** DRS groups and rules per compute cluster (they cannot span clusters). */
  drs: { computeCluster: string; datacenter: string; zones: string[]; hostGroups: number; vmGroups: number; vmHostRules: number; antiAffinityRules: number }[];
}

export function zonesPlanSection(v: VsphereDecisions): ZonesPlanSection {
  const zones = v.zones ?? [];
  const pinned = v.drs.enabled && v.drs.mandatory;
  const failures = zoneFailures(zones, v.topology.hosts, v.slots, v.overcommit, { pinned, endpointKind: v.endpoint.kind });
  const lb = v.slots.find((s) => s.role === "load-balancer");
  const lbZone = lb ? zoneOfHost(zones).get(lb.hostId)?.name : undefined;
  const lbRestarts = lb !== undefined && failures.some((f) => f.restarted.includes(lb.name));
  return {
    zones: zoneCapacities(zones, v.topology.hosts, v.slots),
    failures: failures.map((f) => ({ ...f, text: describeZoneFailure(f) })),
    endpoint: endpointZoneNote(v.endpoint.kind, lbZone, lbRestarts),
    notes: [...(v.zoneNotes ?? [])],
    drs: planZonedDrsRules(v.clusterName, zones, v.slots, v.drs).map((c) => ({
      computeCluster: c.computeCluster,
      datacenter: c.datacenter,
      zones: c.zones,
      hostGroups: c.plan.hostGroups.length,
      vmGroups: c.plan.vmGroups.length,
      vmHostRules: c.plan.vmHostRules.length,
      antiAffinityRules: c.plan.antiAffinityRules.length,
    })),
  };
}

export function zonesPlanText(s: ZonesPlanSection): string[] {
  const lines = ["Zones (failure domains):"];
  for (const z of s.zones) {
    lines.push(
      `  ${z.zone} (region ${z.region}; ${z.datacenter} / ${z.computeCluster}): hosts ${z.hosts.join(", ")}; ` +
        `${z.vms.controlPlanes} control plane(s), ${z.vms.workers} worker(s)${z.vms.gpuWorkers > 0 ? `, ${z.vms.gpuWorkers} GPU worker(s)` : ""}${z.vms.loadBalancers > 0 ? ", the load balancer" : ""}; ` +
        `${z.allocated.cpus} of ${z.cpuThreads} vCPU, ${fmtGiB(z.allocated.memoryMiB)} of ${fmtGiB(z.memoryMiB)}`,
    );
  }
  for (const f of s.failures) lines.push(`  ${f.text}`);
  lines.push(`  endpoint: ${s.endpoint}`);
  for (const n of s.notes) lines.push(`  note: ${n}`);
  for (const d of s.drs) {
    lines.push(`  DRS in ${d.datacenter} / ${d.computeCluster} (zones ${d.zones.join(", ")}): ${d.hostGroups} host groups, ${d.vmGroups} VM groups, ${d.vmHostRules} VM-host rules, ${d.antiAffinityRules} control-plane anti-affinity rule(s)`);
  }
  return lines;
}
