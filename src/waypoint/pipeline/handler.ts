// One HTTP request through the waypoint, its filters in a fixed order (FILTER_ORDER), then telemetry.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { audited, authorize, RBAC_DENIED_BODY } from '../filters/authz/filter';
import type { AuthzAttributes } from '../filters/authz/config';
import { planFault } from '../filters/fault/filter';
import { localReply, type LocalReply } from '../filters/local-reply';
import { pickMirrors } from '../filters/mirror/filter';
import { immediateAnswer } from '../filters/redirect/filter';
import { applyHeaderOps, rewritePath } from '../filters/rewrite/filter';
import { deadlineFor } from '../filters/timeout/filter';
import { requestFacts, type RequestFacts, type SourceFacts } from '../routing/request-facts';
import { selectRoute } from '../routing/select';
import { EMPTY_POLICY_SET, type CompiledRoute, type RoutingTable } from '../routing/table';
import type { ClusterRuntime } from '../upstream/cluster-runtime';
import { forwardableRequestHeaders, headerBytes } from '../upstream/headers';
import { Exchange, type ProxyDeps, type TunnelContext } from './exchange';
import { sendMirror } from './mirror';
import type { AbortLike } from './request-abort';
import { RequestBody } from './request-body';
import { sendLocalReply, streamResponse, type DownstreamResponse, type ResponseRecord } from './respond';
import { forward, resolveCluster } from './router';

/**
 * The order every request goes through. Each step may answer by itself (a local reply) and stop the rest:
 * request id, L7 authorization, route match, fault (delay, then abort), redirect / direct response, rewrite and
 * request headers, mirror, timeout, then the router (retries around circuit breaking, load balancing and outlier
 * detection for each try).
 */
export const FILTER_ORDER = ['request-id', 'authz', 'route', 'fault', 'redirect', 'rewrite', 'mirror', 'timeout', 'router'] as const;

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;

/** Source facts per tunnel, for the routing table they were read from: every request on a tunnel has the same peer. */
const sourceFactsByTunnel = new WeakMap<TunnelContext, { readonly table: RoutingTable; readonly facts: SourceFacts }>();

function tunnelSourceFacts(table: RoutingTable, tunnel: TunnelContext): SourceFacts {
  const cached = sourceFactsByTunnel.get(tunnel);
  if (cached !== undefined && cached.table === table) return cached.facts;
  const facts = sourceFacts(table, tunnel.peer);
  sourceFactsByTunnel.set(tunnel, { table, facts });
  return facts;
}

/** The calling workload as the config knows it: by the tunnel's source address, else by a unique identity. */
export function sourceFacts(table: RoutingTable, peer: TunnelContext['peer']): SourceFacts {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(peer.identity);
  const workload = table.workloadsByIp.get(peer.address);
  return {
    ip: peer.address,
    identity: peer.identity,
    principal: peer.identity.replace(/^spiffe:\/\//, ''),
    namespace: m?.[2] ?? '',
    serviceAccount: m ? `${m[2]}/${m[3]}` : '',
    ...(workload && workload.identity === peer.identity ? { workload } : {}),
  };
}

function sleep(ms: number, signal: AbortLike): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function authorityOf(req: DownstreamRequest): string {
  const h2 = (req.headers as Record<string, string | undefined>)[':authority'];
  return h2 ?? req.headers.host ?? '';
}

/** Runs the filters for one request and answers it. Never throws: failures become 5xx local replies. */
export async function handleRequest(deps: ProxyDeps, tunnel: TunnelContext, req: DownstreamRequest, res: DownstreamResponse): Promise<void> {
  const table = deps.table();
  const protocol = req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`;
  const exchange = new Exchange({ protocol, method: req.method ?? 'GET', path: req.url ?? '/', authority: authorityOf(req), headers: forwardableRequestHeaders(req.headers) });
  exchange.body = new RequestBody(req as unknown as import('node:stream').Readable);
  (res as unknown as NodeJS.EventEmitter).once('close', () => {
    if (!(res as ServerResponse).writableFinished) exchange.abort.abort(new Error('the client went away'));
  });
  let record: ResponseRecord | undefined;
  try {
    record = await run(deps, table, tunnel, exchange, res);
  } catch (error) {
    deps.logger.error({ err: error, requestId: exchange.requestId }, 'request failed inside the waypoint');
    try {
      record = sendLocalReply(res, exchange, localReply(500, 'internal error', '-'));
    } catch {
      res.destroy();
      record = { status: 500, bytes: 0 };
    }
  }
  try {
    finish(deps, tunnel, exchange, record, req);
  } catch (error) {
    deps.logger.error({ err: error, requestId: exchange.requestId }, 'recording a request failed');
  }
}

/** Where the filters left a request: answered by the waypoint itself, or to be forwarded to `runtime`'s cluster. */
export type Prepared =
  | { readonly kind: 'answered'; readonly record: ResponseRecord }
  | { readonly kind: 'forward'; readonly route: CompiledRoute | undefined; readonly runtime: ClusterRuntime };

export interface PrepareOptions {
  /** An HTTP/1.1 Upgrade (WebSocket): no mirrors, as Envoy does not shadow upgrades. */
  readonly upgrade?: boolean;
}

async function run(deps: ProxyDeps, table: RoutingTable, tunnel: TunnelContext, exchange: Exchange, res: DownstreamResponse): Promise<ResponseRecord> {
  const prepared = await prepareExchange(deps, table, tunnel, exchange, res);
  if (prepared.kind === 'answered') return prepared.record;
  const { route, runtime } = prepared;
  const reply = (r: LocalReply): ResponseRecord => sendLocalReply(res, exchange, r);
  // router.
  let deadlineTimer: NodeJS.Timeout | undefined;
  const result = await forward(deps, exchange, route, runtime);
  if (result.kind === 'local') {
    if (exchange.abort.signal.aborted) {
      exchange.addFlag('DC');
      return { status: 0, bytes: 0 };
    }
    return reply(result.reply);
  }
  try {
    if (exchange.deadline !== undefined) {
      // Past the headers, an expired route timeout can only reset the response (Envoy does the same).
      deadlineTimer = setTimeout(() => {
        exchange.addFlag('UT');
        result.response.abort();
      }, Math.max(0, exchange.deadline - Date.now()));
    }
    return await streamResponse(res, exchange, result.response);
  } catch {
    exchange.addFlag(exchange.abort.signal.aborted ? 'DC' : 'UPE');
    return { status: result.response.status, bytes: 0 };
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    result.release();
  }
}

/**
 * Every filter before the router, in FILTER_ORDER: request id, authz, route, fault, redirect / direct response,
 * rewrite and headers, mirror (not for upgrades), timeout; then the cluster to forward to. Local replies are sent
 * on `res` here.
 */
export async function prepareExchange(deps: ProxyDeps, table: RoutingTable, tunnel: TunnelContext, exchange: Exchange, res: DownstreamResponse, options: PrepareOptions = {}): Promise<Prepared> {
  const reply = (r: LocalReply): Prepared => ({ kind: 'answered', record: sendLocalReply(res, exchange, r) });

  // request-id: keep the client's, else mint one; trace headers (traceparent, b3) pass through untouched.
  const incomingId = exchange.headers['x-request-id'];
  exchange.requestId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : randomUUID();
  exchange.headers['x-request-id'] = exchange.requestId;
  exchange.headers['x-forwarded-proto'] ??= 'http';

  const target = table.target(tunnel.destinationIp, tunnel.destinationPort);
  if (target === undefined) return reply(localReply(503, `this waypoint no longer serves ${tunnel.destinationIp}:${tunnel.destinationPort}`, 'NR'));
  exchange.target = target;
  exchange.facts = requestFacts({
    method: exchange.method,
    target: exchange.path,
    authority: exchange.authority,
    headers: exchange.headers as Record<string, string | string[] | undefined>,
    source: tunnelSourceFacts(table, tunnel),
    destinationIp: tunnel.destinationIp,
    destinationPort: tunnel.destinationPort,
  });
  const facts = exchange.facts;
  const q = exchange.path.indexOf('?');
  exchange.path = q < 0 ? facts.path : `${facts.path}${exchange.path.slice(q)}`;

  // authz: the waypoint's own policies and the service's, DENY before ALLOW.
  const attributes: AuthzAttributes = {
    http: true,
    method: facts.method,
    path: facts.path,
    host: facts.authority,
    header: (name) => facts.header(name),
    sourceIp: facts.source.ip,
    principal: facts.source.principal,
    namespace: facts.source.namespace,
    serviceAccount: facts.source.serviceAccount,
    destinationIp: facts.destinationIp,
    destinationPort: facts.destinationPort,
  };
  const sets = [table.gatewayPolicies, target.kind === 'service' ? target.service.policies : EMPTY_POLICY_SET];
  const decision = authorize(sets, attributes);
  for (const dry of decision.dryRun) deps.accessLog.info({ requestId: exchange.requestId, policy: dry.policy, action: dry.action, matched: dry.matched }, 'dry-run authorization policy evaluated');
  const audits = audited(sets, attributes);
  if (audits !== undefined) exchange.policyDecision = `audit:${audits.join(',')}`;
  if (!decision.allowed) {
    exchange.policyDecision = decision.policy ?? decision.reason;
    return reply(localReply(403, RBAC_DENIED_BODY, 'RBAC'));
  }

  // route: workloads served directly have no routes (traffic goes to the pod itself).
  let route;
  if (target.kind === 'service') {
    const selection = selectRoute(target.service, facts, target.port.port);
    if (selection === undefined) return reply(localReply(404, '', 'NR'));
    exchange.selection = selection;
    route = selection.route;

    // fault: delay first, then abort.
    const fault = planFault(route.fault, deps.random);
    if (fault.delayMs > 0) {
      exchange.addFlag('DI');
      await sleep(fault.delayMs, exchange.abort.signal);
      if (exchange.abort.signal.aborted) return { kind: 'answered', record: { status: 0, bytes: 0 } };
    }
    if (fault.abort) return reply(fault.abort);

    // redirect / direct response.
    if (route.answer) {
      return reply(immediateAnswer(route.answer, { scheme: facts.scheme, authority: facts.authority, path: facts.path, query: facts.query, matchedPrefix: selection.matchedPrefix, port: target.port.port }));
    }

    // rewrite and header manipulation.
    if (route.rewrite) {
      exchange.path = rewritePath(route.rewrite, facts.path, facts.query, selection.matchedPrefix);
      if (route.rewrite.authority !== undefined) exchange.authority = route.rewrite.authority;
    }
    if (route.headers?.request) applyHeaderOps(exchange.headers, route.headers.request);
    if (route.headers?.response) exchange.responseOps.push(route.headers.response);
    const hostOverride = exchange.headers[':authority'] ?? exchange.headers.host;
    if (typeof hostOverride === 'string') exchange.authority = hostOverride;
    delete exchange.headers.host;
    delete exchange.headers[':authority'];

    // mirror: fire and forget, before the main try so the copies see the whole body.
    if (!options.upgrade) for (const mirror of pickMirrors(route.mirrors, deps.random)) sendMirror(deps, table, exchange, mirror);

    // timeout.
    exchange.deadline = deadlineFor(route.timeout, exchange.startedAt);
  }

  const cluster = resolveCluster(deps, exchange, route);
  if ('reply' in cluster) return reply(cluster.reply);
  return { kind: 'forward', route, runtime: cluster.runtime };
}

/** What telemetry records for an upgraded connection besides the response: the bytes the client sent after its request head. */
export interface FinishExtras {
  readonly requestBodyBytes?: number;
  /** The upgrade protocol, for the access log. */
  readonly upgrade?: string;
}

/** Records one request: istio_* metrics and one access-log line. */
export function finish(deps: ProxyDeps, tunnel: TunnelContext, exchange: Exchange, record: ResponseRecord, req: DownstreamRequest, extras: FinishExtras = {}): void {
  const durationMs = Date.now() - exchange.startedAt;
  const facts = exchange.facts as RequestFacts | undefined;
  const target = exchange.target;
  const service = target?.kind === 'service' ? target.service.doc : undefined;
  const requestBytes = (extras.requestBodyBytes ?? exchange.body.bytesRead) + headerBytes(req.headers);
  deps.metrics.observe({
    labels: {
      sourceIdentity: tunnel.peer.identity,
      source: facts?.source.workload,
      service,
      destination: exchange.destinationWorkload ?? (target?.kind === 'workload' ? target.workload : undefined),
      responseCode: record.status,
      grpcStatus: record.grpcStatus,
      flags: exchange.flags,
    },
    durationMs,
    requestBytes,
    responseBytes: record.bytes,
  });
  if (!deps.accessLog.isLevelEnabled('info')) return;
  deps.accessLog.info(
    {
      requestId: exchange.requestId,
      method: exchange.method,
      path: req.url,
      upstreamPath: exchange.path,
      protocol: exchange.protocol,
      ...(extras.upgrade !== undefined ? { upgrade: extras.upgrade } : {}),
      authority: exchange.authority,
      responseCode: record.status,
      ...(record.grpcStatus !== undefined ? { grpcStatus: record.grpcStatus } : {}),
      responseFlags: exchange.flags,
      durationMs,
      bytesReceived: requestBytes,
      bytesSent: record.bytes,
      route: exchange.selection ? `${exchange.selection.route.source}${exchange.selection.route.name ? `#${exchange.selection.route.name}` : ''}` : undefined,
      upstreamCluster: exchange.upstreamCluster,
      upstreamHost: exchange.upstreamHost,
      tries: exchange.tries,
      'src.addr': `${tunnel.peer.address}:${tunnel.peer.port}`,
      'src.identity': tunnel.peer.identity,
      'dst.addr': `${tunnel.destinationIp}:${tunnel.destinationPort}`,
      'dst.service': service?.hostname,
      policy: exchange.policyDecision,
      userAgent: req.headers['user-agent'],
      traceparent: req.headers.traceparent,
    },
    'request',
  );
}
