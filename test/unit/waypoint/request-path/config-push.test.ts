// Story tests of config pushes: a bad document is refused and the last good config keeps serving; a good one takes effect for new requests.
import t from 'tap';
import { WaypointConfigInvalid } from '../../../../src/waypoint/errors';
import type { HttpRouteDoc } from '../../../../src/waypoint/config/types';
import { configDoc, FakeConnector, request, service, startBackend, startProxy, tunnelAgent, workload } from '../fixtures/harness';

const HOST = 'reviews.bookinfo.svc.cluster.local';
const v1 = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
const v2 = workload('reviews-v2-bbb', '10.1.0.2', { app: 'reviews', version: 'v2' });
const subsets = {
  source: 'DestinationRule bookinfo/reviews',
  subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
  policies: [{ port: 9080, policy: {} }, { port: 9080, subset: 'v1', policy: {} }, { port: 9080, subset: 'v2', policy: {} }],
};
const to = (subset: string, extra: Partial<HttpRouteDoc> = {}): HttpRouteDoc => ({ name: '', source: 'VirtualService bookinfo/reviews', gatewaySemantics: false, matches: [], destinations: [{ host: HOST, subset, weight: 100 }], ...extra });
const docWith = (routes: HttpRouteDoc[]) => configDoc({ services: [service('reviews', '10.96.0.10', [v1, v2], { routes, destinationPolicy: subsets })], workloads: [v1, v2] });

t.test('a bad config is refused and the last good config keeps serving', async (t) => {
  const b1 = await startBackend(t, 'v1');
  const b2 = await startBackend(t, 'v2');
  const proxy = startProxy(t, new FakeConnector().map('10.1.0.1', 9080, b1.port).map('10.1.0.2', 9080, b2.port), docWith([to('v1')]));
  const agent = tunnelAgent(proxy, '10.96.0.10:9080');
  t.teardown(() => agent.destroy());
  t.equal((await request(agent)).body, 'v1');
  const generation = proxy.table.generation;

  const lookahead = docWith([to('v2', { matches: [{ uri: { regex: '/(?=admin).*' } }] })]);
  t.throws(() => proxy.applyConfig(JSON.stringify(lookahead)), WaypointConfigInvalid, 'a regex RE2 refuses is a NACK');
  t.throws(() => proxy.applyConfig('{"version": 2}'), /understands version 1/, 'an unknown version is a NACK');
  t.throws(() => proxy.applyConfig(JSON.stringify({ ...docWith([to('v2')]), extra: true })), /unknown field/, 'an unknown field is a NACK');
  t.throws(() => proxy.applyConfig('not json'), /not JSON/);
  const foreign = { ...docWith([to('v2')]), waypoint: { name: 'other', namespace: 'bookinfo', identity: 'spiffe://cluster.local/ns/bookinfo/sa/other', trustDomain: 'cluster.local' } };
  const pinned = new (proxy.constructor as typeof import('../../../../src/waypoint/proxy').WaypointProxy)({ connector: new FakeConnector(), expect: { name: 'waypoint', namespace: 'bookinfo' } });
  t.teardown(() => pinned.close());
  t.throws(() => pinned.applyConfig(JSON.stringify(foreign)), /for waypoint bookinfo\/other/, 'a document for another waypoint is refused');

  t.equal(proxy.table.generation, generation, 'the table did not change');
  t.equal((await request(agent)).body, 'v1', 'requests still follow the last good config');

  proxy.applyConfig(JSON.stringify(docWith([to('v2')])));
  t.equal(proxy.table.generation, generation + 1);
  t.equal((await request(agent)).body, 'v2', 'a good push applies to the next request on the same connection');
});

t.test('a tunnel to an address the waypoint does not serve is refused with 503', async (t) => {
  const proxy = startProxy(t, new FakeConnector(), docWith([to('v1')]));
  t.match(proxy.openTunnel({ peer: { identity: 'spiffe://cluster.local/ns/a/sa/b', address: '10.0.0.1', port: 1 }, destinationIp: '10.96.0.11', destinationPort: 9080 }), { status: 503 });
  t.match(proxy.openTunnel({ peer: { identity: 'spiffe://cluster.local/ns/a/sa/b', address: '10.0.0.1', port: 1 }, destinationIp: '10.96.0.10', destinationPort: 9999 }), { status: 503 }, 'a port the service lacks too');
});

t.test('a directly served workload gets its traffic at the port it asked for, with the waypoint policies', async (t) => {
  const pod = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
  const backend = await startBackend(t, 'pod');
  const proxy = startProxy(
    t,
    new FakeConnector().map('10.1.0.1', 8080, backend.port),
    configDoc({
      workloads: [pod],
      directWorkloads: [pod.uid],
      policies: [{ name: 'bookinfo/deny-delete', namespace: 'bookinfo', action: 'DENY', dryRun: false, attachment: { kind: 'gateway' }, rules: [{ to: [{ methods: ['DELETE'] }] }] }],
    }),
  );
  const agent = tunnelAgent(proxy, '10.1.0.1:8080');
  t.teardown(() => agent.destroy());
  t.equal((await request(agent, { path: '/x' })).body, 'pod');
  t.equal((await request(agent, { method: 'DELETE' })).status, 403);
  t.equal(backend.seen.length, 1);
});

t.test('a destination the config cannot resolve answers 500 under Gateway API semantics and 503 otherwise', async (t) => {
  const routes: HttpRouteDoc[] = [
    { name: 'gw', source: 'HTTPRoute bookinfo/r', gatewaySemantics: true, matches: [{ uri: { prefix: '/gw' } }], destinations: [{ host: 'ghost.bookinfo.svc.cluster.local', port: 80, weight: 1 }] },
    { name: 'vs', source: 'VirtualService bookinfo/r', gatewaySemantics: false, matches: [], destinations: [{ host: 'ghost.bookinfo.svc.cluster.local', weight: 100 }] },
  ];
  const proxy = startProxy(t, new FakeConnector(), docWith(routes));
  const agent = tunnelAgent(proxy, '10.96.0.10:9080');
  t.teardown(() => agent.destroy());
  t.equal((await request(agent, { path: '/gw/x' })).status, 500);
  t.equal((await request(agent, { path: '/other' })).status, 503);
});

t.test('an endpoint that refuses connections is answered 503 (connect failure) and retried elsewhere by default', async (t) => {
  const backend = await startBackend(t, 'v2');
  // 10.1.0.1 has no listener: connects are refused; Istio's default retry policy retries connect failures.
  const proxy = startProxy(t, new FakeConnector().map('10.1.0.2', 9080, backend.port), configDoc({ services: [service('reviews', '10.96.0.10', [v1, v2])], workloads: [v1, v2] }));
  const agent = tunnelAgent(proxy, '10.96.0.10:9080');
  t.teardown(() => agent.destroy());
  const noRetry = startProxy(t, new FakeConnector(), configDoc({ services: [service('reviews', '10.96.0.11', [v1], { routes: [{ name: '', source: 'VirtualService bookinfo/r', gatewaySemantics: false, matches: [], destinations: [{ host: HOST, weight: 100 }] }] })], workloads: [v1] }));
  const lone = tunnelAgent(noRetry, '10.96.0.11:9080');
  t.teardown(() => lone.destroy());
  const refused = await request(lone);
  t.equal(refused.status, 503);
  t.match(refused.body, /reset reason: connection failure/);
  const withDefault = docWith([to('v1', { destinations: [{ host: HOST, weight: 100 }], retries: { attempts: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retriableStatusCodes: [503] } })]);
  proxy.applyConfig(JSON.stringify(withDefault));
  for (let i = 0; i < 4; i++) t.equal((await request(agent)).body, 'v2', 'a refused try moves to the other endpoint');
});
