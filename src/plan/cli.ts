/**
 * `npm run plan`: what `pulumi up` would create for a stack, computed offline.
 *
 *   --stack NAME          stack to plan (default dev): reads Pulumi.NAME.yaml
 *   --config-file FILE    any Pulumi.<stack>.yaml instead
 *   --set KEY=VALUE       override one config value (VALUE parsed as YAML); repeatable
 *   --json                machine-readable output (shape documented in the README)
 *   --out DIR             write every rendered artifact under DIR
 *   --previous FILE       the running cluster's last applied state (`pulumi stack output
 *                         clusterLifecycle --json > FILE`): refused changes and notes (docs/lifecycle.md)
 *   --compare BASE        diff against BASE: a plan JSON written earlier (`--json > base.json`) or a
 *                         git revision of the stack file (planned in the same run; --set applies to
 *                         the head only)
 *   --format FMT          output of --compare: text (default), markdown or json
 *   --fail-on-breach      with --compare: exit 3 (after the output) on a breach (BREACH_POLICY in
 *                         compare/diff.ts: host over capacity, N+1 lost or not met where declared,
 *                         etcd quorum at risk, a refused change, an executor that no longer fits)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { formatFieldErrors } from "../../components/validation";
import { compare, renderDiffJson, renderDiffMarkdown, renderDiffText, renderInvalidJson, renderInvalidMarkdown } from "./compare";
import { plan } from "./plan";
import { renderPlanText } from "./report";

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", default: "dev" },
        "config-file": { type: "string" },
        set: { type: "string", multiple: true, default: [] },
        json: { type: "boolean", default: false },
        out: { type: "string" },
        previous: { type: "string" },
        compare: { type: "string" },
        format: { type: "string" },
        "fail-on-breach": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    process.stderr.write(`plan: ${(e as Error).message}\n`);
    return 2;
  }
  const o = args.values;
  if (o.help) {
    process.stdout.write(
      "usage: npm run plan -- [--stack NAME] [--config-file FILE] [--set KEY=VALUE ...] [--json] [--out DIR] [--previous STATE.json]\n" +
        "       npm run plan -- --compare BASE [--format text|markdown|json] [--fail-on-breach] [--stack NAME] [--config-file FILE] [--set KEY=VALUE ...]\n" +
        "         BASE: a plan JSON file (plan --json > base.json) or a git revision of the stack file (e.g. origin/main)\n",
    );
    return 0;
  }
  const format = o.format ?? "text";
  if (o.format !== undefined && o.compare === undefined) {
    process.stderr.write("plan: --format applies to --compare (use --json for a plan's JSON)\n");
    return 2;
  }
  if (!["text", "markdown", "json"].includes(format)) {
    process.stderr.write(`plan: --format must be text, markdown or json, got "${format}"\n`);
    return 2;
  }
  if (o.compare !== undefined) {
    if (o.json || o.out) {
      process.stderr.write("plan: --compare cannot be combined with --json or --out (use --format json)\n");
      return 2;
    }
    const r = await compare({ stack: o.stack!, configFile: o["config-file"], sets: o.set, base: o.compare });
    if (!r.ok) {
      if ("message" in r) process.stderr.write(`plan: ${r.message}\n`);
      else {
        process.stderr.write(`invalid ${r.side} stack configuration (${r.errors.length} problem${r.errors.length === 1 ? "" : "s"}):\n${formatFieldErrors(r.errors)}\n`);
        // Markdown and JSON readers (a pull-request comment) get the problems on stdout too.
        if (format === "markdown") process.stdout.write(renderInvalidMarkdown(o.stack!, r.side, r.errors));
        if (format === "json") process.stdout.write(renderInvalidJson(r.side, r.errors));
      }
      return 1;
    }
    const text = format === "json" ? renderDiffJson(r.diff) : format === "markdown" ? renderDiffMarkdown(r.diff).markdown : renderDiffText(r.diff);
    process.stdout.write(text);
    return o["fail-on-breach"] && r.diff.breach.reasons.length > 0 ? 3 : 0;
  }
  let previousCluster: unknown;
  if (o.previous !== undefined) {
    try {
      previousCluster = JSON.parse(fs.readFileSync(o.previous, "utf8"));
    } catch (e) {
      process.stderr.write(`plan: --previous ${o.previous}: ${(e as Error).message} (expected the JSON of \`pulumi stack output clusterLifecycle --json\`)\n`);
      return 2;
    }
  }
  const result = await plan({ stack: o.stack!, configFile: o["config-file"], sets: o.set, previousCluster });
  if (!result.ok && result.refused) {
    process.stderr.write(`refused change to a running cluster (${result.errors.length} change${result.errors.length === 1 ? "" : "s"}); \`pulumi up\` would change nothing:\n${formatFieldErrors(result.errors)}\n`);
    return 1;
  }
  if (!result.ok) {
    process.stderr.write(`invalid stack configuration (${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}):\n${formatFieldErrors(result.errors)}\n`);
    return 1;
  }
  if (o.out) {
    for (const a of result.artifacts) {
      const file = path.join(o.out, a.path);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, a.content);
    }
  }
  process.stdout.write(o.json ? `${JSON.stringify(result.plan, null, 2)}\n` : renderPlanText(result.plan, result.sectionText, o.out));
  return 0;
}

if (require.main === module) {
  // exitCode, not exit(): exit() would cut off output still being written to a pipe.
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`plan failed: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
