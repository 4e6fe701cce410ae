// Sends an HTTP/1.1 Upgrade request on a dedicated (never pooled) upstream connection and waits for its answer: 101, after which the connection is a byte pipe, or a final response.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { UpstreamReset } from '../errors';
import { forwardableResponseHeaders } from './headers';
import type { UpstreamRequestHead, UpstreamResponse } from './http-pool';
import { asSocket } from './socket-shim';

export type UpgradeAnswer =
  /** 101: `socket` is the upstream connection, `head` what the upstream sent right after the 101. */
  | { readonly kind: 'switched'; readonly headers: IncomingHttpHeaders; readonly socket: Duplex; readonly head: Buffer }
  /** Any other status: the upgrade ends here; the response is relayed like any other. */
  | { readonly kind: 'response'; readonly response: UpstreamResponse };

export interface UpgradeRequest {
  /** Rejects with UpstreamReset when the connection breaks before an answer. */
  readonly answer: Promise<UpgradeAnswer>;
  /** Closes the upstream connection. */
  abort(): void;
}

/**
 * Writes the request head (with `Connection: Upgrade` and `Upgrade` in `head.headers`) on `stream`, then calls
 * `headSent`: from then on the caller writes the client's bytes straight to `stream`, unchanged, so the request body
 * (rare) and any early protocol bytes keep the client's own framing. Node's HTTP client parses the answer.
 */
export function sendUpgradeRequest(stream: Duplex, where: string, head: UpstreamRequestHead, headSent: () => void): UpgradeRequest {
  const socket = asSocket(stream);
  const request = http.request({
    createConnection: () => socket,
    method: head.method,
    path: head.path,
    headers: { ...head.headers, host: head.authority },
    setHost: false,
  });
  // The client's bytes follow as they came: Node must not announce chunked framing of its own.
  if (head.headers['transfer-encoding'] === undefined) request.removeHeader('transfer-encoding');
  request.flushHeaders();
  // The head waits in the request until its socket is assigned, and is written right after 'socket' is emitted.
  request.once('socket', () => process.nextTick(headSent));
  const abort = (): void => {
    request.destroy();
    stream.destroy();
  };
  const answer = new Promise<UpgradeAnswer>((resolve, reject) => {
    let answered = false;
    request.once('upgrade', (response: http.IncomingMessage, upgraded: Duplex, rest: Buffer) => {
      answered = true;
      resolve({ kind: 'switched', headers: response.headers, socket: upgraded, head: rest });
    });
    request.once('response', (response) => {
      answered = true;
      response.on('error', () => undefined);
      const ended = new Promise<undefined>((done) => {
        response.once('end', () => done(undefined));
        response.once('close', () => done(undefined));
      });
      resolve({
        kind: 'response',
        response: {
          status: response.statusCode ?? 502,
          headers: forwardableResponseHeaders(response.headers),
          body: response,
          trailers: () => ended,
          abort,
        },
      });
    });
    request.on('error', (error: Error) => {
      if (!answered) reject(new UpstreamReset(where, error));
    });
  });
  return { answer, abort };
}
