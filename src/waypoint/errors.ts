// The waypoint's error classes: each has a literal `code` and a message that names what to fix or what failed.

/** A pushed config document that cannot be used; the xDS client NACKs it and the last good config keeps serving. */
export class WaypointConfigInvalid extends Error {
  readonly code = 'WAYPOINT_CONFIG_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(`invalid waypoint config: ${message}`, options);
    this.name = 'WaypointConfigInvalid';
  }
}

/** The tunnel's :authority is neither a served service VIP:port nor a served workload's IP. */
export class UnknownDestination extends Error {
  readonly code = 'UNKNOWN_DESTINATION' as const;
  constructor(readonly authority: string) {
    super(`this waypoint does not serve ${authority} (not a bound service VIP:port nor a workload it serves)`);
    this.name = 'UnknownDestination';
  }
}

/** No endpoint can take the request: none is healthy, or all are ejected and panic routing found none either. */
export class NoHealthyUpstream extends Error {
  readonly code = 'NO_HEALTHY_UPSTREAM' as const;
  constructor(readonly cluster: string) {
    super(`no healthy endpoint for ${cluster}`);
    this.name = 'NoHealthyUpstream';
  }
}

/** Connecting to an endpoint failed (refused, unreachable, HBONE refused, TLS or secure-naming failure). */
export class UpstreamConnectFailed extends Error {
  readonly code = 'UPSTREAM_CONNECT_FAILED' as const;
  constructor(
    readonly endpoint: string,
    cause: unknown,
  ) {
    super(`connecting to ${endpoint} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UpstreamConnectFailed';
  }
}

/** The upstream connection or stream broke before a complete response header arrived. */
export class UpstreamReset extends Error {
  readonly code = 'UPSTREAM_RESET' as const;
  constructor(
    readonly endpoint: string,
    cause: unknown,
  ) {
    super(`the connection to ${endpoint} was reset before a response: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UpstreamReset';
  }
}

/** A try took longer than perTryTimeout. */
export class UpstreamPerTryTimeout extends Error {
  readonly code = 'UPSTREAM_PER_TRY_TIMEOUT' as const;
  constructor(
    readonly endpoint: string,
    readonly timeoutMs: number,
  ) {
    super(`${endpoint} did not answer within the per-try timeout of ${timeoutMs} ms`);
    this.name = 'UpstreamPerTryTimeout';
  }
}
