// Errors of the HBONE client and server: each has a stable literal `code` and names the peer, identity or address at fault.
import type { SpiffeId } from '../pki';

/** The server answered the CONNECT with a non-200 status (a policy denial, an unknown or unreachable destination...). */
export class HboneConnectRefused extends Error {
  readonly code = 'CONNECT_REFUSED' as const;
  constructor(
    readonly status: number,
    readonly authority: string,
    readonly peer: string,
  ) {
    super(`HBONE CONNECT to ${authority} via ${peer} was refused with HTTP status ${status} (${statusMeaning(status)})`);
    this.name = 'HboneConnectRefused';
  }
}

/** The server's certificate is valid but names none of the identities the destination is supposed to run as. */
export class SecureNamingViolation extends Error {
  readonly code = 'SECURE_NAMING' as const;
  constructor(
    readonly expected: readonly SpiffeId[],
    readonly presented: readonly string[],
  ) {
    super(
      `secure naming check failed: the server presented ${presented.length === 0 ? 'no SPIFFE ID' : presented.join(', ')} ` +
        `but the destination must be one of ${expected.length === 0 ? '(none given)' : expected.join(', ')}`,
    );
    this.name = 'SecureNamingViolation';
  }
}

/** The mutual-TLS handshake failed: an untrusted, expired or missing certificate on either side, or no h2 ALPN. */
export class TlsHandshakeFailed extends Error {
  readonly code = 'TLS_HANDSHAKE' as const;
  constructor(
    readonly peer: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`mTLS handshake with ${peer} failed: ${reason}`, options);
    this.name = 'TlsHandshakeFailed';
  }
}

/** The TCP connection to the HBONE port could not be made. */
export class HboneDialFailed extends Error {
  readonly code = 'DIAL' as const;
  constructor(
    readonly peer: string,
    options?: { cause?: unknown },
  ) {
    super(`could not connect to HBONE endpoint ${peer}: ${causeText(options?.cause)}`, options);
    this.name = 'HboneDialFailed';
  }
}

/** The HTTP/2 connection or stream went away before the server answered the CONNECT. */
export class HboneConnectionLost extends Error {
  readonly code = 'CONNECTION_LOST' as const;
  constructor(
    readonly peer: string,
    reason: string,
    /** True when the server never saw the request (GOAWAY, REFUSED_STREAM, a closing connection): safe to retry. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`HBONE connection to ${peer} was lost before the CONNECT was answered: ${reason}`, options);
    this.name = 'HboneConnectionLost';
  }
}

/** Dialing, the handshake or the CONNECT answer took longer than the configured timeout. */
export class HboneConnectTimeout extends Error {
  readonly code = 'CONNECT_TIMEOUT' as const;
  constructor(
    readonly peer: string,
    readonly timeoutMs: number,
    stage: string,
  ) {
    super(`HBONE connect to ${peer} timed out after ${timeoutMs} ms while ${stage}`);
    this.name = 'HboneConnectTimeout';
  }
}

/** An established tunnel's stream was reset by the peer (RST_STREAM) or its connection died. */
export class HboneStreamReset extends Error {
  readonly code = 'STREAM_RESET' as const;
  constructor(
    readonly authority: string,
    readonly rstCode: number,
  ) {
    super(`HBONE tunnel to ${authority} was reset (HTTP/2 error code ${rstCode}: ${h2ErrorName(rstCode)})`);
    this.name = 'HboneStreamReset';
  }
}

/** A connect request that cannot be attempted as given (no expected identities, no authority...). */
export class InvalidConnectRequest extends Error {
  readonly code = 'INVALID_CONNECT_REQUEST' as const;
  constructor(reason: string) {
    super(`invalid HBONE connect request: ${reason}`);
    this.name = 'InvalidConnectRequest';
  }
}

/** Reasons a verified TLS peer still cannot be given an identity. */
export type PeerIdentityProblem = 'NO_PEER_CERTIFICATE' | 'PEER_NOT_VERIFIED' | 'NO_SPIFFE_ID';

export class PeerIdentityError extends Error {
  constructor(
    readonly code: PeerIdentityProblem,
    readonly peer: string,
    detail: string,
  ) {
    super(`cannot establish the identity of ${peer}: ${detail}`);
    this.name = 'PeerIdentityError';
  }
}

/** Every error `HbonePool.connect` rejects with. */
export type HboneConnectError =
  | HboneConnectRefused
  | SecureNamingViolation
  | TlsHandshakeFailed
  | HboneDialFailed
  | HboneConnectionLost
  | HboneConnectTimeout
  | InvalidConnectRequest;

function statusMeaning(status: number): string {
  switch (status) {
    case 400:
      return 'bad request: not a CONNECT, or an authority the server does not serve';
    case 401:
      return 'denied by authorization policy';
    case 403:
      return 'forbidden';
    case 503:
      return 'no such destination here, or its upstream connect failed';
    default:
      return 'unexpected status';
  }
}

const H2_ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
] as const;

export function h2ErrorName(code: number): string {
  return H2_ERROR_NAMES[code] ?? 'unknown';
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? 'unknown error' : String(cause);
}
