// Table tests of the per-cluster machinery: load balancers, circuit breaker admission, outlier ejection and return.
import t from 'tap';
import type { EndpointSpec } from '../../../../src/waypoint/routing/table';
import { CircuitBreaker, CircuitOverflow, circuitLimits } from '../../../../src/waypoint/upstream/circuit-breaker';
import { ClusterRuntime } from '../../../../src/waypoint/upstream/cluster-runtime';
import { createLoadBalancer } from '../../../../src/waypoint/upstream/load-balancer';
import { OutlierDetector } from '../../../../src/waypoint/upstream/outlier-detection';
import { workload } from '../fixtures/harness';

const endpoints: EndpointSpec[] = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip, i) => ({
  key: `${ip}:80`,
  ip,
  port: 80,
  identity: 'spiffe://cluster.local/ns/a/sa/b',
  healthy: i !== 2 || true,
  workload: workload(`w-${i}`, ip, { app: 'w' }),
}));
const context = (over: { hashKey?: string; random?: () => number; active?: Record<string, number> } = {}) => ({
  ...(over.hashKey !== undefined ? { hashKey: over.hashKey } : {}),
  random: over.random ?? Math.random,
  activeRequests: (key: string) => over.active?.[key] ?? 0,
});

t.test('round robin visits every endpoint in turn', async (t) => {
  const lb = createLoadBalancer(undefined);
  t.same(Array.from({ length: 6 }, () => lb.pick(endpoints, endpoints, context()).ip), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
});

t.test('least request prefers the less busy of two random picks', async (t) => {
  const lb = createLoadBalancer({ simple: 'LEAST_REQUEST' });
  let n = 0;
  const random = () => [0, 0.5][n++ % 2];
  t.equal(lb.pick(endpoints, endpoints, context({ random, active: { '10.0.0.1:80': 5, '10.0.0.2:80': 1 } })).ip, '10.0.0.2');
  t.equal(lb.pick(endpoints, endpoints, context({ random, active: { '10.0.0.1:80': 0, '10.0.0.2:80': 1 } })).ip, '10.0.0.1');
});

t.test('random picks by the random source', async (t) => {
  const lb = createLoadBalancer({ simple: 'RANDOM' });
  t.equal(lb.pick(endpoints, endpoints, context({ random: () => 0.99 })).ip, '10.0.0.3');
});

t.test('consistent hash keeps a key on one endpoint and moves only its keys when that endpoint leaves', async (t) => {
  const lb = createLoadBalancer({ consistentHash: { header: 'x-user', minimumRingSize: 1024 } });
  const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const first = new Map(keys.map((k) => [k, lb.pick(endpoints, endpoints, context({ hashKey: k })).ip]));
  t.ok(keys.every((k) => lb.pick(endpoints, endpoints, context({ hashKey: k })).ip === first.get(k)), 'stable');
  const counts = [...first.values()].reduce((m, ip) => m.set(ip, (m.get(ip) ?? 0) + 1), new Map<string, number>());
  t.equal(counts.size, 3, 'keys spread over all endpoints');
  const remaining = endpoints.slice(0, 2);
  const moved = keys.filter((k) => first.get(k) !== '10.0.0.3' && lb.pick(remaining, endpoints, context({ hashKey: k })).ip !== first.get(k));
  t.equal(moved.length, 0, 'keys of the endpoints that stayed did not move');
  t.ok(keys.filter((k) => first.get(k) === '10.0.0.3').every((k) => lb.pick(remaining, endpoints, context({ hashKey: k })).ip !== '10.0.0.3'), 'keys of the unusable endpoint moved');
});

t.test('circuit breaker: requests, connections, pending and retries', async (t) => {
  const breaker = new CircuitBreaker('c', circuitLimits({ maxConnections: 1, http1MaxPendingRequests: 1, http2MaxRequests: 3, maxRetries: 1 }));
  const first = await breaker.admit(true);
  let secondGranted = false;
  const second = breaker.admit(true).then((a) => ((secondGranted = true), a));
  await t.rejects(breaker.admit(true), CircuitOverflow, 'a third HTTP/1.1 request overflows the pending queue');
  t.equal(breaker.pendingRequests, 1);
  const h2 = await breaker.admit(false);
  await t.rejects(breaker.admit(false), /maxRequests/, 'HTTP/2 requests count against maxRequests');
  t.notOk(secondGranted, 'the pending request waits');
  first.release();
  (await second).release();
  t.ok(secondGranted, 'and gets the connection when it frees');
  h2.release();
  t.equal(breaker.activeRequests, 0);
  t.ok(breaker.startRetry());
  t.notOk(breaker.startRetry(), 'the retry budget is one');
  breaker.endRetry();
  const controller = new AbortController();
  const held = await breaker.admit(true);
  const waiting = breaker.admit(true, controller.signal);
  controller.abort(new Error('gave up'));
  await t.rejects(waiting, /gave up/, 'an abandoned pending request leaves the queue');
  t.equal(breaker.pendingRequests, 0);
  held.release();
});

t.test('outlier detection ejects after consecutive 5xx, within maxEjectionPercent, and lets the endpoint back', async (t) => {
  const od = new OutlierDetector({ consecutive5xxErrors: 3, consecutiveGatewayErrors: 0, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, minHealthPercent: 0 });
  t.equal(od.report('a', { status: 500 }, 4, 0), undefined);
  t.equal(od.report('a', { status: 200 }, 4, 1), undefined, 'a success resets the count');
  od.report('a', { status: 500 }, 4, 2);
  od.report('a', { localFailure: true }, 4, 3);
  t.match(od.report('a', { status: 502 }, 4, 4), { endpoint: 'a', until: 30_004, reason: 'consecutive_5xx' });
  t.ok(od.isEjected('a', 30_003));
  for (let i = 0; i < 3; i++) od.report('b', { status: 500 }, 4, 5);
  t.ok(od.isEjected('b', 6), 'a second of four endpoints may go (50%)');
  for (let i = 0; i < 3; i++) od.report('c', { status: 500 }, 4, 7);
  t.notOk(od.isEjected('c', 8), 'a third would exceed maxEjectionPercent');
  t.notOk(od.isEjected('a', 30_004), 'back after its ejection time');
  for (let i = 0; i < 3; i++) od.report('a', { status: 500 }, 4, 31_000);
  t.ok(od.isEjected('a', 31_000 + 59_999), 'a second ejection in a row lasts twice as long');
  const gateway = new OutlierDetector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, intervalMs: 1000, baseEjectionTimeMs: 10, maxEjectionPercent: 100, minHealthPercent: 0 });
  gateway.report('g', { status: 500 }, 1, 0);
  gateway.report('g', { status: 500 }, 1, 0);
  t.notOk(gateway.isEjected('g', 1), '500 is not a gateway error');
  gateway.report('g', { status: 503 }, 1, 0);
  gateway.report('g', { localFailure: true }, 1, 0);
  t.ok(gateway.isEjected('g', 1), 'two gateway errors eject');
});

t.test('a cluster runtime skips unhealthy and ejected endpoints and prefers untried ones', async (t) => {
  const specs: EndpointSpec[] = endpoints.map((e, i) => ({ ...e, healthy: i !== 1 }));
  const runtime = new ClusterRuntime({
    key: 'outbound|80||x',
    service: { doc: { hostname: 'x', namespace: 'a', name: 'x', vips: [], ports: [], endpoints: [], routes: [] }, served: true, ports: new Map(), routes: [], policies: { deny: [], allow: [], audit: [], size: 0 } },
    port: 80,
    appProtocol: 'HTTP11',
    endpoints: specs,
    policy: { outlierDetection: { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 10, baseEjectionTimeMs: 1000, maxEjectionPercent: 100, minHealthPercent: 0 } },
  });
  const picks = new Set(Array.from({ length: 4 }, () => runtime.pick()?.ip));
  t.same([...picks].sort(), ['10.0.0.1', '10.0.0.3'], 'the unhealthy endpoint is never picked');
  t.equal(runtime.pick({ exclude: new Set(['10.0.0.1:80']) })?.ip, '10.0.0.3', 'an untried endpoint first');
  runtime.report('10.0.0.1:80', { status: 500 }, 0);
  t.equal(runtime.pick({ now: 10 })?.ip, '10.0.0.3');
  t.equal(runtime.pick({ now: 11 })?.ip, '10.0.0.3', 'the ejected endpoint is skipped');
  runtime.report('10.0.0.3:80', { status: 500 }, 0);
  t.equal(runtime.pick({ now: 12 }), undefined, 'nothing usable: no healthy upstream');
});
