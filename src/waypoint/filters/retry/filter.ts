// Retries, per try: whether an outcome is worth another try under the route's policy, and how long to wait first.
import type { RetryConfig } from './config';

/** How one try ended, as the retry policy sees it. */
export type TryOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly grpcStatus?: number }
  | { readonly kind: 'connect-failure' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'per-try-timeout' }
  | { readonly kind: 'overflow' };

/** Envoy's semantics: 5xx covers resets, connect failures and per-try timeouts too; gateway-error covers 502/503/504. */
export function retriable(config: RetryConfig, outcome: TryOutcome): boolean {
  switch (outcome.kind) {
    case 'connect-failure':
      return config.onConnectFailure || config.on5xx || config.onGatewayError || config.onRefusedStream;
    case 'reset':
      return config.onReset || config.on5xx;
    case 'per-try-timeout':
      return config.on5xx || config.onGatewayError || config.onReset;
    case 'overflow':
      return false;
    case 'response': {
      const s = outcome.status;
      if (config.on5xx && s >= 500) return true;
      if (config.onGatewayError && (s === 502 || s === 503 || s === 504)) return true;
      if (config.onRetriable4xx && s === 409) return true;
      if (config.statusCodes.has(s)) return true;
      return outcome.grpcStatus !== undefined && config.grpcStatuses.has(outcome.grpcStatus);
    }
  }
}

/** Envoy's default back-off: full jitter over 25 ms doubling per retry, capped at 250 ms. */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(25 * 2 ** retry, 250);
  return Math.floor(random() * ceiling);
}
