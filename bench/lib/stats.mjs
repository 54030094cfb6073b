// Order statistics used by the probes and the table. Pure.

/** Median of numbers (mean of the two middle values for an even count); NaN when empty. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100): p95 of 20 values is the 19th smallest. */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

/** p50 / p95 / max / min of latency samples, with ok=false when any sample is Infinity (timed out) or none exist. */
export function latencySummary(samples) {
  const finite = samples.every((v) => Number.isFinite(v));
  return {
    ok: samples.length > 0 && finite,
    p50_ms: median(samples),
    p95_ms: percentile(samples, 95),
    max_ms: samples.length ? Math.max(...samples) : NaN,
    min_ms: samples.length ? Math.min(...samples) : NaN,
  };
}
