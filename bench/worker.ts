/**
 * One measurement, in its own process (started by `plan-bench.ts` as `node --expose-gc`), so the
 * peak RSS it reports belongs to this measurement alone. Prints one JSON line (`WorkerResult`).
 *
 *   worker.js plan --stack NAME --config-file FILE
 *       what `plan --json` does: `plan()` then `JSON.stringify(plan, null, 2)`
 *   worker.js baseline --count N
 *       registers N bare `CustomResource`s (two plain inputs each) under the same mock runtime
 *   worker.js shape --stack NAME --config-file FILE --out FILE   (not timed)
 *       runs the stack program once under the same mocks and writes, per registered resource, how
 *       many input keys it hands the SDK (undefined ones included) and how many are defined
 *   worker.js shaped --shape FILE
 *       registers bare `CustomResource`s with those key counts: what the SDK alone costs for
 *       a graph of the plan's shape (the SDK's work grows with the keys, not just the resources)
 *
 * Only the modules a mode needs are loaded (with `require`, after the mode is known), so the
 * baseline's RSS does not carry the stack program's code.
 */
import { parseArgs } from "node:util";
import type * as P from "@pulumi/pulumi";

export interface WorkerResult {
  mode: "plan" | "baseline" | "shaped";
  /** The measured work (mock run, and for the plan the JSON text), in ms. */
  workMs: number;
  /** Process start → start of the work (node start-up and module loading), in ms. */
  startupMs: number;
  /** `process.resourceUsage().maxRSS` at the end, in KiB. */
  maxRssKiB: number;
  /** Heap in use after the work and a full GC, with the result still referenced, in bytes. */
  heapRetained: number;
  /** Resources registered (the stack resource excluded). */
  resources: number;
  vms?: number;
  jsonBytes?: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error("run with node --expose-gc");
  g();
}

async function runPlan(stack: string, configFile: string): Promise<Omit<WorkerResult, "maxRssKiB">> {
  const { plan } = require("../src/plan/plan") as typeof import("../src/plan/plan");
  const startupMs = process.uptime() * 1000;
  gc();
  const t0 = process.hrtime.bigint();
  const result = await plan({ stack, configFile });
  if (!result.ok) throw new Error(`plan failed:\n${result.errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`);
  const json = `${JSON.stringify(result.plan, null, 2)}\n`;
  const workMs = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  const heapRetained = process.memoryUsage().heapUsed;
  const vms = result.plan.hosts.reduce((n, h) => n + h.vms.length, 0);
  return { mode: "plan", workMs, startupMs, heapRetained, resources: result.plan.resources.length, vms, jsonBytes: Buffer.byteLength(json) };
}

/** A resource type with no provider behind it: what "bare registration" registers. */
function bareResourceClass() {
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  return class Bare extends pulumi.CustomResource {
    constructor(name: string, props: P.Inputs, opts?: P.CustomResourceOptions) {
      super("bench:index:Bare", name, props, opts);
    }
  };
}

async function runBaseline(count: number): Promise<Omit<WorkerResult, "maxRssKiB">> {
  const { runUnderMocks } = require("../src/plan/mock-runtime") as typeof import("../src/plan/mock-runtime");

  const Bare = bareResourceClass();

  const startupMs = process.uptime() * 1000;
  gc();
  const t0 = process.hrtime.bigint();
  const run = await runUnderMocks({ project: "bench", stack: "baseline", config: {}, invokes: {}, stackTraces: false }, async () => {
    for (let i = 0; i < count; i++) new Bare(`bare-${i}`, { index: i, label: `bare resource ${i}` });
    return {};
  });
  const workMs = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  const heapRetained = process.memoryUsage().heapUsed;
  const resources = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").length;
  if (resources !== count) throw new Error(`baseline registered ${resources} resources, expected ${count}`);
  return { mode: "baseline", workMs, startupMs, heapRetained, resources };
}

/** [input keys, defined input keys] per resource, in registration order. */
export type Shape = [number, number][];

async function writeShape(stack: string, configFile: string, out: string): Promise<void> {
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const { loadFlatConfig } = require("../src/plan/plan") as typeof import("../src/plan/plan");
  const { runUnderMocks } = require("../src/plan/mock-runtime") as typeof import("../src/plan/mock-runtime");
  const { simulatedInventory, simulatedOutputs } = require("../src/plan/simulated-inventory") as typeof import("../src/plan/simulated-inventory");
  const { deployStack } = require("../src/stack") as typeof import("../src/stack");
  const { PROJECT } = require("../src/config/stack-config") as typeof import("../src/config/stack-config");
  const { flat, errors } = loadFlatConfig({ stack, configFile });
  if (!flat || errors.length > 0) throw new Error(`cannot read ${configFile}`);
  const shape: Shape = [];
  await runUnderMocks(
    { project: PROJECT, stack, config: flat.values, secretKeys: flat.secretKeys, invokes: simulatedInventory, outputs: simulatedOutputs },
    async () => {
      pulumi.runtime.registerStackTransformation((a) => {
        const keys = Object.keys(a.props);
        shape.push([keys.length, keys.filter((k) => a.props[k] !== undefined).length]);
        return undefined;
      });
      return deployStack({ offline: true }); // as the plan runs it (no self StackReference)
    },
  );
  require("node:fs").writeFileSync(out, JSON.stringify(shape));
  process.stdout.write(`${JSON.stringify({ resources: shape.length })}\n`);
}

async function runShaped(shapeFile: string): Promise<Omit<WorkerResult, "maxRssKiB">> {
  const { runUnderMocks } = require("../src/plan/mock-runtime") as typeof import("../src/plan/mock-runtime");
  const shape = JSON.parse(require("node:fs").readFileSync(shapeFile, "utf8")) as Shape;

  const Bare = bareResourceClass();

  const startupMs = process.uptime() * 1000;
  gc();
  const t0 = process.hrtime.bigint();
  const run = await runUnderMocks({ project: "bench", stack: "shaped", config: {}, invokes: {}, stackTraces: false }, async () => {
    shape.forEach(([keys, defined], i) => {
      const props: Record<string, unknown> = {};
      for (let k = 0; k < keys; k++) props[`p${k}`] = k < defined ? (k % 2 === 0 ? k : `value ${i}.${k}`) : undefined;
      new Bare(`bare-${i}`, props);
    });
    return {};
  });
  const workMs = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  const heapRetained = process.memoryUsage().heapUsed;
  const resources = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").length;
  return { mode: "shaped", workMs, startupMs, heapRetained, resources };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      stack: { type: "string" },
      "config-file": { type: "string" },
      count: { type: "string" },
      out: { type: "string" },
      shape: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  let r: Omit<WorkerResult, "maxRssKiB">;
  if (positionals[0] === "plan" && values.stack && values["config-file"]) {
    r = await runPlan(values.stack, values["config-file"]);
  } else if (positionals[0] === "baseline" && values.count && /^\d+$/.test(values.count)) {
    r = await runBaseline(Number(values.count));
  } else if (positionals[0] === "shape" && values.stack && values["config-file"] && values.out) {
    return writeShape(values.stack, values["config-file"], values.out);
  } else if (positionals[0] === "shaped" && values.shape) {
    r = await runShaped(values.shape);
  } else {
    throw new Error("usage: worker.js plan --stack NAME --config-file FILE | worker.js baseline --count N | worker.js shape ... | worker.js shaped --shape FILE");
  }
  const out: WorkerResult = { ...r, maxRssKiB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench worker: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
