// Writes answers to the client: the waypoint's own local replies (plain or gRPC trailers-only) and upstream responses streamed with backpressure and trailers.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { grpcStatusForHttp, type LocalReply } from '../filters/local-reply';
import { applyHeaderOps } from '../filters/rewrite/filter';
import { headerBytes } from '../upstream/headers';
import type { UpstreamResponse } from '../upstream/http-pool';
import type { Exchange } from './exchange';

export type DownstreamResponse = ServerResponse | Http2ServerResponse;

/** What was sent, for telemetry. */
export interface ResponseRecord {
  readonly status: number;
  readonly grpcStatus?: string;
  bytes: number;
}

function isHttp2(res: DownstreamResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** Upstream or local response headers plus the route's response operations and Set-Cookie from consistent hashing. */
export function finalHeaders(exchange: Exchange, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const ops of exchange.responseOps) applyHeaderOps(headers, ops);
  for (const [name, value] of exchange.extraResponseHeaders) {
    const current = headers[name];
    headers[name] = current === undefined ? value : [...(Array.isArray(current) ? current : [String(current)]), value];
  }
  return headers;
}

/** Sends a local reply; gRPC clients get HTTP 200 with grpc-status in a headers-only (trailers-only) response, as Envoy does. */
export function sendLocalReply(res: DownstreamResponse, exchange: Exchange, reply: LocalReply): ResponseRecord {
  exchange.addFlag(reply.flag);
  if (res.headersSent || res.destroyed || res.writableEnded) {
    // Too late to answer (the client left, or a response already started): all that is left is to close.
    if (!res.destroyed) res.destroy();
    return { status: reply.status, bytes: 0 };
  }
  if (exchange.grpc) {
    const grpcStatus = reply.grpcStatus ?? grpcStatusForHttp(reply.status);
    const status = { 'grpc-status': String(grpcStatus), 'grpc-message': encodeURIComponent(reply.body) };
    const headers = finalHeaders(exchange, { ...reply.headers, 'content-type': 'application/grpc' });
    // HTTP/2 carries the status as trailers (Node's compatibility API cannot send a headers-only response).
    if (isHttp2(res)) {
      res.writeHead(200, headers as never);
      res.addTrailers(status);
    } else {
      res.writeHead(200, { ...headers, ...status } as never);
    }
    res.end();
    return { status: 200, grpcStatus: String(grpcStatus), bytes: headerBytes(headers) + headerBytes(status) };
  }
  const body = Buffer.from(reply.body);
  const headers = finalHeaders(exchange, { ...reply.headers, ...(body.length > 0 ? { 'content-type': 'text/plain' } : {}), 'content-length': String(body.length) });
  res.writeHead(reply.status, headers as never);
  res.end(body);
  return { status: reply.status, bytes: body.length + headerBytes(headers) };
}

/**
 * Streams an upstream response to the client: headers (with the route's response operations), the body with
 * backpressure, then trailers (HTTP/2 clients; gRPC needs them). Resolves when the client has it all, or rejects
 * when either side breaks.
 */
export function streamResponse(res: DownstreamResponse, exchange: Exchange, upstream: UpstreamResponse): Promise<ResponseRecord> {
  const headers = finalHeaders(exchange, { ...upstream.headers });
  const record: { status: number; grpcStatus?: string; bytes: number } = { status: upstream.status, bytes: headerBytes(headers) };
  const headerGrpc = headers['grpc-status'];
  // A gRPC trailers-only answer (status in the headers) is re-sent as headers plus trailers: Node's compatibility
  // API always sends headers without END_STREAM, and gRPC clients need the status at the end of the stream.
  const movedToTrailers: OutgoingHttpHeaders = {};
  if (headerGrpc !== undefined) {
    record.grpcStatus = String(headerGrpc);
    if (isHttp2(res)) {
      for (const name of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) {
        if (headers[name] !== undefined) movedToTrailers[name] = headers[name];
        delete headers[name];
      }
    }
  }
  res.writeHead(upstream.status, headers as never);
  const events = res as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const body = upstream.body;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      upstream.abort();
      if (!res.writableEnded) res.destroy(error);
      reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      if (!(res as ServerResponse).write(chunk)) {
        body.pause();
        events.once('drain', () => body.resume());
      }
    });
    body.once('end', () => {
      upstream.trailers().then((trailers) => {
        if (settled) return;
        settled = true;
        if (isHttp2(res) && (trailers !== undefined || Object.keys(movedToTrailers).length > 0)) {
          const grpc = trailers?.['grpc-status'];
          if (grpc !== undefined) record.grpcStatus = String(grpc);
          const clean: OutgoingHttpHeaders = { ...movedToTrailers };
          for (const [name, value] of Object.entries(trailers ?? {})) if (!name.startsWith(':') && value !== undefined) clean[name] = value;
          res.addTrailers(clean as never);
        }
        res.end();
        resolve(record);
      }, fail);
    });
    body.once('error', (error: Error) => fail(error));
    body.once('close', () => {
      if (!body.readableEnded) fail(new Error('the upstream response was cut short'));
    });
    events.once('close', () => {
      if (!res.writableFinished) fail(new Error('the client went away during the response'));
    });
  });
}
