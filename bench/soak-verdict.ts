/** One check of the verdict: its measured value against its limit. */
export interface Check {
  pass: boolean;
  value: number | boolean | null;
  limit: number | boolean | string;
  /** What the value means, in a few words. */
  note?: string;
}

export interface Verdict {
  pass: boolean;
  checks: Record<string, Check>;
}

/** Least-squares slope of y over x; NaN with fewer than 3 points. */
export function slope(points: { x: number; y: number }[]): number {
  if (points.length < 3) return NaN;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** value <= limit (a NaN or null value fails: nothing was measured). */
export function atMost(value: number | null, limit: number, note?: string): Check {
  const known = value !== null && Number.isFinite(value);
  const rounded = known ? Math.round(value * 1000) / 1000 : null;
  return { pass: known && value <= limit, value: rounded, limit, ...(note ? { note } : {}) };
}

export function verdict(checks: Record<string, Check>): Verdict {
  return { pass: Object.values(checks).every((c) => c.pass), checks };
}
