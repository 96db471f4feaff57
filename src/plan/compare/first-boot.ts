/**
 * First-boot-only changes: the non-secret parts of each VM's user-data (the plan's review copies,
 * `cloud-init/<vm>.yaml` and `kubeadm/<vm>.yaml`, rendered by the same renderers with placeholders
 * for every secret), diffed per VM. A running VM never sees a change of its user-data: cloud-init
 * reads it at first boot only (cloud-init docs, "Boot stages": user-data modules run once per
 * instance), and the VM's `extraConfig` that carries it is `ignoreChanges`, so `pulumi up` does not
 * even write it. Only VMs created or replaced by the change boot with the new text. Pure.
 */
import { createHash } from "node:crypto";
import { Plan } from "../plan";

export interface FirstBootChange {
  /** What changed, in words: the first changed lines (non-secret). */
  key: string;
  /** Lines only in the base's user-data and only in the head's (same for every VM listed). */
  removed: string[];
  added: string[];
  /** Running VMs (kept by the change) whose user-data changes: they never see it. */
  existing: string[];
  /** VMs created or replaced by the change: they boot with the new text. */
  fresh: string[];
}

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Artifact contents by path (from a plan computed in this run); absent for a plan read from JSON. */
export type Contents = Map<string, string>;

const FILES = (vm: string) => [`cloud-init/${vm}.yaml`, `kubeadm/${vm}.yaml`];

function lineDiff(a: string, b: string): { removed: string[]; added: string[] } {
  const la = a.split("\n").map((l) => l.trim()).filter(Boolean);
  const lb = b.split("\n").map((l) => l.trim()).filter(Boolean);
  const sa = new Set(la);
  const sb = new Set(lb);
  return { removed: [...new Set(la.filter((l) => !sb.has(l)))], added: [...new Set(lb.filter((l) => !sa.has(l)))] };
}

/**
 * The user-data differences of VMs present in both plans, grouped by identical line changes. A VM's
 * own name and address are replaced by `<vm>`/`<address>` before grouping, so one setting that
 * changes on every VM is one group. `replacedOrCreated`: VMs that boot again with the new text.
 */
export function diffFirstBoot(
  base: Plan,
  head: Plan,
  changes: { type: string; name: string; vm?: string; action: string }[],
  contents?: { base?: Contents; head?: Contents },
): FirstBootChange[] {
  const hashOf = (p: Plan) => new Map((p.artifacts ?? []).filter((a) => (a as { sha256?: string }).sha256).map((a) => [a.path, (a as { sha256?: string }).sha256!]));
  const hb = hashOf(base);
  const ha = hashOf(head);
  const fresh = new Set(changes.filter((c) => c.type.endsWith(":VirtualMachine") && (c.action === "replace" || c.action === "create")).map((c) => c.vm ?? c.name));
  const vmsA = new Map(head.hosts.flatMap((h) => h.vms.map((v) => [v.name, v.address] as const)));
  const vmsB = new Map(base.hosts.flatMap((h) => h.vms.map((v) => [v.name, v.address] as const)));
  const groups = new Map<string, FirstBootChange>();
  for (const [vm, address] of vmsA) {
    if (!vmsB.has(vm)) continue;
    for (const f of FILES(vm)) {
      const x = contents?.base?.get(f);
      const y = contents?.head?.get(f);
      const changed = x !== undefined && y !== undefined ? x !== y : hb.has(f) && ha.has(f) && hb.get(f) !== ha.get(f);
      if (!changed) continue;
      const norm = (s: string, addr: string | undefined) => (addr ? s.split(addr).join("<address>") : s).split(vm).join("<vm>");
      const d = x !== undefined && y !== undefined ? lineDiff(norm(x, vmsB.get(vm)), norm(y, address)) : { removed: [], added: [] };
      if (x !== undefined && y !== undefined && d.removed.length + d.added.length === 0) {
        // Only the VM's own address or name moved (reported with the address change).
        const raw = lineDiff(x, y);
        d.removed = raw.removed;
        d.added = raw.added;
      }
      const k = `${f.split("/")[0]}|${d.removed.join("\n")}|${d.added.join("\n")}`;
      const g = groups.get(k) ?? {
        key: d.added.length + d.removed.length > 0 ? `${f.split("/")[0]}: ${(d.added[0] ?? `- ${d.removed[0]}`).slice(0, 80)}` : `${f.split("/")[0]} (changed; run against a git revision for the lines)`,
        removed: d.removed,
        added: d.added,
        existing: [],
        fresh: [],
      };
      (fresh.has(vm) ? g.fresh : g.existing).push(vm);
      groups.set(k, g);
    }
  }
  return [...groups.values()];
}
