// Story tests of L7 routing through an in-process waypoint: weighted splits, header matches, sourceLabels, rewrites and redirects.
import t, { type Test } from 'tap';
import type { HttpRouteDoc } from '../../../../src/waypoint/config/types';
import { CALLER, configDoc, FakeConnector, many, request, service, startBackend, startProxy, tunnelAgent, workload, type Caller } from '../fixtures/harness';

const v1 = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
const v2 = workload('reviews-v2-bbb', '10.1.0.2', { app: 'reviews', version: 'v2' });
const subsets = {
  source: 'DestinationRule bookinfo/reviews',
  subsets: [
    { name: 'v1', labels: { version: 'v1' } },
    { name: 'v2', labels: { version: 'v2' } },
  ],
  policies: [{ port: 9080, policy: {} }, { port: 9080, subset: 'v1', policy: {} }, { port: 9080, subset: 'v2', policy: {} }],
};
const HOST = 'reviews.bookinfo.svc.cluster.local';

async function setup(t: Test, routes: HttpRouteDoc[], extraWorkloads = [] as ReturnType<typeof workload>[]) {
  const b1 = await startBackend(t, 'v1');
  const b2 = await startBackend(t, 'v2');
  const connector = new FakeConnector().map('10.1.0.1', 9080, b1.port).map('10.1.0.2', 9080, b2.port);
  const proxy = startProxy(t, connector, configDoc({ services: [service('reviews', '10.96.0.10', [v1, v2], { routes, destinationPolicy: subsets })], workloads: [v1, v2, ...extraWorkloads] }));
  const agentFor = (caller: Caller = CALLER) => {
    const agent = tunnelAgent(proxy, '10.96.0.10:9080', caller);
    t.teardown(() => agent.destroy());
    return agent;
  };
  return { b1, b2, proxy, agentFor };
}

const route = (parts: Partial<HttpRouteDoc>): HttpRouteDoc => ({ name: '', source: 'VirtualService bookinfo/reviews', gatewaySemantics: false, matches: [], ...parts });

t.test('a 90/10 weighted split lands within 5 points over 1,000 requests', async (t) => {
  const { agentFor } = await setup(t, [route({ destinations: [{ host: HOST, subset: 'v1', weight: 90 }, { host: HOST, subset: 'v2', weight: 10 }] })]);
  const agent = agentFor();
  const replies = await many(1000, 20, () => request(agent));
  t.ok(replies.every((r) => r.status === 200), 'every request succeeded');
  const toV1 = replies.filter((r) => r.body === 'v1').length;
  t.ok(toV1 >= 850 && toV1 <= 950, `v1 got ${toV1 / 10}% (want 90 +- 5)`);
  t.equal(replies.filter((r) => r.body === 'v2').length, 1000 - toV1, 'the rest went to v2');
});

t.test('a header match sends end-user: jason to v2 and everyone else to v1', async (t) => {
  const { agentFor } = await setup(t, [
    route({ matches: [{ headers: [{ name: 'end-user', match: { exact: 'jason' } }] }], destinations: [{ host: HOST, subset: 'v2', weight: 100 }] }),
    route({ destinations: [{ host: HOST, subset: 'v1', weight: 100 }] }),
  ]);
  const agent = agentFor();
  for (let i = 0; i < 5; i++) {
    t.equal((await request(agent, { headers: { 'end-user': 'jason' } })).body, 'v2', 'jason goes to v2');
    t.equal((await request(agent, { headers: { 'end-user': 'bob' } })).body, 'v1', 'bob goes to v1');
    t.equal((await request(agent)).body, 'v1', 'no header goes to v1');
  }
});

t.test('sourceLabels route one calling workload differently from another', async (t) => {
  const productpage = workload('productpage-v1-ccc', '10.1.1.1', { app: 'productpage' });
  const ratings = workload('ratings-v1-ddd', '10.1.1.2', { app: 'ratings' });
  const { agentFor } = await setup(
    t,
    [
      route({ matches: [{ sourceLabels: { app: 'productpage' } }], destinations: [{ host: HOST, subset: 'v2', weight: 100 }] }),
      route({ destinations: [{ host: HOST, subset: 'v1', weight: 100 }] }),
    ],
    [productpage, ratings],
  );
  const fromProductpage = agentFor({ identity: productpage.identity, address: '10.1.1.1' });
  const fromRatings = agentFor({ identity: ratings.identity, address: '10.1.1.2' });
  for (let i = 0; i < 5; i++) {
    t.equal((await request(fromProductpage)).body, 'v2', 'productpage is routed to v2');
    t.equal((await request(fromRatings)).body, 'v1', 'ratings is routed to v1');
  }
});

t.test('an unmatched request to a service with routes is answered 404', async (t) => {
  const { agentFor, b1 } = await setup(t, [route({ matches: [{ uri: { prefix: '/api' } }], destinations: [{ host: HOST, weight: 100 }] })]);
  const agent = agentFor();
  t.equal((await request(agent, { path: '/api/x' })).status, 200);
  t.equal((await request(agent, { path: '/other' })).status, 404);
  t.equal(b1.seen.length + 0, b1.seen.filter((s) => s.url.startsWith('/api')).length, 'only /api reached a backend');
});

t.test('rewrite replaces the matched prefix and the authority, and header operations apply both ways', async (t) => {
  const { agentFor, b1 } = await setup(t, [
    route({
      matches: [{ uri: { prefix: '/old' } }],
      rewrite: { prefix: '/new', authority: 'reviews-internal' },
      headers: { request: { set: [['x-set', 'yes']], add: [['x-add', 'one']], remove: ['x-drop'] }, response: { set: [['x-resp', 'from-waypoint']] } },
      destinations: [{ host: HOST, subset: 'v1', weight: 100 }],
    }),
  ]);
  const reply = await request(agentFor(), { path: '/old/page?q=1', headers: { 'x-drop': 'gone', 'x-add': 'zero' } });
  t.equal(reply.status, 200);
  t.equal(reply.headers['x-resp'], 'from-waypoint');
  const seen = b1.seen[0];
  t.equal(seen.url, '/new/page?q=1');
  t.equal(seen.headers.host, 'reviews-internal');
  t.equal(seen.headers['x-set'], 'yes');
  t.equal(seen.headers['x-add'], 'zero, one');
  t.equal(seen.headers['x-drop'], undefined);
});

t.test('redirects and direct responses are answered by the waypoint itself', async (t) => {
  const { agentFor, b1 } = await setup(t, [
    route({ matches: [{ uri: { exact: '/moved' } }], redirect: { path: '/new-home', authority: 'example.com', status: 301 } }),
    route({ matches: [{ uri: { prefix: '/health' } }], directResponse: { status: 200, body: 'ok from waypoint' } }),
    route({ destinations: [{ host: HOST, weight: 100 }] }),
  ]);
  const agent = agentFor();
  const moved = await request(agent, { path: '/moved?x=1' });
  t.equal(moved.status, 301);
  t.equal(moved.headers.location, 'http://example.com/new-home?x=1');
  const health = await request(agent, { path: '/health' });
  t.equal(health.status, 200);
  t.equal(health.body, 'ok from waypoint');
  t.equal(b1.seen.length, 0, 'no backend saw either request');
});

t.test('a dot-segment path is matched (and forwarded) normalized', async (t) => {
  const { agentFor, b1 } = await setup(t, [
    route({ matches: [{ uri: { prefix: '/admin' } }], directResponse: { status: 418, body: 'admin' } }),
    route({ destinations: [{ host: HOST, subset: 'v1', weight: 100 }] }),
  ]);
  const agent = agentFor();
  t.equal((await request(agent, { path: '/public/../admin/x' })).status, 418);
  t.equal((await request(agent, { path: '/public/./x' })).status, 200);
  t.equal(b1.seen[0].url, '/public/x');
});

t.test('x-request-id is kept or minted, and trace headers pass through untouched', async (t) => {
  const { agentFor, b1 } = await setup(t, [route({ destinations: [{ host: HOST, subset: 'v1', weight: 100 }] })]);
  const agent = agentFor();
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  await request(agent, { headers: { 'x-request-id': 'given-id', traceparent, 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' } });
  await request(agent);
  t.equal(b1.seen[0].headers['x-request-id'], 'given-id');
  t.equal(b1.seen[0].headers.traceparent, traceparent);
  t.equal(b1.seen[0].headers['x-b3-traceid'], '80f198ee56343ba864fe8b2a57d3eff7');
  t.equal(b1.seen[0].headers.b3, '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1');
  t.match(b1.seen[1].headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a fresh UUID v4 when absent');
});

t.test('consistent hashing keeps a user on one pod; a cookie is minted when missing', async (t) => {
  const b1 = await startBackend(t, 'v1');
  const b2 = await startBackend(t, 'v2');
  const connector = new FakeConnector().map('10.1.0.1', 9080, b1.port).map('10.1.0.2', 9080, b2.port);
  const byHeader = { source: 'DestinationRule bookinfo/reviews', subsets: [], policies: [{ port: 9080, policy: { loadBalancer: { consistentHash: { header: 'x-user' } } } }] };
  const proxy = startProxy(t, connector, configDoc({ services: [service('reviews', '10.96.0.10', [v1, v2], { destinationPolicy: byHeader })], workloads: [v1, v2] }));
  const agent = tunnelAgent(proxy, '10.96.0.10:9080');
  t.teardown(() => agent.destroy());
  const users = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal'];
  const first = new Map<string, string>();
  for (const user of users) first.set(user, (await request(agent, { headers: { 'x-user': user } })).body);
  for (let round = 0; round < 3; round++) for (const user of users) t.equal((await request(agent, { headers: { 'x-user': user } })).body, first.get(user), `${user} stays on ${first.get(user)}`);
  t.equal(new Set(first.values()).size, 2, 'users spread over both pods');

  const byCookie = { source: 'DestinationRule bookinfo/reviews', subsets: [], policies: [{ port: 9080, policy: { loadBalancer: { consistentHash: { cookie: { name: 'session', ttlMs: 60_000, path: '/' } } } } }] };
  proxy.applyConfig(JSON.stringify(configDoc({ services: [service('reviews', '10.96.0.10', [v1, v2], { destinationPolicy: byCookie })], workloads: [v1, v2] })));
  const minted = await request(agent);
  const setCookie = String(minted.headers['set-cookie']);
  t.match(setCookie, /^session="[0-9a-f]+"; Max-Age=60; Path=\/; HttpOnly$/, 'the waypoint sets the hash cookie');
  const cookie = setCookie.split(';')[0];
  const pod = (await request(agent, { headers: { cookie } })).body;
  t.equal((await request(agent, { headers: { cookie: cookie.replace(/"/g, '') } })).body, pod, 'quoted or not, the same key');
  for (let i = 0; i < 5; i++) t.equal((await request(agent, { headers: { cookie } })).body, pod, 'the cookie pins the pod');
});
