/** The configuration reader every layer's settings use (one way to report a bad field). */
import { FieldError, describeValue, unknownKeyErrors } from "./validation";

export type Obj = Record<string, unknown>;

/**
 * Reads configuration objects field by field, collecting every problem (with its full path)
 * instead of stopping at the first: wrong types, missing keys, unknown keys with a "did you mean".
 * Each getter returns the value, or the default (or `undefined`) when the field is unusable.
 */
export class ConfigReader {
  readonly errors: FieldError[] = [];

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** Reads an optional object; reports unknown keys (with a suggestion) and wrong types. */
  object(v: unknown, path: string, known: readonly string[]): Obj | undefined {
    if (v === undefined) return {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.err(path, `must be an object, got ${describeValue(v)}`);
      return undefined;
    }
    this.errors.push(...unknownKeyErrors(v as Obj, known, path));
    return v as Obj;
  }

  string(o: Obj | undefined, key: string, path: string, def: string, check?: (s: string) => string | undefined): string {
    const v = o?.[key];
    if (v === undefined) return def;
    const p = `${path}.${key}`;
    if (typeof v !== "string") {
      this.err(p, `must be a string, got ${describeValue(v)}`);
      return def;
    }
    const e = check?.(v);
    if (e) {
      this.err(p, e);
      return def;
    }
    return v;
  }

  optString(o: Obj | undefined, key: string, path: string, check?: (s: string) => string | undefined): string | undefined {
    if (o?.[key] === undefined) return undefined;
    const s = this.string(o, key, path, "\u0000", check);
    return s === "\u0000" ? undefined : s;
  }

  number(
    o: Obj | undefined,
    key: string,
    path: string,
    def: number,
    rule: { integer?: boolean; min?: number; max?: number; exclusiveMin?: number },
  ): number {
    const v = o?.[key];
    if (v === undefined) return def;
    return this.checkNumber(v, `${path}.${key}`, rule) ?? def;
  }

  optNumber(o: Obj | undefined, key: string, path: string, rule: { integer?: boolean; min?: number; max?: number; exclusiveMin?: number }): number | undefined {
    if (o?.[key] === undefined) return undefined;
    const n = this.number(o, key, path, Number.NaN, rule);
    return Number.isNaN(n) ? undefined : n;
  }

  boolean(o: Obj | undefined, key: string, path: string, def: boolean): boolean {
    const v = o?.[key];
    if (v === undefined) return def;
    if (typeof v !== "boolean") {
      this.err(`${path}.${key}`, `must be true or false, got ${describeValue(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj | undefined, key: string, path: string, def: T, allowed: readonly T[]): T {
    const v = o?.[key];
    if (v === undefined) return def;
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      this.err(`${path}.${key}`, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${describeValue(v)}`);
      return def;
    }
    return v as T;
  }

  stringMap(o: Obj | undefined, key: string, path: string, check: (k: string, v: string, p: string) => void): Record<string, string> {
    const v = o?.[key];
    if (v === undefined) return {};
    const p = `${path}.${key}`;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.err(p, `must be an object of strings, got ${describeValue(v)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== "string") {
        this.err(`${p}.${k}`, `must be a string, got ${describeValue(x)}`);
        continue;
      }
      check(k, x, `${p}.${k}`);
      out[k] = x;
    }
    return out;
  }

  /** A number at `p` obeying `rule`, or `undefined` (with the error recorded). */
  checkNumber(v: unknown, p: string, rule: { integer?: boolean; min?: number; max?: number; exclusiveMin?: number }): number | undefined {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.err(p, `must be a ${rule.integer ? "whole number" : "number"}, got ${describeValue(v)}`);
      return undefined;
    }
    if (rule.integer && !Number.isInteger(v)) {
      this.err(p, `must be a whole number, got ${v}`);
      return undefined;
    }
    if (rule.min !== undefined && v < rule.min) {
      this.err(p, `must be at least ${rule.min}, got ${v}`);
      return undefined;
    }
    if (rule.exclusiveMin !== undefined && v <= rule.exclusiveMin) {
      this.err(p, `must be more than ${rule.exclusiveMin}, got ${v}`);
      return undefined;
    }
    if (rule.max !== undefined && v > rule.max) {
      this.err(p, `must be at most ${rule.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  /** A field that must be present: records "is required" when the object exists but lacks it. */
  has(o: Obj | undefined, key: string, path: string): boolean {
    if (o !== undefined && o[key] === undefined) this.err(`${path}.${key}`, "is required");
    return o?.[key] !== undefined;
  }

  requiredString(o: Obj | undefined, key: string, path: string, check?: (s: string) => string | undefined): string | undefined {
    return this.has(o, key, path) ? this.optString(o, key, path, check) : undefined;
  }

  requiredNumber(o: Obj | undefined, key: string, path: string, rule: { integer?: boolean; min?: number; max?: number; exclusiveMin?: number }): number | undefined {
    return this.has(o, key, path) ? this.optNumber(o, key, path, rule) : undefined;
  }

  list(v: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.err(path, `must be a list, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  /** A list of non-empty strings, each passing `check`; bad items are reported and left out. */
  stringList(o: Obj | undefined, key: string, path: string, def: string[], check?: (s: string) => string | undefined): string[] {
    const v = o?.[key];
    if (v === undefined) return def;
    const items = this.list(v, `${path}.${key}`);
    if (!items) return def;
    const out: string[] = [];
    items.forEach((x, i) => {
      const p = `${path}.${key}[${i}]`;
      if (typeof x !== "string" || x.length === 0) return this.err(p, `must be a non-empty string, got ${describeValue(x)}`);
      const problem = check?.(x);
      if (problem) return this.err(p, problem);
      out.push(x);
    });
    return out;
  }
}
