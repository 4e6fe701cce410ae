// Locality and traffic distribution as istiod derives them: a workload's locality from its node's topology labels,
// a service's load balancing from trafficDistribution, Istio's annotation or internalTrafficPolicy — and both on the wire.
import t from 'tap';
import { resourceKey, type Resource, type ServiceSpec } from '../../../../src/api';
import { MeshIndex } from '../../../../src/controlplane/model/mesh-index';
import { loadBalancingOf, localityOf } from '../../../../src/controlplane/model/workloads';
import { policyTranslator } from '../../../../src/controlplane/translate/policies';
import { silentLogger } from '../../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, decodeAddress } from '../../../../src/xds';

function service(spec: Partial<ServiceSpec> & Record<string, unknown>, annotations?: Record<string, string>): Resource<ServiceSpec> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'apps', ...(annotations ? { annotations } : {}) }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec } as ServiceSpec };
}

t.test('load balancing from the Service', async (t) => {
  const close = { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'], mode: 'FAILOVER' };
  t.equal(loadBalancingOf(service({})), undefined, 'nothing asked: plain random choice');
  t.same(loadBalancingOf(service({ trafficDistribution: 'PreferClose' })), close);
  t.same(loadBalancingOf(service({ trafficDistribution: 'PreferSameZone' })), close, 'the newer name of PreferClose');
  t.same(loadBalancingOf(service({ trafficDistribution: 'PreferSameNode' })), { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE', 'NODE'], mode: 'FAILOVER' });
  t.same(loadBalancingOf(service({}, { 'networking.istio.io/traffic-distribution': 'PreferClose' })), close, 'Istio\'s annotation');
  t.same(loadBalancingOf(service({ trafficDistribution: 'PreferClose' }, { 'networking.istio.io/traffic-distribution': 'PreferSameNode' }))?.routingPreference.at(-1), 'NODE', 'the annotation wins over the field');
  t.same(loadBalancingOf(service({ internalTrafficPolicy: 'Local' })), { routingPreference: ['NODE'], mode: 'STRICT' });
  t.equal(loadBalancingOf(service({ internalTrafficPolicy: 'Cluster' })), undefined);
});

t.test('locality from the node\'s topology labels', async (t) => {
  t.equal(localityOf(undefined), undefined);
  t.equal(localityOf({ 'kubernetes.io/hostname': 'n1' }), undefined);
  t.same(localityOf({ 'topology.kubernetes.io/region': 'eu-west', 'topology.kubernetes.io/zone': 'eu-west-1a', 'topology.istio.io/subzone': 'rack7' }), { region: 'eu-west', zone: 'eu-west-1a', subzone: 'rack7' });
  t.same(localityOf({ 'topology.kubernetes.io/zone': 'z1' }), { region: '', zone: 'z1', subzone: '' });
});

t.test('on the wire, and a node relabel re-pushes exactly its pods', async (t) => {
  const objects = new Map<string, Resource>();
  const add = (object: Resource) => objects.set(resourceKey(object), object);
  add({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  add({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' } } });
  add({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-2', labels: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z2' } } });
  add(service({ trafficDistribution: 'PreferClose', clusterIP: '10.96.0.5' }));
  for (const [name, node, ip, hostNetwork] of [['web-1', 'node-1', '10.44.1.2', false], ['web-2', 'node-2', '10.44.2.2', false], ['agent', 'node-1', '10.99.0.11', true]] as const) {
    add({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'apps', labels: { app: name === 'agent' ? 'agent' : 'web' } },
      spec: { nodeName: node, containers: [{ name: 'main', image: 'x' }], ...(hostNetwork ? { hostNetwork: true } : {}) },
      status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  const index = new MeshIndex({ trustDomain: 'cluster.local', policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }) });
  index.apply(objects, new Set(objects.keys()));
  const decoded = (name: string) => decodeAddress((index.resources(ADDRESS_TYPE_URL).get(name) as { resource: Uint8Array }).resource);
  t.same(decoded('Kubernetes//Pod/apps/web-1').workload?.locality, { region: 'r1', zone: 'z1', subzone: '' });
  t.equal(decoded('Kubernetes//Pod/apps/web-1').workload?.networkMode, 'STANDARD');
  t.equal(decoded('Kubernetes//Pod/apps/agent').workload?.networkMode, 'HOST_NETWORK');
  t.equal(decoded('Kubernetes//Pod/apps/agent').workload?.tunnelProtocol, 'NONE');
  t.match(decoded('apps/web.apps.svc.cluster.local').service?.loadBalancing, { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'], mode: 'FAILOVER' });

  const relabelled = new Map(objects);
  relabelled.set('Node/node-2', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-2', labels: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z3' } } });
  index.apply(relabelled, new Set(['Node/node-2']));
  t.same([...(index.lastChangedNames().get(ADDRESS_TYPE_URL) ?? [])], ['Kubernetes//Pod/apps/web-2'], 'only the pod on that node');
  t.same(decoded('Kubernetes//Pod/apps/web-2').workload?.locality, { region: 'r1', zone: 'z3', subzone: '' });
});
