/**
 * A small typed reader for configuration objects that collects every problem instead of stopping
 * at the first: wrong types, missing keys and unknown keys (with a "did you mean" hint).
 */
import { FieldError, describeValue, unknownKeyErrors } from "../../components/validation";

export type Obj = Record<string, unknown>;

export class Reader {
  readonly errors: FieldError[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** An object with only the known keys; reports unknown ones. */
  object(v: unknown, path: string, known: readonly string[]): Obj | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.error(path, `must be an object, got ${describeValue(v)}`);
      return undefined;
    }
    this.errors.push(...unknownKeyErrors(v as Obj, known, path));
    return v as Obj;
  }

  list(v: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.error(path, `must be a list, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  string(o: Obj | undefined, key: string, path: string, opts: { default?: string; check?: (s: string) => string | undefined } = {}): string | undefined {
    const v = o?.[key];
    if (v === undefined) {
      if (opts.default === undefined && o !== undefined) this.error(`${path}.${key}`, "is required");
      return opts.default;
    }
    if (typeof v !== "string" || v.length === 0) {
      this.error(`${path}.${key}`, `must be a non-empty string, got ${describeValue(v)}`);
      return undefined;
    }
    const problem = opts.check?.(v);
    if (problem) {
      this.error(`${path}.${key}`, problem);
      return undefined;
    }
    return v;
  }

  number(
    o: Obj | undefined,
    key: string,
    path: string,
    opts: { default?: number; integer?: boolean; min?: number; max?: number; optional?: boolean } = {},
  ): number | undefined {
    const v = o?.[key];
    const p = `${path}.${key}`;
    if (v === undefined) {
      if (opts.default === undefined && !opts.optional && o !== undefined) this.error(p, "is required");
      return opts.default;
    }
    return this.checkNumber(v, p, opts);
  }

  checkNumber(v: unknown, p: string, opts: { integer?: boolean; min?: number; max?: number }): number | undefined {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.error(p, `must be a ${opts.integer ? "whole number" : "number"}, got ${describeValue(v)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.error(p, `must be a whole number, got ${v}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.error(p, `must be at least ${opts.min}, got ${v}`);
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.error(p, `must be at most ${opts.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  boolean(o: Obj | undefined, key: string, path: string, def: boolean): boolean {
    const v = o?.[key];
    if (v === undefined) return def;
    if (typeof v !== "boolean") {
      this.error(`${path}.${key}`, `must be true or false, got ${describeValue(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj | undefined, key: string, path: string, values: readonly T[], def: T): T {
    const v = o?.[key];
    if (v === undefined) return def;
    if (typeof v !== "string" || !values.includes(v as T)) {
      this.error(`${path}.${key}`, `must be one of ${values.map((x) => `"${x}"`).join(", ")}, got ${describeValue(v)}`);
      return def;
    }
    return v as T;
  }

  stringList(o: Obj | undefined, key: string, path: string, def: string[], check?: (s: string) => string | undefined): string[] {
    const v = o?.[key];
    if (v === undefined) return def;
    const list = this.list(v, `${path}.${key}`);
    if (!list) return def;
    const out: string[] = [];
    list.forEach((x, i) => {
      const p = `${path}.${key}[${i}]`;
      if (typeof x !== "string" || x.length === 0) return this.error(p, `must be a non-empty string, got ${describeValue(x)}`);
      const problem = check?.(x);
      if (problem) return this.error(p, problem);
      out.push(x);
    });
    return out;
  }
}
