// workloadModel: what of a Pod becomes its Workload — here, which pods the mesh treats as captured (ambient).
import t from 'tap';
import type { PodSpec, Resource } from '../../../../src/api';
import { workloadModel, type WorkloadContext } from '../../../../src/controlplane/model/workloads';

const AMBIENT_NAMESPACE: WorkloadContext = { namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' }, services: [], selectorPolicies: [], trustDomain: 'cluster.local' };

function pod(spec: Partial<PodSpec>, options: { labels?: Record<string, string>; annotations?: Record<string, string>; ip?: string } = {}): Resource<PodSpec> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'apps', labels: options.labels ?? { app: 'web' }, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'example/web:1' }], ...spec } as PodSpec,
    status: options.ip === '' ? { phase: 'Pending' } : { phase: 'Running', podIP: options.ip ?? '10.44.1.2', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

t.test('capture follows Istio: host network and sidecars never, pod label beats namespace label', async (t) => {
  t.equal(workloadModel(pod({}), AMBIENT_NAMESPACE)?.ambient, true, 'namespace label enrols');
  t.equal(workloadModel(pod({ hostNetwork: true }, { ip: '10.99.0.11' }), AMBIENT_NAMESPACE)?.ambient, false, 'a host-network pod shares the node netns and is never captured');
  t.equal(workloadModel(pod({ hostNetwork: true }, { labels: { 'istio.io/dataplane-mode': 'ambient' } }), { ...AMBIENT_NAMESPACE, namespaceLabels: {} })?.ambient, false, 'not even with the pod label');
  t.equal(workloadModel(pod({}, { annotations: { 'sidecar.istio.io/status': '{}' } }), AMBIENT_NAMESPACE)?.ambient, false, 'sidecar-injected');
  t.equal(workloadModel(pod({}, { labels: { 'istio.io/dataplane-mode': 'none' } }), AMBIENT_NAMESPACE)?.ambient, false, 'pod opt-out');
  t.equal(workloadModel(pod({}, { labels: { 'istio.io/dataplane-mode': 'ambient' } }), { ...AMBIENT_NAMESPACE, namespaceLabels: {} })?.ambient, true, 'pod opt-in');
  t.equal(workloadModel(pod({}, { ip: '' }), AMBIENT_NAMESPACE), undefined, 'no address yet, no workload');
});

t.test('identity and placement come from the spec', async (t) => {
  const model = workloadModel(pod({ serviceAccountName: 'web-sa' }), AMBIENT_NAMESPACE);
  t.match(model, { name: 'web-1', namespace: 'apps', serviceAccount: 'web-sa', node: 'node-1', ips: ['10.44.1.2'], healthy: true, canonicalName: 'web' });
  t.equal(workloadModel(pod({}), AMBIENT_NAMESPACE)?.serviceAccount, 'default');
});
