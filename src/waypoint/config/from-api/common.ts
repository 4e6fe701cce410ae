// Helpers shared by the converters from Istio and Gateway API objects to the waypoint config document.
import { compileRe2, parseDuration, RegexSyntaxError, type HeaderOperations, type Headers, type StringMatch } from '../../../api';
import type { HeaderOpsDoc, HeaderRulesDoc, RetryDoc, StringMatchDoc } from '../types';

export const CLUSTER_DOMAIN = 'cluster.local';

/** Istio reads a host without dots as a short name in the object's namespace; anything else is taken as written. */
export function resolveHost(host: string, namespace: string): string {
  const lower = host.toLowerCase();
  return lower.includes('.') || lower === '*' ? lower : `${lower}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** Istio's default retry policy (pilot route/retry DefaultPolicy): 2 retries on connection problems and 503. */
export const DEFAULT_RETRY: RetryDoc = Object.freeze({
  attempts: 2,
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']),
  retriableStatusCodes: Object.freeze([503]),
});

/** A duration in milliseconds, or undefined (and a warning) when it does not parse. */
export function durationMs(value: string | undefined, what: string, warnings: string[]): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) warnings.push(`${what}: ${JSON.stringify(value)} is not a duration; ignored.`);
  return ms;
}

/** Throws RegexSyntaxError for patterns RE2 (and so Envoy) would refuse. */
export function checkRegex(pattern: string): void {
  compileRe2(pattern);
}

export function regexProblem(pattern: string): string | undefined {
  try {
    checkRegex(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof RegexSyntaxError) return error.message;
    throw error;
  }
}

/** An Istio StringMatch; `{}` (allowed for headers and query parameters) means "present". */
export function istioStringMatch(match: StringMatch): StringMatchDoc {
  if (match.exact !== undefined) return { exact: match.exact };
  if (match.prefix !== undefined) return { prefix: match.prefix };
  if (match.regex !== undefined) return { regex: match.regex };
  return { present: true };
}

export function regexOf(match: StringMatchDoc): string | undefined {
  return 'regex' in match ? match.regex : undefined;
}

function sortedPairs(map: Readonly<Record<string, string>> | undefined): (readonly [string, string])[] | undefined {
  if (map === undefined) return undefined;
  return Object.keys(map)
    .sort()
    .map((name) => [name.toLowerCase(), map[name]] as const);
}

function istioHeaderOps(ops: HeaderOperations | undefined): HeaderOpsDoc | undefined {
  if (ops === undefined) return undefined;
  const out: { set?: (readonly [string, string])[]; add?: (readonly [string, string])[]; remove?: string[] } = {};
  const set = sortedPairs(ops.set);
  const add = sortedPairs(ops.add);
  if (set?.length) out.set = set;
  if (add?.length) out.add = add;
  if (ops.remove?.length) out.remove = ops.remove.map((name) => name.toLowerCase());
  return Object.keys(out).length > 0 ? out : undefined;
}

/** VirtualService `headers` (request/response set/add/remove maps). */
export function istioHeaders(headers: Headers | undefined): HeaderRulesDoc | undefined {
  if (headers === undefined) return undefined;
  const request = istioHeaderOps(headers.request);
  const response = istioHeaderOps(headers.response);
  if (request === undefined && response === undefined) return undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

/** Gateway API header filter lists ({name, value}[]) as document header operations. */
export function gatewayHeaderOps(filter: { set?: { name: string; value: string }[]; add?: { name: string; value: string }[]; remove?: string[] } | undefined): HeaderOpsDoc | undefined {
  if (filter === undefined) return undefined;
  const pairs = (list: { name: string; value: string }[] | undefined): (readonly [string, string])[] | undefined =>
    list?.length ? list.map(({ name, value }) => [name.toLowerCase(), value] as const) : undefined;
  const out: { set?: (readonly [string, string])[]; add?: (readonly [string, string])[]; remove?: string[] } = {};
  const set = pairs(filter.set);
  const add = pairs(filter.add);
  if (set) out.set = set;
  if (add) out.add = add;
  if (filter.remove?.length) out.remove = filter.remove.map((name) => name.toLowerCase());
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Object creation order, as Istio breaks ties: creationTimestamp, then namespace/name. */
export function compareAge(a: { metadata: { creationTimestamp?: string; namespace?: string; name: string } }, b: typeof a): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
