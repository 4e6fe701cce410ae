// Retries, build step: a route's retry policy with its conditions parsed into sets.
import type { RetryDoc } from '../../config/types';
import { GRPC_STATUS_CODES } from '../local-reply';

/** gRPC retry conditions (x-envoy-retry-grpc-on) and the grpc-status each stands for. */
const GRPC_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: GRPC_STATUS_CODES.CANCELLED,
  'deadline-exceeded': GRPC_STATUS_CODES.DEADLINE_EXCEEDED,
  internal: GRPC_STATUS_CODES.INTERNAL,
  'resource-exhausted': GRPC_STATUS_CODES.RESOURCE_EXHAUSTED,
  unavailable: GRPC_STATUS_CODES.UNAVAILABLE,
};

export interface RetryConfig {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  readonly on5xx: boolean;
  readonly onGatewayError: boolean;
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
  readonly onRetriable4xx: boolean;
  readonly onRefusedStream: boolean;
  readonly statusCodes: ReadonlySet<number>;
  readonly grpcStatuses: ReadonlySet<number>;
}

export function compileRetry(doc: RetryDoc | undefined): RetryConfig | undefined {
  if (doc === undefined || doc.attempts === 0) return undefined;
  const on = new Set(doc.retryOn.map((c) => c.trim().toLowerCase()));
  const grpc = new Set<number>();
  for (const condition of on) {
    const code = GRPC_CONDITIONS[condition] ?? GRPC_STATUS_CODES[condition.toUpperCase().replace(/-/g, '_')];
    if (code !== undefined) grpc.add(code);
  }
  return {
    attempts: doc.attempts,
    ...(doc.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: doc.perTryTimeoutMs } : {}),
    on5xx: on.has('5xx'),
    onGatewayError: on.has('gateway-error'),
    onConnectFailure: on.has('connect-failure'),
    onReset: on.has('reset'),
    onRetriable4xx: on.has('retriable-4xx'),
    onRefusedStream: on.has('refused-stream'),
    statusCodes: new Set(on.has('retriable-status-codes') ? doc.retriableStatusCodes : []),
    grpcStatuses: grpc,
  };
}
