/**
 * Generates `components/vsphere/binding/index.ts`, a typed binding for a subset of the
 * pulumi-vsphere provider, from the provider's real Pulumi schema
 * (`schemas/vsphere/schema.json`, vendored gzip-compressed; pulumi-vsphere 4.17.0).
 *
 * The binding mirrors the shape of the generated `@pulumi/vsphere` Node SDK (classes extending
 * `pulumi.CustomResource`, `XxxArgs` interfaces, `getXxx` / `getXxxOutput` invokes, nested types
 * under `types.input` / `types.output`), so switching to the real package later is an import change.
 *
 * Run: `npx tsc -p . && node dist/src/codegen/generate-vsphere-binding.js`
 *
 * Plain Node + TypeScript, no dependencies beyond the standard library.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, readSchemaFile } from "./schemas";

/** Version of pulumi-resource-vsphere the schema belongs to (the schema itself has no version field). */
export const VSPHERE_PROVIDER_VERSION = "4.17.0";

/** The schema, as given to the generator (relative to `schemas/`, for the header). */
export const SCHEMA_RELATIVE_PATH = "vsphere/schema.json";
export const BINDING_RELATIVE_PATH = "components/vsphere/binding/index.ts";
export const BINDING_PATH = path.resolve(REPO_ROOT, BINDING_RELATIVE_PATH);
export const GENERATE_COMMAND = "npx tsc -p . && node dist/src/codegen/generate-vsphere-binding.js";

/** The provider resource's token. */
export const PROVIDER_TOKEN = "pulumi:providers:vsphere";

/** Resource tokens bound (besides the provider). */
export const BOUND_RESOURCES: readonly string[] = [
  "vsphere:index/virtualMachine:VirtualMachine",
  "vsphere:index/resourcePool:ResourcePool",
  "vsphere:index/folder:Folder",
  "vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup",
  "vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup",
  "vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule",
  "vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule",
  // vSphere with Tanzu (components/tanzu)
  "vsphere:index/virtualMachineClass:VirtualMachineClass",
  "vsphere:index/namespace:Namespace",
];

/** Function (invoke) tokens bound. */
export const BOUND_FUNCTIONS: readonly string[] = [
  "vsphere:index/getDatacenter:getDatacenter",
  "vsphere:index/getComputeCluster:getComputeCluster",
  "vsphere:index/getDatastore:getDatastore",
  "vsphere:index/getNetwork:getNetwork",
  "vsphere:index/getVirtualMachine:getVirtualMachine",
  "vsphere:index/getHost:getHost",
  "vsphere:index/getResourcePool:getResourcePool",
  // vSphere with Tanzu (components/tanzu): storage policy and content library ids by name
  "vsphere:index/getPolicy:getPolicy",
  "vsphere:index/getContentLibrary:getContentLibrary",
];

// ---------------------------------------------------------------------------------------------
// Schema model (only the parts this generator reads)
// ---------------------------------------------------------------------------------------------

export interface TypeSpec {
  type?: string;
  $ref?: string;
  items?: TypeSpec;
  additionalProperties?: TypeSpec;
  oneOf?: TypeSpec[];
}

export interface PropertySpec extends TypeSpec {
  description?: string;
  secret?: boolean;
  deprecationMessage?: string;
  willReplaceOnChanges?: boolean;
  defaultInfo?: { environment?: string[] };
}

interface ObjectTypeSpec {
  type?: string;
  description?: string;
  properties?: Record<string, PropertySpec>;
  required?: string[];
  enum?: { name?: string; value: unknown; description?: string }[];
  language?: { nodejs?: { requiredOutputs?: string[] } };
}

interface ResourceSpec {
  description?: string;
  properties?: Record<string, PropertySpec>;
  required?: string[];
  inputProperties?: Record<string, PropertySpec>;
  requiredInputs?: string[];
  methods?: Record<string, string>;
}

interface FunctionSpec {
  description?: string;
  inputs?: { properties?: Record<string, PropertySpec>; required?: string[] };
  outputs?: { properties?: Record<string, PropertySpec>; required?: string[] };
}

interface PackageSpec {
  name: string;
  types?: Record<string, ObjectTypeSpec>;
  provider?: ResourceSpec;
  resources?: Record<string, ResourceSpec>;
  functions?: Record<string, FunctionSpec>;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const TYPE_REF_PREFIX = "#/types/";
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function key(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

function access(obj: string, name: string): string {
  return IDENT.test(name) ? `${obj}.${name}` : `${obj}[${JSON.stringify(name)}]`;
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Last segment of a token: `vsphere:index/virtualMachine:VirtualMachine` → `VirtualMachine`. */
function tokenName(token: string): string {
  const parts = token.split(":");
  return parts[parts.length - 1];
}

/** The schema type token a `$ref` points to, or `undefined` for non-local refs. */
function refToken(ref: string): string | undefined {
  return ref.startsWith(TYPE_REF_PREFIX) ? decodeURIComponent(ref.slice(TYPE_REF_PREFIX.length)) : undefined;
}

/** Pascal-cased type name as the generated SDK names it (`getNetworkFilter` → `GetNetworkFilter`). */
function typeName(token: string): string {
  return pascal(tokenName(token));
}

/** Keeps the Node.js rendering of the schema's per-language `<span pulumi-lang-…>` snippets. */
function cleanDescription(text: string): string {
  return text
    .replace(/<span pulumi-lang-nodejs="([^"]*)"[^>]*>[\s\S]*?<\/span>/g, "$1")
    .replace(/\r\n/g, "\n")
    .trim();
}

/** First paragraph of a resource or function description (the rest is examples and import docs). */
function summary(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const cleaned = cleanDescription(text);
  const para = cleaned.split(/\n\s*\n|\n## /)[0].trim();
  return para || undefined;
}

function docComment(indent: string, text: string | undefined, deprecated?: string): string[] {
  const lines: string[] = [];
  if (text) lines.push(...cleanDescription(text).split("\n"));
  if (deprecated) lines.push(`@deprecated ${deprecated}`);
  if (lines.length === 0) return [];
  return [
    `${indent}/**`,
    ...lines.map((l) => `${indent} *${l.trim() === "" ? "" : " " + l.replace(/\*\//g, "*&#47;").trimEnd()}`),
    `${indent} */`,
  ];
}

type Variant =
  /** resource inputs: every level is `pulumi.Input<…>`, nested types are `types.input.X` */
  | "input"
  /** plain function arguments: nested types are `types.input.X` (plain) */
  | "plain"
  /** `getXxxOutput` arguments: every level is `pulumi.Input<…>`, nested types are `types.input.XArgs` */
  | "outputArgs"
  /** outputs: plain values, nested types are `types.output.X` */
  | "output";

// ---------------------------------------------------------------------------------------------
// Renderer
// ---------------------------------------------------------------------------------------------

class Renderer {
  private readonly types: Record<string, ObjectTypeSpec>;
  /** Object types reached, per variant. */
  private readonly reached: Record<"input" | "plain" | "output", Set<string>> = {
    input: new Set(),
    plain: new Set(),
    output: new Set(),
  };
  private readonly envHelpers = new Set<"getEnv" | "getEnvBoolean" | "getEnvNumber">();

  constructor(private readonly schema: PackageSpec) {
    this.types = schema.types ?? {};
  }

  private objectType(token: string): ObjectTypeSpec {
    const t = this.types[token];
    if (!t) throw new Error(`schema: type ${token} is referenced but not defined`);
    return t;
  }

  /** TypeScript type of a schema type in a given variant; records the object types reached. */
  tsType(spec: TypeSpec, variant: Variant): string {
    const inner = this.tsInner(spec, variant);
    return variant === "input" || variant === "outputArgs" ? `pulumi.Input<${inner}>` : inner;
  }

  private tsInner(spec: TypeSpec, variant: Variant): string {
    if (spec.$ref !== undefined) {
      if (spec.$ref === "pulumi.json#/Any" || spec.$ref === "pulumi.json#/Json") return "any";
      if (spec.$ref === "pulumi.json#/Archive") return "pulumi.asset.Archive";
      if (spec.$ref === "pulumi.json#/Asset") return "pulumi.asset.Asset | pulumi.asset.Archive";
      const tok = refToken(spec.$ref);
      if (tok === undefined) throw new Error(`unsupported $ref ${spec.$ref}`);
      const t = this.objectType(tok);
      if (t.enum) {
        // Enums are rendered inline as a union of their values (the real SDK also accepts the values).
        return t.enum.map((e) => JSON.stringify(e.value)).join(" | ");
      }
      const name = typeName(tok);
      switch (variant) {
        case "input":
          this.reach(tok, "input");
          return `types.input.${name}`;
        case "plain":
          this.reach(tok, "plain");
          return `types.input.${name}`;
        case "outputArgs":
          this.reach(tok, "plain");
          return `types.input.${name}Args`;
        case "output":
          this.reach(tok, "output");
          return `types.output.${name}`;
      }
    }
    if (spec.oneOf) return spec.oneOf.map((s) => this.tsInner(s, variant)).join(" | ");
    switch (spec.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "array":
        if (!spec.items) throw new Error("schema: array without items");
        return `${this.tsType(spec.items, variant)}[]`;
      case "object":
        if (!spec.additionalProperties) return "{[key: string]: any}";
        return `Record<string, ${this.tsType(spec.additionalProperties, variant)}>`;
      default:
        throw new Error(`unsupported schema type ${JSON.stringify(spec)}`);
    }
  }

  private reach(token: string, kind: "input" | "plain" | "output"): void {
    const set = this.reached[kind];
    if (set.has(token)) return;
    set.add(token);
    const t = this.objectType(token);
    for (const p of Object.values(t.properties ?? {})) {
      // Variants of nested types follow their parent's.
      this.tsType(p, kind === "input" ? "input" : kind === "plain" ? "plain" : "output");
      if (kind === "plain") this.tsType(p, "outputArgs");
    }
  }

  // -------------------------------------------------------------------------------------------

  render(): string {
    const body: string[] = [];
    body.push(...this.renderProvider());
    for (const token of BOUND_RESOURCES) body.push(...this.renderResource(token));
    for (const token of BOUND_FUNCTIONS) body.push(...this.renderFunction(token));
    const types = this.renderTypes();

    for (const tok of this.reached.input) {
      if (this.reached.plain.has(tok)) {
        throw new Error(`type ${tok} is used both by resource inputs and by function arguments: not supported`);
      }
    }

    const out: string[] = [
      "// *** GENERATED FILE: DO NOT EDIT BY HAND. ***",
      `// Generated by \`${GENERATE_COMMAND}\``,
      `// (src/codegen/generate-vsphere-binding.ts) from schemas/${SCHEMA_RELATIVE_PATH} (vendored, gzip-compressed)`,
      `// (Pulumi package "${this.schema.name}", provider plugin pulumi-resource-vsphere ${VSPHERE_PROVIDER_VERSION}).`,
      "// A typed binding shaped like the generated @pulumi/vsphere Node SDK, for the resources and",
      "// functions this project uses. Edit the generator and regenerate instead of editing this file.",
      "// One departure from @pulumi/vsphere's shape: a resource registers only the inputs its caller",
      "// sets (plus its output-only properties), not every input as undefined. The engine receives",
      "// the same inputs (undefined ones are never sent), but the SDK's work and memory per resource",
      "// grow with the keys it is given (BENCHMARKS.md, \"The plan at scale\"); an optional input's",
      "// property therefore exists only when it was set, and is typed as possibly absent.",
      "",
      'import * as pulumi from "@pulumi/pulumi";',
      "",
      "/** Version of the pulumi-resource-vsphere plugin this binding was generated for. */",
      `export const providerVersion = ${JSON.stringify(VSPHERE_PROVIDER_VERSION)};`,
      "",
      "/** Package name of the provider (the `pulumi:providers:<name>` resource type). */",
      `export const packageName = ${JSON.stringify(this.schema.name)};`,
      "",
      "/**",
      " * Default options merged into every resource registration and invoke (caller options win),",
      " * like the generated SDK's `utilities.resourceOptsDefaults()`: the engine uses `version` to",
      " * choose (and install) the provider plugin.",
      " */",
      "export function resourceOptsDefaults(): { version: string } {",
      "    return { version: providerVersion };",
      "}",
      "",
      ...this.renderEnvHelpers(),
      ...body,
      ...types,
    ];
    return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
  }

  private renderEnvHelpers(): string[] {
    const out: string[] = [];
    if (this.envHelpers.size === 0) return out;
    out.push(
      "function getEnv(...vars: string[]): string | undefined {",
      "    for (const v of vars) {",
      "        const value = process.env[v];",
      "        if (value) {",
      "            return value;",
      "        }",
      "    }",
      "    return undefined;",
      "}",
      "",
    );
    if (this.envHelpers.has("getEnvBoolean")) {
      out.push(
        "function getEnvBoolean(...vars: string[]): boolean | undefined {",
        "    const s = getEnv(...vars);",
        "    if (s !== undefined) {",
        "        // The values Go's strconv.ParseBool accepts (what Terraform uses).",
        '        if (["1", "t", "T", "true", "TRUE", "True"].includes(s)) {',
        "            return true;",
        "        }",
        '        if (["0", "f", "F", "false", "FALSE", "False"].includes(s)) {',
        "            return false;",
        "        }",
        "    }",
        "    return undefined;",
        "}",
        "",
      );
    }
    if (this.envHelpers.has("getEnvNumber")) {
      out.push(
        "function getEnvNumber(...vars: string[]): number | undefined {",
        "    const s = getEnv(...vars);",
        "    if (s !== undefined) {",
        "        const f = parseFloat(s);",
        "        if (!isNaN(f)) {",
        "            return f;",
        "        }",
        "    }",
        "    return undefined;",
        "}",
        "",
      );
    }
    return out;
  }

  private isString(spec: TypeSpec): boolean {
    return spec.type === "string" && spec.$ref === undefined;
  }

  private renderProvider(): string[] {
    const p = this.schema.provider;
    if (!p) throw new Error("schema has no provider section");
    const inputs = p.inputProperties ?? {};
    const outputs = p.properties ?? {};
    const required = new Set(p.requiredInputs ?? []);
    const pkg = this.schema.name;
    const out: string[] = [];

    out.push(
      "/**",
      ` * The provider type for the ${pkg} package. By default, resources use package-wide configuration`,
      " * settings (`vsphere:*` config keys); an explicit `Provider` instance may be created and passed",
      " * during resource construction (`provider` option) for fine-grained control over provider settings.",
      " */",
      "export class Provider extends pulumi.ProviderResource {",
      "    /** @internal */",
      `    public static readonly __pulumiType = ${JSON.stringify(pkg)};`,
      "",
      "    /**",
      "     * Returns true if the given object is an instance of Provider.  This is designed to work even",
      "     * when multiple copies of the Pulumi SDK have been loaded into the same process.",
      "     */",
      "    public static isInstance(obj: any): obj is Provider {",
      "        if (obj === undefined || obj === null) {",
      "            return false;",
      "        }",
      '        return obj["__pulumiType"] === "pulumi:providers:" + Provider.__pulumiType;',
      "    }",
      "",
    );
    // As in the generated SDK, a provider only exposes its string-typed properties as outputs
    // (the engine passes provider inputs as strings; other types arrive JSON-encoded).
    for (const [name, prop] of Object.entries(outputs)) {
      if (!this.isString(prop)) continue;
      const opt = (p.required ?? []).includes(name) ? "" : " | undefined";
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      out.push(`    public readonly ${key(name)}!: pulumi.Output<${this.tsType(prop, "output")}${opt}>;`);
    }
    out.push(
      "",
      "    /**",
      "     * Create a Provider resource with the given unique name, arguments, and options.",
      "     *",
      "     * @param name The _unique_ name of the resource.",
      "     * @param args The arguments to use to populate this resource's properties.",
      "     * @param opts A bag of options that control this resource's behavior.",
      "     */",
      `    constructor(name: string, args${required.size ? "" : "?"}: ProviderArgs, opts?: pulumi.ResourceOptions) {`,
      "        const resourceInputs: pulumi.Inputs = {};",
      "        opts = opts || {};",
    );
    for (const r of required) {
      out.push(
        `        if (args?.${r} === undefined && !opts.urn) {`,
        `            throw new Error("Missing required property '${r}'");`,
        "        }",
      );
    }
    for (const [name, prop] of Object.entries(inputs)) {
      let value = access("args?", name);
      const env = prop.defaultInfo?.environment;
      if (env && env.length) {
        const helper = prop.type === "boolean" ? "getEnvBoolean" : prop.type === "integer" || prop.type === "number" ? "getEnvNumber" : "getEnv";
        this.envHelpers.add(helper);
        value = `${value} ?? ${helper}(${env.map((e) => JSON.stringify(e)).join(", ")})`;
      }
      if (prop.secret) value = `(${value}) ? pulumi.secret(${value}) : undefined`;
      if (!this.isString(prop)) value = `pulumi.output(${value}).apply(JSON.stringify)`;
      out.push(`        resourceInputs[${JSON.stringify(name)}] = ${value};`);
    }
    out.push(...optionLines(outputs));
    out.push("        super(Provider.__pulumiType, name, resourceInputs, opts);", "    }");

    // Provider methods (the schema's `methods`), e.g. terraformConfig.
    const methodNs: string[] = [];
    for (const [method, fnToken] of Object.entries(p.methods ?? {})) {
      const fn = this.schema.functions?.[fnToken];
      if (!fn) throw new Error(`schema: provider method ${method} refers to missing function ${fnToken}`);
      const extraArgs = Object.keys(fn.inputs?.properties ?? {}).filter((a) => a !== "__self__");
      if (extraArgs.length) throw new Error(`provider method ${method} with arguments is not supported`);
      const resultName = `${pascal(method)}Result`;
      out.push("");
      out.push(...docComment("    ", fn.description));
      out.push(
        `    ${key(method)}(): pulumi.Output<Provider.${resultName}> {`,
        `        return pulumi.runtime.call(${JSON.stringify(fnToken)}, {`,
        '            "__self__": this,',
        "        }, this);",
        "    }",
      );
      methodNs.push(...this.renderResultInterface(resultName, fn, "    ", `The results of the Provider.${method} method.`));
    }
    out.push("}", "");
    if (methodNs.length) {
      out.push("export namespace Provider {", ...methodNs, "}", "");
    }

    out.push("/**", " * The set of arguments for constructing a Provider resource.", " */", "export interface ProviderArgs {");
    for (const [name, prop] of Object.entries(inputs)) {
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      out.push(`    readonly ${key(name)}${required.has(name) ? "" : "?"}: ${this.tsType(prop, "input")};`);
    }
    out.push("}", "");
    return out;
  }

  private renderResource(token: string): string[] {
    const r = this.schema.resources?.[token];
    if (!r) throw new Error(`schema has no resource ${token}`);
    const cls = tokenName(token);
    const inputs = r.inputProperties ?? {};
    const outputs = r.properties ?? {};
    const requiredInputs = new Set(r.requiredInputs ?? []);
    const requiredOutputs = new Set(r.required ?? []);
    const out: string[] = [];

    out.push(...docComment("", summary(r.description)));
    out.push(
      `export class ${cls} extends pulumi.CustomResource {`,
      "    /** @internal */",
      `    public static readonly __pulumiType = ${JSON.stringify(token)};`,
      "",
      "    /**",
      `     * Returns true if the given object is an instance of ${cls}.  This is designed to work even`,
      "     * when multiple copies of the Pulumi SDK have been loaded into the same process.",
      "     */",
      `    public static isInstance(obj: any): obj is ${cls} {`,
      "        if (obj === undefined || obj === null) {",
      "            return false;",
      "        }",
      `        return obj["__pulumiType"] === ${cls}.__pulumiType;`,
      "    }",
      "",
    );
    for (const [name, prop] of Object.entries(outputs)) {
      if (name === "id" || name === "urn") continue; // built into every CustomResource
      const opt = requiredOutputs.has(name) ? "" : " | undefined";
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      // Only the inputs a caller sets are registered (see the constructor): an optional input's
      // property exists only when it was set, so it is typed as possibly absent.
      const absent = name in inputs && !requiredInputs.has(name);
      out.push(`    public readonly ${key(name)}${absent ? "?" : "!"}: pulumi.Output<${this.tsType(prop, "output")}${opt}>;`);
    }
    const argsOpt = requiredInputs.size ? "" : "?";
    out.push(
      "",
      "    /**",
      `     * Create a ${cls} resource with the given unique name, arguments, and options.`,
      "     *",
      "     * @param name The _unique_ name of the resource.",
      "     * @param args The arguments to use to populate this resource's properties.",
      "     * @param opts A bag of options that control this resource's behavior.",
      "     */",
      `    constructor(name: string, args${argsOpt}: ${cls}Args, opts?: pulumi.CustomResourceOptions) {`,
      "        const resourceInputs: pulumi.Inputs = {};",
      "        opts = opts || {};",
    );
    for (const req of requiredInputs) {
      out.push(
        `        if (${access("args?", req)} === undefined && !opts.urn) {`,
        `            throw new Error("Missing required property '${req}'");`,
        "        }",
      );
    }
    // Only the inputs the caller set (see the file header); output-only properties are all registered.
    for (const [name, prop] of Object.entries(inputs)) {
      const v = access("args?", name);
      const value = prop.secret ? `pulumi.secret(${access("args", name)})` : access("args", name);
      out.push(`        if (${v} !== undefined) resourceInputs[${JSON.stringify(name)}] = ${value};`);
    }
    for (const name of Object.keys(outputs)) {
      if (name in inputs || name === "id" || name === "urn") continue;
      out.push(`        resourceInputs[${JSON.stringify(name)}] = undefined /*out*/;`);
    }
    out.push(...optionLines(outputs));
    out.push(`        super(${cls}.__pulumiType, name, resourceInputs, opts);`, "    }", "}", "");

    out.push("/**", ` * The set of arguments for constructing a ${cls} resource.`, " */", `export interface ${cls}Args {`);
    for (const [name, prop] of Object.entries(inputs)) {
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      out.push(`    readonly ${key(name)}${requiredInputs.has(name) ? "" : "?"}: ${this.tsType(prop, "input")};`);
    }
    out.push("}", "");
    return out;
  }

  private renderResultInterface(name: string, fn: FunctionSpec, indent: string, doc: string): string[] {
    const required = new Set(fn.outputs?.required ?? []);
    const out: string[] = [];
    out.push(`${indent}/**`, `${indent} * ${doc}`, `${indent} */`);
    out.push(`${indent}export interface ${name} {`);
    for (const [p, prop] of Object.entries(fn.outputs?.properties ?? {})) {
      const description =
        p === "id" && !prop.description ? "The provider-assigned unique ID for this managed resource." : prop.description;
      out.push(...docComment(`${indent}    `, description, prop.deprecationMessage));
      out.push(`${indent}    readonly ${key(p)}${required.has(p) ? "" : "?"}: ${this.tsType(prop, "output")};`);
    }
    out.push(`${indent}}`);
    return out;
  }

  private renderFunction(token: string): string[] {
    const fn = this.schema.functions?.[token];
    if (!fn) throw new Error(`schema has no function ${token}`);
    const name = tokenName(token);
    const Name = pascal(name);
    const props = fn.inputs?.properties ?? {};
    const required = new Set(fn.inputs?.required ?? []);
    const argsOpt = required.size ? "" : "?";
    const out: string[] = [];

    const call = (fnName: string, argsType: string, optsType: string, ret: string, runtimeFn: string): string[] => {
      const lines = [
        ...docComment("", summary(fn.description)),
        `export function ${fnName}(args${argsOpt}: ${argsType}, opts?: ${optsType}): ${ret} {`,
      ];
      if (!required.size) lines.push("    args = args || {};");
      lines.push(
        "    opts = pulumi.mergeOptions(resourceOptsDefaults(), opts || {});",
        `    return pulumi.runtime.${runtimeFn}(${JSON.stringify(token)}, {`,
        ...Object.keys(props).map((p) => `        ${JSON.stringify(p)}: ${access("args", p)},`),
        "    }, opts);",
        "}",
        "",
      );
      return lines;
    };

    out.push(...call(name, `${Name}Args`, "pulumi.InvokeOptions", `Promise<${Name}Result>`, "invoke"));
    out.push("/**", ` * A collection of arguments for invoking ${name}.`, " */", `export interface ${Name}Args {`);
    for (const [p, prop] of Object.entries(props)) {
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      out.push(`    ${key(p)}${required.has(p) ? "" : "?"}: ${this.tsType(prop, "plain")};`);
    }
    out.push("}", "");
    out.push(...this.renderResultInterface(`${Name}Result`, fn, "", `A collection of values returned by ${name}.`), "");

    out.push(
      ...call(`${name}Output`, `${Name}OutputArgs`, "pulumi.InvokeOutputOptions", `pulumi.Output<${Name}Result>`, "invokeOutput"),
    );
    out.push("/**", ` * A collection of arguments for invoking ${name}.`, " */", `export interface ${Name}OutputArgs {`);
    for (const [p, prop] of Object.entries(props)) {
      out.push(...docComment("    ", prop.description, prop.deprecationMessage));
      out.push(`    ${key(p)}${required.has(p) ? "" : "?"}: ${this.tsType(prop, "outputArgs")};`);
    }
    out.push("}", "");
    return out;
  }

  private renderTypeInterface(indent: string, name: string, token: string, variant: Variant): string[] {
    const t = this.objectType(token);
    const required = new Set(t.required ?? []);
    if (variant === "output") for (const r of t.language?.nodejs?.requiredOutputs ?? []) required.add(r);
    const out: string[] = [...docComment(indent, t.description), `${indent}export interface ${name} {`];
    for (const [p, prop] of Object.entries(t.properties ?? {})) {
      out.push(...docComment(`${indent}    `, prop.description, prop.deprecationMessage));
      out.push(`${indent}    ${key(p)}${required.has(p) ? "" : "?"}: ${this.tsType(prop, variant)};`);
    }
    out.push(`${indent}}`, "");
    return out;
  }

  private renderTypes(): string[] {
    // Rendering may reach more types only through `reach` (already transitive), so the sets are final.
    const byName = (a: string, b: string) => (typeName(a) < typeName(b) ? -1 : typeName(a) > typeName(b) ? 1 : 0);
    const inputEntries: [string, string[]][] = [];
    for (const tok of this.reached.input) inputEntries.push([typeName(tok), this.renderTypeInterface("        ", typeName(tok), tok, "input")]);
    for (const tok of this.reached.plain) {
      inputEntries.push([typeName(tok), this.renderTypeInterface("        ", typeName(tok), tok, "plain")]);
      inputEntries.push([`${typeName(tok)}Args`, this.renderTypeInterface("        ", `${typeName(tok)}Args`, tok, "outputArgs")]);
    }
    inputEntries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const outputs = [...this.reached.output].sort(byName);

    const out: string[] = [
      "/**",
      " * Nested object types, named as in the generated SDK: `types.input.X` for arguments",
      " * (`pulumi.Input` members; for function arguments `X` is plain and `XArgs` takes inputs)",
      " * and `types.output.X` for resolved outputs.",
      " */",
      "export namespace types {",
      "    export namespace input {",
    ];
    for (const [, lines] of inputEntries) out.push(...lines);
    out.push("    }", "", "    export namespace output {");
    for (const tok of outputs) out.push(...this.renderTypeInterface("        ", typeName(tok), tok, "output"));
    out.push("    }", "}", "");
    return out;
  }
}

/** Renders the binding's TypeScript source from the parsed vSphere provider schema. */
export function renderBinding(schema: object): string {
  return new Renderer(schema as PackageSpec).render();
}

/** Reads and parses the vendored schema (`schemas/vsphere/schema.json.gz`). */
export function loadSchema(): object {
  return JSON.parse(readSchemaFile(SCHEMA_RELATIVE_PATH)) as object;
}

function main(): void {
  const text = renderBinding(loadSchema());
  fs.mkdirSync(path.dirname(BINDING_PATH), { recursive: true });
  fs.writeFileSync(BINDING_PATH, text);
  process.stdout.write(`wrote ${BINDING_RELATIVE_PATH} (${text.length} chars) from schemas/${SCHEMA_RELATIVE_PATH}\n`);
}

if (require.main === module) {
  main();
}

/** The constructor lines that merge the default options: the pinned version, then secret outputs. */
function optionLines(outputs: Record<string, { secret?: boolean }>): string[] {
  const lines = ["        opts = pulumi.mergeOptions(resourceOptsDefaults(), opts);"];
  const secretOutputs = Object.entries(outputs).filter(([, v]) => v.secret).map(([k]) => k);
  if (secretOutputs.length) {
    lines.push(
      `        const secretOpts = { additionalSecretOutputs: ${JSON.stringify(secretOutputs)} };`,
      "        opts = pulumi.mergeOptions(opts, secretOpts);",
    );
  }
  return lines;
}
