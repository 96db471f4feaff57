/** Small statistics for the benchmark: medians and a least-squares line. */

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination (1 = every point on the line). */
  r2: number;
}

export function fitLine(xs: number[], ys: number[]): LineFit {
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/** Slopes between consecutive points (sorted by x): how much y grows per unit of x, interval by interval. */
export function marginalSlopes(xs: number[], ys: number[]): number[] {
  const pts = xs.map((x, i) => [x, ys[i]] as const).sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (let i = 1; i < pts.length; i++) {
    const dx = pts[i][0] - pts[i - 1][0];
    out.push(dx === 0 ? NaN : (pts[i][1] - pts[i - 1][1]) / dx);
  }
  return out;
}
