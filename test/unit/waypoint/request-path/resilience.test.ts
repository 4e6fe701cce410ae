// Story tests of the waypoint's resilience features: retries, timeouts, faults, mirrors, circuit breaking and outlier detection.
import type http from 'node:http';
import t, { type Test } from 'tap';
import type { DestinationPolicyDoc, HttpRouteDoc } from '../../../../src/waypoint/config/types';
import { configDoc, FakeConnector, many, request, service, startBackend, startProxy, tunnelAgent, workload, type BackendHandler } from '../fixtures/harness';

const HOST = 'reviews.bookinfo.svc.cluster.local';
const a = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
const b = workload('reviews-v1-bbb', '10.1.0.2', { app: 'reviews', version: 'v1' });
const route = (parts: Partial<HttpRouteDoc>): HttpRouteDoc => ({ name: 'r', source: 'VirtualService bookinfo/reviews', gatewaySemantics: false, matches: [], destinations: [{ host: HOST, weight: 100 }], ...parts });

async function setup(t: Test, options: { routes: HttpRouteDoc[]; handlerA?: BackendHandler; handlerB?: BackendHandler; policy?: DestinationPolicyDoc; endpoints?: 1 | 2; mirror?: BackendHandler }) {
  const backA = await startBackend(t, 'a', options.handlerA);
  const backB = await startBackend(t, 'b', options.handlerB);
  const mirror = await startBackend(t, 'mirror', options.mirror);
  const endpoints = options.endpoints === 2 ? [a, b] : [a];
  const m = workload('mirror-v1-mmm', '10.1.5.5', { app: 'mirror' });
  const connector = new FakeConnector().map('10.1.0.1', 9080, backA.port).map('10.1.0.2', 9080, backB.port).map('10.1.5.5', 9080, mirror.port);
  const doc = configDoc({
    services: [service('reviews', '10.96.0.10', endpoints, { routes: options.routes, ...(options.policy ? { destinationPolicy: options.policy } : {}) })],
    backends: [service('mirror', '10.96.0.99', [m])],
    workloads: [a, b, m],
  });
  const proxy = startProxy(t, connector, doc);
  const agent = tunnelAgent(proxy, '10.96.0.10:9080');
  t.teardown(() => agent.destroy());
  return { backA, backB, mirror, proxy, agent, connector };
}

const policy = (p: DestinationPolicyDoc['policies'][number]['policy']): DestinationPolicyDoc => ({ source: 'DestinationRule bookinfo/reviews', subsets: [], policies: [{ port: 9080, policy: p }] });

t.test('retries turn a backend that fails half of first attempts into all successes', async (t) => {
  const firstSeen = new Set<string>();
  let firsts = 0;
  const flaky: BackendHandler = (req, res) => {
    const id = String(req.headers['x-request-id']);
    if (!firstSeen.has(id)) {
      firstSeen.add(id);
      firsts += 1;
      if (firsts % 2 === 0) {
        res.writeHead(503).end('flaky');
        return;
      }
    }
    res.writeHead(200).end('ok');
  };
  const { agent, backA } = await setup(t, { routes: [route({ retries: { attempts: 3, retryOn: ['5xx'], retriableStatusCodes: [] } })], handlerA: flaky });
  const replies = await many(100, 10, () => request(agent));
  t.equal(replies.filter((r) => r.status === 200).length, 100, 'every request succeeded');
  t.equal(backA.seen.length, 150, 'half of the requests needed a second try');
  t.ok(backA.seen.some((s) => s.headers['x-envoy-attempt-count'] === '2'), 'retries carry x-envoy-attempt-count');
});

t.test('without a retry policy the failure reaches the client', async (t) => {
  const { agent } = await setup(t, { routes: [route({})], handlerA: (_q, res) => res.writeHead(500).end('boom') });
  t.equal((await request(agent)).status, 500);
});

t.test('a 1 s route timeout answers 504 for a 3 s backend', async (t) => {
  const slow: BackendHandler = (_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end('late'), 3000);
    res.once('close', () => clearTimeout(timer));
  };
  const { agent } = await setup(t, { routes: [route({ timeoutMs: 1000 })], handlerA: slow });
  const reply = await request(agent);
  t.equal(reply.status, 504);
  t.equal(reply.body, 'upstream request timeout');
});

t.test('a 50% abort fault answers the configured status to 50% +- 5 of 1,000 requests', async (t) => {
  const { agent, backA } = await setup(t, { routes: [route({ fault: { abort: { httpStatus: 418, percentage: 50 } } })] });
  const replies = await many(1000, 20, () => request(agent));
  const aborted = replies.filter((r) => r.status === 418).length;
  t.ok(aborted >= 450 && aborted <= 550, `${aborted / 10}% were aborted (want 50 +- 5)`);
  t.equal(replies.filter((r) => r.status === 200).length, 1000 - aborted, 'the rest succeeded');
  t.equal(backA.seen.length, 1000 - aborted, 'aborted requests never reached the backend');
});

t.test('a delay fault holds the request for the configured delay', async (t) => {
  const { agent, proxy } = await setup(t, { routes: [route({ fault: { delay: { fixedDelayMs: 300, percentage: 100 } } })] });
  const started = Date.now();
  const reply = await request(agent);
  t.equal(reply.status, 200);
  t.ok(Date.now() - started >= 295, 'the response came after the delay');
  t.match(await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total'), /response_flags="DI"/);
});

t.test('a mirror receives copies without affecting responses', async (t) => {
  const slowFailingMirror: BackendHandler = (_req, res) => setTimeout(() => res.writeHead(500).end('mirror broke'), 50);
  const { agent, mirror, backA } = await setup(t, {
    routes: [route({ mirrors: [{ host: 'mirror.bookinfo.svc.cluster.local', percentage: 100 }] })],
    mirror: slowFailingMirror,
  });
  const replies = await many(20, 5, (i) => request(agent, { method: 'POST', path: `/p/${i}`, body: `body-${i}` }));
  t.ok(replies.every((r) => r.status === 200 && r.body === 'a'), 'clients got the primary answer');
  t.equal(backA.seen.length, 20);
  const deadline = Date.now() + 5000;
  while (mirror.seen.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(mirror.seen.length, 20, 'the mirror got a copy of every request');
  const copy = mirror.seen.find((s) => s.url === '/p/3');
  t.equal(copy?.body, 'body-3', 'with the body');
  t.equal(copy?.headers.host, 'reviews:9080'.replace(':', '-shadow:'), 'and a -shadow host');
});

t.test('connection-pool overflow gives immediate 503s with x-envoy-overloaded', async (t) => {
  const held: http.ServerResponse[] = [];
  const hold: BackendHandler = (_req, res) => held.push(res);
  const { agent, backA } = await setup(t, {
    routes: [route({})],
    handlerA: hold,
    policy: policy({ connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1 } }),
  });
  const pending = Array.from({ length: 6 }, () => request(agent));
  const overflowed: number[] = [];
  const settled = pending.map((p, i) => p.then((r) => (r.status === 503 ? overflowed.push(i) : undefined, r)));
  const deadline = Date.now() + 5000;
  while ((overflowed.length < 4 || held.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(held.length, 1, 'one request holds the only connection');
  t.equal(overflowed.length, 4, 'four of six were refused while the first was still in progress (one waits as pending)');
  for (const res of held.splice(0)) res.writeHead(200).end('ok');
  while (held.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  for (const res of held.splice(0)) res.writeHead(200).end('ok');
  const replies = await Promise.all(settled);
  t.equal(replies.filter((r) => r.status === 200).length, 2, 'the held and the pending request completed');
  const refused = replies.find((r) => r.status === 503);
  t.equal(refused?.headers['x-envoy-overloaded'], 'true');
  t.equal(backA.seen.length, 2);
});

t.test('an outlier endpoint is ejected and returns after its ejection time', async (t) => {
  const { agent, backA, backB } = await setup(t, {
    routes: [route({})],
    endpoints: 2,
    handlerA: (_q, res) => res.writeHead(500).end('bad pod'),
    policy: policy({ loadBalancer: { simple: 'ROUND_ROBIN' }, outlierDetection: { consecutive5xxErrors: 2, consecutiveGatewayErrors: 0, intervalMs: 100, baseEjectionTimeMs: 2000, maxEjectionPercent: 100, minHealthPercent: 0 } }),
  });
  const before = [];
  for (let i = 0; i < 6; i++) before.push(await request(agent));
  t.equal(backA.seen.length, 2, 'the failing pod got two requests, then was ejected');
  const seenA = backA.seen.length;
  const during = await many(10, 1, () => request(agent));
  t.ok(during.every((r) => r.status === 200 && r.body === 'b'), 'while ejected, every request went to the healthy pod');
  t.equal(backA.seen.length, seenA);
  await new Promise((r) => setTimeout(r, 2100));
  const after = await many(4, 1, () => request(agent));
  t.ok(backA.seen.length > seenA, 'after its ejection time the pod gets traffic again');
  t.ok(after.some((r) => r.status === 500), 'and its errors show again');
  t.ok(backB.seen.length >= 10);
});

t.test('a retried try whose error answer is still streaming is dropped without harm', async (t) => {
  let tries = 0;
  const slowFailure: BackendHandler = (_req, res) => {
    tries += 1;
    if (tries === 1) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write('part of a long error page');
      const timer = setTimeout(() => res.end('...'), 2000);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(200).end('second try');
  };
  const { agent } = await setup(t, { routes: [route({ retries: { attempts: 1, retryOn: ['5xx'], retriableStatusCodes: [] } })], handlerA: slowFailure });
  const reply = await request(agent);
  t.equal(reply.status, 200);
  t.equal(reply.body, 'second try');
  t.equal((await request(agent)).status, 200, 'the waypoint is still serving');
});
