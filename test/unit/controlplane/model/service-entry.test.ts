// ServiceEntries become Address resources as istiod makes them: a Service per host, a Workload per inline endpoint,
// selected pods carrying the entry's services, waypoint binding, and incremental pushes that name only what changed.
import t from 'tap';
import { resourceKey, type Resource, type ServiceEntrySpec } from '../../../../src/api';
import { MeshIndex } from '../../../../src/controlplane/model/mesh-index';
import { serviceEntryAppProtocol, serviceEntryEndpointUid, serviceEntryServices, serviceEntryVips, serviceEntryWorkloads } from '../../../../src/controlplane/model/service-entries';
import { policyTranslator } from '../../../../src/controlplane/translate/policies';
import { silentLogger } from '../../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, ipFromBytes, decodeAddress, type Service, type Workload } from '../../../../src/xds';

const NS: Resource = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { 'istio.io/dataplane-mode': 'ambient' } } };

function entry(name: string, spec: Record<string, unknown>, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Resource<ServiceEntrySpec> {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: 'apps', ...meta }, spec: spec as unknown as ServiceEntrySpec };
}

function pod(name: string, ip: string, labels: Record<string, string>): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels },
    spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'example/app:1' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const EXTERNAL = entry('external-api', {
  hosts: ['api.example.com', 'api2.example.com'],
  addresses: ['240.0.0.10/32', '240.0.0.11'],
  ports: [
    { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 },
    { number: 443, name: 'tls', protocol: 'TLS' },
  ],
  resolution: 'STATIC',
  location: 'MESH_EXTERNAL',
  endpoints: [{ address: '10.50.0.7', ports: { http: 9090 }, labels: { zone: 'a' }, serviceAccount: 'ext', network: 'net-b', weight: 3, locality: 'r1/z1' }, { address: '10.50.0.8' }],
  subjectAltNames: ['spiffe://cluster.local/ns/apps/sa/ext'],
});

function newIndex(): MeshIndex {
  return new MeshIndex({ trustDomain: 'cluster.local', policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }) });
}

function objectsOf(list: Resource[]): Map<string, Resource> {
  return new Map(list.map((object) => [resourceKey(object), object]));
}

function service(index: MeshIndex, name: string): Service | undefined {
  const entry = index.resources(ADDRESS_TYPE_URL).get(name);
  return entry ? decodeAddress(entry.resource).service : undefined;
}

function workload(index: MeshIndex, name: string): Workload | undefined {
  const entry = index.resources(ADDRESS_TYPE_URL).get(name);
  return entry ? decodeAddress(entry.resource).workload : undefined;
}

function changed(index: MeshIndex): string[] {
  return [...(index.lastChangedNames().get(ADDRESS_TYPE_URL) ?? [])].sort();
}

t.test('protocol names map to ztunnel app protocols', async (t) => {
  const table: [string | undefined, string][] = [
    ['HTTP', 'HTTP11'],
    ['http', 'HTTP11'],
    ['HTTP2', 'HTTP2'],
    ['GRPC', 'GRPC'],
    ['GRPC-WEB', 'GRPC'],
    ['TCP', 'TCP'],
    ['MONGO', 'TCP'],
    ['TLS', 'TLS'],
    ['HTTPS', 'TLS'],
    ['UDP', 'UNKNOWN'],
    [undefined, 'UNKNOWN'],
  ];
  for (const [protocol, expected] of table) t.equal(serviceEntryAppProtocol(protocol), expected, `${protocol}`);
});

t.test('VIPs: plain IPs and single-address CIDRs; wider CIDRs are left out', async (t) => {
  t.same(serviceEntryVips(entry('x', { hosts: ['a.example'], addresses: ['240.0.0.1', '240.0.0.2/32', '240.1.0.0/16', 'fd00::1/128', 'fd00::/64'] })), ['240.0.0.1', '240.0.0.2', 'fd00::1']);
  t.same(serviceEntryVips(entry('x', { hosts: ['a.example'] })), []);
});

t.test('one Service per host, each with every VIP, the ports and the subject alt names', async (t) => {
  const services = serviceEntryServices(EXTERNAL);
  t.same(services.map((s) => s.hostname), ['api.example.com', 'api2.example.com']);
  for (const s of services) {
    t.equal(s.name, 'external-api');
    t.equal(s.namespace, 'apps');
    t.same(s.vips, ['240.0.0.10', '240.0.0.11']);
    t.same(s.ports, [
      { servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' },
      { servicePort: 443, targetPort: 443, appProtocol: 'TLS' },
    ]);
    t.same(s.subjectAltNames, ['spiffe://cluster.local/ns/apps/sa/ext']);
  }
  const preferClose = serviceEntryServices(entry('x', { hosts: ['a.example'] }, { annotations: { 'networking.istio.io/traffic-distribution': 'PreferClose' } }));
  t.same(preferClose[0].loadBalancing, { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'], mode: 'FAILOVER' });
});

t.test('inline endpoints become workloads with Istio uids and per-endpoint target ports', async (t) => {
  const workloads = serviceEntryWorkloads(EXTERNAL, { trustDomain: 'cluster.local', selectorPolicies: [], waypointFor: () => undefined });
  t.same(workloads.map((w) => w.uid), ['Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.7', 'Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.8']);
  t.equal(serviceEntryEndpointUid('apps', 'external-api', '10.50.0.7'), workloads[0].uid);
  const [first, second] = workloads;
  t.same(first.ips, ['10.50.0.7']);
  t.equal(first.serviceAccount, 'ext');
  t.equal(first.network, 'net-b');
  t.equal(first.capacity, 3);
  t.same(first.locality, { region: 'r1', zone: 'z1', subzone: '' });
  t.equal(first.ambient, false, 'an external endpoint is reached in plain TCP');
  t.equal(first.workloadType, 'POD');
  t.same(first.services.get('apps/api.example.com'), [
    { servicePort: 80, targetPort: 9090, appProtocol: 'HTTP11' },
    { servicePort: 443, targetPort: 443, appProtocol: 'TLS' },
  ], 'the endpoint ports map (by port name) overrides the target port');
  t.same(first.services.get('apps/api2.example.com'), first.services.get('apps/api.example.com'));
  t.same(second.services.get('apps/api.example.com')?.map((p) => p.targetPort), [8080, 443], 'no override: the port targetPort, else its number');
  t.equal(second.serviceAccount, 'default');
});

t.test('tunnel protocol: HBONE when the entry is ambient-redirected or an endpoint tunnels http', async (t) => {
  const base = { hosts: ['mesh.example'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.44.1.9' }, { address: '10.44.1.10', labels: { 'networking.istio.io/tunnel': 'http' } }] };
  const context = { trustDomain: 'cluster.local', selectorPolicies: [], waypointFor: () => undefined };
  const plain = serviceEntryWorkloads(entry('m', base), context);
  t.same(plain.map((w) => [w.ambient, w.nativeTunnel ?? false]), [[false, false], [true, true]]);
  const redirected = serviceEntryWorkloads(entry('m', base, { annotations: { 'ambient.istio.io/redirection': 'enabled' } }), context);
  t.same(redirected.map((w) => w.ambient), [true, true]);
  const labelled = serviceEntryWorkloads(entry('m', base, { labels: { 'networking.istio.io/tunnel': 'http' } }), context);
  t.same(labelled.map((w) => w.nativeTunnel), [true, true]);
});

t.test('DNS resolution without endpoints: one workload per host, resolved by name', async (t) => {
  const workloads = serviceEntryWorkloads(entry('dns', { hosts: ['a.example', 'b.example'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS' }), { trustDomain: 'cluster.local', selectorPolicies: [], waypointFor: () => undefined });
  t.same(workloads.map((w) => [w.uid, w.hostname, w.ips, [...w.services.keys()]]), [
    ['Kubernetes/networking.istio.io/ServiceEntry/apps/dns/a.example', 'a.example', [], ['apps/a.example']],
    ['Kubernetes/networking.istio.io/ServiceEntry/apps/dns/b.example', 'b.example', [], ['apps/b.example']],
  ]);
  const none = serviceEntryWorkloads(entry('none', { hosts: ['c.example'], resolution: 'NONE' }), { trustDomain: 'cluster.local', selectorPolicies: [], waypointFor: () => undefined });
  t.same(none, [], 'resolution NONE without endpoints has no workloads');
});

t.test('the mesh index pushes the entry\'s services and workloads under their resource names', async (t) => {
  const index = newIndex();
  const objects = objectsOf([NS, EXTERNAL]);
  const types = index.apply(objects, new Set(objects.keys()));
  t.ok(types.has(ADDRESS_TYPE_URL));
  const api = service(index, 'apps/api.example.com');
  t.equal(api?.hostname, 'api.example.com');
  t.equal(api?.name, 'external-api');
  t.same(api?.addresses.map((a) => ipFromBytes(a.address)), ['240.0.0.10', '240.0.0.11']);
  t.same(api?.ports, [
    { servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' },
    { servicePort: 443, targetPort: 443, appProtocol: 'TLS' },
  ]);
  t.same(api?.subjectAltNames, ['spiffe://cluster.local/ns/apps/sa/ext']);
  t.ok(service(index, 'apps/api2.example.com'));
  const endpoint = workload(index, 'Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.7');
  t.equal(endpoint?.tunnelProtocol, 'NONE');
  t.equal(endpoint?.serviceAccount, 'ext');
  t.equal(endpoint?.network, 'net-b');
  t.equal(endpoint?.capacity, 3);
  t.same(endpoint?.services['apps/api.example.com']?.ports.map((p) => p.targetPort), [9090, 443]);
  t.same(endpoint?.addresses.map(ipFromBytes), ['10.50.0.7']);
  t.same(index.services().filter((s) => s.name === 'external-api').length, 2);
  t.same(index.workloads().filter((w) => w.name === 'external-api').length, 2);
});

t.test('an edit names only the entry\'s own resources; removal removes them all', async (t) => {
  const index = newIndex();
  const bystander = pod('bystander', '10.44.1.20', { app: 'other' });
  const objects = objectsOf([NS, EXTERNAL, bystander]);
  index.apply(objects, new Set(objects.keys()));

  const edited = entry('external-api', { ...(EXTERNAL.spec as unknown as Record<string, unknown>), hosts: ['api.example.com'], endpoints: [{ address: '10.50.0.8' }] });
  const next = new Map(objects).set(resourceKey(edited), edited);
  index.apply(next, new Set([resourceKey(edited)]));
  t.same(changed(index), [
    'Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.7',
    'Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.8',
    'apps/api2.example.com',
  ], 'dropped host and endpoint removed, the remaining endpoint lost a service; the unchanged service is not pushed');
  t.equal(service(index, 'apps/api2.example.com'), undefined);
  t.ok(service(index, 'apps/api.example.com'));
  t.equal(workload(index, 'Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.7'), undefined);

  index.apply(next, new Set([resourceKey(edited)]));
  t.same(changed(index), [], 'applying the same entry again pushes nothing');

  const gone = new Map(next);
  gone.delete(resourceKey(edited));
  index.apply(gone, new Set([resourceKey(edited)]));
  t.same(changed(index), ['Kubernetes/networking.istio.io/ServiceEntry/apps/external-api/10.50.0.8', 'apps/api.example.com']);
  t.same([...index.resources(ADDRESS_TYPE_URL).keys()], ['Kubernetes//Pod/apps/bystander'], 'only the pod is left');
});

t.test('workloadSelector: selected pods carry the entry\'s services; label changes join and leave', async (t) => {
  const index = newIndex();
  const selecting = entry('vm-svc', { hosts: ['vm.example.internal'], addresses: ['240.0.0.20'], ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }], resolution: 'STATIC', location: 'MESH_INTERNAL', workloadSelector: { labels: { app: 'vm' } } });
  const member = pod('member', '10.44.1.30', { app: 'vm' });
  const outsider = pod('outsider', '10.44.1.31', { app: 'web' });
  const elsewhere: Resource = { ...pod('elsewhere', '10.44.1.32', { app: 'vm' }), metadata: { name: 'elsewhere', namespace: 'other', labels: { app: 'vm' } } };
  const objects = objectsOf([NS, selecting, member, outsider, elsewhere]);
  index.apply(objects, new Set(objects.keys()));
  t.same(workload(index, 'Kubernetes//Pod/apps/member')?.services['apps/vm.example.internal']?.ports, [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }]);
  t.notOk(workload(index, 'Kubernetes//Pod/apps/outsider')?.services['apps/vm.example.internal']);
  t.notOk(workload(index, 'Kubernetes//Pod/other/elsewhere')?.services['apps/vm.example.internal'], 'a selector reaches only its own namespace');

  const joined = pod('outsider', '10.44.1.31', { app: 'vm' });
  const withJoined = new Map(objects).set(resourceKey(joined), joined);
  index.apply(withJoined, new Set([resourceKey(joined)]));
  t.same(changed(index), ['Kubernetes//Pod/apps/outsider'], 'a pod relabelled into the selector: only its workload is pushed');
  t.ok(workload(index, 'Kubernetes//Pod/apps/outsider')?.services['apps/vm.example.internal']);

  index.apply(objects, new Set([resourceKey(joined)]));
  t.same(changed(index), ['Kubernetes//Pod/apps/outsider']);
  t.notOk(workload(index, 'Kubernetes//Pod/apps/outsider')?.services['apps/vm.example.internal'], 'relabelled out again');

  const narrowed = entry('vm-svc', { ...(selecting.spec as unknown as Record<string, unknown>), workloadSelector: { labels: { app: 'none' } } });
  const withNarrowed = new Map(objects).set(resourceKey(narrowed), narrowed);
  index.apply(withNarrowed, new Set([resourceKey(narrowed)]));
  t.same(changed(index), ['Kubernetes//Pod/apps/member'], 'the selector moved off the member: its workload changes, the service does not');
  t.notOk(workload(index, 'Kubernetes//Pod/apps/member')?.services['apps/vm.example.internal']);
});

t.test('istio.io/use-waypoint on the entry or its namespace binds its services like a Kubernetes Service', async (t) => {
  const gateway = (name: string, forWhat?: string): Resource => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: 'apps', ...(forWhat ? { labels: { 'istio.io/waypoint-for': forWhat } } : {}) },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  });
  const waypointService = (name: string, ip: string): Resource => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'apps', labels: { 'gateway.networking.k8s.io/gateway-name': name } }, spec: { clusterIP: ip, ports: [{ port: 15008 }] } });
  const bound = entry('bound', { hosts: ['bound.example'], addresses: ['240.0.0.30'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.50.0.40' }] }, { labels: { 'istio.io/use-waypoint': 'wp' } });
  const toWorkloadOnly = entry('wrong', { hosts: ['wrong.example'], ports: [{ number: 80, name: 'http' }], resolution: 'NONE' }, { labels: { 'istio.io/use-waypoint': 'wl' } });
  const index = newIndex();
  const objects = objectsOf([NS, gateway('wp'), waypointService('wp', '10.96.0.90'), gateway('wl', 'workload'), waypointService('wl', '10.96.0.91'), bound, toWorkloadOnly]);
  index.apply(objects, new Set(objects.keys()));
  const waypoint = service(index, 'apps/bound.example')?.waypoint;
  t.equal(waypoint?.address && ipFromBytes(waypoint.address.address), '10.96.0.90');
  t.equal(waypoint?.hboneMtlsPort, 15008);
  t.equal(service(index, 'apps/wrong.example')?.waypoint, undefined, 'a waypoint for workload traffic only does not take service traffic');
  t.equal(workload(index, 'Kubernetes/networking.istio.io/ServiceEntry/apps/bound/10.50.0.40')?.waypoint, undefined, 'the endpoint itself is not bound');
  t.ok(index.services().some((s) => s.hostname === 'bound.example' && s.waypoint?.key === 'apps/wp'), 'the waypoint config builder sees the entry as one of its services');

  // Namespace default, removed again by the entry's own opt-out.
  const unlabelled = entry('bound', bound.spec as unknown as Record<string, unknown>);
  const nsBound: Resource = { ...NS, metadata: { ...NS.metadata, labels: { ...NS.metadata.labels, 'istio.io/use-waypoint': 'wp' } } };
  const byNamespace = new Map(objects).set(resourceKey(unlabelled), unlabelled).set(resourceKey(nsBound), nsBound);
  index.apply(byNamespace, new Set([resourceKey(unlabelled), resourceKey(nsBound)]));
  t.ok(service(index, 'apps/bound.example')?.waypoint, 'bound through the namespace label');
  const optOut = entry('bound', bound.spec as unknown as Record<string, unknown>, { labels: { 'istio.io/use-waypoint': 'none' } });
  index.apply(new Map(byNamespace).set(resourceKey(optOut), optOut), new Set([resourceKey(optOut)]));
  t.equal(service(index, 'apps/bound.example')?.waypoint, undefined, '"none" opts out of the namespace waypoint');
  t.same(changed(index), ['apps/bound.example'], 'only the entry\'s service changed');
});

t.test('a namespace label change re-binds the entry\'s services without a change to the entry', async (t) => {
  const gw: Resource = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'wp', namespace: 'apps' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } };
  const wpService: Resource = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'wp', namespace: 'apps', labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } }, spec: { clusterIP: '10.96.0.90', ports: [{ port: 15008 }] } };
  const se = entry('plain', { hosts: ['plain.example'], ports: [{ number: 80, name: 'http' }], resolution: 'NONE' });
  const index = newIndex();
  const objects = objectsOf([NS, gw, wpService, se]);
  index.apply(objects, new Set(objects.keys()));
  t.equal(service(index, 'apps/plain.example')?.waypoint, undefined);
  const nsBound: Resource = { ...NS, metadata: { ...NS.metadata, labels: { ...NS.metadata.labels, 'istio.io/use-waypoint': 'wp' } } };
  index.apply(new Map(objects).set(resourceKey(nsBound), nsBound), new Set([resourceKey(nsBound)]));
  t.ok(service(index, 'apps/plain.example')?.waypoint);
  t.same(changed(index), ['apps/plain.example']);
});
