// Small summaries of measured samples (latencies, sizes), using the nearest-rank percentile so p99 of 20 samples is the largest.

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: readonly number[]): Summary {
  const sum = values.reduce((total, value) => total + value, 0);
  return {
    count: values.length,
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    mean: values.length === 0 ? Number.NaN : sum / values.length,
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Milliseconds since `start` (a performance.now() reading). */
export function msSince(start: number): number {
  return performance.now() - start;
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}

export function kib(bytes: number): number {
  return bytes / 1024;
}
