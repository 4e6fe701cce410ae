// ServiceEntry hosts in pods' hosts files: each host with an address resolves to the entry's first VIP, after the Services.
import t from 'tap';
import { resourceKey, type Resource } from '../../../src/api';
import { renderHosts, serviceEntryHosts } from '../../../src/local/pod-dns';

function entry(name: string, namespace: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace }, spec };
}

const OBJECTS: Resource[] = [
  entry('ext', 'apps', { hosts: ['api.example.com', 'api2.example.com', '*.wild.example.com'], addresses: ['240.0.0.10/32', '240.0.0.11'], ports: [{ number: 80, name: 'http' }] }),
  entry('wide', 'apps', { hosts: ['wide.example.com'], addresses: ['240.1.0.0/16', '240.0.0.12'], ports: [{ number: 80, name: 'http' }] }),
  entry('noaddr', 'other', { hosts: ['dns-only.example.com'], resolution: 'DNS', ports: [{ number: 443, name: 'tls' }] }),
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'apps' }, spec: { clusterIP: '10.96.0.11', ports: [{ port: 80 }] } },
];

t.test('hosts with an address are listed with the first single-address VIP; wildcards and address-less hosts are not', async (t) => {
  const objects = new Map(OBJECTS.map((object) => [resourceKey(object), object]));
  t.same(serviceEntryHosts(objects), [
    { host: 'api.example.com', address: '240.0.0.10' },
    { host: 'api2.example.com', address: '240.0.0.10' },
    { host: 'wide.example.com', address: '240.0.0.12' },
  ]);
});

t.test('hosts file lists entries after the Services, visible from every namespace', async (t) => {
  const objects = new Map(OBJECTS.map((object) => [resourceKey(object), object]));
  const hosts = renderHosts({ namespace: 'other', name: 'client', ip: '10.44.1.5' }, [{ namespace: 'apps', name: 'web', clusterIp: '10.96.0.11' }], serviceEntryHosts(objects));
  t.equal(
    hosts,
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.44.1.5\tclient',
      '10.96.0.11\tweb.apps.svc.cluster.local web.apps.svc web.apps',
      '240.0.0.10\tapi.example.com',
      '240.0.0.10\tapi2.example.com',
      '240.0.0.12\twide.example.com',
      '',
    ].join('\n'),
  );
  t.equal(renderHosts({ namespace: 'apps', name: 'c', ip: '10.44.1.6' }, []), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.44.1.6\tc\n', 'no entries: unchanged output');
});
