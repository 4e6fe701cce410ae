// One client HBONE connection: dial, mutual TLS with secure naming, an HTTP/2 session, and CONNECT streams on it.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { formatAuthority } from './authority';
import {
  HboneConnectionLost,
  HboneConnectRefused,
  HboneConnectTimeout,
  HboneDialFailed,
  SecureNamingViolation,
  TlsHandshakeFailed,
  h2ErrorName,
} from './errors';
import { applyConnectionWindow, clientHttp2Options, type Http2Tuning } from './h2-settings';
import { uriSansOfDer, type SpiffeId } from './identity';
import { clientTlsOptions, matchedIdentity, materialFingerprint, type SourceIdentity } from './tls';
import { HboneTunnel } from './tunnel';

const TCP_KEEPALIVE_MS = 180_000;

/** Opens the TCP connection to an HBONE endpoint; the ztunnel dials from inside the source pod's netns with SO_MARK. */
export type Dialer = (ip: string, port: number) => Promise<net.Socket>;

export const defaultDialer: Dialer = (ip, port) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: ip, port });
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });

export interface ClientConnectionTarget {
  readonly source: SourceIdentity;
  readonly destination: { readonly ip: string; readonly port: number };
  /** Secure naming: the server must present one of these SPIFFE IDs. */
  readonly expectedIdentities: readonly SpiffeId[];
  readonly dial: Dialer;
}

export interface ClientConnectionSettings {
  /** Limit for dialling plus the TLS handshake. */
  readonly connectTimeoutMs: number;
  /** A connection without streams for this long closes. */
  readonly idleTimeoutMs: number;
  readonly tuning: Http2Tuning;
}

export type ClientConnectionState = 'connecting' | 'open' | 'draining' | 'closed';

export interface ClientConnectionEvents {
  closed: [];
}

/**
 * A pooled HTTP/2-over-mTLS connection. Callers `reserve()` a stream slot synchronously (so concurrent callers can
 * share one handshake) and then `openTunnel()`, which gives the slot back when the stream closes.
 */
export class HboneClientConnection extends EventEmitter<ClientConnectionEvents> {
  readonly id: number;
  readonly peerAddress: string;
  readonly sourceIdentity: SpiffeId;
  /** Fingerprint of the certificate material presented; a renewed certificate needs a new connection. */
  readonly materialFingerprint: string;
  /** Settles when the connection is usable (TLS verified both ways as far as the client can tell, session created). */
  readonly ready: Promise<void>;
  private readonly target: ClientConnectionTarget;
  private readonly settings: ClientConnectionSettings;
  private connectionState: ClientConnectionState = 'connecting';
  private raw: net.Socket | undefined;
  private tlsSocket: tls.TLSSocket | undefined;
  private session: http2.ClientHttp2Session | undefined;
  private reserved = 0;
  private remoteMaxStreams: number | undefined;
  private sawRemoteSettings = false;
  private matchedPeer: SpiffeId | undefined;
  private failure: Error | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(id: number, target: ClientConnectionTarget, settings: ClientConnectionSettings) {
    super();
    this.id = id;
    this.target = target;
    this.settings = settings;
    this.peerAddress = formatAuthority(target.destination.ip, target.destination.port);
    this.sourceIdentity = target.source.identity;
    this.materialFingerprint = materialFingerprint(target.source);
    this.ready = this.establish();
    // Failures reach callers through openTunnel; an unobserved rejection must not crash the process.
    this.ready.catch(() => undefined);
  }

  get state(): ClientConnectionState {
    return this.connectionState;
  }

  /** Streams reserved or open on this connection. */
  get activeStreams(): number {
    return this.reserved;
  }

  /** The server identity that passed secure naming, once the handshake is done. */
  get peerIdentity(): SpiffeId | undefined {
    return this.matchedPeer;
  }

  /** True when new streams may be opened: not draining or closed and under both our and the server's stream limit. */
  hasCapacity(maxStreams: number): boolean {
    if (this.connectionState !== 'connecting' && this.connectionState !== 'open') return false;
    return this.reserved < Math.min(maxStreams, this.remoteMaxStreams ?? Number.POSITIVE_INFINITY);
  }

  reserve(): void {
    this.reserved += 1;
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  /**
   * Sends CONNECT on a slot taken with `reserve()`. Resolves on 200; rejects with `HboneConnectRefused` for any other
   * status, or with the connection's failure. The slot is released when the stream closes, or at once on failure.
   */
  async openTunnel(authority: string, headers: Readonly<Record<string, string>>, deadline: number): Promise<HboneTunnel> {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.release();
    };
    try {
      await withDeadline(this.ready, deadline, () => new HboneConnectTimeout(this.peerAddress, this.settings.connectTimeoutMs, 'waiting for the HBONE connection'));
    } catch (error) {
      release();
      throw error;
    }
    const session = this.session;
    if (session === undefined || session.closed || session.destroyed) {
      release();
      throw new HboneConnectionLost(this.peerAddress, this.failure?.message ?? 'the connection is closing', true);
    }
    const peerIdentity = this.matchedPeer;
    if (peerIdentity === undefined) {
      release();
      throw new SecureNamingViolation(this.target.expectedIdentities, []);
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ...headers, ':method': 'CONNECT', ':authority': authority }, { endStream: false });
    } catch (error) {
      release();
      throw new HboneConnectionLost(this.peerAddress, error instanceof Error ? error.message : String(error), true, { cause: error });
    }
    stream.once('close', release);
    stream.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        return true;
      };
      const fail = (error: Error): void => {
        if (!settle()) return;
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new HboneConnectTimeout(this.peerAddress, this.settings.connectTimeoutMs, `waiting for the answer to CONNECT ${authority}`)),
        Math.max(0, deadline - Date.now()),
      );
      stream.once('response', (responseHeaders) => {
        const status = Number(responseHeaders[':status']);
        if (status !== 200) {
          fail(new HboneConnectRefused(status, authority, this.peerAddress));
          return;
        }
        if (!settle()) return;
        resolve(
          new HboneTunnel(stream, {
            authority,
            peerIdentity,
            peerAddress: this.peerAddress,
            responseHeaders,
            connectionId: this.id,
          }),
        );
      });
      // Every tunnel's stream closes eventually; the error (a stack capture) is only worth building before the 200.
      stream.once('close', () => {
        if (!settled) fail(this.streamLostError(stream));
      });
    });
  }

  /** No new streams; the connection closes once its open streams finish. */
  drain(): void {
    if (this.connectionState === 'closed') return;
    this.connectionState = 'draining';
    if (this.reserved === 0) this.close();
  }

  /** Graceful close: GOAWAY, then close when open streams are done. */
  close(): void {
    if (this.connectionState === 'closed') return;
    this.connectionState = 'draining';
    if (this.session !== undefined && !this.session.closed) this.session.close();
    else if (this.session === undefined) this.destroy(new HboneConnectionLost(this.peerAddress, 'the connection was closed while connecting', true));
  }

  destroy(error?: Error): void {
    if (error !== undefined) this.failure ??= error;
    this.session?.destroy();
    this.tlsSocket?.destroy();
    this.raw?.destroy();
    this.markClosed();
  }

  private release(): void {
    this.reserved -= 1;
    if (this.reserved > 0 || this.connectionState === 'closed') return;
    if (this.connectionState === 'draining') {
      this.close();
      return;
    }
    this.idleTimer = setTimeout(() => this.close(), this.settings.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private markClosed(): void {
    if (this.connectionState === 'closed') return;
    this.connectionState = 'closed';
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.emit('closed');
  }

  private async establish(): Promise<void> {
    const deadline = Date.now() + this.settings.connectTimeoutMs;
    let stage = 'dialling';
    const timeout = (): Error => new HboneConnectTimeout(this.peerAddress, this.settings.connectTimeoutMs, stage);
    try {
      const dialled = this.target.dial(this.target.destination.ip, this.target.destination.port);
      // A dial that finishes after we gave up must not leak its socket.
      dialled.then((socket) => (this.connectionState === 'closed' ? socket.destroy() : undefined)).catch(() => undefined);
      let raw: net.Socket;
      try {
        raw = await withDeadline(dialled, deadline, timeout);
      } catch (error) {
        throw error instanceof HboneConnectTimeout ? error : new HboneDialFailed(this.peerAddress, { cause: error });
      }
      this.raw = raw;
      this.assertNotClosed();
      raw.setNoDelay(true);
      raw.setKeepAlive(true, TCP_KEEPALIVE_MS);
      stage = 'in the TLS handshake';
      const socket = await withDeadline(this.handshake(raw), deadline, timeout);
      this.assertNotClosed();
      this.startSession(socket);
      this.connectionState = this.connectionState === 'connecting' ? 'open' : this.connectionState;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.destroy(failure);
      throw this.failure ?? failure;
    }
  }

  private handshake(raw: net.Socket): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      let matched: SpiffeId | undefined;
      const socket = tls.connect(clientTlsOptions(this.target.source, this.target.expectedIdentities, raw, (identity) => (matched = identity)));
      this.tlsSocket = socket;
      socket.once('error', (error: Error) => {
        if (error instanceof SecureNamingViolation) reject(error);
        else reject(new TlsHandshakeFailed(this.peerAddress, error.message, { cause: error }));
      });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') {
          reject(new TlsHandshakeFailed(this.peerAddress, `the server did not agree to ALPN "h2" (got ${JSON.stringify(socket.alpnProtocol)})`));
          return;
        }
        // Node skips checkServerIdentity on resumed sessions; we never resume, but secure naming must hold regardless.
        if (matched === undefined) {
          const peer = socket.getPeerX509Certificate();
          matched = peer === undefined ? undefined : matchedIdentity(this.target.expectedIdentities, peer.raw);
          if (matched === undefined) {
            reject(new SecureNamingViolation(this.target.expectedIdentities, peer === undefined ? [] : uriSansOfDer(peer.raw)));
            return;
          }
        }
        this.matchedPeer = matched;
        resolve(socket);
      });
      socket.once('close', () => reject(new TlsHandshakeFailed(this.peerAddress, 'the connection closed during the handshake')));
    });
  }

  private startSession(socket: tls.TLSSocket): void {
    // Later socket errors surface through the session; this listener only keeps them from being uncaught.
    socket.on('error', (error: Error) => {
      this.failure ??= error;
    });
    const session = http2.connect(`https://${this.peerAddress}`, { ...clientHttp2Options(this.settings.tuning), createConnection: () => socket });
    this.session = session;
    applyConnectionWindow(session, this.settings.tuning);
    session.on('remoteSettings', (settings) => {
      this.sawRemoteSettings = true;
      this.remoteMaxStreams = settings.maxConcurrentStreams;
    });
    session.on('goaway', () => {
      if (this.connectionState !== 'closed') this.connectionState = 'draining';
    });
    session.on('error', (error: Error) => {
      this.failure ??= error;
    });
    session.once('close', () => this.markClosed());
  }

  private streamLostError(stream: http2.ClientHttp2Stream): Error {
    if (!this.sawRemoteSettings) {
      return new TlsHandshakeFailed(
        this.peerAddress,
        'the server closed the connection before speaking HTTP/2, which is how it rejects a client certificate ' +
          `(not signed by a root it trusts, expired, or without a SPIFFE ID)${this.failure ? `: ${this.failure.message}` : ''}`,
        { cause: this.failure },
      );
    }
    const code = stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
    if (code === http2.constants.NGHTTP2_REFUSED_STREAM) {
      return new HboneConnectionLost(this.peerAddress, 'the server refused the stream without processing it (REFUSED_STREAM)', true);
    }
    const session = this.session;
    if (session === undefined || session.destroyed || session.closed) {
      return new HboneConnectionLost(this.peerAddress, this.failure?.message ?? 'the connection closed', false, { cause: this.failure });
    }
    return new HboneConnectionLost(this.peerAddress, `the stream was reset with ${h2ErrorName(code)}`, false);
  }

  private assertNotClosed(): void {
    if (this.connectionState === 'closed') {
      throw this.failure ?? new HboneConnectionLost(this.peerAddress, 'the connection was closed while connecting', true);
    }
  }
}

/** `promise`, or `onTimeout()` as a rejection if `deadline` (epoch ms) passes first. */
function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
