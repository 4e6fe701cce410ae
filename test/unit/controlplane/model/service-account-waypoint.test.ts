// Istio's legacy per-service-account waypoint fronts a Service only while every pod the Service selects runs as that
// account: pod changes alone (a new pod under another account, its deletion) must move the Service's binding.
import t from 'tap';
import { resourceKey, type Resource } from '../../../../src/api';
import { MeshIndex } from '../../../../src/controlplane/model/mesh-index';
import { policyTranslator } from '../../../../src/controlplane/translate/policies';
import { silentLogger } from '../../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, decodeAddress } from '../../../../src/xds';

const SERVICE = 'apps/reviews.apps.svc.cluster.local';

function pod(name: string, serviceAccount: string, ip: string): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels: { app: 'reviews' } },
    spec: { nodeName: 'node-1', serviceAccountName: serviceAccount, containers: [{ name: 'main', image: 'example/reviews:1' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const BASE: Resource[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { 'istio.io/dataplane-mode': 'ambient' } } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'apps' }, spec: { clusterIP: '10.96.0.40', selector: { app: 'reviews' }, ports: [{ port: 9080 }] } },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'reviews-wp', namespace: 'apps', labels: { 'istio.io/for-service-account': 'reviews' } },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews-wp', namespace: 'apps', labels: { 'gateway.networking.k8s.io/gateway-name': 'reviews-wp' } }, spec: { clusterIP: '10.96.0.99', ports: [{ port: 15008 }] } },
  pod('reviews-1', 'reviews', '10.44.1.5'),
];

t.test('pod-only changes re-bind a Service to (or from) its service-account waypoint', async (t) => {
  const index = new MeshIndex({ trustDomain: 'cluster.local', policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }) });
  const objects = new Map(BASE.map((object) => [resourceKey(object), object]));
  index.apply(objects, new Set(objects.keys()));
  const waypointOf = () => {
    const entry = index.resources(ADDRESS_TYPE_URL).get(SERVICE);
    return entry ? decodeAddress(entry.resource).service?.waypoint : 'no service';
  };
  t.match(waypointOf(), { hboneMtlsPort: 15008 }, 'every selected pod runs as reviews: the waypoint fronts the service');

  const stranger = pod('reviews-2', 'other', '10.44.1.6');
  const withStranger = new Map(objects).set(resourceKey(stranger), stranger);
  const types = index.apply(withStranger, new Set([resourceKey(stranger)]));
  t.ok(types.has(ADDRESS_TYPE_URL));
  t.equal(waypointOf(), undefined, 'a pod under another account: the service is no longer fronted');

  index.apply(objects, new Set([resourceKey(stranger)]));
  t.match(waypointOf(), { hboneMtlsPort: 15008 }, 'that pod gone: fronted again');
});
