/** Spark time strings. Byte strings and Kubernetes quantities live in `components/quantity.ts`. */

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
