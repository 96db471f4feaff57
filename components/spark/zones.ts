/**
 * Executors and zones (pure): pinning an application's executors to one zone, or spreading them
 * over the zones, and how many land in each zone.
 *
 * Facts the rules rest on (kubernetes/kubernetes @ v1.34.4):
 * - The zone is the Node label `topology.kubernetes.io/zone` (staging/src/k8s.io/api/core/v1/
 *   well_known_labels.go, LabelTopologyZone), which the cluster layer's nodes set at registration.
 * - PodTopologySpread's filter (pkg/scheduler/framework/plugins/podtopologyspread/filtering.go,
 *   `Filter`): a node passes when `matchNum + selfMatchNum - minMatchNum <= maxSkew`, where
 *   `minMatchNum` is the smallest count of matching pods over all eligible domains (`minMatchNum`),
 *   whether or not a domain has room left. So with `DoNotSchedule`, once a small zone is full the
 *   other zones can take at most `maxSkew` more executors each, and the rest stay Pending;
 *   `ScheduleAnyway` only scores (scoring.go) and never leaves a pod Pending for skew.
 * - `matchLabelKeys` (MatchLabelKeysInPodTopologySpread, beta and on by default since 1.27) takes the
 *   application's `spark-app-selector` value from the incoming pod, so only one application's
 *   executors count against each other (as in the anti-affinity term of podtemplates.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type { FieldError } from "../validation";
import type { PlacementSettings } from "./settings";

export const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface PoolZone {
  name: string;
  region: string;
  workers: number;
}

/** How many executors each zone gets, and how many cannot start. */
export interface ZoneDistribution {
  mode: "pinned" | "spread-required" | "spread-preferred" | "any";
  perZone: Record<string, number>;
  /** Executors no zone takes (Pending). */
  pending: number;
  /** Why some are pending, when they are. */
  note?: string;
}

/**
 * The executors per zone for `instances` executors, `perNode` per worker:
 * - pinned: all in the pinned zone (up to its workers × perNode; the rest Pending);
 * - spread required: one at a time into the zone with the fewest, as long as that keeps the skew
 *   against the global minimum (over all zones, full or not) at most 1;
 * - spread preferred: evenly while every zone has room, then wherever there is room;
 * - any: not placed by zone: the scheduler decides (the lab's negative control shows an uneven
 *   split); the even split, filled up by room, is shown only as a reference, never as a prediction.
 */
export function executorsPerZone(zones: readonly PoolZone[], perNode: number, instances: number, placement: Pick<PlacementSettings, "zone" | "zoneSpread">): ZoneDistribution {
  const room = new Map(zones.map((z) => [z.name, z.workers * perNode]));
  const count = new Map(zones.map((z) => [z.name, 0]));
  const perZone = () => Object.fromEntries(zones.map((z) => [z.name, count.get(z.name)!]));
  if (placement.zone !== undefined) {
    const cap = room.get(placement.zone) ?? 0;
    const placed = Math.min(cap, instances);
    count.set(placement.zone, placed);
    const pending = instances - placed;
    return { mode: "pinned", perZone: perZone(), pending, ...(pending > 0 ? { note: `zone ${placement.zone} holds ${cap} executors (${perNode} per worker)` } : {}) };
  }
  const required = placement.zoneSpread === "required";
  let placed = 0;
  for (; placed < instances; placed++) {
    const open = zones.filter((z) => count.get(z.name)! < room.get(z.name)!);
    if (open.length === 0) break;
    const target = open.reduce((a, b) => (count.get(b.name)! < count.get(a.name)! ? b : a));
    if (required) {
      const globalMin = Math.min(...zones.map((z) => count.get(z.name)!));
      if (count.get(target.name)! + 1 - globalMin > 1) break;
    }
    count.set(target.name, count.get(target.name)! + 1);
  }
  const pending = instances - placed;
  const full = zones.filter((z) => count.get(z.name)! >= room.get(z.name)!).map((z) => z.name);
  const note =
    pending === 0
      ? undefined
      : required && full.length > 0 && full.length < zones.length
        ? `zone ${full.join(", ")} is full: with zoneSpread "required" (maxSkew 1, DoNotSchedule) no other zone may run more than one executor beyond it, so ${pending} executors stay Pending; use "preferred", or pin the application to one zone`
        : `the workers hold ${placed} executors (${perNode} per worker)`;
  return { mode: required ? "spread-required" : placement.zoneSpread === "preferred" ? "spread-preferred" : "any", perZone: perZone(), pending, ...(note ? { note } : {}) };
}

/** The executor pod template's zone fields: a node selector (pinned) or a topology spread constraint. */
export function executorZoneFields(placement: PlacementSettings): { nodeSelector?: Record<string, string>; topologySpreadConstraints?: k8s.types.input.core.v1.TopologySpreadConstraint[] } {
  if (placement.zone !== undefined) return { nodeSelector: { [ZONE_LABEL]: placement.zone } };
  if (placement.zoneSpread === "none") return {};
  return {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: ZONE_LABEL,
        whenUnsatisfiable: placement.zoneSpread === "required" ? "DoNotSchedule" : "ScheduleAnyway",
        labelSelector: { matchLabels: { "spark-role": "executor" } },
        matchLabelKeys: ["spark-app-selector"],
      },
    ],
  };
}

/**
 * The zone settings against the cluster's zones: a pinned zone must exist, and spreading or pinning
 * needs zones (`clusterZones` undefined: a cluster this library did not build, whose zones it does
 * not know: the template is rendered as asked and not checked).
 */
export function zonePlacementProblems(placement: PlacementSettings, clusterZones: readonly PoolZone[] | undefined, path: string, zonesKey: string, known: boolean): FieldError[] {
  const wants = placement.zone !== undefined || placement.zoneSpread !== "none";
  if (!wants || !known) return [];
  if (!clusterZones || clusterZones.length === 0) {
    return [{ path: placement.zone !== undefined ? `${path}.zone` : `${path}.zoneSpread`, message: `the cluster has no zones (${zonesKey} is not set): its nodes carry no ${ZONE_LABEL} label, so ${placement.zone !== undefined ? "every executor would stay Pending" : "there is nothing to spread over"}` }];
  }
  if (placement.zone !== undefined && !clusterZones.some((z) => z.name === placement.zone)) {
    return [{ path: `${path}.zone`, message: `unknown zone "${placement.zone}" (the cluster's zones are: ${clusterZones.map((z) => z.name).join(", ")})` }];
  }
  if (placement.zone !== undefined && clusterZones.find((z) => z.name === placement.zone)!.workers === 0) {
    return [{ path: `${path}.zone`, message: `zone "${placement.zone}" has no workers: every executor would stay Pending` }];
  }
  return [];
}
