// One HTTP/1.1 Upgrade (WebSocket) through the waypoint: the request filters, one try on a dedicated upstream connection, then a raw byte pipe once the upstream answers 101.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { relay } from '../../hbone/relay';
import { localReply, type LocalReply } from '../filters/local-reply';
import { UPSTREAM_TIMEOUT } from '../filters/timeout/filter';
import { switchingProtocolsHead, type UpgradeKind } from '../server/upgrade-request';
import type { ClusterRuntime } from '../upstream/cluster-runtime';
import { CircuitOverflow } from '../upstream/circuit-breaker';
import { forwardableRequestHeaders, headerBytes, switchingProtocolsHeaders, upgradeRequestHeaders } from '../upstream/headers';
import type { UpstreamResponse } from '../upstream/http-pool';
import { sendUpgradeRequest, type UpgradeAnswer } from '../upstream/upgrade-request';
import { Exchange, type ProxyDeps, type TunnelContext } from './exchange';
import { finish, prepareExchange } from './handler';
import { RequestBody } from './request-body';
import { finalHeaders, sendLocalReply, streamResponse, type ResponseRecord } from './respond';
import { CLIENT_GONE, CONNECT_FAILURE, hashKeyFor, NO_HEALTHY, OVERFLOW, RESET } from './router';

/** Envoy's answer to an Upgrade type it is not configured for (response code details `upgrade_failed`). */
const UPGRADE_FAILED = localReply(403, '', '-');

type UpgradeTry =
  | { readonly kind: 'local'; readonly reply: LocalReply }
  | { readonly kind: 'response'; readonly response: UpstreamResponse; readonly release: () => void }
  | { readonly kind: 'switched'; readonly answer: Extract<UpgradeAnswer, { kind: 'switched' }>; readonly clientBytes: () => number; readonly release: () => void };

/**
 * Serves an Upgrade request Node's HTTP server handed over with `socket` detached from its parser. Local replies
 * and non-101 answers close the connection afterwards (`connection: close`, as Envoy answers a failed upgrade).
 * Telemetry is recorded once, when the exchange (for a 101, the upgraded connection) is over.
 */
export async function handleUpgrade(deps: ProxyDeps, tunnel: TunnelContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, kind: UpgradeKind): Promise<void> {
  const exchange = new Exchange({ protocol: `HTTP/${req.httpVersion}`, method: req.method ?? 'GET', path: req.url ?? '/', authority: req.headers.host ?? '', headers: forwardableRequestHeaders(req.headers) });
  // The parser stopped at the end of the head: the request has no body to read here (its bytes are in `head`).
  exchange.body = new RequestBody(req);
  (socket as { setTimeout?: (ms: number) => unknown }).setTimeout?.(0);
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as net.Socket);
  let switched = false;
  socket.once('close', () => {
    if (!switched) exchange.abort.abort(new Error('the client went away'));
  });
  // Envoy closes a connection whose upgrade failed once the answer is flushed: a full close, not a half-close.
  const closeAfter = (): void => {
    const close = (): void => {
      socket.once('finish', () => socket.destroy());
      socket.end();
    };
    if (res.writableFinished) close();
    else res.once('finish', close);
  };

  let record: ResponseRecord;
  let clientBytes = 0;
  try {
    if (kind !== 'websocket') {
      exchange.requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID();
      record = sendLocalReply(res, exchange, UPGRADE_FAILED);
      closeAfter();
    } else {
      const prepared = await prepareExchange(deps, deps.table(), tunnel, exchange, res, { upgrade: true });
      if (prepared.kind === 'answered') {
        record = prepared.record;
        closeAfter();
      } else {
        const attempt = await tryUpgrade(deps, exchange, prepared.runtime, req, socket, head);
        if (attempt.kind === 'local') {
          if (exchange.abort.signal.aborted) {
            exchange.addFlag('DC');
            record = { status: 0, bytes: 0 };
          } else record = sendLocalReply(res, exchange, attempt.reply);
          closeAfter();
        } else if (attempt.kind === 'response') {
          try {
            record = await streamResponse(res, exchange, attempt.response);
          } catch {
            exchange.addFlag(exchange.abort.signal.aborted ? 'DC' : 'UPE');
            record = { status: attempt.response.status, bytes: 0 };
          } finally {
            attempt.response.abort();
            attempt.release();
          }
          closeAfter();
        } else {
          switched = true;
          res.detachSocket(socket as net.Socket);
          try {
            const spliced = await spliceUpgraded(exchange, socket, attempt.answer);
            record = spliced.record;
            clientBytes = attempt.clientBytes() + spliced.clientBytes;
          } finally {
            attempt.release();
          }
        }
      }
    }
  } catch (error) {
    deps.logger.error({ err: error, requestId: exchange.requestId }, 'an upgrade request failed inside the waypoint');
    try {
      record = switched ? { status: 101, bytes: 0 } : sendLocalReply(res, exchange, localReply(500, 'internal error', '-'));
      closeAfter();
    } catch {
      socket.destroy();
      record = { status: 500, bytes: 0 };
    }
  }
  try {
    finish(deps, tunnel, exchange, record, req, { requestBodyBytes: clientBytes, upgrade: String(req.headers.upgrade ?? '') });
  } catch (error) {
    deps.logger.error({ err: error, requestId: exchange.requestId }, 'recording an upgrade failed');
  }
}

/**
 * The single try of an upgrade: no retries, no per-try timeout. Circuit breaking, load balancing and outlier
 * detection work as for a request; the route timeout runs only until the answer (Envoy disarms it on the 101).
 * The connection slot is held until the upgraded connection closes.
 */
async function tryUpgrade(deps: ProxyDeps, exchange: Exchange, runtime: ClusterRuntime, req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<UpgradeTry> {
  const spec = runtime.spec;
  const signal = exchange.abort.signal;
  exchange.upstreamCluster = spec.key;
  const remaining = exchange.deadline === undefined ? Infinity : exchange.deadline - Date.now();
  if (remaining <= 0) return { kind: 'local', reply: UPSTREAM_TIMEOUT };
  const deadline = Number.isFinite(remaining) ? AbortSignal.timeout(remaining) : undefined;
  const waitSignal = deadline ? AbortSignal.any([exchange.abort.toAbortSignal(), deadline]) : exchange.abort.toAbortSignal();
  let admission;
  try {
    admission = await runtime.breaker.admit(true, waitSignal);
  } catch (error) {
    if (error instanceof CircuitOverflow) return { kind: 'local', reply: OVERFLOW };
    if (signal.aborted) return { kind: 'local', reply: CLIENT_GONE };
    if (waitSignal.aborted) return { kind: 'local', reply: UPSTREAM_TIMEOUT };
    throw error;
  }
  const hashKey = hashKeyFor(spec, exchange, deps.random);
  const endpoint = runtime.pick(hashKey !== undefined ? { hashKey, random: deps.random } : { random: deps.random });
  if (endpoint === undefined) {
    admission.release();
    return { kind: 'local', reply: NO_HEALTHY };
  }
  exchange.tries = 1;
  exchange.upstreamHost = endpoint.key;
  exchange.destinationWorkload = endpoint.workload;
  const done = runtime.begin(endpoint.key);
  const release = (): void => {
    done();
    admission.release();
  };

  // Whatever ends the wait first: the answer, the client leaving, or the route timeout.
  let stopWaiting: ((why: 'client' | 'timeout') => void) | undefined;
  const interrupted = new Promise<'client' | 'timeout'>((resolve) => (stopWaiting = resolve));
  const onClientGone = (): void => stopWaiting?.('client');
  const onTimeout = (): void => stopWaiting?.('timeout');
  waitSignal.addEventListener('abort', () => (signal.aborted ? onClientGone() : onTimeout()), { once: true });

  const connecting = deps.pool.connectRaw(endpoint, spec.policy.connectionPool?.connectTimeoutMs);
  const connected = await Promise.race([connecting.then((s) => ({ stream: s }), (error: unknown) => ({ error })), interrupted]);
  if (connected === 'client' || connected === 'timeout') {
    connecting.then((s) => s.destroy(), () => undefined);
    release();
    if (connected === 'client') return { kind: 'local', reply: CLIENT_GONE };
    return { kind: 'local', reply: UPSTREAM_TIMEOUT };
  }
  if ('error' in connected) {
    runtime.report(endpoint.key, { localFailure: true });
    release();
    return { kind: 'local', reply: CONNECT_FAILURE };
  }
  const stream = connected.stream;
  // Failures surface as 'close' (and, before the answer, through the HTTP client); an unhandled 'error' must not crash.
  stream.on('error', () => undefined);

  // Until the answer, the client's bytes (a request body, rarely anything else) go upstream as they come.
  let clientBytes = head.length;
  let early = false;
  const forwardEarly = (chunk: Buffer): void => {
    clientBytes += chunk.length;
    if (!stream.write(chunk)) {
      client.pause();
      stream.once('drain', () => early && client.resume());
    }
  };
  const endEarly = (): void => {
    stream.end();
  };
  const stopEarly = (): void => {
    early = false;
    client.off('data', forwardEarly);
    client.off('end', endEarly);
    // Whatever arrives next waits in the client stream for the relay (or the close).
    client.pause();
  };
  const upstreamHead = { method: exchange.method, path: exchange.path, authority: exchange.authority, headers: upgradeRequestHeaders(req.headers, exchange.headers) };
  const sent = sendUpgradeRequest(stream, endpoint.key, upstreamHead, () => {
    if (stream.destroyed || client.destroyed) return;
    if (head.length > 0) stream.write(head);
    early = true;
    client.on('data', forwardEarly);
    client.once('end', endEarly);
  });
  const answered = await Promise.race([sent.answer.then((answer) => ({ answer }), (error: unknown) => ({ error })), interrupted]);
  stopEarly();
  if (answered === 'client' || answered === 'timeout') {
    sent.abort();
    release();
    if (answered === 'client') return { kind: 'local', reply: CLIENT_GONE };
    return { kind: 'local', reply: UPSTREAM_TIMEOUT };
  }
  // Past the answer, neither the route timeout nor the wait for it matter any more.
  stopWaiting = undefined;
  if ('error' in answered) {
    runtime.report(endpoint.key, { localFailure: true });
    sent.abort();
    release();
    return { kind: 'local', reply: RESET };
  }
  const answer = answered.answer;
  if (answer.kind === 'response') {
    runtime.report(endpoint.key, { status: answer.response.status });
    return { kind: 'response', response: answer.response, release };
  }
  runtime.report(endpoint.key, { status: 101 });
  return { kind: 'switched', answer, clientBytes: () => clientBytes, release };
}

/**
 * Sends the 101 to the client, then splices the two connections with the mesh's byte relay until both are closed:
 * an end (half-close) crosses as an end, a reset as a reset. Resolves with the response record and the bytes the
 * client sent through the pipe.
 */
async function spliceUpgraded(exchange: Exchange, client: Duplex, answer: Extract<UpgradeAnswer, { kind: 'switched' }>): Promise<{ record: ResponseRecord; clientBytes: number }> {
  const headers = finalHeaders(exchange, switchingProtocolsHeaders(answer.headers));
  client.write(switchingProtocolsHead(headers));
  if (answer.head.length > 0) client.write(answer.head);
  const piped = relay(client, answer.socket);
  // The client was paused when the answer came; the relay reads it from here.
  client.resume();
  const result = await piped;
  return { record: { status: 101, bytes: headerBytes(headers) + answer.head.length + result.bytesOut }, clientBytes: result.bytesIn };
}
