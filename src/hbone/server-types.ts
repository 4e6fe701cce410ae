// The contract between the HBONE server and the proxy using it: what a tunnel request carries, what the proxy answers, and the events the server reports.
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TunnelAuthority } from './authority';
import type { SpiffeId } from './identity';
import type { RelaySide } from './relay';
import type { CertificateMaterial } from './tls';

/** The client end of an HBONE connection, as proven by its certificate and seen on the socket. */
export interface TunnelPeer {
  readonly identity: SpiffeId;
  /** Source IP of the TCP connection (canonical spelling, IPv4-mapped IPv6 unwrapped). */
  readonly address: string;
  readonly port: number;
  /** Serial of the client's leaf certificate, uppercase hex. */
  readonly certificateSerial: string;
}

export interface TunnelRequest {
  /** Unique per server, increasing. */
  readonly id: number;
  /** The `:authority` of the CONNECT: where the client wants its bytes delivered. */
  readonly authority: TunnelAuthority;
  readonly peer: TunnelPeer;
  /** The address the client dialled (the destination pod's IP when the ztunnel serves it in its netns). */
  readonly localAddress: string;
  readonly localPort: number;
  /** All request headers (`baggage`, `forwarded`, `traceparent`, `x-forwarded-network`, pseudo-headers). */
  readonly headers: http2.IncomingHttpHeaders;
  readonly stream: http2.ServerHttp2Stream;
  /** Aborted when the client gives up (resets the stream, loses the connection) or the decision times out. */
  readonly signal: AbortSignal;
}

/** Accept: the server answers 200 and splices the stream with `upstream`, which must be connected already. */
export interface TunnelAccept {
  readonly status: 200;
  readonly upstream: Duplex;
  /** Extra response headers, e.g. `baggage` describing the destination. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Refuse: the server answers this status with no body and closes the stream. */
export interface TunnelRefuse {
  /** 400 bad request, 401 denied by policy, 403 forbidden, 503 no such destination or its connect failed. */
  readonly status: 400 | 401 | 403 | 503;
  /** Why, for logs and the tunnelClosed event; never sent to the client. */
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type TunnelDecision = TunnelAccept | TunnelRefuse;

export interface HboneServerOptions {
  /**
   * The certificate to present on a connection accepted at `localAddress` (the IP the client dialled), or undefined
   * to close the connection: the ztunnel serves many pods and presents each pod's own identity.
   */
  certificateFor(localAddress: string): CertificateMaterial | undefined | Promise<CertificateMaterial | undefined>;
  /** Decides a validated CONNECT; an exception or a rejected promise answers 503. */
  onTunnel(request: TunnelRequest): TunnelDecision | Promise<TunnelDecision>;
  /** A TLS handshake that takes longer is dropped. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** `onTunnel` must decide within this time or the client gets 503. Default 30 s. */
  readonly decisionTimeoutMs?: number;
}

export interface ServerConnectionInfo {
  readonly connectionId: number;
  readonly peer: TunnelPeer;
  readonly localAddress: string;
  readonly localPort: number;
}

export type ConnectionRejectReason = 'NO_CERTIFICATE' | 'CERTIFICATE_LOOKUP' | 'TLS_HANDSHAKE' | 'ALPN' | 'PEER_IDENTITY' | 'SHUTTING_DOWN';

export interface ConnectionRejection {
  readonly reason: ConnectionRejectReason;
  readonly message: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export interface TunnelInfo {
  readonly tunnelId: number;
  readonly connectionId: number;
  readonly peer: TunnelPeer;
  readonly authority: TunnelAuthority;
  readonly localAddress: string;
}

/** How a request ended: refused with a status, carried to a clean end, or torn down by a reset/error. */
export type TunnelOutcome = 'refused' | 'completed' | 'aborted' | 'cancelled';

export interface TunnelClosedInfo {
  readonly tunnelId: number;
  readonly connectionId: number;
  readonly peer: TunnelPeer;
  /** Undefined when the `:authority` was not a valid ip:port. */
  readonly authority?: TunnelAuthority;
  readonly localAddress: string;
  /** The status sent to the client; 0 when the client went away before one was sent. */
  readonly status: number;
  readonly outcome: TunnelOutcome;
  readonly reason?: string;
  readonly abortedBy?: RelaySide;
  /** Client to upstream. */
  readonly bytesIn: number;
  /** Upstream to client. */
  readonly bytesOut: number;
  readonly durationMs: number;
}

/** Events of `HboneServer`, for telemetry; listeners must not throw. */
export interface HboneServerEvents {
  connectionOpened: [ServerConnectionInfo];
  connectionClosed: [ServerConnectionInfo & { readonly tunnels: number; readonly durationMs: number }];
  connectionRejected: [ConnectionRejection];
  tunnelOpened: [TunnelInfo];
  tunnelClosed: [TunnelClosedInfo];
  /** Live byte counts of open tunnels, per chunk: `in` is client to upstream. */
  tunnelBytes: [{ readonly tunnelId: number; readonly direction: 'in' | 'out'; readonly bytes: number }];
}
