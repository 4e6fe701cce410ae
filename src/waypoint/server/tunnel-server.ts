// Serves the byte stream inside each accepted HBONE tunnel: HTTP/1.1 (keep-alive, pipelining, WebSocket upgrades), HTTP/2 prior knowledge (h2c, gRPC), or TCP.
import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { AppProtocolDoc } from '../config/types';
import type { ProxyDeps, TunnelContext } from '../pipeline/exchange';
import { handleRequest } from '../pipeline/handler';
import { handleUpgrade } from '../pipeline/upgrade';
import { createDuplexPair } from './duplex-pair';
import { sniff, type SniffedProtocol } from './sniff';
import { proxyTcp } from './tcp-proxy';
import { classifyUpgrade, serveWithoutUpgrade } from './upgrade-request';

export interface TunnelServerOptions {
  /** How long to wait for the first bytes before treating a stream as TCP (server-first protocols send nothing). */
  readonly sniffTimeoutMs?: number;
  /** Idle HTTP/1.1 keep-alive connections close after this long. */
  readonly keepAliveTimeoutMs?: number;
}

/** How the tunnel's port says to treat its bytes: declared HTTP, declared TCP, or unknown (sniff). */
export type ProtocolHint = 'http' | 'tcp' | 'sniff';

export function protocolHint(appProtocol: AppProtocolDoc | undefined): ProtocolHint {
  if (appProtocol === 'HTTP11' || appProtocol === 'HTTP2' || appProtocol === 'GRPC') return 'http';
  if (appProtocol === 'TCP' || appProtocol === 'TLS') return 'tcp';
  return 'sniff';
}

export class TunnelServer {
  private readonly http1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly contexts = new WeakMap<object, TunnelContext>();
  private adopting: TunnelContext | undefined;
  private readonly sniffTimeoutMs: number;
  private readonly open = new Set<Duplex>();

  constructor(
    private readonly deps: ProxyDeps,
    options: TunnelServerOptions = {},
  ) {
    this.sniffTimeoutMs = options.sniffTimeoutMs ?? 1_000;
    this.http1 = http.createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
      const tunnel = this.contexts.get(req.socket);
      if (tunnel === undefined) {
        res.destroy();
        return;
      }
      handleRequest(deps, tunnel, req, res).catch((error: unknown) => this.failed(error, () => res.destroy()));
    });
    this.http1.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    // Node hands every request with `Connection: upgrade` and `Upgrade` here, its connection detached from the parser.
    this.http1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const tunnel = this.contexts.get(socket);
      if (tunnel === undefined) {
        socket.destroy();
        return;
      }
      const kind = classifyUpgrade(req.headers);
      if (kind === 'h2c') {
        serveWithoutUpgrade(this.http1, req, socket, head);
        return;
      }
      handleUpgrade(deps, tunnel, req, socket, head, kind).catch((error: unknown) => this.failed(error, () => socket.destroy()));
    });
    this.h2 = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
    this.h2.on('session', (session) => {
      if (this.adopting) this.contexts.set(session, this.adopting);
      session.on('error', () => undefined);
    });
    this.h2.on('request', (req, res) => {
      const tunnel = this.contexts.get(req.stream.session as object);
      if (tunnel === undefined) {
        res.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      handleRequest(deps, tunnel, req, res).catch((error: unknown) => this.failed(error, () => res.destroy()));
    });
    this.h2.on('sessionError', () => undefined);
  }

  /** Tunnels being served. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Starts serving one tunnel and returns the stream end the HBONE server splices with it. The protocol is
   * decided from the port's declared protocol or, when unknown, from the first bytes.
   */
  accept(tunnel: TunnelContext, hint: ProtocolHint): Duplex {
    const { outer, inner } = createDuplexPair({
      remoteAddress: tunnel.peer.address,
      remotePort: tunnel.peer.port,
      localAddress: tunnel.destinationIp,
      localPort: tunnel.destinationPort,
    });
    this.open.add(inner);
    inner.once('close', () => this.open.delete(inner));
    inner.on('error', () => undefined);
    this.serve(inner, tunnel, hint).catch((error: unknown) => this.failed(error, () => inner.destroy(error instanceof Error ? error : new Error(String(error)))));
    return outer;
  }

  /** Closes every tunnel being served. */
  close(): void {
    for (const stream of this.open) stream.destroy();
    this.open.clear();
  }

  /** A bug in serving one tunnel or request costs only that tunnel or request, and is logged. */
  private failed(error: unknown, cleanup: () => void): void {
    this.deps.logger.error({ err: error }, 'serving a tunnel failed inside the waypoint');
    try {
      cleanup();
    } catch {
      // Already closed.
    }
  }

  private async serve(inner: Duplex, tunnel: TunnelContext, hint: ProtocolHint): Promise<void> {
    let protocol: SniffedProtocol;
    if (hint === 'tcp') protocol = 'tcp';
    else {
      protocol = await sniff(inner, this.sniffTimeoutMs);
      // A port declared HTTP stays HTTP: the parser answers 400 to bytes that are not.
      if (hint === 'http' && protocol === 'tcp') protocol = 'http1';
    }
    if (inner.destroyed) return;
    if (protocol === 'h2') {
      this.adopting = tunnel;
      try {
        this.h2.emit('connection', inner);
      } finally {
        this.adopting = undefined;
      }
    } else if (protocol === 'http1') {
      this.contexts.set(inner, tunnel);
      this.http1.emit('connection', inner);
    } else {
      await proxyTcp(this.deps, tunnel, inner);
    }
  }
}
