/**
 * Field errors shared by every layer. A validator collects all problems at once and never throws
 * half-way: callers decide whether to throw a ValidationError (components) or print the list
 * (the stack program and the offline plan).
 */
export interface FieldError {
  /** Where the problem is, e.g. `vsphere-spark:hosts[2].cpuThreads` or `workers.count`. */
  path: string;
  /** What is wrong, in words a user can act on. */
  message: string;
}

export class ValidationError extends Error {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], what = "invalid configuration") {
    super(`${what}:\n${formatFieldErrors(errors)}`);
    this.name = "ValidationError";
    this.errors = errors;
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
