// Pooled upstream HTTP over the connector: a keep-alive HTTP/1.1 agent and one multiplexed HTTP/2 session per endpoint.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import { formatAuthority } from '../../hbone/authority';
import { UpstreamConnectFailed, UpstreamReset } from '../errors';
import type { AbortLike } from '../pipeline/request-abort';
import type { RequestBody } from '../pipeline/request-body';
import type { UpstreamConnector, UpstreamEndpoint } from './connector';
import { forwardableResponseHeaders } from './headers';
import { asSocket } from './socket-shim';

export type UpstreamProtocol = 'http1' | 'h2';

export interface UpstreamRequestHead {
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  readonly authority: string;
  /** Lower-case, without pseudo, hop-by-hop or host headers. */
  readonly headers: OutgoingHttpHeaders;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Readable;
  /** Trailers that came after the body (gRPC status), once it ended; undefined when there were none. */
  trailers(): Promise<IncomingHttpHeaders | undefined>;
  /** Resets the upstream stream (or closes the HTTP/1.1 connection). */
  abort(): void;
}

export interface UpstreamPoolOptions {
  /** Idle pooled connections close after this long; Envoy's default is 1 h, ours 60 s. */
  readonly idleTimeoutMs?: number;
  /** Limit for one connect through the connector; Istio's default connectTimeout is 10 s. */
  readonly connectTimeoutMs?: number;
}

export interface SendOptions {
  readonly signal: AbortLike;
  readonly connectTimeoutMs?: number;
  /** False for mirrors: a slow copy must never slow the client's upload. Default true. */
  readonly critical?: boolean;
}

const DEFAULT_IDLE_MS = 60_000;
const DEFAULT_CONNECT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
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

export class UpstreamPool {
  private readonly agents = new Map<string, http.Agent>();
  /** The same agents by endpoint object (the routing table's, stable between pushes): no key string per request. */
  private agentByEndpoint = new WeakMap<UpstreamEndpoint, http.Agent>();
  private readonly sessions = new Map<string, Promise<http2.ClientHttp2Session>>();
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private closed = false;

  constructor(
    private readonly connector: UpstreamConnector,
    options: UpstreamPoolOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_MS;
  }

  /** Sends one try. Rejects with UpstreamConnectFailed or UpstreamReset before response headers; the body streams after. */
  send(endpoint: UpstreamEndpoint, protocol: UpstreamProtocol, head: UpstreamRequestHead, body: RequestBody, options: SendOptions): Promise<UpstreamResponse> {
    return protocol === 'h2' ? this.sendH2(endpoint, head, body, options) : this.sendHttp1(endpoint, head, body, options);
  }

  /** Number of pooled HTTP/1.1 sockets and HTTP/2 sessions, for the admin dump. */
  stats(): { endpoint: string; http1Sockets: number; http1Free: number; h2: boolean }[] {
    const keys = new Set([...this.agents.keys(), ...this.sessions.keys()]);
    return [...keys].sort().map((endpoint) => {
      const agent = this.agents.get(endpoint);
      const count = (record: NodeJS.ReadOnlyDict<unknown[]> | undefined): number => Object.values(record ?? {}).reduce((n, list) => n + (list?.length ?? 0), 0);
      return { endpoint, http1Sockets: count(agent?.sockets), http1Free: count(agent?.freeSockets), h2: this.sessions.has(endpoint) };
    });
  }

  close(): void {
    this.closed = true;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    this.agentByEndpoint = new WeakMap();
    for (const session of this.sessions.values()) session.then((s) => s.destroy(), () => undefined);
    this.sessions.clear();
  }

  /** A raw connection for TCP proxying, with the connect timeout; rejects with UpstreamConnectFailed. */
  connectRaw(endpoint: UpstreamEndpoint, timeoutMs?: number): Promise<import('node:stream').Duplex> {
    return this.connect(endpoint, timeoutMs);
  }

  private connect(endpoint: UpstreamEndpoint, timeoutMs: number | undefined): Promise<import('node:stream').Duplex> {
    const where = formatAuthority(endpoint.ip, endpoint.port);
    return withTimeout(this.connector.connect(endpoint), timeoutMs ?? this.connectTimeoutMs, `connecting to ${where}`).catch((error: unknown) => {
      throw new UpstreamConnectFailed(where, error);
    });
  }

  private agentFor(endpoint: UpstreamEndpoint, connectTimeoutMs: number | undefined): http.Agent {
    const known = this.agentByEndpoint.get(endpoint);
    if (known !== undefined) return known;
    const key = formatAuthority(endpoint.ip, endpoint.port);
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const pool = this;
      const created = new http.Agent({ keepAlive: true, timeout: this.idleTimeoutMs, scheduling: 'lifo' });
      // One agent per endpoint: every request has the same pool name, so skip building it from the options.
      created.getName = () => key;
      // The agent asks for a socket with a callback; ours comes from the connector (an HBONE tunnel in production).
      (created as unknown as { createConnection: unknown }).createConnection = (_options: unknown, callback: (error: Error | null, socket?: unknown) => void): undefined => {
        pool.connect(endpoint, connectTimeoutMs).then(
          (stream) => callback(null, asSocket(stream)),
          (error: Error) => callback(error),
        );
        return undefined;
      };
      agent = created;
      this.agents.set(key, agent);
    }
    this.agentByEndpoint.set(endpoint, agent);
    return agent;
  }

  private sendHttp1(endpoint: UpstreamEndpoint, head: UpstreamRequestHead, body: RequestBody, options: SendOptions): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new UpstreamConnectFailed(formatAuthority(endpoint.ip, endpoint.port), new Error('the upstream pool is closed')));
        return;
      }
      const request = http.request({
        agent: this.agentFor(endpoint, options.connectTimeoutMs),
        host: endpoint.ip,
        port: endpoint.port,
        method: head.method,
        path: head.path,
        headers: { ...head.headers, host: head.authority },
        setHost: false,
      });
      let responded = false;
      const onAbort = (): void => {
        request.destroy(new Error('the request was abandoned'));
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      const detach = body.attach(request, { critical: options.critical ?? true });
      request.once('response', (response) => {
        responded = true;
        // Aborting a try we will not use (a retry) makes an unfinished response emit 'error'; that is expected.
        response.on('error', () => undefined);
        options.signal.removeEventListener('abort', onAbort);
        let trailers: Promise<IncomingHttpHeaders | undefined> | undefined;
        resolve({
          status: response.statusCode ?? 502,
          headers: forwardableResponseHeaders(response.headers),
          body: response,
          trailers: () =>
            (trailers ??= new Promise((done) => {
              const finish = (): void => done(Object.keys(response.trailers).length > 0 ? response.trailers : undefined);
              if (response.complete) finish();
              else {
                response.once('end', finish);
                response.once('close', finish);
              }
            })),
          abort: () => {
            detach();
            request.destroy();
          },
        });
      });
      request.on('error', (error: Error) => {
        options.signal.removeEventListener('abort', onAbort);
        detach();
        if (responded) return;
        reject(error instanceof UpstreamConnectFailed ? error : new UpstreamReset(formatAuthority(endpoint.ip, endpoint.port), error));
      });
    });
  }

  private sessionFor(endpoint: UpstreamEndpoint, connectTimeoutMs: number | undefined): Promise<http2.ClientHttp2Session> {
    const key = formatAuthority(endpoint.ip, endpoint.port);
    const existing = this.sessions.get(key);
    if (existing) return existing;
    const created = this.connect(endpoint, connectTimeoutMs).then((stream) => {
      const session = http2.connect(`http://${key}`, { createConnection: () => stream });
      session.on('error', () => undefined);
      const forget = (): void => {
        if (this.sessions.get(key) === created) this.sessions.delete(key);
      };
      session.once('close', forget);
      session.once('goaway', forget);
      session.setTimeout(this.idleTimeoutMs, () => {
        if ((session as unknown as { state?: { streamCount?: number } }).state?.streamCount === 0) session.close();
      });
      return session;
    });
    created.catch(() => {
      if (this.sessions.get(key) === created) this.sessions.delete(key);
    });
    this.sessions.set(key, created);
    return created;
  }

  private async sendH2(endpoint: UpstreamEndpoint, head: UpstreamRequestHead, body: RequestBody, options: SendOptions): Promise<UpstreamResponse> {
    const where = formatAuthority(endpoint.ip, endpoint.port);
    if (this.closed) throw new UpstreamConnectFailed(where, new Error('the upstream pool is closed'));
    const session = await this.sessionFor(endpoint, options.connectTimeoutMs);
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({ ...head.headers, ':method': head.method, ':path': head.path, ':authority': head.authority, ':scheme': 'http' }, { endStream: false });
      } catch (error) {
        reject(new UpstreamReset(where, error));
        return;
      }
      let responded = false;
      const onAbort = (): void => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      const detach = body.attach(stream, { critical: options.critical ?? true });
      let trailerHeaders: IncomingHttpHeaders | undefined;
      stream.once('trailers', (headers) => {
        trailerHeaders = headers;
      });
      const ended = new Promise<IncomingHttpHeaders | undefined>((done) => {
        stream.once('close', () => done(trailerHeaders));
      });
      stream.once('response', (headers) => {
        responded = true;
        options.signal.removeEventListener('abort', onAbort);
        resolve({
          status: Number(headers[':status'] ?? 502),
          headers: forwardableResponseHeaders(headers),
          body: stream,
          trailers: () => ended,
          abort: () => {
            detach();
            if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
          },
        });
      });
      stream.on('error', () => undefined);
      stream.once('close', () => {
        options.signal.removeEventListener('abort', onAbort);
        detach();
        if (!responded) reject(new UpstreamReset(where, new Error(`the HTTP/2 stream closed with code ${stream.rstCode ?? 0} before a response`)));
      });
    });
  }
}
