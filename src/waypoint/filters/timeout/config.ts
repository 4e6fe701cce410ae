// Request timeout, build step: the route's whole-request deadline (across retries).

export interface TimeoutConfig {
  readonly timeoutMs: number;
}

export function compileTimeout(timeoutMs: number | undefined): TimeoutConfig | undefined {
  return timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : undefined;
}
