/** The human-readable form of a plan. */
import { fmtGiB } from "../../components/vsphere/placement";
import { Plan, PlannedHost, PlannedVm } from "./plan";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** Slot columns in a fixed order: control-plane, load-balancer, worker-1..N. */
function slotColumns(hosts: PlannedHost[]): string[] {
  const cols = new Set<string>();
  const maxWorkers = Math.max(0, ...hosts.map((h) => h.vms.filter((v) => v.role === "worker").length));
  if (hosts.some((h) => h.vms.some((v) => v.role === "control-plane"))) cols.add("control-plane");
  if (hosts.some((h) => h.vms.some((v) => v.role === "load-balancer"))) cols.add("load-balancer");
  for (let i = 1; i <= maxWorkers; i++) cols.add(`worker-${i}`);
  return [...cols];
}

export function renderPlanText(plan: Plan, sectionText: string[], outDir?: string): string {
  const lines: string[] = [];
  lines.push(`Offline plan of stack "${plan.stack}" (${plan.configFile})`);
  lines.push(`Note: ${plan.simulated}.`);
  lines.push("");
  const total = plan.resources.length;
  lines.push(`pulumi up would create ${total} resources:`);
  const counts = Object.entries(plan.counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  lines.push(table(counts.map(([t, n]) => [`  ${String(n).padStart(4)}`, t])));
  lines.push("");

  const cols = slotColumns(plan.hosts);
  if (plan.hosts.length === 0) {
    lines.push(`API endpoint (${plan.endpoint.kind}): https://${plan.endpoint.address}:${plan.endpoint.port}`);
  } else {
    lines.push("Placement (host × slot: vCPU / memory, address):");
    const header = ["host", ...cols, "allocated vCPU", "allocated memory"];
    const rows = [header];
    for (const h of plan.hosts) {
      // A host's workers are listed in slot order: the n-th one fills column worker-n.
      const workers = h.vms.filter((v) => v.role === "worker");
      const column = (v: PlannedVm) => (v.role === "worker" ? `worker-${workers.indexOf(v) + 1}` : v.role);
      const cells = cols.map((c) => {
        const vm = h.vms.find((v) => column(v) === c);
        return vm ? `${vm.cpus}/${fmtGiB(vm.memoryMiB).replace(" GiB", "G")} ${vm.address}` : "-";
      });
      rows.push([
        h.id,
        ...cells,
        `${h.allocated.cpus} of ${h.cpuThreads} (${Math.round((100 * h.allocated.cpus) / h.cpuThreads)}%)`,
        `${fmtGiB(h.allocated.memoryMiB)} of ${fmtGiB(h.memoryMiB)} (${Math.round((100 * h.allocated.memoryMiB) / h.memoryMiB)}%)`,
      ]);
    }
    lines.push(table(rows));
    const vms = plan.hosts.flatMap((h) => h.vms);
    const byRole = (r: string) => vms.filter((v) => v.role === r).length;
    lines.push(
      `VMs: ${vms.length} (${byRole("worker")} workers, ${byRole("control-plane")} control-plane, ${byRole("load-balancer")} load balancer)` +
        `; API endpoint (${plan.endpoint.kind}): https://${plan.endpoint.address}:${plan.endpoint.port}`,
    );
  }

  for (const text of sectionText) {
    lines.push("");
    lines.push(text.trimEnd());
  }

  if (plan.artifacts.length > 0) {
    lines.push("");
    lines.push(outDir ? `Artifacts written to ${outDir}:` : "Artifacts (write them with --out DIR):");
    for (const a of plan.artifacts) lines.push(`  ${a.kind.padEnd(15)} ${a.path}`);
  }
  lines.push("");
  return lines.join("\n");
}
