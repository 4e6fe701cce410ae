// Table tests of route matching: string matches, whole matches over request facts, route selection, weighted picks and path normalization.
import t from 'tap';
import type { RouteMatchDoc, StringMatchDoc } from '../../../../src/waypoint/config/types';
import { compileMatch, compileStringMatch, matchedPrefix } from '../../../../src/waypoint/routing/match';
import { normalizePath, requestFacts, type SourceFacts } from '../../../../src/waypoint/routing/request-facts';
import { destinationPort, pickDestination, selectRoute } from '../../../../src/waypoint/routing/select';
import { compileRoutingTable } from '../../../../src/waypoint/routing/table';
import { configDoc, service, workload } from '../fixtures/harness';

t.test('string matches', async (t) => {
  const rows: [StringMatchDoc, string | undefined, boolean, boolean?][] = [
    [{ exact: '/a' }, '/a', true],
    [{ exact: '/a' }, '/A', false],
    [{ exact: '/a' }, '/A', true, true],
    [{ prefix: '/api' }, '/api/v1', true],
    [{ prefix: '/api' }, '/apiv1', true],
    [{ pathPrefix: '/api' }, '/apiv1', false],
    [{ pathPrefix: '/api' }, '/api', true],
    [{ pathPrefix: '/api/' }, '/api/x', true],
    [{ pathPrefix: '/api' }, '/api/x', true],
    [{ regex: '/v[0-9]+/.*' }, '/v12/x', true],
    [{ regex: '/v[0-9]+' }, '/v12/x', false],
    [{ regex: '(?i)/ADMIN' }, '/admin', true],
    [{ present: true }, '', true],
    [{ present: true }, undefined, false],
    [{ exact: 'x' }, undefined, false],
  ];
  for (const [doc, value, expected, ignoreCase] of rows) {
    t.equal(compileStringMatch(doc, { ignoreCase: ignoreCase === true })(value), expected, `${JSON.stringify(doc)}${ignoreCase ? ' (ignore case)' : ''} vs ${JSON.stringify(value)}`);
  }
  t.throws(() => compileStringMatch({ regex: '(?=x)' }), /lookaround/, 'RE2-only regexes');
  t.equal(matchedPrefix({ prefix: '/api' }, '/api/v1'), '/api');
  t.equal(matchedPrefix({ pathPrefix: '/api/' }, '/api/v1'), '/api');
  t.equal(matchedPrefix({ exact: '/a' }, '/a'), '/a');
  t.equal(matchedPrefix(undefined, '/a'), '/');
});

const source = (labels?: Record<string, string>): SourceFacts => ({
  ip: '10.1.9.9',
  identity: 'spiffe://cluster.local/ns/bookinfo/sa/productpage',
  principal: 'cluster.local/ns/bookinfo/sa/productpage',
  namespace: 'bookinfo',
  serviceAccount: 'bookinfo/productpage',
  ...(labels ? { workload: workload('productpage-v1-x', '10.1.9.9', labels) } : {}),
});

const facts = (init: { method?: string; target?: string; headers?: Record<string, string>; labels?: Record<string, string> } = {}) =>
  requestFacts({ method: init.method ?? 'GET', target: init.target ?? '/', authority: 'reviews:9080', headers: init.headers ?? {}, source: source(init.labels), destinationIp: '10.96.0.10', destinationPort: 9080 });

t.test('whole matches', async (t) => {
  const rows: [string, RouteMatchDoc, ReturnType<typeof facts>, number, boolean][] = [
    ['empty match', {}, facts(), 9080, true],
    ['port mismatch', { port: 8080 }, facts(), 9080, false],
    ['method', { method: { exact: 'POST' } }, facts({ method: 'POST' }), 9080, true],
    ['method mismatch', { method: { exact: 'POST' } }, facts(), 9080, false],
    ['header', { headers: [{ name: 'end-user', match: { exact: 'jason' } }] }, facts({ headers: { 'end-user': 'jason' } }), 9080, true],
    ['header absent', { headers: [{ name: 'end-user', match: { exact: 'jason' } }] }, facts(), 9080, false],
    ['header presence', { headers: [{ name: 'x', match: { present: true } }] }, facts({ headers: { x: '' } }), 9080, true],
    ['withoutHeaders blocks', { withoutHeaders: [{ name: 'x', match: { present: true } }] }, facts({ headers: { x: '1' } }), 9080, false],
    ['withoutHeaders passes', { withoutHeaders: [{ name: 'x', match: { present: true } }] }, facts(), 9080, true],
    ['query param', { queryParams: [{ name: 'v', match: { exact: '2' } }] }, facts({ target: '/p?v=2&w=1' }), 9080, true],
    ['query param mismatch', { queryParams: [{ name: 'v', match: { exact: '2' } }] }, facts({ target: '/p?v=3' }), 9080, false],
    ['uri ignoring case', { uri: { prefix: '/API' }, ignoreUriCase: true }, facts({ target: '/api/x' }), 9080, true],
    ['sourceLabels', { sourceLabels: { app: 'productpage' } }, facts({ labels: { app: 'productpage', version: 'v1' } }), 9080, true],
    ['sourceLabels mismatch', { sourceLabels: { app: 'productpage' } }, facts({ labels: { app: 'ratings' } }), 9080, false],
    ['sourceLabels unknown caller', { sourceLabels: { app: 'productpage' } }, facts(), 9080, false],
    ['sourceNamespace', { sourceNamespace: 'bookinfo' }, facts(), 9080, true],
    ['sourceNamespace mismatch', { sourceNamespace: 'other' }, facts(), 9080, false],
    ['authority', { authority: { prefix: 'reviews' } }, facts(), 9080, true],
    ['uri on the path only', { uri: { exact: '/p' } }, facts({ target: '/p?x=1' }), 9080, true],
  ];
  for (const [name, doc, f, port, expected] of rows) t.equal(compileMatch(doc).test(f, port), expected, name);
});

t.test('route selection, weighted picks and destination ports', async (t) => {
  const w = workload('reviews-v1-a', '10.1.0.1', { app: 'reviews', version: 'v1' });
  const base = { source: 'VirtualService bookinfo/reviews', gatewaySemantics: false };
  const svc = service('reviews', '10.96.0.10', [w], {
    routes: [
      { ...base, name: 'api', matches: [{ uri: { prefix: '/api' } }, { headers: [{ name: 'x-api', match: { present: true } }] }], destinations: [{ host: 'a', weight: 100 }] },
      { ...base, name: 'rest', matches: [], destinations: [{ host: 'b', weight: 3 }, { host: 'c', weight: 0 }, { host: 'd', weight: 1 }] },
    ],
  });
  const table = compileRoutingTable(configDoc({ services: [svc], workloads: [w] }), 1);
  const entry = table.services.get('reviews.bookinfo.svc.cluster.local')!;
  t.equal(selectRoute(entry, facts({ target: '/api/x' }), 9080)?.route.name, 'api');
  t.equal(selectRoute(entry, facts({ target: '/api/x' }), 9080)?.matchedPrefix, '/api');
  t.equal(selectRoute(entry, facts({ headers: { 'x-api': '1' } }), 9080)?.route.name, 'api', 'the second match of a route');
  t.equal(selectRoute(entry, facts({ target: '/x' }), 9080)?.route.name, 'rest');
  const rest = entry.routes[1];
  t.equal(pickDestination(rest, () => 0)?.host, 'b');
  t.equal(pickDestination(rest, () => 0.74)?.host, 'b');
  t.equal(pickDestination(rest, () => 0.76)?.host, 'd', 'weight 0 never wins');
  t.equal(pickDestination(rest, () => 0.999)?.host, 'd');
  t.equal(destinationPort({ port: 80 }, entry, 9080), 80);
  t.equal(destinationPort({}, entry, 9080), 9080, 'the request port when the host has it');
  t.equal(destinationPort({}, entry, 1234), 9080, 'else the host\'s only port');
  t.equal(destinationPort({}, undefined, 9080), undefined);
  const none = compileRoutingTable(configDoc({ services: [service('x', '10.96.0.11', [w])], workloads: [w] }), 1).services.get('x.bookinfo.svc.cluster.local')!;
  t.equal(selectRoute(none, facts(), 9080)?.route.destinations[0].host, 'x.bookinfo.svc.cluster.local', 'no routes: the service itself');
});

t.test('path normalization (what routing and RBAC judge)', async (t) => {
  const rows: [string, string][] = [
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../etc', '/etc'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%41', '/a/A'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a/b/..', '/a/'],
    ['', '/'],
  ];
  for (const [input, expected] of rows) t.equal(normalizePath(input), expected, JSON.stringify(input));
});
