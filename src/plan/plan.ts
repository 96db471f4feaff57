import { createHash } from "node:crypto";
/**
 * The offline plan: evaluates the stack program under the SDK's mock runtime, with simulated
 * vCenter lookups, and reports what `pulumi up` would create, where every VM goes, and the
 * artifacts the layers render. No CLI, no engine, no vCenter.
 */
import * as path from "node:path";
import { Artifact } from "../../components/artifacts";
import { FieldError } from "../../components/validation";
import type { PlannedHost } from "../../components/cluster/backend";
import { StackDecisions, decideStack } from "../config/decisions";
import { PROJECT } from "../config/stack-config";
import { deployStack, stackArtifacts, stackSections } from "../stack";
import { OutputsHandler, RecordedInvoke, RecordedResource, UNKNOWN_TEXT, redactSecrets, runUnderMocks } from "./mock-runtime";
import { simulatedInventory, simulatedOutputs } from "./simulated-inventory";
import { FlatConfig, StackFileError, applyOverrides, flatten, readStackFile } from "./stack-file";

export const SIMULATION_NOTE =
  "simulated: vCenter lookups (datacenter, compute cluster, datastore, network, template, hosts, storage policies, " +
  "content libraries) are answered with deterministic placeholder values; no vCenter, Supervisor, Pulumi engine or " +
  "cluster was contacted";

export interface PlanOptions {
  stack: string;
  /** Defaults to `Pulumi.<stack>.yaml` in `cwd`. */
  configFile?: string;
  sets?: string[];
  cwd?: string;
  /** Extra simulated outputs per resource type (tests use it to give tls/random realistic values). */
  simulate?: Record<string, OutputsHandler>;
  /**
   * The running cluster's last applied state (the stack output `clusterLifecycle`, e.g. from
   * `pulumi stack output clusterLifecycle --json`): the plan then applies the change rules to it.
   */
  previousCluster?: unknown;
}

export type { PlannedHost, PlannedVm } from "../../components/cluster/backend";

/**
 * Version of the plan JSON's shape. A reader of plan JSON (`plan --compare BASE.json`) refuses a
 * newer version; plans written before the field existed are version 0. Bump it when a field is
 * removed or changes meaning; additive fields keep it.
 */
export const PLAN_FORMAT_VERSION = 1;

export interface Plan {
  formatVersion?: number;
  stack: string;
  configFile: string;
  simulated: string;
  endpoint: { kind: string; address: string; port: number };
  counts: Record<string, number>;
  /** `ignoreChanges` and `replaceOnChanges` appear only on resources that set them. */
  resources: { type: string; name: string; parent: string | null; inputs: unknown; ignoreChanges?: string[]; replaceOnChanges?: string[]; provider?: string; beforeDelete?: string[]; beforeUpdate?: string[] }[];
  hosts: PlannedHost[];
  /** `sha256` of the content (plans written before it have none). */
  artifacts: { path: string; kind: string; sha256?: string }[];
  outputs: Record<string, unknown>;
  /** The stack configuration as the program saw it (flat `namespace:key` → text; secure values "[secret]"). */
  config?: Record<string, string>;
  /** Layer sections (e.g. `spark`), keyed by name. */
  [section: string]: unknown;
}

export type PlanResult =
  | { ok: true; plan: Plan; artifacts: Artifact[]; decisions: StackDecisions; recorded: RecordedResource[]; recordedInvokes: RecordedInvoke[]; sectionText: string[] }
  | { ok: false; errors: FieldError[]; /** The configuration is valid but the change to the running cluster is refused. */ refused?: boolean };

/** Reads the stack file and the overrides into Pulumi's flat form, or returns the problems. */
export function loadFlatConfig(opts: PlanOptions): { flat?: FlatConfig; file: string; errors: FieldError[] } {
  const file = path.resolve(opts.cwd ?? process.cwd(), opts.configFile ?? `Pulumi.${opts.stack}.yaml`);
  try {
    const raw = readStackFile(file);
    const errors = applyOverrides(raw, opts.sets ?? []);
    return { flat: flatten(raw), file, errors };
  } catch (e) {
    if (e instanceof StackFileError) return { file, errors: [{ path: path.basename(file), message: e.message }] };
    throw e;
  }
}

/** Secure values are already "[secret]"; keys named like credentials are redacted too (a password left in clear). */
const CREDENTIAL_KEY = /password|secret|token|privatekey/i;
function redactedConfig(flat: FlatConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat.values)) out[k] = flat.secretKeys.includes(k) || CREDENTIAL_KEY.test(k) ? "[secret]" : v;
  return out;
}

export async function plan(opts: PlanOptions): Promise<PlanResult> {
  const { flat, file, errors } = loadFlatConfig(opts);
  if (!flat || errors.length > 0) return { ok: false, errors };
  const decided = decideStack(flat.values, flat.secretKeys);
  if (!decided.decisions) return { ok: false, errors: decided.errors };
  const decisions = decided.decisions;
  const backend = decisions.cluster.plan();
  // The change rules against the running cluster's state, when given (the program applies them too;
  // today's date only dates the certificate-expiry note).
  const change = opts.previousCluster !== undefined && decisions.cluster.lifecycle ? decisions.cluster.lifecycle.check(opts.previousCluster, new Date()) : undefined;
  if (change && change.refusals.length > 0) return { ok: false, errors: change.refusals, refused: true };

  const run = await runUnderMocks(
    {
      project: PROJECT,
      stack: opts.stack,
      config: redactedConfig(flat),
      secretKeys: flat.secretKeys,
      invokes: simulatedInventory,
      outputs: { ...simulatedOutputs, ...opts.simulate },
      stackTraces: false,
    },
    () => deployStack({ offline: true, previousCluster: opts.previousCluster }),
  );

  const resources = run.resources
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      inputs: redactSecrets(r.inputs),
      ...(r.ignoreChanges && r.ignoreChanges.length > 0 ? { ignoreChanges: [...r.ignoreChanges] } : {}),
      ...(r.replaceOnChanges && r.replaceOnChanges.length > 0 ? { replaceOnChanges: [...r.replaceOnChanges] } : {}),
      ...(r.provider ? { provider: r.provider } : {}),
      ...(r.beforeDelete && r.beforeDelete.length > 0 ? { beforeDelete: [...r.beforeDelete] } : {}),
      ...(r.beforeUpdate && r.beforeUpdate.length > 0 ? { beforeUpdate: [...r.beforeUpdate] } : {}),
    }));
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;

  const hosts: PlannedHost[] = backend.hosts;

  // The back end's plan is computed once (above) and shared: it renders every node's files.
  const artifacts = stackArtifacts(decisions, backend);
  const sections = stackSections(decisions, backend);
  if (change) {
    sections.json.changes = { notes: change.notes };
    sections.text.push(["Changes to the running cluster (against the given previous state):", ...(change.notes.length > 0 ? change.notes.map((n) => `  - ${n}`) : ["  nothing to note"])].join("\n"));
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(run.outputs)) {
    outputs[k] = run.secretOutputs.includes(k) ? "[secret]" : run.unknownOutputs.includes(k) ? UNKNOWN_TEXT : v;
  }

  return {
    ok: true,
    decisions,
    artifacts,
    recorded: run.resources,
    recordedInvokes: run.invokes,
    sectionText: sections.text,
    plan: {
      formatVersion: PLAN_FORMAT_VERSION,
      stack: opts.stack,
      configFile: file,
      simulated: SIMULATION_NOTE,
      endpoint: { ...backend.endpoint },
      counts,
      resources,
      hosts,
      artifacts: artifacts.map((a) => ({ path: a.path, kind: a.kind, sha256: createHash("sha256").update(a.content).digest("hex") })),
      outputs,
      config: redactedConfig(flat),
      ...sections.json,
    },
  };
}
