/**
 * The placement as a Mermaid flowchart: one subgraph per host (its allocation before → after),
 * the VMs inside, styled by what happens to them. GitHub renders ```mermaid blocks in comments.
 */
import { PlanDiff, VmChange, VmStatus } from "./diff";

const STYLES: Record<Exclude<VmStatus, "unchanged">, string> = {
  added: "fill:#d3f9d8,stroke:#2b8a3e,color:#0b3d16",
  changed: "fill:#fff3bf,stroke:#e67700,color:#5c3c00",
  replaced: "fill:#ffd8a8,stroke:#d9480f,color:#5c1d00,stroke-width:2px",
  rebooted: "fill:#e5dbff,stroke:#6741d9,color:#2b1a5c,stroke-width:2px",
  removed: "fill:#ffe3e3,stroke:#c92a2a,color:#5c0b0b,stroke-dasharray:5 5",
};

/** Mermaid ids: letters, digits and underscores, with a prefix so they never start with a digit. */
export const mermaidId = (prefix: string, s: string) => `${prefix}_${s.replace(/[^A-Za-z0-9]/g, "_")}`;

/** Label text inside ["..."]: quotes and angle brackets as Mermaid entity codes. */
const label = (s: string) => s.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");

const gib = (mib: number) => `${Math.round((mib / 1024) * 10) / 10}`;

function vmLabel(v: VmChange): string {
  const s = (v.after ?? v.before)!;
  const shape = v.before && v.after && (v.before.cpus !== v.after.cpus || v.before.memoryMiB !== v.after.memoryMiB)
    ? `${v.before.cpus}→${v.after.cpus} vCPU / ${gib(v.before.memoryMiB)}→${gib(v.after.memoryMiB)} GiB`
    : `${s.cpus} vCPU / ${gib(s.memoryMiB)} GiB`;
  const tag = v.status === "unchanged" ? "" : ` (${v.status})`;
  return `${label(`${v.name}${tag}`)}<br/>${label(shape)}`;
}

export function renderMermaid(d: PlanDiff): string {
  const lines = ["flowchart LR"];
  const byStatus = new Map<VmStatus, string[]>();
  for (const h of d.hosts) {
    const before = h.before ? `${h.before.cpus} vCPU / ${gib(h.before.allocatedMiB)} GiB` : "new host";
    const after = h.after ? `${h.after.cpus} of ${h.after.cpuThreads} vCPU / ${gib(h.after.allocatedMiB)} of ${gib(h.after.memoryMiB)} GiB` : "removed";
    const title = h.before && h.after && before === `${h.after.cpus} vCPU / ${gib(h.after.allocatedMiB)} GiB` ? after : `${before} → ${after}`;
    lines.push(`  subgraph ${mermaidId("h", h.id)}["${label(`${h.id}: ${title}`)}"]`);
    // A VM is drawn in its head host; a removed one in its base host.
    const here = d.vms.filter((v) => (v.after ?? v.before)!.host === h.id).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    if (here.length === 0) lines.push(`    ${mermaidId("e", h.id)}[" "]`);
    for (const v of here) {
      const id = mermaidId("v", v.name);
      lines.push(`    ${id}["${vmLabel(v)}"]`);
      if (v.status !== "unchanged") byStatus.set(v.status, [...(byStatus.get(v.status) ?? []), id]);
    }
    lines.push("  end");
  }
  // Hosts side by side in the plan's order; a legend of the statuses that occur.
  const ids = d.hosts.map((h) => mermaidId("h", h.id));
  if (ids.length > 1) lines.push(`  ${ids.join(" ~~~ ")}`);
  const used = [...byStatus.keys()];
  if (used.length > 0) {
    lines.push(`  subgraph legend["legend"]`);
    for (const st of used) lines.push(`    ${mermaidId("l", st)}["${st}"]`);
    lines.push("  end");
    for (const st of used) byStatus.set(st, [...byStatus.get(st)!, mermaidId("l", st)]);
  }
  for (const [status, style] of Object.entries(STYLES)) lines.push(`  classDef ${status} ${style}`);
  for (const [status, ids] of byStatus) lines.push(`  class ${ids.join(",")} ${status}`);
  return lines.join("\n");
}
