import t from 'tap';
import { objectErrors, withFields, type Obj } from '../helpers';

const D = 't.yaml:0: DestinationRule bookinfo/reviews';

function base(): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: {
      host: 'reviews',
      trafficPolicy: {
        loadBalancer: { simple: 'LEAST_REQUEST' },
        connectionPool: { tcp: { maxConnections: 100, connectTimeout: '30ms' }, http: { http1MaxPendingRequests: 10, http2MaxRequests: 100, maxRequestsPerConnection: 1, maxRetries: 3, idleTimeout: '1h' } },
        outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 2, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, minHealthPercent: 10 },
        tls: { mode: 'ISTIO_MUTUAL' },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } }],
      },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'user', ttl: '0s' } } } } },
      ],
    },
  };
}

const CH = `${D}: spec.trafficPolicy.loadBalancer.consistentHash`;

t.test('valid destination rules', async (t) => {
  for (const v of ['v1', 'v1beta1', 'v1alpha3']) t.same(objectErrors(withFields(base(), { apiVersion: `networking.istio.io/${v}` })), [], v);
  for (const hash of [{ useSourceIp: true }, { httpQueryParameterName: 'u' }, { httpHeaderName: 'x', minimumRingSize: 1024 }]) {
    t.same(objectErrors(withFields(base(), { 'spec.trafficPolicy.loadBalancer': { consistentHash: hash } })), [], JSON.stringify(hash));
  }
});

t.test('destination rule rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['host required', { 'spec.host': undefined }, [`${D}: spec.host: required field is missing`]],
    ['host format', { 'spec.host': 'a..b' }, [
      `${D}: spec.host: "a..b" is not a valid host (a DNS name such as "reviews" or "reviews.bookinfo.svc.cluster.local", optionally with a "*." prefix)`,
    ]],
    ['simple enum', { 'spec.trafficPolicy.loadBalancer.simple': 'ROUNDROBIN' }, [
      `${D}: spec.trafficPolicy.loadBalancer.simple: must be one of UNSPECIFIED, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN (got "ROUNDROBIN")`,
    ]],
    ['simple or consistentHash', { 'spec.trafficPolicy.loadBalancer.consistentHash': { useSourceIp: true } }, [
      `${D}: spec.trafficPolicy.loadBalancer: only one of simple, consistentHash may be set (found simple, consistentHash)`,
    ]],
    ['consistentHash needs a key', { 'spec.trafficPolicy.loadBalancer': { consistentHash: {} } }, [
      `${CH}: exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName must be set`,
    ]],
    ['consistentHash one key', { 'spec.trafficPolicy.loadBalancer': { consistentHash: { useSourceIp: true, httpHeaderName: 'x' } } }, [
      `${CH}: only one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName may be set (found httpHeaderName, useSourceIp)`,
    ]],
    ['cookie name', { 'spec.trafficPolicy.loadBalancer': { consistentHash: { httpCookie: { ttl: '1s' } } } }, [`${CH}.httpCookie.name: required field is missing`]],
    ['cookie ttl', { 'spec.trafficPolicy.loadBalancer': { consistentHash: { httpCookie: { name: 'a', ttl: 'soon' } } } }, [
      `${CH}.httpCookie.ttl: "soon" is not a valid duration (e.g. "500ms", "10s", "1h2m")`,
    ]],
    ['maxConnections', { 'spec.trafficPolicy.connectionPool.tcp.maxConnections': -1 }, [`${D}: spec.trafficPolicy.connectionPool.tcp.maxConnections: must be at least 0 (got -1)`]],
    ['connectTimeout', { 'spec.trafficPolicy.connectionPool.tcp.connectTimeout': '1' }, [
      `${D}: spec.trafficPolicy.connectionPool.tcp.connectTimeout: "1" is not a valid duration (e.g. "500ms", "10s", "1h2m")`,
    ]],
    ['http pool field', { 'spec.trafficPolicy.connectionPool.http.maxRequestsPerConection': 1 }, [
      `${D}: spec.trafficPolicy.connectionPool.http: unknown field "maxRequestsPerConection" (did you mean "maxRequestsPerConnection"?)`,
    ]],
    ['maxEjectionPercent', { 'spec.trafficPolicy.outlierDetection.maxEjectionPercent': 120 }, [
      `${D}: spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be between 0 and 100 (got 120)`,
    ]],
    ['interval', { 'spec.trafficPolicy.outlierDetection.interval': '0ms' }, [`${D}: spec.trafficPolicy.outlierDetection.interval: must be at least 1ms (got "0ms")`]],
    ['tls mode', { 'spec.trafficPolicy.tls.mode': 'STRICT' }, [`${D}: spec.trafficPolicy.tls.mode: must be one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL (got "STRICT")`]],
    ['port-level port required', { 'spec.trafficPolicy.portLevelSettings[0].port': undefined }, [`${D}: spec.trafficPolicy.portLevelSettings[0].port: required field is missing`]],
    ['port-level ports unique', { 'spec.trafficPolicy.portLevelSettings[1]': { port: { number: 9080 }, tls: { mode: 'DISABLE' } } }, [
      `${D}: spec.trafficPolicy.portLevelSettings[1].port.number: duplicate port 9080 (also used by portLevelSettings[0])`,
    ]],
    ['subset name required', { 'spec.subsets[0].name': undefined }, [`${D}: spec.subsets[0].name: required field is missing`]],
    ['subset names unique', { 'spec.subsets[1].name': 'v1' }, [`${D}: spec.subsets[1].name: duplicate name "v1" (also used by spec.subsets[0])`]],
    ['subset name format', { 'spec.subsets[0].name': 'v_1' }, [
      `${D}: spec.subsets[0].name: "v_1" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['subset labels', { 'spec.subsets[0].labels': { version: 1 } }, [`${D}: spec.subsets[0].labels.version: must be a string (got 1)`]],
    ['subset traffic policy', { 'spec.subsets[0].trafficPolicy': { loadBalancer: { simple: 'FASTEST' } } }, [
      `${D}: spec.subsets[0].trafficPolicy.loadBalancer.simple: must be one of UNSPECIFIED, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN (got "FASTEST")`,
    ]],
    ['unknown field', { 'spec.subset': [] }, [`${D}: spec: unknown field "subset" (did you mean "subsets"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});
