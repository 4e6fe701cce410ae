// The ztunnel's state store: converts xDS before swapping, rejects bad resources whole, indexes by IP/VIP/service.
import t from 'tap';
import { StateStore } from '../../../../src/ztunnel/state/state-store';
import { ipToBytes, type Address } from '../../../../src/xds';

function workload(uid: string, ip: string, services: Record<string, number> = {}, extra: Partial<NonNullable<Address['workload']>> = {}): Address {
  return {
    workload: {
      uid, name: uid.split('/').pop() as string, namespace: 'apps', addresses: [ipToBytes(ip)], hostname: '', network: '', tunnelProtocol: 'HBONE',
      trustDomain: '', serviceAccount: 'web', node: 'node-1', canonicalName: 'web', canonicalRevision: 'v1', workloadType: 'DEPLOYMENT', workloadName: 'web',
      nativeTunnel: false, services: Object.fromEntries(Object.entries(services).map(([key, port]) => [key, { ports: [{ servicePort: 80, targetPort: port, appProtocol: 'HTTP11' }] }])),
      authorizationPolicies: [], status: 'HEALTHY', clusterId: 'Kubernetes', networkMode: 'STANDARD', extensions: [], ...extra,
    },
  };
}

function service(name: string, vip: string): Address {
  return { service: { name, namespace: 'apps', hostname: `${name}.apps.svc.cluster.local`, addresses: [{ network: '', address: ipToBytes(vip) }], ports: [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }], subjectAltNames: [], ipFamilies: 'AUTOMATIC', extensions: [], canonical: false, ingressUseWaypoint: false } };
}

t.test('upserts index workloads by IP and services by VIP with their endpoints', async (t) => {
  const store = new StateStore();
  store.applyAddresses({ upserts: new Map([['w1', workload('K//Pod/apps/w1', '10.44.1.2', { 'apps/web.apps.svc.cluster.local': 8080 })], ['apps/web.apps.svc.cluster.local', service('web', '10.96.0.10')]]), removals: [] });
  const snapshot = store.current();
  t.equal(snapshot.workloadsByIp.get('10.44.1.2')?.uid, 'K//Pod/apps/w1');
  t.same(snapshot.workloadsByIp.get('10.44.1.2')?.identity, { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'web' });
  t.equal(snapshot.servicesByVip.get('10.96.0.10')?.key, 'apps/web.apps.svc.cluster.local');
  t.same(snapshot.endpointsByService.get('apps/web.apps.svc.cluster.local')?.map((w) => w.uid), ['K//Pod/apps/w1']);
  t.equal(snapshot.generation, 1);
});

t.test('removals by resource name drop the right entry', async (t) => {
  const store = new StateStore();
  store.applyAddresses({ upserts: new Map([['w1', workload('K//Pod/apps/w1', '10.44.1.2')], ['apps/web.apps.svc.cluster.local', service('web', '10.96.0.10')]]), removals: [] });
  store.applyAddresses({ upserts: new Map(), removals: ['w1'] });
  t.equal(store.current().workloadsByIp.size, 0);
  t.equal(store.current().servicesByVip.size, 1);
  store.applyAddresses({ upserts: new Map(), removals: ['apps/web.apps.svc.cluster.local'] });
  t.equal(store.current().servicesByVip.size, 0);
});

t.test('a bad resource rejects the whole update and the previous snapshot stays', async (t) => {
  const store = new StateStore();
  store.applyAddresses({ upserts: new Map([['w1', workload('K//Pod/apps/w1', '10.44.1.2')]]), removals: [] });
  const before = store.current();
  const bad = workload('K//Pod/apps/w2', '10.44.1.3');
  (bad.workload as { addresses: Uint8Array[] }).addresses = [new Uint8Array([1, 2, 3])];
  t.throws(() => store.applyAddresses({ upserts: new Map([['w2', bad], ['w3', workload('K//Pod/apps/w3', '10.44.1.4')]]), removals: ['w1'] }), { code: 'INVALID_ADDRESS_RESOURCE', message: 'resource w2: an address has 3 bytes; expected 4 (IPv4) or 16 (IPv6)' });
  t.equal(store.current(), before, 'same snapshot object');
  t.ok(store.current().workloadsByIp.has('10.44.1.2'));
});

t.test('snapshots are frozen and a reader keeps the one it took', async (t) => {
  const store = new StateStore();
  store.applyAddresses({ upserts: new Map([['w1', workload('K//Pod/apps/w1', '10.44.1.2')]]), removals: [] });
  const taken = store.current();
  store.applyAddresses({ upserts: new Map(), removals: ['w1'] });
  t.ok(Object.isFrozen(taken));
  t.ok(taken.workloadsByIp.has('10.44.1.2'), 'old snapshot unchanged');
  t.notOk(store.current().workloadsByIp.has('10.44.1.2'));
});
