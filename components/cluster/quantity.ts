/**
 * Kubernetes resource quantities (`100m`, `1.5`, `500Mi`, `1G`, `2e3`), as used by kubelet
 * reservations and eviction thresholds. Pure; mirrors k8s.io/apimachinery's suffix table.
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
