// planOutbound: where a captured connection goes, decided from one snapshot with no I/O.
import t from 'tap';
import { planOutbound } from '../../../../src/ztunnel/outbound/plan';
import type { ServiceState, WorkloadState } from '../../../../src/ztunnel/state/model';
import { ZtunnelSnapshot } from '../../../../src/ztunnel/state/snapshot';

const SVC = 'apps/web.apps.svc.cluster.local';

function w(name: string, ip: string, opts: Partial<WorkloadState> = {}): WorkloadState {
  return {
    uid: `K//Pod/apps/${name}`, name, namespace: 'apps', ips: [ip], identity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: name },
    protocol: 'HBONE', node: 'node-1', healthy: true, canonicalName: name, canonicalRevision: 'v1', workloadName: name,
    services: new Map([[SVC, [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }]]]), authorizationPolicies: [],
    network: '', clusterId: 'Kubernetes', locality: { region: 'r1', zone: 'z1', subzone: '' }, ...opts,
  };
}

const web: ServiceState = { key: SVC, name: 'web', namespace: 'apps', hostname: 'web.apps.svc.cluster.local', vips: ['10.96.0.10'], ports: [{ servicePort: 80, targetPort: 0, appProtocol: 'HTTP11' }] };

function snapshot(workloads: WorkloadState[], services: ServiceState[] = [web]): ZtunnelSnapshot {
  return new ZtunnelSnapshot(new Map(workloads.map((x) => [x.uid, x])), new Map(services.map((s) => [s.key, s])), new Map(), 1);
}

t.test('a ClusterIP goes over HBONE to an endpoint pod, target port resolved per endpoint', async (t) => {
  const plan = planOutbound(snapshot([w('web-1', '10.44.1.2')]), { ip: '10.96.0.10', port: 80 });
  t.match(plan, { kind: 'hbone', dialIp: '10.44.1.2', dialPort: 15008, authority: '10.44.1.2:8080', expectedIdentity: 'spiffe://cluster.local/ns/apps/sa/web-1' });
});

t.test('unhealthy endpoints are skipped; none healthy is a typed error', async (t) => {
  const s = snapshot([w('web-1', '10.44.1.2', { healthy: false }), w('web-2', '10.44.2.2')]);
  for (let i = 0; i < 20; i++) t.equal(planOutbound(s, { ip: '10.96.0.10', port: 80 }).kind === 'hbone' && (planOutbound(s, { ip: '10.96.0.10', port: 80 }) as { dialIp: string }).dialIp, '10.44.2.2');
  t.throws(() => planOutbound(snapshot([w('web-1', '10.44.1.2', { healthy: false })]), { ip: '10.96.0.10', port: 80 }), { code: 'NO_HEALTHY_ENDPOINT', message: 'service apps/web.apps.svc.cluster.local has no healthy endpoint for port 80' });
});

t.test('a pod address in the mesh goes over HBONE with the port kept', async (t) => {
  t.match(planOutbound(snapshot([w('web-1', '10.44.1.2')]), { ip: '10.44.1.2', port: 9000 }), { kind: 'hbone', authority: '10.44.1.2:9000' });
});

t.test('a pod outside the mesh gets plain TCP', async (t) => {
  t.match(planOutbound(snapshot([w('legacy', '10.44.1.9', { protocol: 'NONE' })]), { ip: '10.44.1.9', port: 80 }), { kind: 'passthrough', ip: '10.44.1.9', port: 80 });
  t.match(planOutbound(snapshot([w('legacy', '10.44.1.9', { protocol: 'NONE' })]), { ip: '10.96.0.10', port: 80 }), { kind: 'passthrough', ip: '10.44.1.9', port: 8080 }, 'service endpoint outside the mesh: straight to the pod');
});

t.test('unknown destinations and unknown service ports pass through unchanged', async (t) => {
  t.same(planOutbound(snapshot([]), { ip: '192.0.2.7', port: 443 }), { kind: 'passthrough', ip: '192.0.2.7', port: 443 });
  t.match(planOutbound(snapshot([w('web-1', '10.44.1.2')]), { ip: '10.96.0.10', port: 81 }), { kind: 'passthrough', ip: '10.96.0.10', port: 81 });
});

t.test('a service or workload with a waypoint is sent to the waypoint with the original authority', async (t) => {
  const withWaypoint = { ...web, waypoint: { ip: '10.44.2.9', port: 15008 } };
  t.match(planOutbound(snapshot([w('web-1', '10.44.1.2')], [withWaypoint]), { ip: '10.96.0.10', port: 80 }), { kind: 'waypoint', dialIp: '10.44.2.9', dialPort: 15008, authority: '10.96.0.10:80' });
  t.match(planOutbound(snapshot([w('web-1', '10.44.1.2', { waypoint: { ip: '10.44.2.9', port: 15008 } })]), { ip: '10.44.1.2', port: 8080 }), { kind: 'waypoint', authority: '10.44.1.2:8080' });
});

t.test('IPv6 authorities are bracketed', async (t) => {
  t.match(planOutbound(snapshot([w('v6', 'fd00::2')]), { ip: 'fd00::2', port: 80 }), { authority: '[fd00::2]:80' });
});

t.test('a service with a load-balancing preference picks the closest healthy endpoints for the client', async (t) => {
  const closeFirst: ServiceState = { ...web, loadBalancing: { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'], mode: 'FAILOVER' } };
  const client = w('client', '10.44.1.50', { services: new Map() });
  const sameZone = w('web-1', '10.44.1.2');
  const otherZone = w('web-2', '10.44.2.2', { node: 'node-2', locality: { region: 'r1', zone: 'z2', subzone: '' } });
  const dialled = (s: ZtunnelSnapshot, source?: WorkloadState) => new Set(Array.from({ length: 30 }, () => (planOutbound(s, { ip: '10.96.0.10', port: 80 }, undefined, source) as { dialIp: string }).dialIp));
  t.same([...dialled(snapshot([client, sameZone, otherZone], [closeFirst]), client)], ['10.44.1.2'], 'PreferClose: the same zone only, while it has a healthy endpoint');
  t.same([...dialled(snapshot([client, { ...sameZone, healthy: false }, otherZone], [closeFirst]), client)], ['10.44.2.2'], 'and fails over when it has none');
  t.equal(dialled(snapshot([client, sameZone, otherZone], [closeFirst])).size, 2, 'an unknown client gets every endpoint');
  t.equal(dialled(snapshot([client, sameZone, otherZone], [web]), client).size, 2, 'no preference: every endpoint');
  const local: ServiceState = { ...web, loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT' } };
  t.same([...dialled(snapshot([client, sameZone, otherZone], [local]), client)], ['10.44.1.2'], 'internalTrafficPolicy Local: this node only');
  t.throws(() => planOutbound(snapshot([client, otherZone], [local]), { ip: '10.96.0.10', port: 80 }, undefined, client), { code: 'NO_HEALTHY_ENDPOINT' }, 'and no endpoint when the node has none');
});
