/**
 * `npm run plan`: what `pulumi up` would create for a stack, computed offline.
 *
 *   --stack NAME          stack to plan (default dev): reads Pulumi.NAME.yaml
 *   --config-file FILE    any Pulumi.<stack>.yaml instead
 *   --set KEY=VALUE       override one config value (VALUE parsed as YAML); repeatable
 *   --json                machine-readable output (shape documented in the README)
 *   --out DIR             write every rendered artifact under DIR
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { formatFieldErrors } from "../../components/validation";
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
      "usage: npm run plan -- [--stack NAME] [--config-file FILE] [--set KEY=VALUE ...] [--json] [--out DIR]\n",
    );
    return 0;
  }
  const result = await plan({ stack: o.stack!, configFile: o["config-file"], sets: o.set });
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
