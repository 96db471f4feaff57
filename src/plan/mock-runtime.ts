/**
 * Runs a Pulumi program under the SDK's own mock runtime (no CLI, no engine, no cloud) and records
 * the resource graph it registers. Used by the offline plan and by the tests.
 *
 * Strict by design: an invoke without a handler fails the run, so a lookup the program makes is
 * always one the plan knows how to simulate.
 */
import * as pulumi from "@pulumi/pulumi";

/** Marker the SDK uses on the wire for a secret value (kept by the mock monitor's deserializer). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export const SECRET_TEXT = "[secret]";
/** What a preview cannot know yet (generated keys, vCenter ids). */
export const UNKNOWN_TEXT = "[known after pulumi up]";

export interface RecordedResource {
  type: string;
  name: string;
  /** Name of the parent resource; `undefined` for children of the stack. */
  parent?: string;
  custom: boolean;
  /** Inputs as the engine would receive them; secrets keep the SDK's secret marker. */
  inputs: Record<string, unknown>;
  /** The `version` resource option (the provider plugin version the engine would use). */
  version?: string;
  /** The `ignoreChanges` resource option. */
  ignoreChanges?: string[];
  /** The `replaceOnChanges` resource option. */
  replaceOnChanges?: string[];
  /** Name of the explicit `provider` resource option's provider (e.g. `spark-k8s`). */
  provider?: string;
  /** Names of the `beforeDelete` resource hooks bound to it (node retirement on VMs). */
  beforeDelete?: string[];
  /** Names of the `beforeUpdate` resource hooks bound to it (the rolling drain of a power cycle on VMs). */
  beforeUpdate?: string[];
}

/** Names of the resource hooks the program registered in the run. */
export const registeredHooks: string[] = [];

export interface RecordedInvoke {
  token: string;
  args: Record<string, unknown>;
}

export type InvokeHandler = (args: Record<string, unknown>) => Record<string, unknown>;
/** Extra output properties a type reports after creation (ids are always provided). */
export type OutputsHandler = (name: string, inputs: Record<string, unknown>) => Record<string, unknown>;

export interface MockRuntimeOptions {
  project: string;
  stack: string;
  /** Flat Pulumi config: `namespace:key` → string (structured values as JSON text). */
  config: Record<string, string>;
  /** Config keys whose values are secrets. */
  secretKeys?: string[];
  invokes: Record<string, InvokeHandler>;
  outputs?: Record<string, OutputsHandler>;
  /** Runs as a preview (`pulumi preview`) rather than an update; default true. */
  preview?: boolean;
  /**
   * Keep JavaScript stack traces during the run (default true). The SDK captures one for every
   * promise it makes (several per resource property), which dominates its cost; the offline plan
   * turns them off, since it reports errors by their messages.
   */
  stackTraces?: boolean;
}

export interface MockRunResult<T> {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  /** The program's return value, unwrapped (secret-ness is reported in `secretOutputs`). */
  outputs: T;
  /** Names of top-level stack outputs that are Pulumi secrets. */
  secretOutputs: string[];
  /** Names of top-level stack outputs not known until a real update (e.g. generated keys). */
  unknownOutputs: string[];
}

export function isSecretMarker(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** How the mock monitor hands an unknown value (a preview's not-yet-known output) to the mocks. */
export function isUnknownMarker(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>).__pulumiUnknown === true;
}

/** Rebuilds a recorded value, letting `leaf` replace any node it recognizes (else it recurses). */
function mapRecorded(v: unknown, leaf: (x: unknown, again: (y: unknown) => unknown) => unknown | typeof KEEP): unknown {
  const again = (y: unknown): unknown => mapRecorded(y, leaf);
  const replaced = leaf(v, again);
  if (replaced !== KEEP) return replaced;
  if (Array.isArray(v)) return v.map(again);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, again(x)]));
  return v;
}
const KEEP = Symbol("keep");

/**
 * Replaces every secret inside a recorded value with `"[secret]"`, and every value a preview
 * cannot know with `"[known after pulumi up]"`.
 */
export function redactSecrets(v: unknown): unknown {
  return mapRecorded(v, (x) => (isSecretMarker(x) ? SECRET_TEXT : isUnknownMarker(x) ? UNKNOWN_TEXT : KEEP));
}

/** Removes secret markers, keeping the values (for assertions on what a resource would receive). */
export function unwrapSecrets(v: unknown): unknown {
  return mapRecorded(v, (x, again) => (isSecretMarker(x) ? again(x.value) : KEEP));
}

let running = false;

/**
 * Evaluates `program` as the root of a Pulumi stack under mocks. Runs are serialized: the SDK's
 * runtime state is global, so a second run waits for the first one to finish.
 */
export async function runUnderMocks<T extends Record<string, unknown>>(
  options: MockRuntimeOptions,
  program: () => Promise<T> | T,
): Promise<MockRunResult<T>> {
  if (running) throw new Error("runUnderMocks: another mock run is in progress");
  running = true;
  const limit = Error.stackTraceLimit;
  if (options.stackTraces === false) Error.stackTraceLimit = 0;
  try {
    return await runOnce(options, program);
  } finally {
    Error.stackTraceLimit = limit;
    running = false;
  }
}

async function runOnce<T extends Record<string, unknown>>(
  options: MockRuntimeOptions,
  program: () => Promise<T> | T,
): Promise<MockRunResult<T>> {
  const resources: RecordedResource[] = [];
  const invokes: RecordedInvoke[] = [];
  const meta = new Map<string, { parent?: string; version?: string; ignoreChanges?: string[]; replaceOnChanges?: string[]; provider?: string; beforeDelete?: string[]; beforeUpdate?: string[] }>();
  let failure: Error | undefined;

  const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
      const m = meta.get(`${args.type}::${args.name}`) ?? {};
      resources.push({
        type: args.type,
        name: args.name,
        parent: m.parent,
        custom: args.custom ?? true,
        inputs: args.inputs,
        version: m.version,
        ignoreChanges: m.ignoreChanges,
        replaceOnChanges: m.replaceOnChanges,
        ...(m.provider ? { provider: m.provider } : {}),
        ...(m.beforeDelete?.length ? { beforeDelete: m.beforeDelete } : {}),
        ...(m.beforeUpdate?.length ? { beforeUpdate: m.beforeUpdate } : {}),
      });
      const extra = options.outputs?.[args.type]?.(args.name, args.inputs) ?? {};
      return { id: args.type === "pulumi:pulumi:Stack" ? "" : `${args.name}-id`, state: { ...args.inputs, ...extra } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      invokes.push({ token: args.token, args: args.inputs });
      const handler = options.invokes[args.token];
      if (!handler) {
        const err = new Error(`unexpected invoke ${args.token} (no simulated answer for it)`);
        failure ??= err;
        throw err;
      }
      return handler(args.inputs);
    },
  };

  // The SDK keeps configuration and the monitor in process-wide state; both are replaced here.
  await pulumi.runtime.setMocks(mocks, options.project, options.stack, options.preview ?? true);
  // The SDK's mock monitor (3.270) has neither RegisterResourceHook nor RegisterErrorHook, though
  // setMocks declares both features: a program that registers a ResourceHook or an ErrorHook would
  // wait forever under mocks. The hooks are recorded instead (never called: a mock run deletes and
  // updates nothing).
  registeredHooks.length = 0;
  type Register = (req: { getName(): string }, cb: (err: Error | null, res: unknown) => void) => void;
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResourceHook?: Register; registerErrorHook?: Register };
  const record: Register = (req, cb) => {
    registeredHooks.push(req.getName());
    cb(null, {});
  };
  if (monitor && typeof monitor.registerResourceHook !== "function") monitor.registerResourceHook = record;
  if (monitor && typeof monitor.registerErrorHook !== "function") monitor.registerErrorHook = record;
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);

  let raw: T | undefined;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((a) => {
        const parent = a.opts.parent as (pulumi.Resource & { __name?: string }) | undefined;
        meta.set(`${a.type}::${a.name}`, {
          parent: parent?.__name,
          version: (a.opts as pulumi.CustomResourceOptions).version,
          ignoreChanges: a.opts.ignoreChanges,
          replaceOnChanges: a.opts.replaceOnChanges,
          provider: ((a.opts as pulumi.CustomResourceOptions).provider as (pulumi.ProviderResource & { __name?: string }) | undefined)?.__name,
          beforeDelete: (a.opts.hooks?.beforeDelete ?? []).map((h) => h.name),
          beforeUpdate: (a.opts.hooks?.beforeUpdate ?? []).map((h) => (h instanceof pulumi.ResourceHook ? h.name : "(anonymous)")),
        });
        return undefined;
      });
      raw = await program();
      return raw;
    });
    await pulumi.runtime.disconnect();
  } catch (e) {
    // The SDK reports a failed mock invoke as a bare gRPC error: surface the real cause.
    const err = (failure ?? e) as Error & { recordedResources?: RecordedResource[] };
    if (typeof err === "object" && err !== null) err.recordedResources = resources;
    throw err;
  }
  if (failure) throw failure;

  // Each top-level output on its own: in a preview, values that depend on what only the cloud
  // knows (keys, ids) are unknown; they are reported as such instead of hiding the others.
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  const unknownOutputs: string[] = [];
  for (const [k, v] of Object.entries(raw ?? {})) {
    const o = pulumi.output(v) as unknown as { isKnown: Promise<boolean>; isSecret: Promise<boolean>; promise(): Promise<unknown> };
    const [known, secret, value] = await Promise.all([o.isKnown, o.isSecret, o.promise()]);
    if (secret) secretOutputs.push(k);
    if (!known) unknownOutputs.push(k);
    outputs[k] = known ? value : undefined;
  }
  return { resources, invokes, outputs: outputs as T, secretOutputs, unknownOutputs };
}
