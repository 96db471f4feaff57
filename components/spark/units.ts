/**
 * Spark's and Kubernetes' unit conventions, in one place.
 *
 * Spark byte strings (`spark.executor.memory`, `--driver-memory`) are binary: `100g` = 102400 MiB.
 * A bare number is MiB for the memory keys this layer writes. Kubernetes memory quantities are
 * written with the `Mi` suffix, as Spark itself does for pod requests.
 */

const BYTE_UNITS: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024, p: 1024 * 1024 * 1024 };

/** Parses a Spark byte string into whole MiB; `undefined` when it is not one or not whole MiB. */
export function parseSparkMemoryMiB(text: string): number | undefined {
  const m = /^([0-9]+)([kmgtp])?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = BYTE_UNITS[(m[2] ?? "m").toLowerCase()];
  const mib = Number(m[1]) * unit;
  return Number.isSafeInteger(mib) && mib > 0 ? mib : undefined;
}

/** Formats MiB as a Spark byte string: `<n>g` when whole GiB, else `<n>m`. */
export function formatSparkMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}

const TIME_UNITS_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a Spark time string with an explicit unit (`30min`, `60s`, `500ms`) into milliseconds.
 * A unit is required here: Spark's default unit differs from key to key.
 */
export function parseSparkTimeMs(text: string): number | undefined {
  const m = /^([0-9]+)(us|ms|s|min|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * TIME_UNITS_MS[m[2]];
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** A CPU amount in millicores as a Kubernetes quantity: `"15"` when whole cores, else `"14500m"`. */
export function formatCpuMilli(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Parses a Kubernetes CPU quantity (`"15"`, `"14.5"`, `"14500m"`) into millicores. */
export function parseCpuMilli(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(q);
  if (!m) return undefined;
  return m[2] === "m" ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

/** Cores (possibly fractional) to whole millicores, immune to binary floating-point noise. */
export function toMilli(cores: number): number {
  return Math.round(cores * 1000);
}

/** Kubernetes quantity grammar (apimachinery `resource.Quantity`), for checking rendered manifests. */
export const K8S_QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[mkMGTPE]|)$/;
