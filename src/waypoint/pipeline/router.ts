// The router stage: for each try, circuit breaking, load balancing and outlier detection, then the upstream call; retries and the route timeout wrap the tries.
import { localReply, type LocalReply } from '../filters/local-reply';
import { backoffMs, retriable, type TryOutcome } from '../filters/retry/filter';
import { applyHeaderOps } from '../filters/rewrite/filter';
import { UPSTREAM_TIMEOUT } from '../filters/timeout/filter';
import { UpstreamConnectFailed, UpstreamPerTryTimeout } from '../errors';
import { destinationPort, pickDestination } from '../routing/select';
import type { ClusterSpec, CompiledRoute } from '../routing/table';
import { CircuitOverflow } from '../upstream/circuit-breaker';
import type { ClusterRuntime } from '../upstream/cluster-runtime';
import type { UpstreamProtocol, UpstreamResponse } from '../upstream/http-pool';
import type { Exchange, ProxyDeps } from './exchange';
import type { AbortLike } from './request-abort';

/** The router's answer: an upstream response to stream, or a local reply. `release` frees the try's circuit slot. */
export type RouterResult =
  | { readonly kind: 'upstream'; readonly response: UpstreamResponse; readonly release: () => void }
  | { readonly kind: 'local'; readonly reply: LocalReply };

export const OVERFLOW = localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', 'UO', { 'x-envoy-overloaded': 'true' });
export const NO_HEALTHY = localReply(503, 'no healthy upstream', 'UH');
export const CONNECT_FAILURE = localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure', 'UF');
export const RESET = localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', 'UR');
/** Recorded (never sent) when the client went away while its request waited. */
export const CLIENT_GONE = localReply(499, 'client disconnected', 'DC');

function sleep(ms: number, signal: AbortLike): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Upstream protocol: HTTP/2 for ports declared HTTP2/gRPC, HTTP/1.1 for HTTP11, else what the client spoke. */
export function upstreamProtocol(spec: ClusterSpec, downstream: string): UpstreamProtocol {
  if (spec.appProtocol === 'HTTP2' || spec.appProtocol === 'GRPC') return 'h2';
  if (spec.appProtocol === 'HTTP11') return 'http1';
  return downstream === 'HTTP/2' ? 'h2' : 'http1';
}

/** The consistent-hash key a DestinationRule asks for; a missing cookie with a TTL is minted and set on the response. */
export function hashKeyFor(spec: ClusterSpec, exchange: Exchange, random: () => number): string | undefined {
  const lb = spec.policy.loadBalancer;
  if (lb === undefined || !('consistentHash' in lb)) return undefined;
  const hash = lb.consistentHash;
  if (hash.header !== undefined) return exchange.facts.header(hash.header);
  if (hash.sourceIp) return exchange.facts.source.ip;
  if (hash.queryParameter !== undefined) return exchange.facts.queryParam(hash.queryParameter);
  if (hash.cookie !== undefined) {
    const cookies = exchange.facts.header('cookie') ?? '';
    const found = cookies.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${hash.cookie!.name}=`));
    if (found !== undefined) return found.slice(hash.cookie.name.length + 1).replace(/^"(.*)"$/, '$1');
    if (hash.cookie.ttlMs === undefined) return undefined;
    const minted = Math.floor(random() * 2 ** 52).toString(16);
    const attributes = [`Max-Age=${Math.floor(hash.cookie.ttlMs / 1000)}`, ...(hash.cookie.path ? [`Path=${hash.cookie.path}`] : []), 'HttpOnly'];
    exchange.extraResponseHeaders.push(['set-cookie', `${hash.cookie.name}="${minted}"; ${attributes.join('; ')}`]);
    return minted;
  }
  return undefined;
}

function grpcStatusOf(response: UpstreamResponse): number | undefined {
  const value = response.headers['grpc-status'];
  return value === undefined ? undefined : Number(value);
}

/** Picks the destination and its cluster for a forwarding route; a local reply when there is no usable cluster. */
export function resolveCluster(deps: ProxyDeps, exchange: Exchange, route: CompiledRoute | undefined): { runtime: ClusterRuntime } | { reply: LocalReply } {
  const table = deps.table();
  const target = exchange.target;
  if (target?.kind === 'workload') return { runtime: deps.clusters.passthrough(table, target.workload, exchange.facts.destinationIp, target.port) };
  const missing = (): { reply: LocalReply } => ({ reply: route?.gatewaySemantics ? localReply(500, '', 'NC') : localReply(503, '', 'NC') });
  const destination = route === undefined ? undefined : pickDestination(route, deps.random);
  if (destination === undefined) return missing();
  const service = table.services.get(destination.host);
  const port = destinationPort(destination, service, exchange.facts.destinationPort);
  const spec = port === undefined ? undefined : table.cluster(destination.host, port, destination.subset);
  if (spec === undefined) return missing();
  if (destination.headers?.request) applyHeaderOps(exchange.headers, destination.headers.request);
  if (destination.headers?.response) exchange.responseOps.push(destination.headers.response);
  return { runtime: deps.clusters.runtime(spec) };
}

/**
 * Sends the request to `runtime`'s cluster with the route's retry policy and deadline. Each try takes a circuit
 * slot (overflow answers 503 at once), picks an endpoint (avoiding ones already tried), and reports its result to
 * outlier detection.
 */
export async function forward(deps: ProxyDeps, exchange: Exchange, route: CompiledRoute | undefined, runtime: ClusterRuntime): Promise<RouterResult> {
  const spec = runtime.spec;
  const protocol = upstreamProtocol(spec, exchange.protocol);
  const retry = route?.retry;
  const hashKey = hashKeyFor(spec, exchange, deps.random);
  // Endpoints earlier tries used; made only when there is a retry.
  let tried: Set<string> | undefined;
  let previous: string | undefined;
  const signal = exchange.abort.signal;
  exchange.upstreamCluster = spec.key;
  for (let attempt = 0; ; attempt++) {
    if (previous !== undefined) (tried ??= new Set()).add(previous);
    const remaining = exchange.deadline === undefined ? Infinity : exchange.deadline - Date.now();
    if (remaining <= 0) return { kind: 'local', reply: UPSTREAM_TIMEOUT };
    let admission;
    // A request waiting for a connection (pending) waits no longer than the route timeout or the client.
    const waitSignal = Number.isFinite(remaining) ? AbortSignal.any([exchange.abort.toAbortSignal(), AbortSignal.timeout(remaining)]) : signal;
    try {
      admission = await runtime.breaker.admit(protocol === 'http1', waitSignal);
    } catch (error) {
      if (error instanceof CircuitOverflow) return { kind: 'local', reply: OVERFLOW };
      if (signal.aborted) return { kind: 'local', reply: CLIENT_GONE };
      if (waitSignal.aborted) return { kind: 'local', reply: UPSTREAM_TIMEOUT };
      throw error;
    }
    const endpoint = runtime.pick(hashKey !== undefined ? { hashKey, exclude: tried, random: deps.random } : { exclude: tried, random: deps.random });
    if (endpoint === undefined) {
      admission.release();
      return { kind: 'local', reply: NO_HEALTHY };
    }
    previous = endpoint.key;
    exchange.tries = attempt + 1;
    exchange.upstreamHost = endpoint.key;
    exchange.destinationWorkload = endpoint.workload;
    if (attempt > 0) exchange.headers['x-envoy-attempt-count'] = String(attempt + 1);
    const done = runtime.begin(endpoint.key);
    const budget = Math.min(retry?.perTryTimeoutMs ?? Infinity, remaining);
    let timedOut: 'per-try' | 'route' | undefined;
    // A try with no time limit ends only when the client goes away: the client's own signal does, with no
    // per-try controller and listener to make and tear down for every request.
    let tryAbort: AbortController | undefined;
    let onClientGone: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(budget)) {
      const controller = new AbortController();
      tryAbort = controller;
      onClientGone = (): void => controller.abort(signal.reason);
      signal.addEventListener('abort', onClientGone, { once: true });
      timer = setTimeout(() => {
        timedOut = budget === remaining ? 'route' : 'per-try';
        controller.abort(new UpstreamPerTryTimeout(endpoint.key, budget));
      }, budget);
    }
    const connectTimeoutMs = spec.policy.connectionPool?.connectTimeoutMs;
    let outcome: TryOutcome;
    let response: UpstreamResponse | undefined;
    try {
      response = await deps.pool.send(endpoint, protocol, { method: exchange.method, path: exchange.path, authority: exchange.authority, headers: exchange.headers }, exchange.body, connectTimeoutMs ? { signal: tryAbort?.signal ?? signal, connectTimeoutMs } : { signal: tryAbort?.signal ?? signal });
      const grpcStatus = grpcStatusOf(response);
      outcome = grpcStatus !== undefined ? { kind: 'response', status: response.status, grpcStatus } : { kind: 'response', status: response.status };
    } catch (error) {
      outcome = timedOut ? { kind: 'per-try-timeout' } : error instanceof UpstreamConnectFailed ? { kind: 'connect-failure' } : { kind: 'reset' };
    } finally {
      if (timer) clearTimeout(timer);
      if (onClientGone) signal.removeEventListener('abort', onClientGone);
    }
    if (signal.aborted) {
      response?.abort();
      done();
      admission.release();
      return { kind: 'local', reply: CLIENT_GONE };
    }
    runtime.report(endpoint.key, outcome.kind === 'response' ? { status: outcome.status } : { localFailure: true });
    const canRetry = retry !== undefined && attempt < retry.attempts && retriable(retry, outcome) && exchange.body.replayable && timedOut !== 'route';
    if (canRetry && runtime.breaker.startRetry()) {
      response?.abort();
      done();
      admission.release();
      try {
        await sleep(backoffMs(attempt, deps.random), signal);
      } finally {
        runtime.breaker.endRetry();
      }
      continue;
    }
    if (response !== undefined) {
      exchange.body.release();
      return {
        kind: 'upstream',
        response,
        release: () => {
          done();
          admission.release();
        },
      };
    }
    done();
    admission.release();
    if (outcome.kind === 'per-try-timeout') return { kind: 'local', reply: UPSTREAM_TIMEOUT };
    return { kind: 'local', reply: outcome.kind === 'connect-failure' ? CONNECT_FAILURE : RESET };
  }
}
