import t from 'tap';
import { CALLER, configDoc, FakeConnector, request, service, startBackend, startProxy, tunnelAgent, workload } from './fixtures/harness';

t.test('a request to a service VIP reaches an endpoint through the waypoint', async (t) => {
  const backend = await startBackend(t, 'reviews-v1');
  const w = workload('reviews-v1-abc', '10.1.0.1', { app: 'reviews', version: 'v1' });
  const connector = new FakeConnector().map('10.1.0.1', 9080, backend.port);
  const proxy = startProxy(t, connector, configDoc({ services: [service('reviews', '10.96.0.10', [w])], workloads: [w] }));
  const agent = tunnelAgent(proxy, '10.96.0.10:9080', CALLER);
  t.teardown(() => agent.destroy());
  const reply = await request(agent, { path: '/reviews/1' });
  t.equal(reply.status, 200);
  t.equal(reply.body, 'reviews-v1');
  const again = await request(agent, { path: '/reviews/2' });
  t.equal(again.status, 200);
  t.equal(backend.seen.length, 2);
  t.match(backend.seen[0].headers['x-request-id'], /^[0-9a-f-]{36}$/);
});
