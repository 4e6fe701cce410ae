// Gateway API HTTPRoute rules -> the waypoint document's normalized routes, one per (rule, match), ordered by Gateway API precedence as Istio orders them.
import type { BackendObjectReference, HTTPRoute, HTTPRouteFilter, HTTPRouteMatch, HTTPRouteRule } from '../../../api';
import type { HeaderRulesDoc, HttpRouteDoc, MirrorDoc, NamedMatchDoc, RedirectDoc, RetryDoc, RewriteDoc, RouteDestinationDoc, RouteMatchDoc, StringMatchDoc } from '../types';
import { compareAge, DEFAULT_RETRY, durationMs, gatewayHeaderOps, regexProblem, resolveHost, CLUSTER_DOMAIN } from './common';
import type { ConvertedRoutes, HostLookup } from './virtual-service';

/** One HTTPRoute as attached to a served service; `port` narrows it to one service port (parentRef.port). */
export interface AttachedHttpRoute {
  readonly route: HTTPRoute;
  readonly port?: number;
}

/** A backendRef's host: a Service by name (in the route's namespace unless given) or an Istio Hostname. */
export function backendHost(ref: BackendObjectReference, routeNamespace: string): string {
  if (ref.kind === 'Hostname') return ref.name.toLowerCase();
  if (ref.kind === 'ServiceEntry') return resolveHost(ref.name, ref.namespace ?? routeNamespace);
  return `${ref.name.toLowerCase()}.${ref.namespace ?? routeNamespace}.svc.${CLUSTER_DOMAIN}`;
}

function pathMatch(match: HTTPRouteMatch): StringMatchDoc | undefined {
  const type = match.path?.type ?? 'PathPrefix';
  const value = match.path?.value ?? '/';
  if (type === 'Exact') return { exact: value };
  if (type === 'RegularExpression') return { regex: value };
  return value === '/' ? undefined : { pathPrefix: value.replace(/\/+$/, '') };
}

function valueMatches(list: { type?: string; name: string; value: string }[] | undefined, lower: boolean): NamedMatchDoc[] | undefined {
  if (!list?.length) return undefined;
  return list.map((m) => ({ name: lower ? m.name.toLowerCase() : m.name, match: m.type === 'RegularExpression' ? { regex: m.value } : { exact: m.value } }));
}

function convertMatch(match: HTTPRouteMatch, port: number | undefined): RouteMatchDoc {
  const uri = pathMatch(match);
  const headers = valueMatches(match.headers, true);
  const queryParams = valueMatches(match.queryParams, false);
  return {
    ...(uri ? { uri } : {}),
    ...(match.method ? { method: { exact: match.method } } : {}),
    ...(headers ? { headers } : {}),
    ...(queryParams ? { queryParams } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

function filtersOfType<T extends HTTPRouteFilter['type']>(filters: readonly HTTPRouteFilter[] | undefined, type: T): HTTPRouteFilter[] {
  return (filters ?? []).filter((f) => f.type === type);
}

function headerRules(filters: readonly HTTPRouteFilter[] | undefined): HeaderRulesDoc | undefined {
  const request = gatewayHeaderOps(filtersOfType(filters, 'RequestHeaderModifier')[0]?.requestHeaderModifier);
  const response = gatewayHeaderOps(filtersOfType(filters, 'ResponseHeaderModifier')[0]?.responseHeaderModifier);
  if (!request && !response) return undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

function redirectOf(filters: readonly HTTPRouteFilter[] | undefined): RedirectDoc | undefined {
  const r = filtersOfType(filters, 'RequestRedirect')[0]?.requestRedirect;
  if (r === undefined) return undefined;
  const path = r.path?.type === 'ReplaceFullPath' ? { path: r.path.replaceFullPath ?? '/' } : r.path?.type === 'ReplacePrefixMatch' ? { prefix: r.path.replacePrefixMatch ?? '/' } : {};
  return {
    ...path,
    ...(r.hostname !== undefined ? { authority: r.hostname } : {}),
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
    status: r.statusCode ?? 302,
  };
}

function rewriteOf(filters: readonly HTTPRouteFilter[] | undefined): RewriteDoc | undefined {
  const r = filtersOfType(filters, 'URLRewrite')[0]?.urlRewrite;
  if (r === undefined) return undefined;
  const path = r.path?.type === 'ReplaceFullPath' ? { fullPath: r.path.replaceFullPath ?? '/' } : r.path?.type === 'ReplacePrefixMatch' ? { prefix: r.path.replacePrefixMatch ?? '/' } : {};
  const out = { ...path, ...(r.hostname !== undefined ? { authority: r.hostname } : {}) };
  return Object.keys(out).length > 0 ? out : undefined;
}

function mirrorsOf(filters: readonly HTTPRouteFilter[] | undefined, namespace: string): MirrorDoc[] {
  return filtersOfType(filters, 'RequestMirror').flatMap((f) => {
    const m = f.requestMirror;
    if (m === undefined) return [];
    const percentage = m.percent ?? (m.fraction ? (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100) : 100);
    return [{ host: backendHost(m.backendRef, namespace), ...(m.backendRef.port !== undefined ? { port: m.backendRef.port } : {}), percentage }];
  });
}

function retriesOf(rule: HTTPRouteRule & { retry?: unknown }, backendRequestMs: number | undefined): RetryDoc {
  const retry = (rule.retry ?? {}) as { attempts?: unknown; codes?: unknown };
  const attempts = typeof retry.attempts === 'number' ? retry.attempts : DEFAULT_RETRY.attempts;
  const codes = Array.isArray(retry.codes) ? retry.codes.filter((c): c is number => typeof c === 'number') : undefined;
  return {
    attempts,
    ...(backendRequestMs !== undefined && backendRequestMs > 0 ? { perTryTimeoutMs: backendRequestMs } : {}),
    retryOn: codes ? ['connect-failure', 'refused-stream', 'retriable-status-codes'] : [...DEFAULT_RETRY.retryOn],
    retriableStatusCodes: codes ?? [...DEFAULT_RETRY.retriableStatusCodes],
  };
}

interface Ranked {
  readonly doc: HttpRouteDoc;
  readonly match: RouteMatchDoc;
  readonly order: number;
}

/** Istio's sortHTTPRoutes: exact > prefix > regex, longer first, then method, more headers, more query parameters; stable otherwise. */
function precedence(a: Ranked, b: Ranked): number {
  const rank = (m: RouteMatchDoc): number => (m.uri === undefined ? 2 : 'exact' in m.uri ? 3 : 'regex' in m.uri ? 1 : 2);
  const length = (m: RouteMatchDoc): number => {
    const u = m.uri;
    if (u === undefined) return 0;
    return 'exact' in u ? u.exact.length : 'pathPrefix' in u ? u.pathPrefix.length : 'prefix' in u ? u.prefix.length : 'regex' in u ? u.regex.length : 0;
  };
  return (
    rank(b.match) - rank(a.match) ||
    length(b.match) - length(a.match) ||
    Number(b.match.method !== undefined) - Number(a.match.method !== undefined) ||
    (b.match.headers?.length ?? 0) - (a.match.headers?.length ?? 0) ||
    (b.match.queryParams?.length ?? 0) - (a.match.queryParams?.length ?? 0) ||
    a.order - b.order
  );
}

/**
 * The HTTPRoutes attached to one service as a single ordered route list. Routes are visited oldest first (Gateway
 * API's tie-break), each rule becomes one route per match, and the whole list is sorted by match precedence.
 */
export function httpRouteRoutes(attached: readonly AttachedHttpRoute[], hosts: HostLookup): ConvertedRoutes {
  const warnings: string[] = [];
  const ranked: Ranked[] = [];
  const sorted = [...attached].sort((a, b) => compareAge(a.route, b.route));
  for (const { route, port } of sorted) {
    const namespace = route.metadata.namespace ?? 'default';
    const label = `HTTPRoute ${namespace}/${route.metadata.name}`;
    (route.spec?.rules ?? [{}]).forEach((rule, index) => {
      const what = `${label} rules[${index}]${rule.name ? ` (${rule.name})` : ''}`;
      const matches = (rule.matches?.length ? rule.matches : [{}]).map((m) => convertMatch(m, port));
      const problems = matches.flatMap((m) => [m.uri, ...(m.headers ?? []).map((h) => h.match), ...(m.queryParams ?? []).map((q) => q.match)])
        .flatMap((m) => (m && 'regex' in m ? [regexProblem(m.regex)] : []))
        .filter((p): p is string => p !== undefined);
      if (problems.length > 0) {
        warnings.push(`${what}: ${problems.join('; ')}; the rule is dropped.`);
        return;
      }
      const timeoutMs = durationMs(rule.timeouts?.request, `${what} timeouts.request`, warnings);
      const backendMs = durationMs(rule.timeouts?.backendRequest, `${what} timeouts.backendRequest`, warnings);
      const redirect = redirectOf(rule.filters);
      const rewrite = rewriteOf(rule.filters);
      const headers = headerRules(rule.filters);
      const mirrors = mirrorsOf(rule.filters, namespace);
      const destinations: RouteDestinationDoc[] = (rule.backendRefs ?? [])
        .map((ref) => {
          const host = backendHost(ref, namespace);
          if (!hosts.hasHost(host)) warnings.push(`${what}: backend ${host} is not a known service; its share of requests is answered with 500.`);
          const perBackend = headerRules(ref.filters);
          return { host, ...(ref.port !== undefined ? { port: ref.port } : {}), weight: ref.weight ?? 1, ...(perBackend ? { headers: perBackend } : {}) };
        })
        .filter((d) => d.weight > 0);
      const action: Pick<HttpRouteDoc, 'destinations' | 'redirect' | 'directResponse'> = redirect
        ? { redirect }
        : destinations.length > 0
          ? { destinations }
          : { directResponse: { status: 500 } };
      matches.forEach((match) => {
        const doc: HttpRouteDoc = {
          name: rule.name ?? '',
          source: label,
          gatewaySemantics: true,
          matches: [match],
          ...action,
          ...(rewrite ? { rewrite } : {}),
          ...(headers ? { headers } : {}),
          ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
          ...(action.destinations ? { retries: retriesOf(rule, backendMs) } : {}),
          ...(mirrors.length > 0 ? { mirrors } : {}),
        };
        ranked.push({ doc, match, order: ranked.length });
      });
    });
  }
  ranked.sort(precedence);
  return { routes: ranked.map((r) => r.doc), warnings };
}
