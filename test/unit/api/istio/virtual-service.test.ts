import t from 'tap';
import { retryOnReason } from '../../../../src/api/istio/http-route';
import { objectErrors, textErrors, withFields, type Obj } from '../helpers';

const V = 't.yaml:0: VirtualService bookinfo/reviews';
const H = `${V}: spec.http[0]`;

function base(): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: {
      hosts: ['reviews'],
      http: [{
        name: 'main',
        match: [{ uri: { prefix: '/reviews' }, headers: { 'end-user': { exact: 'jason' } } }],
        route: [
          { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 75 },
          { destination: { host: 'reviews', subset: 'v2' }, weight: 25, headers: { request: { set: { 'x-canary': 'yes' } } } },
        ],
        timeout: '10s',
        retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'connect-failure,refused-stream,503' },
      }],
    },
  };
}

t.test('valid virtual services in every API version', async (t) => {
  for (const v of ['v1', 'v1beta1', 'v1alpha3']) t.same(objectErrors(withFields(base(), { apiVersion: `networking.istio.io/${v}` })), [], v);
  const full = withFields(base(), {
    'spec.gateways': ['mesh', 'istio-system/ingress'],
    'spec.http[0].fault': { delay: { fixedDelay: '7s', percentage: { value: 10.5 } }, abort: { httpStatus: 503, percentage: { value: 1 } } },
    'spec.http[0].mirror': { host: 'reviews-shadow' },
    'spec.http[0].mirrorPercentage': { value: 50 },
    'spec.http[0].headers': { response: { remove: ['x-internal'], add: { 'x-served-by': 'ambit' } } },
    'spec.http[0].match[0].queryParams': { debug: {} },
    'spec.http[0].match[0].withoutHeaders': { 'x-skip': { exact: '1' } },
    'spec.http[0].match[0].sourceLabels': { app: 'productpage' },
    'spec.http[0].match[0].ignoreUriCase': true,
    'spec.http[0].rewrite': { uri: '/v2/reviews' },
    'spec.http[1]': { redirect: { uri: '/new', redirectCode: 301 } },
    'spec.http[2]': { directResponse: { status: 418, body: { string: 'teapot' } } },
    'spec.http[3]': { route: [{ destination: { host: 'reviews.bookinfo.svc.cluster.local' } }], mirrors: [{ destination: { host: 'x' }, percentage: { value: 5 } }] },
    'spec.tcp': [{ route: [{ destination: { host: 'db' } }] }],
  });
  t.same(objectErrors(full), []);
  t.same(objectErrors(withFields(base(), { 'spec.http[0].route': [{ destination: { host: 'reviews' }, weight: 30 }] })), [], 'a single destination may carry any weight');
});

t.test('virtual service rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['hosts required', { 'spec.hosts': undefined }, [`${V}: spec.hosts: required field is missing`]],
    ['hosts not empty', { 'spec.hosts': [] }, [`${V}: spec.hosts: must not be empty`]],
    ['host format', { 'spec.hosts': ['re views'] }, [
      `${V}: spec.hosts[0]: "re views" is not a valid host (a DNS name such as "reviews" or "reviews.bookinfo.svc.cluster.local", optionally with a "*." prefix)`,
    ]],
    ['"*" not for the mesh', { 'spec.hosts': ['*'] }, [`${V}: spec.hosts[0]: "*" is not allowed for mesh traffic; name the service host, or bind the VirtualService to a gateway`]],
    ['route, redirect or directResponse', { 'spec.http[0].route': undefined }, [`${H}: exactly one of route, redirect, directResponse must be set`]],
    ['route and redirect exclusive', { 'spec.http[0].redirect': { uri: '/x' } }, [
      `${H}: only one of route, redirect, directResponse may be set (found route, redirect)`,
    ]],
    ['redirect and rewrite exclusive', { 'spec.http[0].route': undefined, 'spec.http[0].redirect': { uri: '/x' }, 'spec.http[0].rewrite': { uri: '/y' } }, [
      `${H}: only one of redirect, rewrite may be set (found redirect, rewrite)`,
    ]],
    ['weights add up to 100', { 'spec.http[0].route[1].weight': 20 }, [`${H}.route: weights must add up to 100 when there is more than one destination (got 95)`]],
    ['missing weights count as 0', { 'spec.http[0].route[1].weight': undefined }, [`${H}.route: weights must add up to 100 when there is more than one destination (got 75)`]],
    ['weight range', { 'spec.http[0].route[0].weight': 101 }, [`${H}.route[0].weight: must be between 0 and 100 (got 101)`]],
    ['route not empty', { 'spec.http[0].route': [] }, [`${H}.route: must not be empty`]],
    ['destination required', { 'spec.http[0].route[0].destination': undefined }, [`${H}.route[0].destination: required field is missing`]],
    ['destination host required', { 'spec.http[0].route[0].destination.host': undefined }, [`${H}.route[0].destination.host: required field is missing`]],
    ['no wildcard destinations', { 'spec.http[0].route[0].destination.host': '*.bookinfo' }, [`${H}.route[0].destination.host: wildcards are not allowed in a destination host (got "*.bookinfo")`]],
    ['subset is a DNS label', { 'spec.http[0].route[0].destination.subset': 'V1' }, [
      `${H}.route[0].destination.subset: "V1" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['destination port', { 'spec.http[0].route[0].destination.port': { number: 0 } }, [`${H}.route[0].destination.port.number: must be between 1 and 65535 (got 0)`]],
    ['destination port is an object', { 'spec.http[0].route[0].destination.port': 9080 }, [`${H}.route[0].destination.port: must be an object (got 9080)`]],
    ['string match needs one kind', { 'spec.http[0].match[0].uri': {} }, [`${H}.match[0].uri: exactly one of exact, prefix, regex must be set`]],
    ['string match only one kind', { 'spec.http[0].match[0].uri': { exact: '/a', prefix: '/b' } }, [`${H}.match[0].uri: only one of exact, prefix, regex may be set (found exact, prefix)`]],
    ['regex must compile', { 'spec.http[0].match[0].uri': { regex: '/a(' } }, [`${H}.match[0].uri.regex: invalid regular expression "/a(": Unterminated group`]],
    ['RE2 has no lookahead', { 'spec.http[0].match[0].authority': { regex: 'a(?!b)' } }, [`${H}.match[0].authority.regex: invalid regular expression "a(?!b)": lookaround assertions are not supported by RE2`]],
    ['header match kinds', { 'spec.http[0].match[0].headers': { 'end-user': { exact: 'a', regex: 'b' } } }, [
      `${H}.match[0].headers["end-user"]: only one of exact, prefix, regex may be set (found exact, regex)`,
    ]],
    ['header names', { 'spec.http[0].match[0].headers': { 'bad header': { exact: 'a' } } }, [`${H}.match[0].headers["bad header"]: "bad header" is not a valid HTTP header name`]],
    ['unknown match field', { 'spec.http[0].match[0].url': { exact: '/' } }, [`${H}.match[0]: unknown field "url" (did you mean "uri"?)`]],
    ['match port', { 'spec.http[0].match[0].port': 70000 }, [`${H}.match[0].port: must be between 1 and 65535 (got 70000)`]],
    ['timeout duration', { 'spec.http[0].timeout': '10' }, [`${H}.timeout: "10" is not a valid duration (e.g. "500ms", "10s", "1h2m")`]],
    ['timeout at least 1ms', { 'spec.http[0].timeout': '0s' }, [`${H}.timeout: must be at least 1ms (got "0s")`]],
    ['retry attempts', { 'spec.http[0].retries.attempts': -1 }, [`${H}.retries.attempts: must be at least 0 (got -1)`]],
    ['retry perTryTimeout', { 'spec.http[0].retries.perTryTimeout': '2 s' }, [`${H}.retries.perTryTimeout: "2 s" is not a valid duration (e.g. "500ms", "10s", "1h2m")`]],
    ['retryOn conditions', { 'spec.http[0].retries.retryOn': '5xx,connect-failed' }, [
      `${H}.retries.retryOn: unknown retry condition "connect-failed" (supported: 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, or an HTTP status code)`,
    ]],
    ['fault needs delay or abort', { 'spec.http[0].fault': {} }, [`${H}.fault: must set delay, abort or both`]],
    ['fault delay needs fixedDelay', { 'spec.http[0].fault': { delay: { percentage: { value: 5 } } } }, [`${H}.fault.delay.fixedDelay: required field is missing`]],
    ['fault percentage range', { 'spec.http[0].fault': { delay: { fixedDelay: '1s', percentage: { value: 150 } } } }, [`${H}.fault.delay.percentage.value: must be between 0 and 100 (got 150)`]],
    ['abort needs a status', { 'spec.http[0].fault': { abort: { percentage: { value: 5 } } } }, [`${H}.fault.abort: exactly one of httpStatus, grpcStatus, http2Error must be set`]],
    ['abort httpStatus range', { 'spec.http[0].fault': { abort: { httpStatus: 150 } } }, [`${H}.fault.abort.httpStatus: must be between 200 and 599 (got 150)`]],
    ['abort grpcStatus names', { 'spec.http[0].fault': { abort: { grpcStatus: 'DOWN' } } }, [
      `${H}.fault.abort.grpcStatus: must be one of OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED (got "DOWN")`,
    ]],
    ['mirror needs a host', { 'spec.http[0].mirror': { subset: 'v1' } }, [`${H}.mirror.host: required field is missing`]],
    ['mirror and mirrors exclusive', { 'spec.http[0].mirror': { host: 'a' }, 'spec.http[0].mirrors': [{ destination: { host: 'b' } }] }, [
      `${H}: only one of mirror, mirrors may be set (found mirror, mirrors)`,
    ]],
    ['mirrorPercentage range', { 'spec.http[0].mirrorPercentage': { value: -1 } }, [`${H}.mirrorPercentage.value: must be between 0 and 100 (got -1)`]],
    ['redirect code', { 'spec.http[0].route': undefined, 'spec.http[0].rewrite': undefined, 'spec.http[0].redirect': { uri: '/x', redirectCode: 200 } }, [
      `${H}.redirect.redirectCode: must be between 300 and 399 (got 200)`,
    ]],
    ['redirect must say where', { 'spec.http[0].route': undefined, 'spec.http[0].redirect': { redirectCode: 301 } }, [
      `${H}.redirect: must set at least one of uri, authority, port, derivePort, scheme`,
    ]],
    ['redirect port or derivePort', { 'spec.http[0].route': undefined, 'spec.http[0].redirect': { port: 8080, derivePort: 'FROM_REQUEST_PORT' } }, [
      `${H}.redirect: only one of port, derivePort may be set (found port, derivePort)`,
    ]],
    ['directResponse status', { 'spec.http[0].route': undefined, 'spec.http[0].directResponse': { status: 700 } }, [`${H}.directResponse.status: must be between 200 and 599 (got 700)`]],
    ['directResponse status required', { 'spec.http[0].route': undefined, 'spec.http[0].directResponse': {} }, [`${H}.directResponse.status: required field is missing`]],
    ['rewrite must say what', { 'spec.http[0].rewrite': {} }, [`${H}.rewrite: must set at least one of uri, authority, uriRegexRewrite`]],
    ['header operation names', { 'spec.http[0].headers': { request: { remove: ['x y'] } } }, [`${H}.headers.request.remove[0]: "x y" is not a valid HTTP header name`]],
    ['header operation values', { 'spec.http[0].headers': { request: { set: { 'x-a': 1 } } } }, [`${H}.headers.request.set["x-a"]: must be a string (got 1)`]],
    ['unknown route field', { 'spec.http[0].timout': '1s' }, [`${H}: unknown field "timout" (did you mean "timeout"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});

t.test('retryOn accepts conditions, gRPC conditions and status codes, with spaces', async (t) => {
  t.equal(retryOnReason('5xx,gateway-error,reset,connect-failure,retriable-4xx,refused-stream,retriable-status-codes'), undefined);
  t.equal(retryOnReason('cancelled, deadline-exceeded,internal,resource-exhausted,unavailable'), undefined);
  t.equal(retryOnReason('503,504'), undefined);
  t.match(retryOnReason('600'), /^unknown retry condition "600"/);
  t.match(retryOnReason(''), /^unknown retry condition ""/);
});

t.test('errors deep in a virtual service point at their line', async (t) => {
  const text = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: ratings
  namespace: bookinfo
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings, subset: v1}
      weight: 60
    - destination: {host: ratings, subset: v2}
      weight: 30
  - fault:
      abort:
        httpStatus: 1000
    route:
    - destination: {host: ratings}
`;
  t.same(textErrors(text), [
    'm.yaml:9: VirtualService bookinfo/ratings: spec.http[0].route: weights must add up to 100 when there is more than one destination (got 90)',
    'm.yaml:16: VirtualService bookinfo/ratings: spec.http[1].fault.abort.httpStatus: must be between 200 and 599 (got 1000)',
  ]);
});
