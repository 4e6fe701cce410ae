// Answers the waypoint makes itself (denials, faults, redirects, timeouts, overflow), described as data so one place writes them.

/** gRPC status codes by name (google.rpc.Code). */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = Object.freeze({
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
});

/** The gRPC status Envoy reports for an HTTP status it answers a gRPC request with (grpc_http1_reverse_bridge mapping). */
export function grpcStatusForHttp(status: number): number {
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

export interface LocalReply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Envoy's response flag for logs and metrics: RBAC, FI, NR, UH, UO, UT, UF, URX, ... ("-" for none). */
  readonly flag: string;
  /** Answer a gRPC request with this grpc-status instead of mapping the HTTP status. */
  readonly grpcStatus?: number;
}

export function localReply(status: number, body: string, flag: string, headers?: Readonly<Record<string, string>>): LocalReply {
  return { status, body, flag, ...(headers ? { headers } : {}) };
}
