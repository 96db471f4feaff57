/**
 * Quantities, in one place: Kubernetes resource quantities (`100m`, `1.5`, `500Mi`, `1G`, `2e3`;
 * kubelet reservations, eviction thresholds, pod requests, storage sizes) and Spark's byte strings
 * (`100g`, `4096m`; executor and driver memory). Pure.
 *
 * Kubernetes: mirrors k8s.io/apimachinery `pkg/api/resource/suffix.go` (binary Ki..Ei, decimal
 * n..E, and decimal exponents). Spark: `JavaUtils.byteStringAs` units k/m/g/t/p (binary), an optional
 * trailing `b`; a bare number is MiB for the memory keys this library writes.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The quantity in base units (cores for CPU, bytes for memory); undefined when malformed. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  if (!m || q.trim() !== q) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix]);
}

/** Like parseQuantity, but throws a message naming the value. */
export function requireQuantity(q: string, what: string): number {
  const v = parseQuantity(q);
  if (v === undefined) throw new Error(`${what}: "${q}" is not a Kubernetes quantity`);
  return v;
}

/** An eviction threshold value: a quantity or a percentage such as `10%`. */
export type Threshold = { kind: "absolute"; value: number } | { kind: "percent"; value: number };

export function parseThreshold(s: string): Threshold | undefined {
  const p = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (p) {
    const value = Number(p[1]);
    return value >= 0 && value <= 100 ? { kind: "percent", value } : undefined;
  }
  const v = parseQuantity(s);
  return v === undefined || v < 0 ? undefined : { kind: "absolute", value: v };
}

/** Whether a string is a Kubernetes quantity (any sign). */
export function isQuantity(q: string): boolean {
  return parseQuantity(q) !== undefined;
}

/** A Kubernetes CPU quantity (`"15"`, `"14.5"`, `"14500m"`) in whole millicores. */
export function parseCpuMilli(q: string): number | undefined {
  const v = parseQuantity(q);
  return v === undefined ? undefined : Math.round(v * 1000);
}

/** A CPU amount in millicores as a Kubernetes quantity: `"15"` when whole cores, else `"14500m"`. */
export function formatCpuMilli(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Cores (possibly fractional) to whole millicores, immune to binary floating-point noise. */
export function toMilli(cores: number): number {
  return Math.round(cores * 1000);
}

/** A memory quantity in whole MiB, rounded up (what a request of that size needs). */
export function quantityMiB(q: string): number | undefined {
  const v = parseQuantity(q);
  return v === undefined ? undefined : Math.ceil(v / 2 ** 20);
}

const SPARK_BYTE_UNITS: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024, p: 1024 * 1024 * 1024 };

/** Parses a Spark byte string into whole MiB; `undefined` when it is not one or not whole MiB. */
export function parseSparkMemoryMiB(text: string): number | undefined {
  const m = /^([0-9]+)([kmgtp])?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = SPARK_BYTE_UNITS[(m[2] ?? "m").toLowerCase()];
  const mib = Number(m[1]) * unit;
  return Number.isSafeInteger(mib) && mib > 0 ? mib : undefined;
}

/** Formats MiB as a Spark byte string: `<n>g` when whole GiB, else `<n>m`. */
export function formatSparkMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}
