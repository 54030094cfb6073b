/** Median of numbers (mean of the two middle values for an even count); NaN when empty. */
export declare function median(values: readonly number[]): number;

/** Nearest-rank percentile (p in 0..100): p95 of 20 values is the 19th smallest. */
export declare function percentile(values: readonly number[], p: number): number;

/** Latency summary; ok is false when a sample is Infinity (a timed-out probe) or there are none. */
export interface LatencySummary {
  readonly ok: boolean;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly max_ms: number;
  readonly min_ms: number;
}

/** p50 / p95 / max / min of latency samples. */
export declare function latencySummary(samples: readonly number[]): LatencySummary;
