// The `http` routes of an Istio VirtualService: matches, weighted destinations, redirects, rewrites, timeouts, retries, faults, mirrors.

import { dnsLabel, duration, istioHostReason } from '../formats';
import { labelsSchema } from '../metadata';
import { bool, enumOf, int, list, mapOf, object, portNumber, refine, required, str } from '../schema';
import { headerName, headers, percent, portSelector, stringMatch, type Headers, type Percent, type PortSelector, type StringMatch } from './common';

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPRouteDestination {
  destination: Destination;
  /** 0-100; when there is more than one destination the weights add up to 100. */
  weight?: number;
  headers?: Headers;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  /** An empty StringMatch ({}) matches when the header is present. */
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
  ignoreUriCase?: boolean;
  statPrefix?: string;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string };
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match: string; rewrite: string };
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  /** Comma-separated retry conditions (see RETRY_CONDITIONS) and HTTP status codes. */
  retryOn?: string;
  retryRemoteLocalities?: boolean;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  percentage?: Percent;
}

/** One entry of VirtualService `spec.http` (Istio's HTTPRoute message). */
export interface VirtualServiceHttpRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  mirrors?: HTTPMirrorPolicy[];
  headers?: Headers;
  /** Accepted and not interpreted. */
  corsPolicy?: unknown;
}

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions, which Istio passes through. */
export const RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** Splits retryOn into conditions; HTTP status codes (e.g. "503") are accepted as Istio does. */
export function retryOnReason(retryOn: string): string | undefined {
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if ((RETRY_CONDITIONS as readonly string[]).includes(part)) continue;
    if (/^[1-5][0-9][0-9]$/.test(part)) continue;
    return `unknown retry condition ${JSON.stringify(part)} (supported: ${RETRY_CONDITIONS.join(', ')}, or an HTTP status code)`;
  }
  return undefined;
}

const destinationHost = str({
  format: (s) => (s.includes('*') ? `wildcards are not allowed in a destination host (got ${JSON.stringify(s)})` : istioHostReason(s)),
});

export const destinationSchema = object({ host: required(destinationHost), subset: dnsLabel(), port: portSelector() });

const routeDestination = object({ destination: required(destinationSchema), weight: int({ min: 0, max: 100 }), headers: headers() });

const routeList = refine<HTTPRouteDestination[]>(list(routeDestination, { minItems: 1 }), (routes, at) => {
  if (routes.length < 2) return;
  const total = routes.reduce((sum, r) => sum + (r.weight ?? 0), 0);
  if (total !== 100) at.fail(`weights must add up to 100 when there is more than one destination (got ${total})`);
});

const matchRequest = object({
  name: str(),
  uri: stringMatch({ allowEmpty: false }),
  scheme: stringMatch({ allowEmpty: false }),
  method: stringMatch({ allowEmpty: false }),
  authority: stringMatch({ allowEmpty: false }),
  headers: mapOf(stringMatch({ allowEmpty: true }), headerName()),
  queryParams: mapOf(stringMatch({ allowEmpty: true }), str({ nonEmpty: true })),
  withoutHeaders: mapOf(stringMatch({ allowEmpty: true }), headerName()),
  port: portNumber(),
  sourceLabels: labelsSchema(),
  sourceNamespace: dnsLabel(),
  gateways: list(str({ nonEmpty: true })),
  ignoreUriCase: bool(),
  statPrefix: str(),
});

const redirect = object<HTTPRedirect>(
  {
    uri: str(),
    authority: str(),
    port: portNumber(),
    derivePort: enumOf(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']),
    scheme: str({ nonEmpty: true }),
    redirectCode: int({ min: 300, max: 399 }),
  },
  {
    atMostOne: [['port', 'derivePort']],
    refine: (r, at) => {
      if (r.uri === undefined && r.authority === undefined && r.port === undefined && r.derivePort === undefined && r.scheme === undefined) {
        at.fail('must set at least one of uri, authority, port, derivePort, scheme');
      }
    },
  },
);

const directResponse = object({
  status: required(int({ min: 200, max: 599 })),
  body: object({ string: str(), bytes: str() }, { atMostOne: [['string', 'bytes']] }),
});

const rewrite = object<HTTPRewrite>(
  {
    uri: str(),
    authority: str(),
    uriRegexRewrite: object({ match: required(str()), rewrite: required(str()) }),
  },
  {
    atMostOne: [['uri', 'uriRegexRewrite']],
    refine: (r, at) => {
      if (r.uri === undefined && r.authority === undefined && r.uriRegexRewrite === undefined) at.fail('must set at least one of uri, authority, uriRegexRewrite');
    },
  },
);

const retries = object({
  attempts: int({ min: 0 }),
  perTryTimeout: duration({ minMs: 1 }),
  retryOn: str({ format: retryOnReason }),
  retryRemoteLocalities: bool(),
});

const fault = object(
  {
    delay: object(
      {
        fixedDelay: required(duration({ minMs: 1 })),
        percentage: percent(),
        percent: int({ min: 0, max: 100 }),
      },
      { atMostOne: [['percentage', 'percent']] },
    ),
    abort: object(
      {
        httpStatus: int({ min: 200, max: 599 }),
        grpcStatus: enumOf(GRPC_STATUS_NAMES),
        http2Error: str({ nonEmpty: true }),
        percentage: percent(),
      },
      { exactlyOne: [['httpStatus', 'grpcStatus', 'http2Error']] },
    ),
  },
  {
    refine: (f: Record<string, unknown>, at) => {
      if (f.delay === undefined && f.abort === undefined) at.fail('must set delay, abort or both');
    },
  },
);

/** CORS is accepted so existing routes load; the waypoint does not apply it. */
const corsPolicy = object({
  allowOrigins: list(stringMatch({ allowEmpty: false })),
  allowMethods: list(str()),
  allowHeaders: list(str()),
  exposeHeaders: list(str()),
  maxAge: duration(),
  allowCredentials: bool(),
  unmatchedPreflights: enumOf(['UNSPECIFIED', 'FORWARD', 'IGNORE']),
});

/** route, redirect and directResponse are the three ways a route answers; exactly one is used. */
export const httpRouteSchema = object(
  {
    name: str(),
    match: list(matchRequest),
    route: routeList,
    redirect,
    directResponse,
    rewrite,
    timeout: duration({ minMs: 1 }),
    retries,
    fault,
    mirror: destinationSchema,
    mirrorPercentage: percent(),
    mirrors: list(object({ destination: required(destinationSchema), percentage: percent() })),
    headers: headers(),
    corsPolicy,
  },
  {
    exactlyOne: [['route', 'redirect', 'directResponse']],
    atMostOne: [['redirect', 'rewrite'], ['mirror', 'mirrors']],
  },
);
