/**
 * Checks resource inputs and invoke arguments against the real pulumi-vsphere schema
 * (`schemas/vsphere/schema.json`, vendored; pulumi-vsphere 4.17.0), for tests: a misspelled
 * property, a wrong type, a missing required input, an unknown token each give a readable problem.
 *
 * Values may carry the SDK's secret marker (unwrapped; secret values are never printed) and may be
 * `undefined` (an unknown value in a preview; accepted).
 */
import { didYouMean } from "../../components/validation";
import { isSecretMarker } from "../../src/plan/mock-runtime";
import { readSchemaFile, schemaFilePath } from "../../src/codegen/schemas";

export const VSPHERE_SCHEMA_PATH = schemaFilePath("vsphere/schema.json");

/** Token of the provider resource (`pulumi:providers:<package>`). */
export const VSPHERE_PROVIDER_TOKEN = "pulumi:providers:vsphere";

/** The SDK's wire sentinel for an unknown value (a preview's not-yet-known output). */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** How the mock monitor hands an unknown value to the mocks. */
function isUnknownMarker(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>).__pulumiUnknown === true;
}

export interface SchemaTypeSpec {
  type?: string;
  $ref?: string;
  items?: SchemaTypeSpec;
  additionalProperties?: SchemaTypeSpec;
  oneOf?: SchemaTypeSpec[];
}

export interface SchemaProperty extends SchemaTypeSpec {
  description?: string;
  secret?: boolean;
  deprecationMessage?: string;
  willReplaceOnChanges?: boolean;
}

interface SchemaObjectType {
  type?: string;
  properties?: Record<string, SchemaProperty>;
  required?: string[];
  enum?: { name?: string; value: unknown }[];
}

interface SchemaResource {
  properties?: Record<string, SchemaProperty>;
  required?: string[];
  inputProperties?: Record<string, SchemaProperty>;
  requiredInputs?: string[];
}

interface SchemaFunction {
  inputs?: { properties?: Record<string, SchemaProperty>; required?: string[] };
  outputs?: { properties?: Record<string, SchemaProperty>; required?: string[] };
}

export interface VsphereSchema {
  name: string;
  types: Record<string, SchemaObjectType>;
  provider: SchemaResource;
  resources: Record<string, SchemaResource>;
  functions: Record<string, SchemaFunction>;
}

let cached: VsphereSchema | undefined;

/** The parsed schema (read once from the vendored copy in `schemas/vsphere/`). */
export function loadVsphereSchema(): VsphereSchema {
  cached ??= JSON.parse(readSchemaFile("vsphere/schema.json")) as VsphereSchema;
  return cached;
}

/** The input properties and required inputs of a resource token, or `undefined` if unknown. */
function resourceSpec(token: string): { props: Record<string, SchemaProperty>; required: string[] } | undefined {
  const s = loadVsphereSchema();
  const r = token === VSPHERE_PROVIDER_TOKEN ? s.provider : s.resources[token];
  if (!r) return undefined;
  return { props: r.inputProperties ?? {}, required: r.requiredInputs ?? [] };
}

function functionSpec(token: string): { props: Record<string, SchemaProperty>; required: string[] } | undefined {
  const f = loadVsphereSchema().functions[token];
  if (!f) return undefined;
  return { props: f.inputs?.properties ?? {}, required: f.inputs?.required ?? [] };
}

/**
 * The schema type of an input property of a resource (or the provider) or of a function argument;
 * `undefined` when the token or the property does not exist.
 */
export function schemaPropertyType(token: string, prop: string): SchemaProperty | undefined {
  const spec = resourceSpec(token) ?? functionSpec(token);
  return spec && Object.prototype.hasOwnProperty.call(spec.props, prop) ? spec.props[prop] : undefined;
}

/** A short human-readable rendering of a schema type: `string`, `VirtualMachineDisk[]`, `map<string, string>`. */
export function describeType(spec: SchemaTypeSpec): string {
  if (spec.$ref !== undefined) {
    if (spec.$ref.startsWith("pulumi.json#/")) return spec.$ref.slice("pulumi.json#/".length).toLowerCase();
    const name = lastSegment(refToken(spec.$ref) ?? spec.$ref);
    return name.charAt(0).toUpperCase() + name.slice(1);
  }
  if (spec.oneOf) return spec.oneOf.map(describeType).join(" | ");
  switch (spec.type) {
    case "array":
      return `${spec.items ? describeType(spec.items) : "unknown"}[]`;
    case "object":
      return spec.additionalProperties ? `map<string, ${describeType(spec.additionalProperties)}>` : "object";
    default:
      return spec.type ?? "unknown";
  }
}

/** Problems with a resource's inputs (also the provider, `pulumi:providers:vsphere`); empty when fine. */
export function checkResourceInputs(token: string, inputs: Record<string, unknown>): string[] {
  const spec = resourceSpec(token);
  if (!spec) {
    const known = [VSPHERE_PROVIDER_TOKEN, ...Object.keys(loadVsphereSchema().resources)];
    return [`unknown resource token "${token}"${suggest(token, known)}`];
  }
  // The SDK passes a provider's non-string inputs to the engine JSON-encoded.
  const ctx: Ctx = { problems: [], jsonStrings: token === VSPHERE_PROVIDER_TOKEN, secret: false };
  checkProperties(spec.props, spec.required, inputs, lastSegment(token), "input property", ctx);
  return ctx.problems;
}

/** Problems with an invoke's arguments; empty when fine. */
export function checkInvokeArgs(token: string, args: Record<string, unknown>): string[] {
  const spec = functionSpec(token);
  if (!spec) return [`unknown function token "${token}"${suggest(token, Object.keys(loadVsphereSchema().functions))}`];
  const ctx: Ctx = { problems: [], jsonStrings: false, secret: false };
  checkProperties(spec.props, spec.required, args, lastSegment(token), "argument", ctx);
  return ctx.problems;
}

/**
 * Checks every vSphere resource and invoke a mock run recorded (others are ignored), e.g.
 * `checkRecorded(await runUnderMocks(...))`.
 */
export function checkRecorded(run: {
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  invokes: { token: string; args: Record<string, unknown> }[];
}): string[] {
  const problems: string[] = [];
  for (const r of run.resources) {
    if (r.type === VSPHERE_PROVIDER_TOKEN || r.type.startsWith("vsphere:")) {
      problems.push(...checkResourceInputs(r.type, r.inputs).map((p) => `resource "${r.name}": ${p}`));
    }
  }
  for (const i of run.invokes) {
    if (i.token.startsWith("vsphere:")) problems.push(...checkInvokeArgs(i.token, i.args).map((p) => `invoke: ${p}`));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

interface Ctx {
  problems: string[];
  /** Non-string values may arrive as JSON text (provider inputs). */
  jsonStrings: boolean;
  /** Inside a secret: never print the value. */
  secret: boolean;
}

function lastSegment(token: string): string {
  const parts = token.split(":");
  return parts[parts.length - 1];
}

function refToken(ref: string): string | undefined {
  return ref.startsWith("#/types/") ? decodeURIComponent(ref.slice("#/types/".length)) : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown, ctx: Ctx): string {
  const kind = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  if (ctx.secret) return `${kind} [secret]`;
  if (kind === "object" || kind === "array") return kind;
  let text = JSON.stringify(v) ?? String(v);
  if (text.length > 40) text = text.slice(0, 37) + "...";
  return `${kind} ${text}`;
}

function memberPath(where: string, name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${where}.${name}` : `${where}[${JSON.stringify(name)}]`;
}

function checkProperties(
  props: Record<string, SchemaProperty>,
  required: string[],
  value: Record<string, unknown>,
  where: string,
  noun: string,
  ctx: Ctx,
): void {
  const names = Object.keys(props);
  for (const [k, v] of Object.entries(value)) {
    const p = memberPath(where, k);
    if (!Object.prototype.hasOwnProperty.call(props, k)) {
      ctx.problems.push(`${p}: unknown ${noun} "${k}"${suggest(k, names)}`);
      continue;
    }
    checkValue(props[k], v, p, ctx);
  }
  for (const r of required) {
    const present = Object.prototype.hasOwnProperty.call(value, r);
    const v = present ? stripSecret(value[r]) : undefined;
    // `undefined` under a present key is an unknown (preview); only an absent key or null is missing.
    if (!present || v === null) ctx.problems.push(`${memberPath(where, r)}: required ${noun} "${r}" is missing`);
  }
}

function stripSecret(v: unknown): unknown {
  return isSecretMarker(v) ? stripSecret(v.value) : v;
}

function checkValue(spec: SchemaTypeSpec, value: unknown, where: string, ctx: Ctx): void {
  if (value === undefined || value === UNKNOWN_SENTINEL || isUnknownMarker(value)) return; // unknown in a preview
  if (isSecretMarker(value)) {
    const wasSecret = ctx.secret;
    ctx.secret = true;
    checkValue(spec, value.value, where, ctx);
    ctx.secret = wasSecret;
    return;
  }
  if (value === null) return; // an explicit null is "not set"
  const expected = describeType(spec);
  const mismatch = () => ctx.problems.push(`${where}: expected ${expected}, got ${show(value, ctx)}`);

  if (ctx.jsonStrings && typeof value === "string" && !(spec.type === "string" && spec.$ref === undefined)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      ctx.problems.push(`${where}: expected JSON-encoded ${expected}, got ${show(value, ctx)}`);
      return;
    }
    const wasJson = ctx.jsonStrings;
    ctx.jsonStrings = false;
    checkValue(spec, parsed, where, ctx);
    ctx.jsonStrings = wasJson;
    return;
  }

  if (spec.$ref !== undefined) {
    switch (spec.$ref) {
      case "pulumi.json#/Any":
      case "pulumi.json#/Json":
        return;
      case "pulumi.json#/Asset":
      case "pulumi.json#/Archive":
        if (!isPlainObject(value)) mismatch();
        return;
    }
    const tok = refToken(spec.$ref);
    const t = tok === undefined ? undefined : loadVsphereSchema().types[tok];
    if (!t) {
      ctx.problems.push(`${where}: the schema has no type ${spec.$ref}`);
      return;
    }
    if (t.enum) {
      if (!t.enum.some((e) => e.value === value)) {
        ctx.problems.push(
          `${where}: expected one of ${t.enum.map((e) => JSON.stringify(e.value)).join(", ")} (${expected}), got ${show(value, ctx)}`,
        );
      }
      return;
    }
    if (!isPlainObject(value)) {
      mismatch();
      return;
    }
    checkProperties(t.properties ?? {}, t.required ?? [], value, where, `property of ${expected}`, ctx);
    return;
  }

  if (spec.oneOf) {
    const ok = spec.oneOf.some((alt) => {
      const sub: Ctx = { ...ctx, problems: [] };
      checkValue(alt, value, where, sub);
      return sub.problems.length === 0;
    });
    if (!ok) mismatch();
    return;
  }

  switch (spec.type) {
    case "string":
      if (typeof value !== "string") mismatch();
      return;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) mismatch();
      return;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) mismatch();
      return;
    case "boolean":
      if (typeof value !== "boolean") mismatch();
      return;
    case "array":
      if (!Array.isArray(value)) {
        mismatch();
        return;
      }
      if (spec.items) value.forEach((x, i) => checkValue(spec.items!, x, `${where}[${i}]`, ctx));
      return;
    case "object":
      if (!isPlainObject(value)) {
        mismatch();
        return;
      }
      if (spec.additionalProperties) {
        for (const [k, x] of Object.entries(value)) checkValue(spec.additionalProperties, x, `${where}[${JSON.stringify(k)}]`, ctx);
      }
      return;
    default:
      ctx.problems.push(`${where}: the schema type ${JSON.stringify(spec)} is not understood by the checker`);
  }
}

/** ` (did you mean "x"?)` for a likely typo (the same hint the configuration errors give). */
function suggest(name: string, known: string[]): string {
  return didYouMean(name, known);
}
