// Waypoints on Kubernetes against the fake API server: `ambit waypoint apply` writes the Gateway, the control plane's
// reconciler (when leading) deploys it from the waypoint/ templates with owner references and reports Programmed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Resource } from '../../../src/api';
import { KubernetesSource } from '../../../src/controlplane/sources/kubernetes';
import { KubeConnection } from '../../../src/kube/connection';
import { waypointGateway } from '../../../src/cli/commands/waypoint';
import { applyWaypoint, deleteWaypoints, listWaypoints, WaypointReconciler, type GatewayStatus, type Leadership } from '../../../src/kube/waypoint';
import { silentLogger } from '../../../src/telemetry/logger';
import { FakeKubeApiServer, type KubeObject } from '../../fakes/kube-apiserver';
import { until } from '../../helpers/until';

const IMAGE = 'ghcr.io/ambit-mesh/ambit:9.9.9';


class SwitchableLeadership implements Leadership {
  private leading: boolean;
  private readonly listeners = new Set<(leading: boolean) => void>();
  constructor(leading: boolean) {
    this.leading = leading;
  }
  isLeader(): boolean {
    return this.leading;
  }
  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(leading: boolean): void {
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}

async function setup(t: { teardown(fn: () => void | Promise<void>): void }, options: { leading?: boolean; resyncMs?: number } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-waypoints-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  const user = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const controlPlaneToken = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ambit-controlplane', audiences: ['https://kubernetes.default.svc'] });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir, controlPlaneToken) });
  const source = new KubernetesSource({ connection, logger: silentLogger(), batchMs: 10 });
  t.teardown(() => source.stop());
  await source.start();
  const leadership = new SwitchableLeadership(options.leading ?? true);
  const reconciler = new WaypointReconciler({
    connection,
    source,
    image: IMAGE,
    controlPlaneAddress: 'ambit-controlplane.istio-system.svc:15012',
    trustDomain: 'cluster.local',
    leadership,
    resyncMs: options.resyncMs ?? 60_000,
    retryMs: 50,
    logger: silentLogger(),
  });
  reconciler.start();
  t.teardown(() => reconciler.stop());
  const gateway = (name = 'waypoint') => fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'bookinfo', name);
  const status = (name = 'waypoint') => gateway(name)?.status as GatewayStatus | undefined;
  const condition = (type: string, name = 'waypoint') => status(name)?.conditions?.find((entry) => entry.type === type);
  const owned = (kind: string, apiVersion: string, name = 'waypoint') => fake.get(apiVersion, kind, 'bookinfo', name);
  const settle = async (check: () => boolean, what: string) => {
    await until(what, check);
    await reconciler.idle();
  };
  return { fake, user, source, leadership, reconciler, gateway, status, condition, owned, settle };
}

t.test('a waypoint Gateway becomes a ServiceAccount, Service and Deployment owned by it, and reports Programmed', async (t) => {
  const s = await setup(t);
  await applyWaypoint(s.user, waypointGateway({ name: 'waypoint', namespace: 'bookinfo', for: 'service' }));
  await s.settle(() => s.condition('Programmed')?.status === 'True', 'Programmed');
  const gateway = s.gateway() as KubeObject;
  const deployment = s.owned('Deployment', 'apps/v1') as KubeObject;
  const service = s.owned('Service', 'v1') as KubeObject;
  const account = s.owned('ServiceAccount', 'v1') as KubeObject;
  for (const [kind, object] of [['Deployment', deployment], ['Service', service], ['ServiceAccount', account]] as const) {
    t.same(object.metadata.ownerReferences, [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'waypoint', uid: gateway.metadata.uid, controller: true, blockOwnerDeletion: true }], `${kind} is owned by the Gateway`);
    t.match(object.metadata.managedFields, [{ manager: 'ambit-waypoint-controller', operation: 'Apply' }], `${kind} is server-side applied`);
  }
  const pod = (deployment.spec as { template: { spec: { containers: { image: string; args: string[] }[]; serviceAccountName: string } } }).template.spec;
  t.equal(pod.containers[0].image, IMAGE, 'the one ambit image');
  t.equal(pod.serviceAccountName, 'waypoint');
  t.ok(pod.containers[0].args.includes('--control-plane=ambit-controlplane.istio-system.svc:15012'));
  const clusterIP = (service.spec as { clusterIP: string }).clusterIP;
  t.match(clusterIP, /^10\.96\./, 'the API server allocated the Service a ClusterIP');
  t.same(s.status()?.addresses, [{ type: 'IPAddress', value: clusterIP }]);
  t.match(s.condition('Accepted'), { status: 'True', reason: 'Accepted', observedGeneration: 1 });
  t.match(s.condition('Programmed'), { status: 'True', reason: 'Programmed', observedGeneration: 1 });
  t.same(await listWaypoints(s.user, 'bookinfo'), [{ namespace: 'bookinfo', name: 'waypoint', waypointFor: 'service', programmed: 'True', reason: 'Programmed', address: clusterIP }]);

  const statusWrites = () => s.fake.calls({ resource: 'gateways' }).filter((call) => call.subresource === 'status').length;
  t.equal(statusWrites(), 1, 'one status write');
  await new Promise((resolve) => setTimeout(resolve, 100));
  await s.reconciler.idle();
  t.equal(statusWrites(), 1, 'its own status write does not make it reconcile again');
});

t.test('deleting the Gateway removes what it owned, by garbage collection', async (t) => {
  const s = await setup(t);
  await applyWaypoint(s.user, waypointGateway({ name: 'waypoint', namespace: 'bookinfo' }));
  await s.settle(() => s.condition('Programmed')?.status === 'True', 'Programmed');
  t.same(await deleteWaypoints(s.user, 'bookinfo', ['waypoint', 'no-such-waypoint']), ['waypoint']);
  t.notOk(s.owned('Deployment', 'apps/v1'));
  t.notOk(s.owned('Service', 'v1'));
  t.notOk(s.owned('ServiceAccount', 'v1'));
  t.equal(s.fake.calls({ verb: 'delete', user: 'system:serviceaccount:istio-system:ambit-controlplane' }).length, 0, 'the control plane deleted nothing itself');
  t.same(await listWaypoints(s.user), []);
});

t.test('an invalid waypoint Gateway is reported, not deployed', async (t) => {
  const s = await setup(t);
  s.fake.seed({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'bookinfo', generation: 1 },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15009, protocol: 'HBONE' }] },
  });
  await s.settle(() => s.condition('Programmed') !== undefined, 'a status');
  t.match(s.condition('Accepted'), { status: 'False', reason: 'Invalid' });
  t.match(s.condition('Programmed'), { status: 'False', reason: 'Invalid', message: /spec\.listeners\[0\]\.port: must be 15008/ });
  t.notOk(s.owned('Deployment', 'apps/v1'));
});

t.test('only the leader writes; a new leader catches up on everything', async (t) => {
  const s = await setup(t, { leading: false });
  await applyWaypoint(s.user, waypointGateway({ name: 'reviews-waypoint', namespace: 'bookinfo', for: 'workload' }));
  await until('the Gateway in the snapshot', () => s.source.snapshot().objects.has('Gateway/bookinfo/reviews-waypoint'));
  await s.reconciler.idle();
  t.notOk(s.owned('Deployment', 'apps/v1', 'reviews-waypoint'), 'a follower deploys nothing');
  t.equal(s.fake.calls({ user: 'system:serviceaccount:istio-system:ambit-controlplane', verb: 'patch' }).length, 0, 'and writes nothing');
  s.leadership.set(true);
  await s.settle(() => s.condition('Programmed', 'reviews-waypoint')?.status === 'True', 'Programmed after gaining leadership');
  t.equal((s.owned('Deployment', 'apps/v1', 'reviews-waypoint') as KubeObject).metadata.labels?.['istio.io/waypoint-for'], 'workload');
});

t.test('a failed apply reports Pending and is retried until Programmed', async (t) => {
  const s = await setup(t);
  s.fake.inject({ resource: 'deployments', verb: 'patch' }, 500, 2);
  await applyWaypoint(s.user, waypointGateway({ name: 'waypoint', namespace: 'bookinfo' }));
  await until('Pending', () => s.condition('Programmed')?.reason === 'Pending');
  t.match(s.condition('Programmed'), { status: 'False', message: 'applying the waypoint failed: apply Deployment bookinfo/waypoint: 500 injected failure (500) for patch /apis/apps/v1/namespaces/bookinfo/deployments/waypoint' });
  await s.settle(() => s.condition('Programmed')?.status === 'True', 'Programmed after retries');
  t.ok(s.owned('Deployment', 'apps/v1'));
});

t.test('a resync puts back an owned object someone deleted', async (t) => {
  const s = await setup(t, { resyncMs: 100 });
  await applyWaypoint(s.user, waypointGateway({ name: 'waypoint', namespace: 'bookinfo' }));
  await s.settle(() => s.condition('Programmed')?.status === 'True', 'Programmed');
  s.fake.unseed('apps/v1', 'Deployment', 'bookinfo', 'waypoint');
  await s.settle(() => s.owned('Deployment', 'apps/v1') !== undefined, 'the Deployment to come back');
  const statusWrites = s.fake.calls({ user: 'system:serviceaccount:istio-system:ambit-controlplane' }).filter((call) => call.subresource === 'status');
  t.equal(statusWrites.length, 1, 'the unchanged status is not written again');
});

t.test('--enroll-namespace labels the namespace to use the waypoint', async (t) => {
  const s = await setup(t);
  const applied = await applyWaypoint(s.user, waypointGateway({ name: 'waypoint', namespace: 'bookinfo' }), { enrollNamespace: true });
  t.equal(applied.namespaceLabels?.['istio.io/dataplane-mode'], 'ambient', 'the caller learns whether the namespace is ambient');
  const namespace = s.fake.get('v1', 'Namespace', undefined, 'bookinfo') as unknown as Resource;
  t.same(namespace.metadata.labels?.['istio.io/use-waypoint'], 'waypoint');
  t.equal(namespace.metadata.labels?.['istio.io/dataplane-mode'], 'ambient', 'other labels kept');
  await t.rejects(applyWaypoint(s.user, { ...waypointGateway({ name: 'ingress', namespace: 'bookinfo' }), spec: { gatewayClassName: 'istio', listeners: [] } }), TypeError);
});
