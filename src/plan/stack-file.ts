/**
 * Reads a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: a flat map of
 * `namespace:key` to string, structured values as JSON text, and the list of secret keys.
 * Secure values cannot be decrypted offline: they are passed on as the text "[secret]", marked secret.
 */
import * as fs from "node:fs";
import * as YAML from "yaml";
import { FieldError } from "../../components/validation";
import { PROJECT } from "../config/stack-config";

export interface FlatConfig {
  values: Record<string, string>;
  secretKeys: string[];
}

export class StackFileError extends Error {}

export function readStackFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(`cannot read the stack configuration file ${file}`);
  }
  let data: unknown;
  try {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) throw new StackFileError(`${file} is not valid YAML: ${doc.errors[0].message}`);
    data = doc.toJS();
  } catch (e) {
    // The parser's own limits (e.g. its alias count) throw from toJS(); name the file either way.
    if (e instanceof StackFileError) throw e;
    throw new StackFileError(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (data === null || data === undefined) throw new StackFileError(`${file} is empty: a stack file holds its settings under a top-level "config:" key`);
  if (typeof data !== "object" || Array.isArray(data)) throw new StackFileError(`${file} must be a YAML mapping with a top-level "config:" key`);
  const top = data as Record<string, unknown>;
  if (!("config" in top)) {
    const keys = Object.keys(top);
    const looksFlat = keys.some((k) => k.includes(":"));
    throw new StackFileError(
      `${file} has no top-level "config:" key` +
        (looksFlat ? ` (keys such as "${keys.find((k) => k.includes(":"))}" must be indented under "config:")` : ` (found: ${keys.join(", ")})`),
    );
  }
  const config = top.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new StackFileError(`${file}: "config" must be a mapping`);
  return config as Record<string, unknown>;
}

/** Pulumi's rule: a key without a namespace belongs to the project. */
export function qualifyKey(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/** Applies `--set KEY=VALUE` overrides (VALUE parsed as YAML). Returns errors for malformed ones. */
export function applyOverrides(config: Record<string, unknown>, sets: string[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      errors.push({ path: "--set", message: `"${s}" is not KEY=VALUE` });
      continue;
    }
    const key = qualifyKey(s.slice(0, eq));
    try {
      config[key] = YAML.parse(s.slice(eq + 1));
    } catch (e) {
      errors.push({ path: `--set ${key}`, message: `value is not valid YAML: ${(e as Error).message}` });
    }
  }
  return errors;
}

export function flatten(config: Record<string, unknown>): FlatConfig {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    const key = qualifyKey(k);
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v) {
      values[key] = "[secret]";
      secretKeys.push(key);
    } else if (typeof v === "string") {
      values[key] = v;
    } else {
      values[key] = JSON.stringify(v);
    }
  }
  return { values, secretKeys };
}
