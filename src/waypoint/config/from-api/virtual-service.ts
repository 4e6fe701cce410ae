// VirtualService `http` routes -> the waypoint document's normalized routes, as Istio's waypoint builds them (pilot listener_waypoint.go).
import type { Destination, HTTPMatchRequest, VirtualService, VirtualServiceHttpRoute } from '../../../api';
import type { FaultDoc, HttpRouteDoc, MirrorDoc, RedirectDoc, RetryDoc, RewriteDoc, RouteDestinationDoc, RouteMatchDoc } from '../types';
import { DEFAULT_RETRY, durationMs, istioHeaders, istioStringMatch, regexOf, regexProblem, resolveHost } from './common';

/** What the converter needs to know about hosts: whether one exists, and which subsets its DestinationRule defines. */
export interface HostLookup {
  /** True when `host` (fully qualified) is a known Service. */
  hasHost(host: string): boolean;
  /** Subset names the DestinationRule for `host` defines. */
  subsetsOf(host: string): ReadonlySet<string>;
}

export interface ConvertedRoutes {
  readonly routes: HttpRouteDoc[];
  readonly warnings: string[];
}

/** Istio applies a route only when its gateways include "mesh" (or name none); a match listing other gateways never fires at a waypoint. */
function appliesToMesh(gateways: readonly string[] | undefined): boolean {
  return gateways === undefined || gateways.length === 0 || gateways.includes('mesh');
}

function convertMatch(match: HTTPMatchRequest): RouteMatchDoc {
  const named = (map: Record<string, import('../../../api').StringMatch> | undefined, lower: boolean) =>
    map === undefined
      ? undefined
      : Object.keys(map)
          .sort()
          .map((name) => ({ name: lower ? name.toLowerCase() : name, match: istioStringMatch(map[name]) }));
  const out: Record<string, unknown> = {};
  if (match.name !== undefined) out.name = match.name;
  if (match.uri) out.uri = istioStringMatch(match.uri);
  if (match.ignoreUriCase) out.ignoreUriCase = true;
  if (match.method) out.method = istioStringMatch(match.method);
  if (match.authority) out.authority = istioStringMatch(match.authority);
  if (match.scheme) out.scheme = istioStringMatch(match.scheme);
  if (match.headers) out.headers = named(match.headers, true);
  if (match.withoutHeaders) out.withoutHeaders = named(match.withoutHeaders, true);
  if (match.queryParams) out.queryParams = named(match.queryParams, false);
  if (match.port !== undefined) out.port = match.port;
  if (match.sourceLabels && Object.keys(match.sourceLabels).length > 0) out.sourceLabels = { ...match.sourceLabels };
  if (match.sourceNamespace) out.sourceNamespace = match.sourceNamespace;
  return out as RouteMatchDoc;
}

/** Every regular expression a match uses, so a bad one drops the route instead of breaking the push. */
function matchRegexes(match: RouteMatchDoc): string[] {
  const singles = [match.uri, match.method, match.authority, match.scheme].flatMap((m) => (m ? [regexOf(m)] : []));
  const named = [...(match.headers ?? []), ...(match.withoutHeaders ?? []), ...(match.queryParams ?? [])].map((m) => regexOf(m.match));
  return [...singles, ...named].filter((r): r is string => r !== undefined);
}

function convertRetries(route: VirtualServiceHttpRoute, what: string, warnings: string[]): RetryDoc | undefined {
  const retries = route.retries;
  if (retries === undefined) return DEFAULT_RETRY;
  const attempts = retries.attempts ?? DEFAULT_RETRY.attempts;
  if (attempts === 0) return undefined;
  const parts = (retries.retryOn ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  const codes = parts.filter((p) => /^[0-9]{3}$/.test(p)).map(Number);
  let retryOn = parts.filter((p) => !/^[0-9]{3}$/.test(p));
  if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) retryOn.push('retriable-status-codes');
  if (parts.length === 0) retryOn = [...DEFAULT_RETRY.retryOn];
  const perTry = durationMs(retries.perTryTimeout, `${what} retries.perTryTimeout`, warnings);
  return {
    attempts,
    ...(perTry !== undefined && perTry > 0 ? { perTryTimeoutMs: perTry } : {}),
    retryOn,
    retriableStatusCodes: codes.length > 0 ? codes : parts.length === 0 ? [...DEFAULT_RETRY.retriableStatusCodes] : [],
  };
}

function convertFault(route: VirtualServiceHttpRoute, what: string, warnings: string[]): FaultDoc | undefined {
  const fault = route.fault;
  if (fault === undefined) return undefined;
  const out: { delay?: FaultDoc['delay']; abort?: FaultDoc['abort'] } = {};
  if (fault.delay) {
    const ms = durationMs(fault.delay.fixedDelay, `${what} fault.delay.fixedDelay`, warnings);
    if (ms !== undefined) out.delay = { fixedDelayMs: ms, percentage: fault.delay.percentage?.value ?? fault.delay.percent ?? 100 };
  }
  if (fault.abort) {
    const percentage = fault.abort.percentage?.value ?? 100;
    if (fault.abort.httpStatus !== undefined) out.abort = { httpStatus: fault.abort.httpStatus, percentage };
    else if (fault.abort.grpcStatus !== undefined) out.abort = { grpcStatus: fault.abort.grpcStatus, percentage };
    else warnings.push(`${what}: fault.abort.http2Error is not supported by ambit's waypoint; the abort is ignored.`);
  }
  return out.delay || out.abort ? out : undefined;
}

function convertRedirect(route: VirtualServiceHttpRoute): RedirectDoc | undefined {
  const r = route.redirect;
  if (r === undefined) return undefined;
  return {
    ...(r.uri !== undefined ? { path: r.uri } : {}),
    ...(r.authority !== undefined ? { authority: r.authority } : {}),
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.derivePort !== undefined ? { derivePort: r.derivePort } : {}),
    ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
    status: r.redirectCode ?? 301,
  };
}

function convertRewrite(route: VirtualServiceHttpRoute): RewriteDoc | undefined {
  const r = route.rewrite;
  if (r === undefined) return undefined;
  return {
    ...(r.uri !== undefined ? { prefix: r.uri } : {}),
    ...(r.uriRegexRewrite !== undefined ? { regex: { match: r.uriRegexRewrite.match, rewrite: r.uriRegexRewrite.rewrite } } : {}),
    ...(r.authority !== undefined ? { authority: r.authority } : {}),
  };
}

/**
 * One VirtualService's http routes for a waypoint. A route that cannot work (an unknown host or subset, a regex
 * RE2 refuses, no match left for the mesh) is dropped with a warning; the others still apply.
 */
export function virtualServiceRoutes(vs: VirtualService, hosts: HostLookup): ConvertedRoutes {
  const namespace = vs.metadata.namespace ?? 'default';
  const label = `VirtualService ${namespace}/${vs.metadata.name}`;
  const warnings: string[] = [];
  const routes: HttpRouteDoc[] = [];
  (vs.spec?.http ?? []).forEach((http, index) => {
    const what = `${label} http[${index}]${http.name ? ` (${http.name})` : ''}`;
    const problems: string[] = [];
    const destination = (d: Destination): { host: string; subset?: string; port?: number } => {
      const host = resolveHost(d.host, namespace);
      if (!hosts.hasHost(host)) problems.push(`destination host ${host} is not a known service`);
      else if (d.subset !== undefined && !hosts.subsetsOf(host).has(d.subset)) problems.push(`subset ${d.subset} of ${host} is not defined by any DestinationRule`);
      return { host, ...(d.subset !== undefined ? { subset: d.subset } : {}), ...(d.port?.number !== undefined ? { port: d.port.number } : {}) };
    };
    const matches = (http.match ?? []).filter((m) => appliesToMesh(m.gateways)).map(convertMatch);
    if ((http.match ?? []).length > 0 && matches.length === 0) {
      warnings.push(`${what}: every match names gateways other than "mesh", so the route never applies at a waypoint; dropped.`);
      return;
    }
    for (const pattern of matches.flatMap(matchRegexes)) {
      const problem = regexProblem(pattern);
      if (problem) problems.push(problem);
    }
    let destinations: RouteDestinationDoc[] | undefined;
    if (http.route) {
      destinations = http.route.map((r) => {
        const weight = r.weight ?? 0;
        const headers = istioHeaders(r.headers);
        return { ...destination(r.destination), weight: http.route!.length === 1 && weight === 0 ? 100 : weight, ...(headers ? { headers } : {}) };
      });
    }
    const mirrors: MirrorDoc[] = [];
    if (http.mirror) mirrors.push({ ...destination(http.mirror), percentage: http.mirrorPercentage?.value ?? 100 });
    for (const m of http.mirrors ?? []) mirrors.push({ ...destination(m.destination), percentage: m.percentage?.value ?? 100 });
    const regexRewrite = http.rewrite?.uriRegexRewrite?.match;
    if (regexRewrite !== undefined) {
      const problem = regexProblem(regexRewrite);
      if (problem) problems.push(`rewrite.uriRegexRewrite: ${problem}`);
    }
    if (problems.length > 0) {
      warnings.push(`${what}: ${problems.join('; ')}; the route is dropped.`);
      return;
    }
    const timeoutMs = durationMs(http.timeout, `${what} timeout`, warnings);
    const headers = istioHeaders(http.headers);
    const retries = http.route ? convertRetries(http, what, warnings) : undefined;
    const fault = convertFault(http, what, warnings);
    const redirect = convertRedirect(http);
    const rewrite = convertRewrite(http);
    routes.push({
      name: http.name ?? '',
      source: label,
      gatewaySemantics: false,
      matches,
      ...(destinations ? { destinations } : {}),
      ...(redirect ? { redirect } : {}),
      ...(http.directResponse ? { directResponse: directResponseOf(http.directResponse) } : {}),
      ...(rewrite ? { rewrite } : {}),
      ...(headers ? { headers } : {}),
      ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
      ...(retries ? { retries } : {}),
      ...(fault ? { fault } : {}),
      ...(mirrors.length > 0 ? { mirrors } : {}),
    });
  });
  return { routes, warnings };
}

function directResponseOf(direct: NonNullable<VirtualServiceHttpRoute['directResponse']>): { status: number; body?: string } {
  const body = direct.body?.string ?? (direct.body?.bytes !== undefined ? Buffer.from(direct.body.bytes, 'base64').toString('utf8') : undefined);
  return { status: direct.status, ...(body !== undefined ? { body } : {}) };
}
