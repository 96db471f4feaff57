/**
 * The compare output as reviewers see it: the Markdown rendered by a CommonMark/GFM renderer
 * (markdown-it, tables on) within GitHub's comment limit, and the placement diagram rendered by the
 * real Mermaid library in headless Chromium (Debian's chromium, driven by playwright-core).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { generatedStackText } from "../../bench/stacks";
import { PlanDiff, diffPlans } from "../../src/plan/compare/diff";
import { renderMermaid } from "../../src/plan/compare/mermaid";
import { GITHUB_COMMENT_LIMIT, MARKDOWN_BUDGET, markdownSections, renderDiffMarkdown, renderDiffMarkdownAt } from "../../src/plan/compare/render";
import { Plan } from "../../src/plan/plan";
import { ROOT, planOf, variant } from "./compare/stacks";

const MarkdownIt = require("markdown-it") as new (opts: Record<string, unknown>) => { render(s: string): string };
const { chromium } = require("playwright-core") as typeof import("playwright-core");

const CHROMIUM = "/usr/bin/chromium";
const MERMAID_JS = path.join(ROOT, "node_modules/mermaid/dist/mermaid.min.js");
const VM = "vsphere:index/virtualMachine:VirtualMachine";

/** GitHub renders comments as GFM with HTML allowed (details/summary) and tables. */
const gfm = () => new MarkdownIt({ html: true, linkify: true });
const tables = (html: string) => [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((m) => m[1]);
const rows = (table: string) => (table.match(/<tr>/g) ?? []).length;

/** The head of a template change: every VM's clone source differs (no second plan needed). */
function withNewTemplate(p: Plan): Plan {
  const head = JSON.parse(JSON.stringify(p)) as Plan;
  for (const r of head.resources) if (r.type === VM) (r.inputs as { clone: { templateUuid: string } }).clone.templateUuid = "4210ffff-0000-0000-0000-000000000000";
  return head;
}

describe("compare: Markdown within GitHub's comment limit, rendered as GFM", function () {
  let big: PlanDiff;
  before(async function () {
    // 64 hosts, 320 VMs: a template change is too long in full.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-big-"));
    const file = path.join(dir, "Pulumi.big.yaml");
    fs.writeFileSync(file, generatedStackText(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), 64));
    const base = await planOf([], file);
    big = diffPlans(base, withNewTemplate(base));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a 320-VM template change sheds detail to fit; verdict, warnings, host and Spark tables survive", () => {
    assert.ok(renderDiffMarkdownAt(big, 0).length > MARKDOWN_BUDGET, "the full text must be too long for this test to mean anything");
    const { markdown, level } = renderDiffMarkdown(big);
    assert.ok(markdown.length <= MARKDOWN_BUDGET && MARKDOWN_BUDGET < GITHUB_COMMENT_LIMIT, `${markdown.length}`);
    assert.ok(level >= 1, `level ${level}`);
    const html = gfm().render(markdown);
    // 321 updates: each replaced VM's VM group and the control planes' anti-affinity rule get the new ids (compare.test.ts).
    assert.match(html, /<strong>BREACH \(etcd quorum at risk\); \d+ warnings; 0 to create, 321 to update, 320 to replace, 0 to delete\.<\/strong>/);
    assert.match(html, /320 VMs replaced \(destroyed and re-cloned; data on them is lost\), because of clone\.templateUuid/);
    const t = tables(html);
    const hostTable = t.find((x) => x.includes("<th>host</th>"))!;
    assert.equal(rows(hostTable), 65, "header + 64 hosts");
    const spark = t.find((x) => x.includes("executor heap"))!;
    assert.ok(spark && rows(spark) >= 10);
    assert.ok(t.find((x) => x.includes("<th>replace</th>")));
    // Details are inside <details>, passed through as HTML.
    assert.match(html, /<details>\n<summary>Resources \(\d+ changing\)<\/summary>/);
  });

  it("sheds in order: property names, then per-resource lists as counts by type, then the diagram", () => {
    const l0 = renderDiffMarkdownAt(big, 0);
    const l1 = renderDiffMarkdownAt(big, 1);
    const l2 = renderDiffMarkdownAt(big, 2);
    const l3 = renderDiffMarkdownAt(big, 3);
    assert.match(l0, /- replace VirtualMachine \S*esxi-01-worker-1: clone\.templateUuid: "4210/);
    assert.doesNotMatch(l1, /- replace VirtualMachine \S*esxi-01-worker-1: /);
    assert.match(l1, /- replace VirtualMachine \S*esxi-01-worker-1\n/);
    assert.match(l2, /- 320 × replace VirtualMachine/);
    assert.doesNotMatch(l2, /- replace VirtualMachine \S*esxi-01-worker-1/);
    // 64 hosts: past MERMAID_MAX_HOSTS the host table says it better than a diagram, at every level.
    assert.doesNotMatch(l0, /```mermaid/);
    assert.ok(l0.length > l1.length && l1.length > l2.length && l2.length >= l3.length);
    // Whatever the budget, the always-kept parts are there, and the rest is left out whole, named.
    const tiny = renderDiffMarkdown(big, 3000);
    for (const must of ["**BREACH", "[!WARNING]", "#### Replacements and deletions", "| create | update | reboot |"]) assert.ok(tiny.markdown.includes(must), must);
    assert.ok(tiny.omitted.includes("hosts") && tiny.omitted.includes("spark"), tiny.omitted.join(", "));
    assert.match(tiny.markdown, /_Left out to fit the comment limit: .*hosts.*spark/);
    assert.ok(!tiny.markdown.includes("#### Hosts"), "a left-out section is left out whole");
  });

  it("the reference template change fits in full and renders every table", async () => {
    const file = variant((c) => (c["vsphere-spark:inventory"].template = "ubuntu-2604-kube-template"));
    const d = diffPlans(await planOf(), await planOf([], file));
    const { markdown, level } = renderDiffMarkdown(d);
    assert.equal(level, 0);
    const html = gfm().render(markdown);
    assert.equal(tables(html).length, 4, "counts, hosts, Spark, VMs");
    assert.ok(html.indexOf("Replacements and deletions") < html.indexOf("<th>create</th>"), "replacements before the counts");
    assert.match(html, /<pre><code class="language-mermaid">flowchart LR/);
    assert.ok(markdown.startsWith("<!-- vsphere-spark-plan-diff:dev -->\n"));
  });
});

describe("compare: the README's sample comment", function () {
  it("is what the command prints today for the scale-out it describes", async () => {
    const base = { ...(await planOf(["vsphere-spark:workersPerHost=3"])), configFile: "base.json (plan of Pulumi.dev.yaml)" };
    const head = { ...(await planOf()), configFile: "Pulumi.dev.yaml" };
    const { markdown } = renderDiffMarkdown(diffPlans(base, head));
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    assert.ok(readme.includes(`---\n\n${markdown.trimEnd()}\n\n---`), "README sample is stale: re-run the command shown above it and paste its output");
  });
});

describe("compare: the Mermaid diagram renders in headless Chromium with the real Mermaid library", function () {
  this.timeout(180000);
  let ctx: Awaited<ReturnType<typeof chromium.launchPersistentContext>>;
  let userDataDir: string;
  let page: Awaited<ReturnType<typeof ctx.newPage>>;

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-chromium-"));
    ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await ctx.newPage();
    await page.setContent("<!doctype html><html><body><div id=out></div></body></html>");
    await page.addScriptTag({ path: MERMAID_JS });
    await page.evaluate(() => (globalThis as any).mermaid.initialize({ startOnLoad: false, securityLevel: "strict" }));
  });
  after(async () => {
    await ctx?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  let n = 0;
  /** Renders with mermaid.render and reads back the drawn text and the classes of the nodes. */
  async function render(code: string): Promise<{ error?: string; text?: string; classes?: string[] }> {
    return page.evaluate(
      async ([c, id]) => {
        try {
          const { svg } = await (globalThis as any).mermaid.render(id, c);
          const out = (globalThis as any).document.getElementById("out");
          out.innerHTML = svg;
          const classes = [...out.querySelectorAll("g.node")].map((g: any) => String(g.getAttribute("class") ?? ""));
          return { text: String(out.textContent ?? ""), classes };
        } catch (e) {
          return { error: String((e as Error).message ?? e) };
        }
      },
      [code, `d${++n}`] as const,
    );
  }

  async function pairs(): Promise<[string, PlanDiff][]> {
    const ref = await planOf();
    const inserted = variant((c) => {
      c["vsphere-spark:hosts"].splice(1, 0, { name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 });
      c["vsphere-spark:network"].addresses = { "esxi-03-load-balancer": "192.168.1.2" };
    });
    return [
      ["scale-in", diffPlans(ref, await planOf(["vsphere-spark:workersPerHost=3"]))],
      ["template change", diffPlans(ref, withNewTemplate(ref))],
      ["host inserted", diffPlans(ref, await planOf([], inserted))],
      ["worker profile", diffPlans(ref, await planOf(["vsphere-spark:vmProfiles={worker: {cpus: 12, memoryGiB: 96, diskGiB: 100}, small: {cpus: 8, memoryGiB: 64, diskGiB: 60}}"]))],
    ];
  }

  it("every pair's diagram parses and draws every host and VM, styled by status", async () => {
    for (const [label, d] of await pairs()) {
      const code = renderMermaid(d);
      const r = await render(code);
      assert.equal(r.error, undefined, `${label}: ${r.error}\n${code}`);
      for (const h of d.hosts) assert.ok(r.text!.includes(`${h.id}:`), `${label}: host ${h.id} missing`);
      for (const v of d.vms) assert.ok(r.text!.includes(v.name), `${label}: VM ${v.name} missing`);
      const styled = d.vms.filter((v) => v.status !== "unchanged");
      const legend = new Set(styled.map((v) => v.status)).size; // one legend node per status shown
      assert.equal(r.classes!.filter((c) => /\b(added|removed|changed|replaced|rebooted)\b/.test(c)).length, styled.length + legend, label);
    }
  });

  it("negative control: a diagram with a broken label is a parse error, and the check sees it", async () => {
    const good = renderMermaid(diffPlans(await planOf(), await planOf(["vsphere-spark:workersPerHost=3"])));
    const broken = good.replace(/\["esxi-01: /, '["esxi-01" ');
    assert.notEqual(broken, good);
    const r = await render(broken);
    assert.match(r.error ?? "", /Parse error/);
  });
});

/**
 * The budget guarantee at 96 hosts (planned) and 320 hosts (the 96-host plan's pattern repeated:
 * planning 1,600 VMs takes longer than the point needs), with a change that sets off every kind of
 * warning at once: a disk shrink (refused), a memory shrink (reboots), a datastore move, a new
 * template for one host's VMs, a control plane deleted, the control-plane anti-affinity rule gone.
 */
describe("compare: the Markdown budget at 96 and 320 hosts with many warnings", function () {
  this.timeout(600000);
  let p96: Plan;
  before(async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-96-"));
    const file = path.join(dir, "Pulumi.big96.yaml");
    fs.writeFileSync(file, generatedStackText(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), 96));
    p96 = await planOf([], file);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The plan with hosts esxi-97.. repeating esxi-05's VMs and resources under new names. */
  function scaled(p: Plan, hosts: number): Plan {
    const q = JSON.parse(JSON.stringify(p)) as Plan;
    const model = p.hosts.find((h) => h.id === "esxi-05")!;
    for (let i = p.hosts.length + 1; i <= hosts; i++) {
      const id = `esxi-${String(i).padStart(2, "0")}`;
      const rename = (s: string) => s.split("esxi-05").join(id);
      q.hosts.push({ ...JSON.parse(rename(JSON.stringify(model))), name: `${id}.lab.local` });
      for (const r of p.resources.filter((x) => x.name.includes("esxi-05-"))) q.resources.push(JSON.parse(rename(JSON.stringify(r))));
    }
    return q;
  }

  function hurt(p: Plan): Plan {
    const h = JSON.parse(JSON.stringify(p)) as Plan;
    for (const r of h.resources.filter((x) => x.type === VM)) {
      const i = r.inputs as { disks: { size: number }[]; memory: number; datastoreId: string; name: string; clone: { templateUuid: string } };
      i.disks[0].size -= 10;
      i.memory -= 1024;
      i.datastoreId = "datastore-other";
      if (i.name.startsWith("esxi-10-")) i.clone.templateUuid = "4210ffff-0000-0000-0000-000000000000";
    }
    h.resources = h.resources.filter((r) => r.name !== "spark-control-plane-apart" && r.name !== "spark-esxi-03-control-plane");
    for (const host of h.hosts) host.vms = host.vms.filter((v) => v.name !== "esxi-03-control-plane");
    return h;
  }

  for (const hosts of [96, 320]) {
    it(`${hosts} hosts: under the budget, every kept section whole, verdict/warnings/reboots/replacements first`, () => {
      const base = hosts === 96 ? p96 : scaled(p96, hosts);
      assert.equal(base.hosts.length, hosts);
      const d = diffPlans(base, hurt(base));
      assert.ok(d.warnings.length >= 6 && d.warnings.length <= 20, `${d.warnings.length} warnings (one per kind, not one per VM)`);
      assert.equal(d.counts.reboot, base.hosts.flatMap((x) => x.vms).length - 1 - 5, "every VM but the deleted one and the replaced ones");
      const full = renderDiffMarkdownAt(d, 0);
      assert.ok(full.length > MARKDOWN_BUDGET, "too long in full, or the test means nothing");
      const { markdown, level, omitted } = renderDiffMarkdown(d);
      assert.ok(markdown.length <= MARKDOWN_BUDGET, `${markdown.length} > ${MARKDOWN_BUDGET}`);
      // Kept sections are whole: each one's text is in the comment as rendered, in order.
      const kept = markdownSections(d, level).filter((s) => !omitted.includes(s.name));
      let at = 0;
      for (const s of kept) {
        const text = s.lines.join("\n").trimEnd();
        const i = markdown.indexOf(text, at);
        assert.ok(i >= at, `section ${s.name} cut or out of order`);
        at = i + text.length;
      }
      assert.deepEqual(kept.slice(0, 4).map((s) => s.name), ["verdict", "warnings", "reboots", "replacements"]);
      for (const must of ["refused: the provider refuses this change on", "Storage vMotion", "esxi-03-control-plane removed one at a time, quorum checked", "spark-control-plane-apart"]) {
        assert.ok(markdown.includes(must), must);
      }
      const html = gfm().render(markdown);
      assert.equal((html.match(/<details>/g) ?? []).length, (html.match(/<\/details>/g) ?? []).length);
      if (omitted.length > 0) assert.match(markdown, /_Left out to fit the comment limit: /);
      else assert.ok(tables(html).find((x) => x.includes("<th>host</th>")), "the host table is there when nothing is left out");
      // Every section is there: shedding detail was enough, no section left out.
      assert.deepEqual(omitted, []);
    });
  }

  it("96 hosts, a host inserted second in `hosts`: every later node's address is refused (475 refusals), shown as one kind: under the budget with nothing left out; the first refusals in full, the rest named; negative control: one warning per refusal (as before) is over the budget", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-96-insert-"));
    try {
      const text = generatedStackText(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), 96);
      const doc = YAML.parse(text);
      const hosts = doc.config["vsphere-spark:hosts"] as { name: string }[];
      hosts.splice(1, 0, { ...hosts[hosts.length - 1], name: "esxi-new.lab.local" });
      const file = path.join(dir, "Pulumi.big96.yaml");
      fs.writeFileSync(file, YAML.stringify(doc));
      const d = diffPlans(p96, await planOf([], file));
      const addresses = d.refusals.filter((r) => /^vsphere-spark:network\.addresses\./.test(r.path));
      assert.ok(addresses.length > 400, `${addresses.length} address refusals`);
      assert.equal(d.warnings.filter((w) => w.includes("vsphere-spark:network.addresses.<vm>")).length, 1, "one warning for the kind");
      assert.ok(d.warnings.length <= 20, `${d.warnings.length} warnings`);
      const { markdown, omitted } = renderDiffMarkdown(d);
      assert.ok(markdown.length <= MARKDOWN_BUDGET, `${markdown.length} > ${MARKDOWN_BUDGET}`);
      assert.deepEqual(omitted, []);
      assert.ok(markdown.includes(`\`${addresses[0].path}\`: ${addresses[0].message.split("\n")[0]}`), "the first refusal in full");
      assert.match(markdown, new RegExp(`… and ${addresses.length - 3} more of \`vsphere-spark:network\.addresses\.<vm>\``));
      // Negative control: a warning per refusal, as before grouping, cannot fit.
      const ungrouped = { ...d, warnings: [...d.warnings, ...d.refusals.map((r) => `refused: \`${r.path}\` ${r.message}`)] };
      assert.ok(renderDiffMarkdownAt(ungrouped, 5).length > MARKDOWN_BUDGET, "one warning per refusal is over the budget");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("negative control: the check of whole sections sees a section cut in the middle", () => {
    const d = diffPlans(p96, hurt(p96));
    const { markdown, level, omitted } = renderDiffMarkdown(d);
    const s = markdownSections(d, level).filter((x) => !omitted.includes(x.name))[1];
    const text = s.lines.join("\n").trimEnd();
    const cut = markdown.replace(text, text.slice(0, Math.floor(text.length / 2)));
    assert.equal(cut.indexOf(text), -1);
  });
});
