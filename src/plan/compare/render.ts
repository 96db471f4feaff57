/**
 * The plan diff as text (terminal), Markdown (a pull-request comment or job summary) and JSON.
 * The Markdown fits GitHub's comment limit with margin: detail is shed in a fixed order until it
 * fits, then whole sections from the end; the verdict, warnings, reboots, replacements and counts
 * come first and always stay.
 */
import { HostChange, PlanDiff, PropertyChange, ResourceChange, Survivability, isNoop } from "./diff";
import { renderMermaid } from "./mermaid";
import { groupRefusals } from "./program-rules";

/** Refusals of one kind shown in full in the Markdown; the rest by key, at most REFUSED_KEYS_NAMED of them. */
const REFUSALS_IN_FULL = 3;
const REFUSED_KEYS_NAMED = 20;

/** GitHub's limit for an issue or pull-request comment body, in characters. */
export const GITHUB_COMMENT_LIMIT = 65536;
/** What the Markdown aims for: the limit less room for a header the workflow adds. */
export const MARKDOWN_BUDGET = 60000;

/** Hosts up to which the placement diagram is drawn (beyond, the host table). */
export const MERMAID_MAX_HOSTS = 12;

/** The hidden marker that finds a stack's previous comment. */
export const commentMarker = (stack: string) => `<!-- vsphere-spark-plan-diff:${stack} -->`;

/** Said instead of the host table when neither plan places VMs on hosts (e.g. the Tanzu back end). */
const NO_HOSTS = "No VM placement in these plans: the back end places the nodes (its own section below lists what changes).";

const gib = (mib: number) => `${Math.round((mib / 1024) * 10) / 10} GiB`;
const pct = (a: number, b: number) => (b > 0 ? `${Math.round((100 * a) / b)}%` : "—");
const shortType = (t: string) => t.split(":").pop() ?? t;

function value(x: unknown): string {
  if (x === undefined) return "(none)";
  return typeof x === "string" ? JSON.stringify(x) : String(x);
}

export function describeChange(p: PropertyChange): string {
  if (p.secret) return `${p.path}: changed (secret)`;
  if (p.note) return `${p.path}: ${p.note}`;
  if ("before" in p || "after" in p) return `${p.path}: ${value(p.before)} → ${value(p.after)}`;
  return `${p.path}: changed`;
}

function hostCells(h: HostChange): string[] {
  const b = h.before;
  const a = h.after;
  const arrow = (x: string | undefined, y: string | undefined) => (x === y ? (y ?? "—") : `${x ?? "—"} → ${y ?? "—"}`);
  const cap = a ?? b!;
  return [
    h.id,
    arrow(b && String(b.vms), a && String(a.vms)),
    `${arrow(b && String(b.cpus), a && String(a.cpus))} of ${cap.cpuThreads}${a ? ` (${pct(a.cpus, a.cpuThreads)})` : ""}`,
    `${arrow(b && gib(b.allocatedMiB), a && gib(a.allocatedMiB))} of ${gib(cap.memoryMiB)}${a ? ` (${pct(a.allocatedMiB, a.memoryMiB)})` : ""}`,
  ];
}

function survivalLines(s: Survivability): string[] {
  const out: string[] = [];
  for (const f of s.failures) {
    const parts = [f.unplaced.length === 0 ? `its ${f.vms.length} VMs restart on the others` : `${f.unplaced.length} of its ${f.vms.length} VMs cannot restart (${f.unplaced.join(", ")})`];
    if (f.boundToHost?.length) parts.push(`${f.boundToHost.length} GPU workers down with it (PCI passthrough binds them to the host: ${f.boundToHost.join(", ")})`);
    if (f.cpuOvercommitted) parts.push("vCPU over-committed meanwhile");
    if (f.controlPlaneLeft) parts.push(`control plane ${f.controlPlaneLeft.running} of ${f.controlPlaneLeft.total} running (${f.controlPlaneLeft.quorum ? "quorum holds" : "quorum lost"})`);
    if (f.loadBalancerDown) parts.push("API endpoint down until the load balancer restarts");
    out.push(`${f.host} fails: ${parts.join("; ")}`);
  }
  return [...out, ...s.notes];
}

function resourceLine(c: ResourceChange, withProperties: boolean): string {
  const noop = isNoop(c);
  const head = `${noop ? "no-op" : c.action} ${shortType(c.type)} ${c.name}`;
  if (!withProperties || c.changes.length === 0) return head;
  const props = c.changes.map((p) => describeChange(p) + (c.ignored.includes(p.path) ? " (ignored: ignoreChanges)" : "")).join("; ");
  const why = c.replaceBecause.length > 0 ? ` [replaced because of ${c.replaceBecause.join(", ")}]` : "";
  return `${head}: ${props}${why}`;
}

function countsByType(rs: ResourceChange[]): string[] {
  const m = new Map<string, number>();
  for (const r of rs) {
    const k = `${isNoop(r) ? "no-op" : r.action} ${shortType(r.type)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].map(([k, n]) => `${n} × ${k}`);
}

// ---------------------------------------------------------------------------------------------
// Text

export function renderDiffText(d: PlanDiff): string {
  const L: string[] = [];
  L.push(`Plan diff of stack "${d.head.stack}": ${d.base.configFile} → ${d.head.configFile}`);
  L.push(d.verdict);
  if (d.warnings.length > 0) {
    L.push("", "Warnings:");
    for (const w of d.warnings) L.push(`  ! ${w}`);
  }
  if (d.breach.reasons.length > 0) L.push("", `Breach: ${d.breach.reasons.join(", ")} (${d.breach.policy})`);
  if (d.reboots.length > 0) {
    L.push("", `Reboots (in-place updates that power the VM off and on; pulumi preview shows them as updates):`);
    for (const r of d.reboots) L.push(`  ${r.vm}${r.role ? ` (${r.role}${r.host ? `, ${r.host}` : ""})` : ""}: ${r.because.join("; ")}`);
  }
  for (const p of d.providers) L.push("", `Provider ${p.name}: ${p.action}${p.manages.length ? ` (${p.manages.length} resources)` : ""}: ${p.because.join("; ")}`);
  if (d.firstBoot.length > 0) {
    L.push("", "First-boot only (user-data of running VMs; they never see it):");
    for (const f of d.firstBoot) {
      L.push(`  ${f.key}: ${f.existing.length} running VM(s)${f.fresh.length ? `, ${f.fresh.length} new` : ""}`);
      for (const x of f.removed.slice(0, 5)) L.push(`    - ${x}`);
      for (const x of f.added.slice(0, 5)) L.push(`    + ${x}`);
    }
  }
  L.push("", `Resources: ${d.counts.create} create, ${d.counts.update} update (${d.counts.reboot} reboot), ${d.counts.replace} replace, ${d.counts.delete} delete, ${d.counts.unchanged} unchanged`);
  for (const c of d.resources) L.push(`  ${resourceLine(c, true)}`);
  if (d.hosts.length === 0) {
    L.push("", NO_HOSTS);
  } else {
    L.push("", "Hosts (VMs; vCPU of logical cores; memory of capacity), base → head:");
    const rows = [["host", "VMs", "vCPU", "memory"], ...d.hosts.map(hostCells)];
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) L.push(`  ${r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd()}`);
  }
  const changedVms = d.vms.filter((v) => v.status !== "unchanged");
  if (changedVms.length > 0) {
    L.push("", "VMs:");
    for (const v of changedVms) L.push(`  ${v.status} ${v.name}${v.differences.length ? `: ${v.differences.join(", ")}` : ""}`);
  }
  if (d.hosts.length > 0) {
    L.push("", `One host failure (N+1), head: ${d.survivability.after.nPlusOne ? "yes" : "NO"} (base: ${d.survivability.before.nPlusOne ? "yes" : "no"})`);
    for (const s of survivalLines(d.survivability.after)) L.push(`  ${s}`);
  }
  if (d.spark) {
    L.push("", "Spark, base → head:");
    for (const r of d.spark.rows) L.push(`  ${r.changed ? "*" : " "} ${r.name}: ${r.changed ? `${r.before} → ${r.after}` : r.after}`);
    for (const s of d.spark.submit) {
      L.push(`  ${s.output}:`);
      for (const x of s.removed) L.push(`    - ${x}`);
      for (const x of s.added) L.push(`    + ${x}`);
    }
  }
  if (d.config) {
    L.push("", d.config.length > 0 ? "Configuration keys changed:" : "Configuration keys changed: none");
    for (const c of d.config) L.push(`  ${describeChange(c)}`);
  }
  for (const s of d.sections) {
    L.push("", `Section ${s.section}:`);
    for (const c of s.changes) L.push(`  ${describeChange(c)}`);
  }
  L.push("");
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Table cell text: pipes escaped, no line breaks. */
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function mdTable(header: string[], rows: string[][]): string[] {
  return [`| ${header.map(cell).join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

/**
 * How much detail the Markdown keeps: 0 everything; 1 no property names; 2 per-resource lists as
 * counts by type; 3 no diagram; 4 long lists (VMs, configuration keys, sections, reboots) cut to
 * their first lines; 5 the host table lists only the hosts that change (large stacks).
 */
export type DetailLevel = 0 | 1 | 2 | 3 | 4 | 5;

function details(summary: string, body: string[]): string[] {
  return ["<details>", `<summary>${summary}</summary>`, "", ...body, "", "</details>", ""];
}

function capped<T>(xs: T[], level: DetailLevel, n: number): { shown: T[]; cut: number } {
  return level >= 4 && xs.length > n ? { shown: xs.slice(0, n), cut: xs.length - n } : { shown: xs, cut: 0 };
}

/** A warning line of at most `max` characters (a long list inside is cut at a word). */
const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, s.lastIndexOf(" ", max - 2) > 0 ? s.lastIndexOf(" ", max - 2) : max - 2)} …`);

/** The Markdown as named sections, in the order they are shown; the first ones are never left out. */
export function markdownSections(d: PlanDiff, level: DetailLevel): { name: string; lines: string[]; keep: boolean }[] {
  const out: { name: string; lines: string[]; keep: boolean }[] = [];
  const add = (name: string, lines: string[], keep = false) => lines.length > 0 && out.push({ name, lines, keep });

  const head = [commentMarker(d.head.stack), `### Plan diff: stack \`${d.head.stack}\``, "", `**${d.verdict}**`, ""];
  head.push(`<sub>${code(d.base.configFile)} → ${code(d.head.configFile)}; computed offline (simulated vCenter answers, no credentials).</sub>`, "");
  if (d.breach.reasons.length > 0) head.push(`<sub>Breach gate: ${d.breach.policy}.</sub>`, "");
  add("verdict", head, true);

  if (d.warnings.length > 0) {
    const max = level >= 4 ? 400 : 1200;
    add("warnings", ["> [!WARNING]", ...d.warnings.map((w) => `> - ${clip(w, max)}`), ""], true);
  }
  if (d.reboots.length > 0) {
    const { shown, cut } = capped(d.reboots, level, 12);
    add(
      "reboots",
      [
        `#### Reboots (${d.reboots.length})`,
        "",
        "_In-place updates the vSphere provider applies by powering the VM off and on (decided at apply time: `pulumi preview` shows them as updates)._",
        "",
        ...mdTable(["VM", "role", "host", "why"], shown.map((r) => [r.vm, r.role ?? "", r.host ?? "", r.because.join("; ")])),
        ...(cut ? ["", `… and ${cut} more VMs reboot`] : []),
        "",
      ],
      true,
    );
  }
  const replaced = d.resources.filter((r) => r.action === "replace" || r.action === "delete");
  if (replaced.length > 0 || d.providers.length > 0) {
    const byType = new Map<string, number>();
    for (const r of replaced) byType.set(`${r.action} ${shortType(r.type)}`, (byType.get(`${r.action} ${shortType(r.type)}`) ?? 0) + 1);
    const lines = [`#### Replacements and deletions (${replaced.length})`, ""];
    for (const p of d.providers) lines.push(`- provider \`${p.name}\`: **${p.action}** (${p.because.join("; ")})${p.manages.length ? `; manages ${p.manages.length} resources` : ""}`);
    for (const [k, n] of byType) lines.push(`- ${n} × ${k}`);
    add("replacements", [...lines, ""], true);
  }
  if (d.refusals.length > 0) {
    // One block per kind (groupRefusals): its first refusals in full, the rest by key (capped), so the
    // section's length is bounded by the kinds of refusal, not by the number of nodes.
    const vmNames = new Set(d.vms.map((v) => v.name));
    const lines = ["#### Refused", ""];
    for (const g of groupRefusals(d.refusals, vmNames)) {
      const full = g.refusals.slice(0, REFUSALS_IN_FULL);
      lines.push(...full.map((r) => `- ${code(r.path)}: ${r.message} (${r.rule})`));
      const rest = g.refusals.slice(REFUSALS_IN_FULL).map((r) => r.path);
      if (rest.length > 0) {
        const named = rest.slice(0, REFUSED_KEYS_NAMED).map(code).join(", ");
        lines.push(`- … and ${rest.length} more of ${code(g.key)}, each refused the same way: ${named}${rest.length > REFUSED_KEYS_NAMED ? ` and ${rest.length - REFUSED_KEYS_NAMED} more` : ""}`);
      }
    }
    add("refusals", [...lines, ""], true);
  }
  add("counts", [...mdTable(["create", "update", "reboot", "replace", "delete", "unchanged"], [[d.counts.create, d.counts.update, d.counts.reboot, d.counts.replace, d.counts.delete, d.counts.unchanged].map(String)]), ""], true);

  const hosts = ["#### Hosts", ""];
  if (d.hosts.length === 0) {
    hosts.push(NO_HOSTS, "");
  } else {
    const changed = (h: HostChange) => JSON.stringify(h.before) !== JSON.stringify(h.after) || d.vms.some((v) => v.status !== "unchanged" && (v.after ?? v.before)!.host === h.id);
    const shown = level >= 5 ? d.hosts.filter(changed) : d.hosts;
    hosts.push(...mdTable(["host", "VMs", "vCPU (of logical cores)", "memory (of capacity)"], shown.map(hostCells)), "");
    if (shown.length < d.hosts.length) hosts.push(`_${d.hosts.length - shown.length} hosts whose allocation and VMs do not change are not listed._`, "");
    const s = d.survivability;
    hosts.push(`**One host failure (N+1):** ${s.after.nPlusOne ? "yes" : "**no**"} (base: ${s.before.nPlusOne ? "yes" : "no"})`, "");
    const lines = survivalLines(s.after);
    const { shown: ls, cut } = capped(lines, level, 12);
    for (const x of ls) hosts.push(`- ${x}`);
    if (cut) hosts.push(`- … and ${cut} more`);
    hosts.push("");
  }
  add("hosts", hosts);

  if (d.spark) {
    const sp = ["#### Spark", "", ...mdTable(["", "base", "head"], d.spark.rows.map((r) => [r.changed ? `**${r.name}**` : r.name, r.before, r.after])), ""];
    for (const x of d.spark.submit) sp.push(`${code(x.output)}:`, "", "```diff", ...x.removed.map((l) => `- ${l}`), ...x.added.map((l) => `+ ${l}`), "```", "");
    add("spark", sp);
  }

  if (d.firstBoot.length > 0) {
    const body: string[] = ["_cloud-init reads user-data at first boot only, and `extraConfig` is `ignoreChanges`: running VMs never see these lines; VMs created from now on do._", ""];
    for (const f of d.firstBoot) {
      body.push(`- ${code(f.key)}: ${f.existing.length} running VM(s) keep the old text${f.fresh.length ? `, ${f.fresh.length} new VM(s) get it` : ""}`);
      if (f.removed.length + f.added.length > 0) body.push("", "```diff", ...f.removed.slice(0, 8).map((l) => `- ${l}`), ...f.added.slice(0, 8).map((l) => `+ ${l}`), "```", "");
    }
    add("first-boot", details(`First-boot only changes (${d.firstBoot.length})`, body));
  }

  // The diagram earns its place on small stacks only: past a dozen hosts the host table says it better.
  if (level < 3 && d.hosts.length > 0 && d.hosts.length <= MERMAID_MAX_HOSTS) {
    add("diagram", details("Placement diagram", ["```mermaid", renderMermaid(d), "```"]));
  }

  const changedVms = d.vms.filter((v) => v.status !== "unchanged");
  if (changedVms.length > 0) {
    const { shown, cut } = capped(changedVms, level, 20);
    add("vms", details(`VMs (${changedVms.length} changed)`, [...mdTable(["VM", "what happens", "details"], shown.map((v) => [v.name, v.status, v.differences.join(", ")])), ...(cut ? ["", `… and ${cut} more`] : [])]));
  }

  const rs = d.resources;
  if (rs.length > 0) {
    const body = level >= 2 ? countsByType(rs).map((x) => `- ${x}`) : rs.map((c) => `- ${resourceLine(c, level === 0)}`);
    if (level >= 1) body.push("", "_Changed property names left out to fit the comment limit; run the command locally for them._");
    add("resources", details(`Resources (${rs.length} changing)`, body));
  }

  if (d.config && d.config.length > 0) {
    const { shown, cut } = capped(d.config, level, 30);
    add("config", details(`Configuration keys changed (${d.config.length})`, [...shown.map((c) => `- ${code(describeChange(c))}`), ...(cut ? [`- … and ${cut} more`] : [])]));
  }
  for (const sec of d.sections) {
    const { shown, cut } = capped(sec.changes, level, 15);
    add(`section ${sec.section}`, details(`Section ${code(sec.section)} (${sec.changes.length} changed)`, [...shown.map((c) => `- ${code(describeChange(c))}`), ...(cut ? [`- … and ${cut} more`] : [])]));
  }
  return out;
}

export function renderDiffMarkdownAt(d: PlanDiff, level: DetailLevel): string {
  return `${markdownSections(d, level).flatMap((s) => s.lines).join("\n").trimEnd()}\n`;
}

/**
 * The fullest Markdown within `budget` characters. Detail is shed level by level; if the most
 * compact level is still too long, whole sections are left out from the end (never cut in the
 * middle) and named in a closing note; the verdict, warnings, reboots, replacements, refusals and
 * counts come first and are kept.
 */
export function renderDiffMarkdown(d: PlanDiff, budget = MARKDOWN_BUDGET): { markdown: string; level: DetailLevel; omitted: string[] } {
  for (const level of [0, 1, 2, 3, 4, 5] as DetailLevel[]) {
    const out = renderDiffMarkdownAt(d, level);
    if (out.length <= budget) return { markdown: out, level, omitted: [] };
  }
  const sections = markdownSections(d, 5);
  const omitted: string[] = [];
  const text = (xs: typeof sections) => `${xs.flatMap((s) => s.lines).join("\n").trimEnd()}\n`;
  const note = () => `\n_Left out to fit the comment limit: ${omitted.join(", ")}; run \`npm run plan -- --compare\` locally for them._\n`;
  let kept = [...sections];
  while (text(kept).length + (omitted.length ? note().length : 0) > budget) {
    const i = kept.map((s) => s.keep).lastIndexOf(false);
    if (i < 0) break;
    omitted.unshift(kept[i].name);
    kept = kept.filter((_, j) => j !== i);
  }
  return { markdown: text(kept) + (omitted.length ? note() : ""), level: 5, omitted };
}

export function renderDiffJson(d: PlanDiff): string {
  return `${JSON.stringify({ formatVersion: 1, ...d }, null, 2)}\n`;
}

/** The report when a side's configuration is invalid: the errors, each naming its key (no values). */
export function renderInvalidMarkdown(stack: string, side: "base" | "head", errors: { path: string; message: string }[]): string {
  const sparkUnfit = errors.some((e) => e.path.includes(":spark"));
  return [
    commentMarker(stack),
    `### Plan diff: stack \`${stack}\``,
    "",
    `**The ${side} configuration is invalid (${errors.length} problem${errors.length === 1 ? "" : "s"}); \`pulumi up\` would stop before registering anything.**`,
    "",
    ...(sparkUnfit && side === "head" ? ["> [!WARNING]", "> - Spark: the head's Spark settings are refused (for example an executor that does not fit a worker node)", ""] : []),
    ...errors.map((e) => `- \`${e.path}\`: ${e.message.replace(/\n/g, " ")}`),
    "",
  ].join("\n");
}

export function renderInvalidJson(side: "base" | "head", errors: { path: string; message: string }[]): string {
  return `${JSON.stringify({ formatVersion: 1, invalid: { side, errors } }, null, 2)}\n`;
}
