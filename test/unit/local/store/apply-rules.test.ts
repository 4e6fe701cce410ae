// Cross-object apply rules: namespaces must exist, ClusterIPs are allocated from the service range, kept, immutable and unique.
import t from 'tap';
import type { Resource, ServiceSpec } from '../../../../src/api';
import { prepareApply, SERVICE_CIDR, StoreConflict } from '../../../../src/local/store/apply-rules';
import { DirectoryStore } from '../../../../src/local/store/directory-store';
import { manifests, NAMESPACE_APPS, service, tempDir } from '../fixtures/helpers';

function seeded(): Map<string, Resource> {
  const objects = new Map<string, Resource>();
  for (const { resource } of manifests(NAMESPACE_APPS)) objects.set('Namespace/apps', { ...resource, metadata: { ...resource.metadata, uid: 'ns-uid' } });
  return objects;
}

function applyTo(objects: Map<string, Resource>, yaml: string, revision = 2) {
  let n = 0;
  return prepareApply(objects, manifests(yaml), revision, () => `uid-${++n}`);
}

function clusterIp(objects: ReadonlyMap<string, Resource>, name: string): string | undefined {
  return (objects.get(`Service/apps/${name}`)?.spec as ServiceSpec | undefined)?.clusterIP;
}

function withClusterIp(name: string, ip: string): string {
  return service(name, 'apps', `  clusterIP: "${ip}"\n`);
}

t.test('the service range is 10.96.0.0/16', async (t) => {
  t.equal(SERVICE_CIDR, '10.96.0.0/16');
});

t.test('ClusterIPs are allocated from 10.96.0.10 upwards and kept on re-apply', async (t) => {
  const objects = seeded();
  applyTo(objects, service('a', 'apps'));
  applyTo(objects, service('b', 'apps'));
  t.equal(clusterIp(objects, 'a'), '10.96.0.10');
  t.equal(clusterIp(objects, 'b'), '10.96.0.11');
  const again = applyTo(objects, service('a', 'apps') + '---\n' + service('b', 'apps'), 5);
  t.same(again.map((r) => r.outcome), ['unchanged', 'unchanged'], 'an allocated ClusterIP does not count as a change');
  t.equal(clusterIp(objects, 'a'), '10.96.0.10');
  t.equal(clusterIp(objects, 'b'), '10.96.0.11');
  applyTo(objects, withClusterIp('a', '10.96.0.10'), 6);
  t.equal(clusterIp(objects, 'a'), '10.96.0.10', 'naming the same ClusterIP again is fine');
  applyTo(objects, service('c', 'apps', '  clusterIP: ""\n'), 7);
  t.equal(clusterIp(objects, 'c'), '10.96.0.12', 'an empty clusterIP asks for one');
});

t.test('allocation skips addresses taken explicitly, in the store or earlier in the batch', async (t) => {
  const objects = seeded();
  applyTo(objects, withClusterIp('fixed', '10.96.0.10') + '---\n' + service('auto', 'apps') + '---\n' + withClusterIp('high', '10.96.200.1'));
  t.equal(clusterIp(objects, 'fixed'), '10.96.0.10');
  t.equal(clusterIp(objects, 'auto'), '10.96.0.11');
  t.equal(clusterIp(objects, 'high'), '10.96.200.1');
});

t.test('headless services (clusterIP None) are stored as such and take no address', async (t) => {
  const objects = seeded();
  applyTo(objects, withClusterIp('h1', 'None') + '---\n' + withClusterIp('h2', 'None'));
  t.equal(clusterIp(objects, 'h1'), 'None');
  t.equal(clusterIp(objects, 'h2'), 'None');
  applyTo(objects, service('h1', 'apps'), 3);
  t.equal(clusterIp(objects, 'h1'), 'None', 'omitting clusterIP later keeps None');
  applyTo(objects, service('next', 'apps'), 4);
  t.equal(clusterIp(objects, 'next'), '10.96.0.10');
});

t.test('ClusterIP conflicts are refused with the object and field at fault', async (t) => {
  const rows: { name: string; before: string[]; yaml: string; message: string }[] = [
    {
      name: 'immutable once allocated',
      before: [service('a', 'apps')],
      yaml: withClusterIp('a', '10.96.0.99'),
      message: 'test.yaml:1: Service apps/a: spec.clusterIP: field is immutable: it is 10.96.0.10',
    },
    {
      name: 'an address cannot become None',
      before: [service('a', 'apps')],
      yaml: withClusterIp('a', 'None'),
      message: 'test.yaml:1: Service apps/a: spec.clusterIP: field is immutable: it is 10.96.0.10',
    },
    {
      name: 'None cannot become an address',
      before: [withClusterIp('a', 'None')],
      yaml: withClusterIp('a', '10.96.0.20'),
      message: 'test.yaml:1: Service apps/a: spec.clusterIP: field is immutable: it is None',
    },
    {
      name: 'taken by another service in the store',
      before: [service('a', 'apps')],
      yaml: withClusterIp('b', '10.96.0.10'),
      message: 'test.yaml:1: Service apps/b: spec.clusterIP: 10.96.0.10 is already allocated to Service/apps/a',
    },
    {
      name: 'outside the service range',
      before: [],
      yaml: withClusterIp('a', '10.97.0.1'),
      message: 'test.yaml:1: Service apps/a: spec.clusterIP: 10.97.0.1 is outside the service range 10.96.0.0/16',
    },
    {
      name: 'taken earlier in the same batch',
      before: [],
      yaml: withClusterIp('a', '10.96.1.1') + '---\n' + withClusterIp('b', '10.96.1.1'),
      message: 'test.yaml:12: Service apps/b: spec.clusterIP: 10.96.1.1 is already allocated to Service/apps/a',
    },
  ];
  for (const row of rows) {
    const objects = seeded();
    for (const yaml of row.before) applyTo(objects, yaml);
    const before = structuredClone(objects);
    t.throws(() => applyTo(objects, row.yaml, 9), { constructor: StoreConflict, code: 'STORE_CONFLICT', field: 'spec.clusterIP', message: row.message }, row.name);
    t.same(objects, before, `${row.name}: the map is left as it was`);
  }
});

t.test('a conflict late in a batch leaves the store exactly as it was', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  store.apply(manifests(NAMESPACE_APPS + '---\n' + service('a', 'apps')));
  const before = store.read();
  const batch = [service('fresh', 'apps'), service('a', 'apps').replace('port: 80', 'port: 81'), withClusterIp('c', '10.96.0.10')].join('---\n');
  t.throws(() => store.apply(manifests(batch)), { message: /^test\.yaml:\d+: Service apps\/c: spec\.clusterIP: 10\.96\.0\.10 is already allocated to Service\/apps\/a$/ });
  const after = store.read();
  t.equal(after.revision, before.revision);
  t.same([...after.objects.keys()], [...before.objects.keys()], 'the fine service in the batch was not stored');
  t.same(after.objects.get('Service/apps/a'), before.objects.get('Service/apps/a'), 'the changed service was not updated');
});

t.test('new objects get a uid, a timestamp, generation 1 and the revision as resourceVersion', async (t) => {
  const objects = seeded();
  const results = applyTo(objects, service('a', 'apps'), 7);
  t.same(results, [{ key: 'Service/apps/a', description: 'Service apps/a', outcome: 'created' }]);
  const stored = objects.get('Service/apps/a') as Resource;
  t.equal(stored.metadata.uid, 'uid-1');
  t.equal(stored.metadata.generation, 1);
  t.equal(stored.metadata.resourceVersion, '7');
  t.ok(Date.parse(stored.metadata.creationTimestamp ?? '') > 0);
});

t.test('a ServiceEntry address in the service range is never handed to a Service', async (t) => {
  const objects = seeded();
  objects.set('ServiceEntry/apps/ext', {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'ext', namespace: 'apps' },
    spec: { hosts: ['ext.example.test'], addresses: ['10.96.0.10/32', '192.0.2.7', 'fd00::1'], ports: [{ number: 80, name: 'http' }] },
  });
  applyTo(objects, service('a', 'apps'));
  t.equal(clusterIp(objects, 'a'), '10.96.0.11', 'allocation skips the ServiceEntry VIP');
  t.throws(() => applyTo(objects, withClusterIp('b', '10.96.0.10'), 3), { constructor: StoreConflict, message: /10\.96\.0\.10 is already allocated to ServiceEntry\/apps\/ext/ });
});
