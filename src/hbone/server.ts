// The HBONE server: terminates mTLS on sockets handed to it, serves HTTP/2 CONNECT, asks the proxy what to do with each tunnel and splices the bytes.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { canonicalIp, parseAuthority, type TunnelAuthority } from './authority';
import { applyConnectionWindow, DEFAULT_HTTP2_TUNING, serverHttp2Options, type Http2Tuning } from './h2-settings';
import { peerCertificateFacts } from './identity';
import { abort, relay } from './relay';
import { decideTunnel } from './tunnel-decision';
import type {
  ConnectionRejectReason,
  HboneServerEvents,
  HboneServerOptions,
  ServerConnectionInfo,
  TunnelClosedInfo,
  TunnelPeer,
  TunnelRequest,
} from './server-types';
import { serverTlsOptions, type CertificateMaterial } from './tls';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_DECISION_TIMEOUT_MS = 30_000;
const TCP_KEEPALIVE_MS = 180_000;

/** A socket handed over but not yet through its TLS handshake. */
interface PendingHandshake {
  readonly raw: net.Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  reason: ConnectionRejectReason;
  error?: Error;
}

interface ServerConnection extends ServerConnectionInfo {
  readonly openedAt: number;
  readonly socket: tls.TLSSocket;
  session?: http2.ServerHttp2Session;
  tunnels: number;
}

export class HboneServer extends EventEmitter<HboneServerEvents> {
  private readonly options: HboneServerOptions;
  private readonly tuning: Http2Tuning;
  private readonly handshakeTimeoutMs: number;
  private readonly decisionTimeoutMs: number;
  private readonly h2: http2.Http2Server;
  // One tls.Server per certificate material: Node verifies client chains only for sockets a tls.Server accepts.
  private readonly terminators = new WeakMap<CertificateMaterial, tls.Server>();
  // Keyed by the TCP 4-tuple, which the TLS socket a terminator hands back reports identically.
  private readonly pending = new Map<string, PendingHandshake>();
  private readonly connections = new Set<ServerConnection>();
  // The connection whose TLS socket is being handed to the HTTP/2 server; its 'session' event fires synchronously.
  private adopting: ServerConnection | undefined;
  private nextConnectionId = 1;
  private nextTunnelId = 1;
  private openTunnels = 0;
  private closing = false;

  constructor(options: HboneServerOptions) {
    super();
    this.options = options;
    this.tuning = DEFAULT_HTTP2_TUNING;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.decisionTimeoutMs = options.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS;
    this.h2 = http2.createServer(serverHttp2Options(this.tuning));
    this.h2.on('session', (session) => this.adoptSession(session));
  }

  /** Number of HTTP/2 connections being served. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Number of tunnels between their 200 and their close. */
  get tunnelCount(): number {
    return this.openTunnels;
  }

  /**
   * Serves one accepted TCP connection. The server does not listen itself: the ztunnel accepts inside pod network
   * namespaces and hands sockets over. Bytes the socket already buffered are not lost (Node feeds them to TLS).
   */
  handleConnection(raw: net.Socket): void {
    const { remoteAddress, remotePort, localAddress, localPort } = raw;
    if (remoteAddress === undefined || remotePort === undefined || localAddress === undefined || localPort === undefined) {
      raw.destroy();
      return;
    }
    const key = tupleKey(remoteAddress, remotePort, localAddress, localPort);
    const handshake: PendingHandshake = {
      raw,
      remoteAddress: canonicalIp(remoteAddress),
      remotePort,
      localAddress: canonicalIp(localAddress),
      localPort,
      reason: 'TLS_HANDSHAKE',
    };
    raw.on('error', (error: Error) => {
      handshake.error ??= error;
    });
    raw.once('close', () => {
      if (this.pending.get(key) !== handshake) return;
      this.pending.delete(key);
      const why =
        handshake.error?.message ??
        'the connection closed during the TLS handshake (the client certificate did not verify against the mesh roots, or the client rejected ours)';
      this.reject(handshake, handshake.reason, why);
    });
    this.pending.set(key, handshake);
    if (this.closing) {
      this.dropPending(handshake, 'SHUTTING_DOWN', new Error('the HBONE server is shutting down'));
      return;
    }
    raw.setNoDelay(true);
    raw.setKeepAlive(true, TCP_KEEPALIVE_MS);
    Promise.resolve()
      .then(() => this.options.certificateFor(handshake.localAddress))
      .then(
        (material) => {
          if (raw.destroyed) return;
          if (material === undefined) {
            this.dropPending(handshake, 'NO_CERTIFICATE', new Error(`no workload certificate is available for ${handshake.localAddress}`));
            return;
          }
          let terminator: tls.Server;
          try {
            terminator = this.terminatorFor(material);
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            this.dropPending(handshake, 'CERTIFICATE_LOOKUP', new Error(`the certificate for ${handshake.localAddress} is unusable: ${reason}`));
            return;
          }
          terminator.emit('connection', raw);
        },
        (error: unknown) => {
          const cause = error instanceof Error ? error : new Error(String(error));
          this.dropPending(handshake, 'CERTIFICATE_LOOKUP', new Error(`looking up the certificate for ${handshake.localAddress} failed: ${cause.message}`));
        },
      );
  }

  /**
   * Stops taking connections, sends GOAWAY on every connection so clients open new tunnels elsewhere, and lets open
   * tunnels finish for up to `graceMs` before resetting them.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    for (const handshake of [...this.pending.values()]) {
      this.dropPending(handshake, 'SHUTTING_DOWN', new Error('the HBONE server is shutting down'));
    }
    const connections = [...this.connections];
    const closed = connections.map(({ socket }) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))));
    for (const { session } of connections) if (session !== undefined && !session.closed) session.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    // Destroying a session that is already closing only ends the socket gracefully, which never completes while a
    // client that stopped reading keeps our writes queued; the socket itself has to go.
    for (const { session, socket } of connections) {
      session?.destroy();
      socket.destroy();
    }
    await Promise.all(closed);
  }

  private terminatorFor(material: CertificateMaterial): tls.Server {
    let terminator = this.terminators.get(material);
    if (terminator === undefined) {
      // The chain is checked in onSecure instead of by Node: Node drops an unverified client without saying why,
      // and an operator needs the reason (expired, unknown CA) in the log.
      terminator = tls.createServer({ ...serverTlsOptions(material, this.handshakeTimeoutMs), rejectUnauthorized: false });
      terminator.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket));
      terminator.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        const handshake = this.pending.get(socketKey(socket));
        if (handshake !== undefined) handshake.error ??= error;
        // With a tlsClientError listener Node leaves the socket open (even on a handshake timeout): a client that never
        // finishes its handshake would hold a file descriptor for good.
        socket.destroy();
      });
      this.terminators.set(material, terminator);
    }
    return terminator;
  }

  private onSecure(socket: tls.TLSSocket): void {
    const key = socketKey(socket);
    const handshake = this.pending.get(key);
    if (handshake === undefined) {
      socket.destroy();
      return;
    }
    this.pending.delete(key);
    if (!socket.authorized) {
      const why = socket.authorizationError === null || socket.authorizationError === undefined ? 'no certificate' : String(socket.authorizationError);
      this.reject(handshake, 'TLS_HANDSHAKE', `the client certificate did not verify against the mesh roots: ${why}`);
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol !== 'h2') {
      this.reject(handshake, 'ALPN', `the client negotiated ALPN ${JSON.stringify(socket.alpnProtocol)}; HBONE needs "h2"`);
      socket.destroy();
      return;
    }
    let peer: TunnelPeer;
    try {
      const facts = peerCertificateFacts(socket);
      peer = { identity: facts.identity, address: handshake.remoteAddress, port: handshake.remotePort, certificateSerial: facts.serial };
    } catch (error) {
      this.reject(handshake, 'PEER_IDENTITY', error instanceof Error ? error.message : String(error));
      socket.destroy();
      return;
    }
    const connection: ServerConnection = {
      connectionId: this.nextConnectionId++,
      peer,
      localAddress: handshake.localAddress,
      localPort: handshake.localPort,
      openedAt: Date.now(),
      socket,
      tunnels: 0,
    };
    this.adopting = connection;
    try {
      this.h2.emit('connection', socket);
    } finally {
      this.adopting = undefined;
    }
    if (connection.session === undefined) socket.destroy();
  }

  private adoptSession(session: http2.ServerHttp2Session): void {
    const connection = this.adopting;
    if (connection === undefined) {
      session.destroy();
      return;
    }
    connection.session = session;
    this.connections.add(connection);
    applyConnectionWindow(session, this.tuning);
    session.on('stream', (stream, headers) => {
      this.onStream(connection, stream, headers).catch((error: unknown) => {
        // A bug here (or in an event listener) must cost only this tunnel, and loudly.
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        process.emitWarning(`HBONE tunnel from ${connection.peer.identity} failed internally: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      });
    });
    session.once('close', () => {
      this.connections.delete(connection);
      this.emit('connectionClosed', { ...info(connection), tunnels: connection.tunnels, durationMs: Date.now() - connection.openedAt });
    });
    this.emit('connectionOpened', info(connection));
  }

  private async onStream(connection: ServerConnection, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    const tunnelId = this.nextTunnelId++;
    const startedAt = Date.now();
    connection.tunnels += 1;
    // Errors surface through 'close' and rstCode; without a listener a reset would be an uncaught exception.
    stream.on('error', () => undefined);
    const base = { tunnelId, connectionId: connection.connectionId, peer: connection.peer, localAddress: connection.localAddress };
    const closed = (rest: Omit<TunnelClosedInfo, keyof typeof base | 'durationMs'>): void => {
      this.emit('tunnelClosed', { ...base, ...rest, durationMs: Date.now() - startedAt });
    };

    const method = headers[':method'];
    if (method !== 'CONNECT') {
      refuse(stream, 400);
      closed({ status: 400, outcome: 'refused', reason: `method ${String(method)} is not CONNECT`, bytesIn: 0, bytesOut: 0 });
      return;
    }
    const parsed = parseAuthority(headers[':authority']);
    if (!parsed.ok) {
      refuse(stream, 400);
      closed({ status: 400, outcome: 'refused', reason: `bad :authority: ${parsed.reason}`, bytesIn: 0, bytesOut: 0 });
      return;
    }
    const authority: TunnelAuthority = parsed.authority;
    const controller = new AbortController();
    const onEarlyClose = (): void => controller.abort(new Error('the client closed the stream before the tunnel was decided'));
    stream.once('close', onEarlyClose);
    const request: TunnelRequest = { id: tunnelId, authority, peer: connection.peer, localAddress: connection.localAddress, localPort: connection.localPort, headers, stream, signal: controller.signal };
    const decision = await decideTunnel((asked) => this.options.onTunnel(asked), request, controller, this.decisionTimeoutMs);
    stream.off('close', onEarlyClose);

    if (stream.closed || stream.destroyed) {
      if (decision.status === 200) abort(decision.upstream, new Error('the client went away before the tunnel opened'));
      closed({ authority, status: 0, outcome: 'cancelled', reason: 'the client closed the stream before the tunnel was decided', bytesIn: 0, bytesOut: 0 });
      return;
    }
    if (decision.status !== 200) {
      refuse(stream, decision.status, decision.headers);
      closed({ authority, status: decision.status, outcome: 'refused', reason: decision.reason, bytesIn: 0, bytesOut: 0 });
      return;
    }
    try {
      stream.respond({ ...decision.headers, ':status': 200 });
    } catch (error) {
      abort(decision.upstream, new Error('the 200 response could not be sent'));
      refuse(stream, 503);
      const reason = `the handler's response headers were rejected: ${error instanceof Error ? error.message : String(error)}`;
      closed({ authority, status: 503, outcome: 'refused', reason, bytesIn: 0, bytesOut: 0 });
      return;
    }
    this.openTunnels += 1;
    this.emit('tunnelOpened', { ...base, authority });
    const result = await relay(stream, decision.upstream, {
      onBytes: (direction, bytes) => {
        if (this.listenerCount('tunnelBytes') > 0) this.emit('tunnelBytes', { tunnelId, direction, bytes });
      },
    });
    this.openTunnels -= 1;
    closed({
      authority,
      status: 200,
      outcome: result.outcome,
      ...(result.abortedBy ? { abortedBy: result.abortedBy } : {}),
      ...(result.error ? { reason: result.error.message } : {}),
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
    });
  }

  private dropPending(handshake: PendingHandshake, reason: ConnectionRejectReason, error: Error): void {
    handshake.reason = reason;
    handshake.error = error;
    handshake.raw.destroy();
  }

  private reject(handshake: PendingHandshake, reason: ConnectionRejectReason, message: string): void {
    this.emit('connectionRejected', {
      reason,
      message,
      remoteAddress: handshake.remoteAddress,
      remotePort: handshake.remotePort,
      localAddress: handshake.localAddress,
      localPort: handshake.localPort,
    });
  }
}

/** Answers `status` with no body, then resets the client's half with NO_ERROR (RFC 9113 8.1: response complete). */
function refuse(stream: http2.ServerHttp2Stream, status: number, headers?: Readonly<Record<string, string>>): void {
  if (stream.closed || stream.destroyed) return;
  if (!stream.headersSent) {
    try {
      stream.respond({ ...headers, ':status': status }, { endStream: true });
    } catch {
      // Headers Node refuses to send (connection-specific, malformed) must not cost the status itself.
      stream.respond({ ':status': status }, { endStream: true });
    }
  }
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

function info(connection: ServerConnection): ServerConnectionInfo {
  return { connectionId: connection.connectionId, peer: connection.peer, localAddress: connection.localAddress, localPort: connection.localPort };
}

function tupleKey(remoteAddress: string, remotePort: number, localAddress: string, localPort: number): string {
  return `${remoteAddress}|${remotePort}|${localAddress}|${localPort}`;
}

function socketKey(socket: net.Socket): string {
  return tupleKey(socket.remoteAddress ?? '', socket.remotePort ?? 0, socket.localAddress ?? '', socket.localPort ?? 0);
}
