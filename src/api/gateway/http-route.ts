// gateway.networking.k8s.io HTTPRoute: L7 routing attached to a Gateway or (for waypoints, GAMMA-style) to a Service.

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { custom, enumOf, int, isPlainObject, list, object, portNumber, refine, required, str, type Cursor, type Schema } from '../schema';
import { dnsLabel, dnsSubdomain, parseDuration, re2 } from '../formats';
import { headerName } from '../istio/common';
import { gatewayDuration, gatewayHostname, sectionName } from './common';

export interface ParentReference {
  /** Defaults to gateway.networking.k8s.io; a Service needs group "" (the core group). */
  group?: string;
  /** Defaults to Gateway. */
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface HTTPPathMatch {
  type?: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value?: string;
}

export interface HTTPHeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export type HTTPMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

export interface HTTPRouteMatch {
  path?: HTTPPathMatch;
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPHeaderMatch[];
  method?: HTTPMethod;
}

export interface HTTPHeaderFilter {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export interface BackendObjectReference {
  /** Defaults to "" (core); kind defaults to Service. */
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRouteFilter {
  type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestMirror' | 'RequestRedirect' | 'URLRewrite' | 'ExtensionRef';
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestMirror?: { backendRef: BackendObjectReference; percent?: number; fraction?: { numerator: number; denominator?: number } };
  requestRedirect?: { scheme?: 'http' | 'https'; hostname?: string; path?: HTTPPathModifier; port?: number; statusCode?: number };
  urlRewrite?: { hostname?: string; path?: HTTPPathModifier };
}

export interface HTTPBackendRef extends BackendObjectReference {
  /** Relative weight, 0-1000000; defaults to 1. */
  weight?: number;
  filters?: HTTPRouteFilter[];
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: HTTPBackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
}

export interface HTTPRouteSpec {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: HTTPRouteRule[];
}

export type HTTPRoute = Resource<HTTPRouteSpec>;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function isCoreGroup(group: string | undefined): boolean {
  return group === '' || group === 'core';
}

const parentRef = object<ParentReference>(
  {
    group: str(),
    kind: str(),
    namespace: dnsLabel(),
    name: required(dnsSubdomain()),
    sectionName: sectionName(),
    port: portNumber(),
  },
  {
    refine: (ref, at) => {
      const kind = ref.kind ?? 'Gateway';
      const group = ref.group ?? GATEWAY_GROUP;
      if (kind === 'Gateway' && group === GATEWAY_GROUP) return;
      if (kind === 'Service' && isCoreGroup(group)) return;
      if (kind === 'Service') return at.at('group').fail(`must be "" (the core group) for kind Service; an omitted group means ${GATEWAY_GROUP}`);
      at.fail(`unsupported parent ${group === '' ? kind : `${group}/${kind}`} (supported: ${GATEWAY_GROUP}/Gateway, Service with group "")`);
    },
  },
);

const pathMatch = object<HTTPPathMatch>(
  { type: enumOf(['Exact', 'PathPrefix', 'RegularExpression']), value: str({ maxLength: 1024 }) },
  {
    refine: (m, at) => {
      const type = m.type ?? 'PathPrefix';
      if (m.value === undefined) return;
      if (type === 'RegularExpression') re2().check(m.value, at.at('value'));
      else if (!m.value.startsWith('/')) at.at('value').fail(`must start with "/" (got ${JSON.stringify(m.value)})`);
    },
  },
);

function valueMatch(name: Schema): Schema {
  return object<HTTPHeaderMatch>(
    { type: enumOf(['Exact', 'RegularExpression']), name: required(name), value: required(str({ maxLength: 4096 })) },
    { refine: (m, at) => (m.type === 'RegularExpression' ? re2().check(m.value, at.at('value')) : undefined) },
  );
}

/** A list whose items' `name` must be distinct, compared case-insensitively as HTTP header names are. */
function namedList(item: Schema): Schema {
  return refine<{ name: string }[]>(list(item), (items, at) => {
    const seen = new Map<string, number>();
    items.forEach((it, i) => {
      const key = it.name.toLowerCase();
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else at.at(i).at('name').fail(`duplicate name ${JSON.stringify(it.name)} (also used by [${first}])`);
    });
  });
}

const routeMatch = object({
  path: pathMatch,
  headers: namedList(valueMatch(headerName())),
  queryParams: namedList(valueMatch(str({ nonEmpty: true, maxLength: 256 }))),
  method: enumOf(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']),
});

const headerValue = object({ name: required(headerName()), value: required(str({ maxLength: 4096 })) });

const headerFilter = object({ set: namedList(headerValue), add: namedList(headerValue), remove: list(headerName()) });

const BACKEND_KINDS: readonly (readonly [string, string])[] = [
  ['', 'Service'],
  ['networking.istio.io', 'ServiceEntry'],
  ['networking.istio.io', 'Hostname'],
];

const backendRefFields = {
  group: str(),
  kind: str(),
  name: required(str({ nonEmpty: true, maxLength: 253 })),
  namespace: dnsLabel(),
  port: portNumber(),
};

function checkBackendRef(ref: BackendObjectReference, at: Cursor): void {
  const group = isCoreGroup(ref.group ?? '') ? '' : (ref.group as string);
  const kind = ref.kind ?? 'Service';
  if (!BACKEND_KINDS.some(([g, k]) => g === group && k === kind)) {
    const names = BACKEND_KINDS.map(([g, k]) => (g === '' ? k : `${g}/${k}`));
    return at.fail(`unsupported backend ${group === '' ? kind : `${group}/${kind}`} (supported: ${names.join(', ')})`);
  }
  if (kind === 'Service' && ref.port === undefined) at.failMissing('port');
}

const backendObjectRef = object<BackendObjectReference>(backendRefFields, { refine: checkBackendRef });

const pathModifier = object<HTTPPathModifier>(
  { type: required(enumOf(['ReplaceFullPath', 'ReplacePrefixMatch'])), replaceFullPath: str({ maxLength: 1024 }), replacePrefixMatch: str({ maxLength: 1024 }) },
  {
    refine: (p, at) => {
      const wanted = p.type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
      const other = p.type === 'ReplaceFullPath' ? 'replacePrefixMatch' : 'replaceFullPath';
      if (p[wanted] === undefined) at.failMissing(wanted);
      if (p[other] !== undefined) at.at(other).fail(`must not be set when type is ${p.type}`);
    },
  },
);

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
} as const;

const filter = object<HTTPRouteFilter & Record<string, unknown>>(
  {
    type: required(enumOf(Object.keys(FILTER_FIELDS))),
    requestHeaderModifier: headerFilter,
    responseHeaderModifier: headerFilter,
    requestMirror: object(
      {
        backendRef: required(backendObjectRef),
        percent: int({ min: 0, max: 100 }),
        fraction: object<{ numerator: number; denominator?: number }>(
          { numerator: required(int({ min: 0 })), denominator: int({ min: 1 }) },
          { refine: (f, at) => (f.numerator > (f.denominator ?? 100) ? at.at('numerator').fail('must not be greater than denominator') : undefined) },
        ),
      },
      { atMostOne: [['percent', 'fraction']] },
    ),
    requestRedirect: object({
      scheme: enumOf(['http', 'https']),
      hostname: gatewayHostname(),
      path: pathModifier,
      port: portNumber(),
      statusCode: custom((v, at) => (v === 301 || v === 302 || v === 303 || v === 307 || v === 308 ? undefined : at.fail(`must be one of 301, 302, 303, 307, 308 (got ${String(v)})`))),
    }),
    urlRewrite: object({ hostname: gatewayHostname(), path: pathModifier }),
    extensionRef: custom((_v, at) => at.fail('ExtensionRef filters are not supported')),
  },
  {
    refine: (f, at) => {
      const wanted = FILTER_FIELDS[f.type];
      for (const field of Object.values(FILTER_FIELDS)) {
        if (field !== wanted && f[field] !== undefined) at.at(field).fail(`must not be set when type is ${f.type}`);
      }
      if (f[wanted] === undefined) at.failMissing(wanted);
    },
  },
);

/** Rules a single filter list must keep: no repeated filter type except mirrors, no redirect together with a rewrite. */
function checkFilters(filters: HTTPRouteFilter[], at: Cursor): void {
  const seen = new Map<string, number>();
  filters.forEach((f, i) => {
    const first = seen.get(f.type);
    if (first !== undefined && f.type !== 'RequestMirror') at.at(i).at('type').fail(`${f.type} may appear only once (also at [${first}])`);
    if (first === undefined) seen.set(f.type, i);
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) at.at(seen.get('URLRewrite') as number).fail('RequestRedirect and URLRewrite cannot be used together');
}

const filterList = refine<HTTPRouteFilter[]>(list(filter), checkFilters);

const backendRef = object<HTTPBackendRef>({ ...backendRefFields, weight: int({ min: 0, max: 1_000_000 }), filters: filterList }, { refine: checkBackendRef });

function checkRule(rule: HTTPRouteRule, at: Cursor): void {
  const usesPrefixReplace = (rule.filters ?? []).some((f) => f.requestRedirect?.path?.type === 'ReplacePrefixMatch' || f.urlRewrite?.path?.type === 'ReplacePrefixMatch');
  if (usesPrefixReplace) {
    (rule.matches ?? []).forEach((m, i) => {
      if ((m.path?.type ?? 'PathPrefix') !== 'PathPrefix') at.at('matches').at(i).at('path').at('type').fail('must be PathPrefix when a filter uses ReplacePrefixMatch');
    });
  }
  const { request, backendRequest } = rule.timeouts ?? {};
  if (request !== undefined && backendRequest !== undefined) {
    const total = parseDuration(request) ?? 0;
    const backend = parseDuration(backendRequest) ?? 0;
    if (total !== 0 && backend > total) at.at('timeouts').at('backendRequest').fail(`must not be longer than timeouts.request (${backendRequest} > ${request})`);
  }
}

const rule = object<HTTPRouteRule>(
  {
    name: sectionName(),
    matches: list(routeMatch),
    filters: filterList,
    backendRefs: list(backendRef),
    timeouts: object({ request: gatewayDuration(), backendRequest: gatewayDuration() }),
    retry: custom((v, at) => (isPlainObject(v) ? undefined : at.fail('must be an object'))),
    sessionPersistence: custom((v, at) => (isPlainObject(v) ? undefined : at.fail('must be an object'))),
  },
  { refine: checkRule },
);

export const httpRouteSpecSchema = object({
  parentRefs: list(parentRef),
  hostnames: list(gatewayHostname()),
  rules: list(rule),
});

/** The defaults the Gateway API CRDs declare, so consumers need not repeat them. */
function applyHttpRouteDefaults(r: Resource): void {
  const spec = r.spec as HTTPRouteSpec;
  for (const p of spec.parentRefs ?? []) {
    p.group ??= GATEWAY_GROUP;
    p.kind ??= 'Gateway';
  }
  spec.rules ??= [{}];
  for (const rl of spec.rules) {
    rl.matches ??= [{}];
    if (rl.matches.length === 0) rl.matches.push({});
    for (const m of rl.matches) {
      m.path ??= {};
      m.path.type ??= 'PathPrefix';
      m.path.value ??= '/';
      for (const h of [...(m.headers ?? []), ...(m.queryParams ?? [])]) h.type ??= 'Exact';
    }
    for (const b of rl.backendRefs ?? []) {
      b.group ??= '';
      b.kind ??= 'Service';
      b.weight ??= 1;
    }
  }
}

export const httpRouteKind: KindDefinition = {
  group: GATEWAY_GROUP,
  kind: 'HTTPRoute',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  plural: 'httproutes',
  singular: 'httproute',
  shortNames: [],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(httpRouteSpecSchema) },
  applyDefaults: applyHttpRouteDefaults,
};
