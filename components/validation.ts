/**
 * Field errors shared by every layer. A validator collects all problems at once and never throws
 * half-way: callers decide whether to throw a ValidationError (components) or print the list
 * (the stack program and the offline plan).
 */
import { InputPropertiesError } from "@pulumi/pulumi/errors";

export interface FieldError {
  /** Where the problem is, e.g. `vsphere-spark:hosts[2].cpuThreads` or `workers.count`. */
  path: string;
  /** What is wrong, in words a user can act on. */
  message: string;
}

/**
 * Every problem with a component's arguments, thrown before anything is registered. It is a
 * `pulumi.InputPropertiesError`, so the Pulumi CLI prints each problem with its property path and
 * no stack trace; `fieldErrors` keeps them as this library's FieldErrors.
 */
export class ValidationError extends InputPropertiesError {
  readonly fieldErrors: FieldError[];
  constructor(errors: FieldError[], what = "invalid configuration") {
    super({ message: `${what}:\n${formatFieldErrors(errors)}`, errors: errors.map((e) => ({ propertyPath: e.path, reason: e.message })) });
    this.name = "ValidationError";
    this.fieldErrors = errors;
  }
}

export function formatFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => `  - ${e.path}: ${e.message}`).join("\n");
}

/** Throws a ValidationError listing every error, when there is at least one. */
export function throwIfErrors(errors: FieldError[], what?: string): void {
  if (errors.length > 0) throw new ValidationError(errors, what);
}

/** RFC 1123 DNS label: what vSphere guest host names and Kubernetes object names accept. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 DNS subdomain (dot-separated labels, at most 253 characters). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split(".").every((l) => DNS_LABEL.test(l));
}
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

/** Kubernetes label key: optional DNS-subdomain prefix + "/" + name of ≤ 63 characters. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `label key prefix "${prefix}" must be a DNS subdomain`;
  if (!/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/.test(name)) {
    return `label key name "${name}" must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** Kubernetes label value: empty, or ≤ 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric. */
export function labelValueError(value: string): string | undefined {
  return value === "" || /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(value)
    ? undefined
    : `label value "${value}" must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
}

/** A value as an error message shows it: `"text"`, `number 3`, `a list`, `an object`, `null`. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** Levenshtein distance, case-insensitive: how far a likely typo is from a known word. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[] = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[y.length];
}

/** The known word a typo most likely meant, when it is close enough. */
export function closestMatch(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(word, k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)` when a known word is close, else nothing. */
export function didYouMean(word: string, known: readonly string[]): string {
  const near = closestMatch(word, known);
  return near ? ` (did you mean "${near}"?)` : "";
}

/** One error per key of `obj` that is not in `known`: likely typos, named with a suggestion. */
export function unknownKeyErrors(obj: Record<string, unknown>, known: readonly string[], path: string): FieldError[] {
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => ({ path: `${path}.${k}`, message: `unknown key "${k}"${didYouMean(k, known)}; known keys: ${known.join(", ")}` }));
}
