// Story tests of L7 authorization at the waypoint: methods, paths, principals, DENY before ALLOW, 403 "RBAC: access denied".
import t, { type Test } from 'tap';
import type { AuthorizationDoc } from '../../../../src/waypoint/config/types';
import { CALLER, configDoc, FakeConnector, request, service, startBackend, startProxy, tunnelAgent, workload, type Caller } from '../fixtures/harness';

const w = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
const HOST = 'reviews.bookinfo.svc.cluster.local';

async function setup(t: Test, policies: AuthorizationDoc[]) {
  const backend = await startBackend(t, 'reviews');
  const proxy = startProxy(t, new FakeConnector().map('10.1.0.1', 9080, backend.port), configDoc({ services: [service('reviews', '10.96.0.10', [w])], workloads: [w], policies }));
  const agentFor = (caller: Caller = CALLER) => {
    const agent = tunnelAgent(proxy, '10.96.0.10:9080', caller);
    t.teardown(() => agent.destroy());
    return agent;
  };
  return { backend, proxy, agentFor };
}

t.test('an L7 policy allowing the client only GET answers 403 RBAC: access denied to DELETE and 200 to GET', async (t) => {
  const { agentFor, backend, proxy } = await setup(t, [
    {
      name: 'bookinfo/get-only',
      namespace: 'bookinfo',
      action: 'ALLOW',
      dryRun: false,
      attachment: { kind: 'service', hostname: HOST },
      rules: [{ from: [{ principals: [CALLER.identity.replace('spiffe://', '')] }], to: [{ methods: ['GET'] }] }],
    },
  ]);
  const agent = agentFor();
  const denied = await request(agent, { method: 'DELETE', path: '/reviews/1' });
  t.equal(denied.status, 403);
  t.equal(denied.body, 'RBAC: access denied');
  const allowed = await request(agent, { method: 'GET', path: '/reviews/1' });
  t.equal(allowed.status, 200);
  t.same(backend.seen.map((s) => s.method), ['GET'], 'the DELETE never reached the backend');
  const other = agentFor({ identity: 'spiffe://cluster.local/ns/other/sa/intruder', address: '10.2.0.1' });
  t.equal((await request(other)).status, 403, 'another principal is denied even for GET');
  const metrics = await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total');
  t.match(metrics, /response_code="403"[^}]*response_flags="RBAC"|response_flags="RBAC"[^}]*response_code="403"/, 'the denial is counted with the RBAC flag');
});

t.test('a DENY path rule on /admin* blocks admin paths and nothing else, and wins over an ALLOW', async (t) => {
  const { agentFor } = await setup(t, [
    { name: 'bookinfo/allow-all', namespace: 'bookinfo', action: 'ALLOW', dryRun: false, attachment: { kind: 'gateway' }, rules: [{}] },
    { name: 'bookinfo/no-admin', namespace: 'bookinfo', action: 'DENY', dryRun: false, attachment: { kind: 'gateway' }, rules: [{ to: [{ paths: ['/admin*'] }] }] },
  ]);
  const agent = agentFor();
  t.equal((await request(agent, { path: '/admin' })).status, 403);
  t.equal((await request(agent, { path: '/admin/users?x=1' })).body, 'RBAC: access denied');
  t.equal((await request(agent, { path: '/public/../admin/users' })).status, 403, 'a dot-segment path cannot slip past');
  t.equal((await request(agent, { path: '/reviews/admin' })).status, 200);
});

t.test('when conditions on request headers, notMethods and source namespaces combine as Istio defines', async (t) => {
  const { agentFor } = await setup(t, [
    {
      name: 'bookinfo/conditions',
      namespace: 'bookinfo',
      action: 'ALLOW',
      dryRun: false,
      attachment: { kind: 'gateway' },
      rules: [{ from: [{ namespaces: ['bookinfo'] }], to: [{ notMethods: ['POST'] }], when: [{ key: 'request.headers[x-token]', values: ['secret*'] }] }],
    },
  ]);
  const agent = agentFor();
  t.equal((await request(agent, { headers: { 'x-token': 'secret-1' } })).status, 200);
  t.equal((await request(agent, { headers: { 'x-token': 'wrong' } })).status, 403);
  t.equal((await request(agent, { method: 'POST', headers: { 'x-token': 'secret-1' } })).status, 403);
  const outsider = agentFor({ identity: 'spiffe://cluster.local/ns/other/sa/x', address: '10.2.0.1' });
  t.equal((await request(outsider, { headers: { 'x-token': 'secret-1' } })).status, 403);
});

t.test('a dry-run DENY is logged but not enforced', async (t) => {
  const { agentFor } = await setup(t, [
    { name: 'bookinfo/dry', namespace: 'bookinfo', action: 'DENY', dryRun: true, attachment: { kind: 'gateway' }, rules: [{}] },
  ]);
  t.equal((await request(agentFor())).status, 200);
});

t.test('a termination policy denies the tunnel itself (403) before any request', async (t) => {
  const { proxy } = await setup(t, [
    { name: 'bookinfo/only-bookinfo', namespace: 'bookinfo', action: 'ALLOW', dryRun: false, attachment: { kind: 'termination' }, rules: [{ from: [{ namespaces: ['bookinfo'] }] }] },
  ]);
  const refused = proxy.openTunnel({ peer: { identity: 'spiffe://cluster.local/ns/other/sa/x', address: '10.2.0.1', port: 1 }, destinationIp: '10.96.0.10', destinationPort: 9080 });
  t.notOk('pipe' in refused, 'the tunnel is refused');
  t.match(refused, { status: 403 });
  const accepted = proxy.openTunnel({ peer: { identity: CALLER.identity, address: CALLER.address, port: 1 }, destinationIp: '10.96.0.10', destinationPort: 9080 });
  t.ok('pipe' in accepted, 'a bookinfo caller gets a tunnel');
  if ('destroy' in accepted) accepted.destroy();
});
