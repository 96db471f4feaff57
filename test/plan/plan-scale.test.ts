/**
 * The plan at scale: computing the back end's plan once per plan (it renders every node's
 * cloud-init and kubeadm files) gives the same artifacts and sections as asking each layer
 * afresh, and the scale benchmark's report (bench/scale-bench.ts) reads linear growth as flat
 * ratios and superlinear growth as climbing ones. No assertion on time: the samples are made up.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Measured, StackRow, headSet, renderScale } from "../../bench/scale-bench";
import { generatedStackText } from "../../bench/stacks";
import { plan } from "../../src/plan/plan";
import { stackArtifacts, stackSections } from "../../src/stack";

const ROOT = path.resolve(__dirname, "../../..");
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("plan at scale: the back end's plan is computed once", function () {
  for (const [label, hosts] of [
    ["the reference stack", 0],
    ["a generated 12-host stack", 12],
  ] as const) {
    it(`${label}: artifacts and sections equal the layers' own, asked afresh`, async () => {
      let configFile: string | undefined;
      let dir: string | undefined;
      if (hosts > 0) {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-scale-"));
        configFile = path.join(dir, "Pulumi.scale.yaml");
        fs.writeFileSync(configFile, generatedStackText(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), hosts));
      }
      try {
        const r = await plan({ stack: hosts > 0 ? "scale" : "dev", cwd: ROOT, configFile });
        if (!r.ok) assert.fail(JSON.stringify(r.errors));
        // The default arguments: each call asks the back end for its plan again.
        const fresh = stackArtifacts(r.decisions);
        assert.deepEqual(r.artifacts, fresh);
        assert.deepEqual(
          r.plan.artifacts,
          fresh.map((a) => ({ path: a.path, kind: a.kind, sha256: sha(a.content) })),
        );
        const sections = stackSections(r.decisions);
        assert.deepEqual(r.sectionText, sections.text);
        for (const [k, v] of Object.entries(sections.json)) assert.deepEqual(r.plan[k], v, `section ${k}`);
        assert.deepEqual(r.plan.hosts, r.decisions.cluster.plan().hosts);
        assert.equal(r.plan.hosts.reduce((n, h) => n + h.vms.length, 0), hosts > 0 ? 5 * hosts : 20);
      } finally {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("scale benchmark heads (bench/scale-bench.ts --change)", () => {
  const text = generatedStackText(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), 16, 0);
  it("workers: one fewer per host; template: the stack's own inventory with only the template changed", () => {
    assert.deepEqual(headSet("workers", text), ["--set", "vsphere-spark:workersPerHost=4"]);
    const [flag, kv] = headSet("template", text);
    assert.equal(flag, "--set");
    const [key, value] = [kv.slice(0, kv.indexOf("=")), JSON.parse(kv.slice(kv.indexOf("=") + 1))];
    assert.equal(key, "vsphere-spark:inventory");
    assert.equal(value.template, "ubuntu-2404-kube-template-next");
    assert.equal(value.datastore, "vsanDatastore");
  });
  it("template: a stack without an inventory template is refused by name (negative control)", () => {
    assert.throws(() => headSet("template", "config: {}\n"), /vsphere-spark:inventory\.template/);
  });
});

describe("scale benchmark report (bench/scale-bench.ts)", () => {
  const m = (cpuMs: number, rssMiB: number): Measured => ({ cpuMs, wallMs: cpuMs * 2, maxRssKiB: rssMiB * 1024 });
  const rows = (cost: (h: number) => number): StackRow[] =>
    [4, 16, 48, 96].map((h) => ({ hosts: h, vms: 5 * h, resources: 32 + 16 * h, samples: { plan: [m(1000 + cost(h), 150 + 5 * h), m(1000 + cost(h) + 50, 150 + 5 * h)] } }));
  const render = (r: StackRow[]) =>
    renderScale(r, [m(900, 130)], { runs: 2, date: new Date("2026-12-04T00:00:00Z"), loadStart: [1, 1, 1], loadEnd: [1, 1, 1], commands: ["plan", "vsJson"] });
  /** The "vs first interval" CPU ratios of the table's rows. */
  const cpuRatios = (md: string) => [...md.matchAll(/\*\*([\d.]+)×\*\*/g)].map((x) => Number(x[1]));

  it("linear growth: every interval costs the same per host (ratios 1.00), R² 1", () => {
    const md = render(rows((h) => 40 * h));
    assert.deepEqual(cpuRatios(md), [1, 1, 1]);
    assert.match(md, /net CPU ≈ 125 ms \+ 40\.0 ms × hosts \(R² 1\.0000\)/);
    assert.match(md, /MiB per added host[^\n]*\n[^\n]*\n\| 4 [^\n]*\| — \| — \|/);
    // A command without samples gets no table.
    assert.doesNotMatch(md, /one plan \+ diff/);
  });

  it("negative control: quadratic growth makes the ratios climb", () => {
    const ratios = cpuRatios(render(rows((h) => h * h)));
    assert.equal(ratios.length, 3);
    assert.ok(ratios[1] > 2 && ratios[2] > ratios[1], `ratios ${ratios.join(", ")}`);
  });
});
