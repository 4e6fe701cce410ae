// The CNI agent's Kubernetes label source against the fake API server: only this node's pods, podInfo from the synced
// snapshot (or one GET for a pod the watch has not delivered yet), and change events only for what can move capture.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { KubernetesPodLabelSource } from '../../../../src/cni/kube/pod-label-source';
import { KubeConnection } from '../../../../src/kube/connection';
import { silentLogger } from '../../../../src/telemetry/logger';
import { FakeKubeApiServer } from '../../../fakes/kube-apiserver';
import { grants, resourceOf, serviceAccountGrants } from '../../../helpers/rbac-grants';
import { until } from '../../../helpers/until';

const MODE = 'istio.io/dataplane-mode';

interface Harness {
  readonly fake: FakeKubeApiServer;
  readonly labels: KubernetesPodLabelSource;
  /** How many times onChange fired. */
  readonly fired: { count: number };
}


function podObject(name: string, node: string, options: { labels?: Record<string, string>; ip?: string; phase?: string; hostNetwork?: boolean; namespace?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'apps', labels: options.labels ?? { app: name }, annotations: { 'example.com/owner': 'team-a' } },
    spec: { nodeName: node, serviceAccountName: `${name}-sa`, containers: [{ name: 'main', image: 'example/app:1' }], ...(options.hostNetwork ? { hostNetwork: true } : {}) },
    status: { phase: options.phase ?? 'Running', podIP: options.ip ?? '10.244.1.5', podIPs: [{ ip: options.ip ?? '10.244.1.5' }] },
  };
}

function seedCluster(fake: FakeKubeApiServer): void {
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { [MODE]: 'ambient' } } });
  fake.seed(podObject('web', 'node-a', { ip: '10.244.1.5' }));
  fake.seed(podObject('hostpod', 'node-a', { ip: '192.0.2.10', hostNetwork: true }));
  fake.seed(podObject('elsewhere', 'node-b', { ip: '10.244.2.5' }));
}

async function harness(t: Test, options: { hold?: boolean } = {}): Promise<Harness & { starting: Promise<void>; release?: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cni-labels-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  seedCluster(fake);
  const held = options.hold ? fake.hold({ resource: 'pods', verb: 'list' }) : undefined;
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const labels = new KubernetesPodLabelSource({ connection, nodeName: 'node-a', logger: silentLogger(), batchMs: 10, backoff: { initialMs: 20, maxMs: 80 } });
  t.teardown(() => labels.stop());
  const fired = { count: 0 };
  labels.onChange(() => (fired.count += 1));
  const starting = labels.start();
  return { fake, labels, fired, starting, ...(held ? { release: held.release } : {}) };
}

t.test('start() resolves only once namespaces and the node\'s pods have been listed', async (t) => {
  const h = await harness(t, { hold: true });
  let started = false;
  void h.starting.then(() => (started = true));
  await until('the pods list to be parked', () => h.fake.calls({ verb: 'list', resource: 'pods' }).length === 1);
  await until('the namespace watch', () => h.fake.calls({ verb: 'watch', resource: 'namespaces' }).length === 1);
  t.notOk(started, 'not while pods are unlisted');
  t.same(h.labels.nodePods(), []);
  h.release?.();
  await h.starting;
  t.same(h.labels.nodePods().map((pod) => pod.name).sort(), ['hostpod', 'web']);
});

t.test('only this node\'s pods are watched (field selector on list and watch)', async (t) => {
  const h = await harness(t);
  await h.starting;
  t.same(h.fake.calls({ resource: 'pods', verb: 'list' }).map((call) => call.query.fieldSelector), ['spec.nodeName=node-a']);
  await until('the pod watch', () => h.fake.calls({ resource: 'pods', verb: 'watch' }).length === 1);
  t.equal(h.fake.calls({ resource: 'pods', verb: 'watch' })[0].query.fieldSelector, 'spec.nodeName=node-a');
  t.same(h.fake.calls({ verb: 'list' }).map((call) => call.resource).sort(), ['namespaces', 'pods'], 'and nothing but namespaces and pods');
  t.same(h.labels.nodePods().map((pod) => pod.name).sort(), ['hostpod', 'web']);
  t.equal(await h.labels.podInfo('apps', 'elsewhere'), undefined, 'another node\'s pod is unknown, even when read from the API');

  h.fake.seed(podObject('other', 'node-b', { ip: '10.244.2.6' }));
  h.fake.seed(podObject('mine', 'node-a', { ip: '10.244.1.6' }));
  await until('the new pod of node-a', () => h.labels.nodePods().some((pod) => pod.name === 'mine'));
  t.notOk(h.labels.nodePods().some((pod) => pod.name === 'other'), 'the watch delivers no other node\'s pods');
});

t.test('podInfo: uid, labels, annotations, service account, namespace labels, hostNetwork', async (t) => {
  const h = await harness(t);
  await h.starting;
  const uid = h.fake.get('v1', 'Pod', 'apps', 'web')?.metadata.uid;
  t.same(await h.labels.podInfo('apps', 'web'), {
    uid,
    labels: { app: 'web' },
    annotations: { 'example.com/owner': 'team-a' },
    serviceAccount: 'web-sa',
    namespaceLabels: { [MODE]: 'ambient', 'kubernetes.io/metadata.name': 'apps' },
    hostNetwork: false,
  });
  t.equal((await h.labels.podInfo('apps', 'hostpod'))?.hostNetwork, true, 'spec.hostNetwork is surfaced');
  t.equal(await h.labels.podInfo('apps', 'nope'), undefined);
  t.same(h.labels.nodePods().find((pod) => pod.name === 'web'), { name: 'web', namespace: 'apps', uid, hostNetwork: false, phase: 'Running', ips: ['10.244.1.5'] });
});

t.test('onChange fires for label and annotation changes and pods coming and going, never for status churn', async (t) => {
  const h = await harness(t);
  await h.starting;
  await until('every watch', () => h.fake.openWatches === 2);
  t.equal(h.fired.count, 0, 'the initial state is not a change');

  // Status only: wait until the snapshot holds it; the listener would have run in the same flush.
  h.fake.seed(podObject('web', 'node-a', { ip: '10.244.1.7' }));
  await until('the new status', () => h.labels.nodePods().find((pod) => pod.name === 'web')?.ips[0] === '10.244.1.7');
  t.equal(h.fired.count, 0, 'a status-only update is not a change');

  h.fake.seed(podObject('web', 'node-a', { ip: '10.244.1.7', labels: { app: 'web', [MODE]: 'none' } }));
  await until('the pod label change', () => h.fired.count === 1);
  t.same((await h.labels.podInfo('apps', 'web'))?.labels, { app: 'web', [MODE]: 'none' });

  h.fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: {} } });
  await until('the namespace label change', () => h.fired.count === 2);
  t.same((await h.labels.podInfo('apps', 'web'))?.namespaceLabels, { 'kubernetes.io/metadata.name': 'apps' });

  const annotated = podObject('web', 'node-a', { ip: '10.244.1.7', labels: { app: 'web', [MODE]: 'none' } });
  (annotated.metadata as { annotations: Record<string, string> }).annotations['ambient.istio.io/redirection'] = 'enabled';
  h.fake.seed(annotated);
  await until('the annotation change', () => h.fired.count === 3);

  h.fake.seed(podObject('fresh', 'node-a', { ip: '10.244.1.8' }));
  await until('a new pod', () => h.fired.count === 4);
  h.fake.unseed('v1', 'Pod', 'apps', 'fresh');
  await until('a deleted pod', () => h.fired.count === 5);
  t.notOk(h.labels.nodePods().some((pod) => pod.name === 'fresh'));

  // Another node's pods never reach this agent at all.
  h.fake.seed(podObject('elsewhere', 'node-b', { ip: '10.244.2.5', labels: { changed: 'yes' } }));
  h.fake.seed({ ...annotated, status: { phase: 'Running', podIP: '10.244.1.9', podIPs: [{ ip: '10.244.1.9' }] } });
  await until('the last status', () => h.labels.nodePods().find((pod) => pod.name === 'web')?.ips[0] === '10.244.1.9');
  t.equal(h.fired.count, 5, 'only web\'s status moved, and node-b is not watched');
});

t.test('a pod the watch has not delivered yet is read from the API server once', async (t) => {
  const h = await harness(t);
  await h.starting;
  h.fake.pauseWatches();
  h.fake.seed(podObject('racing', 'node-a', { ip: '10.244.1.30', labels: { app: 'racing' } }));
  const info = await h.labels.podInfo('apps', 'racing');
  t.equal(info?.uid, h.fake.get('v1', 'Pod', 'apps', 'racing')?.metadata.uid);
  t.same(info?.labels, { app: 'racing' });
  t.same(info?.namespaceLabels, { [MODE]: 'ambient', 'kubernetes.io/metadata.name': 'apps' }, 'namespace labels come from the snapshot');
  t.same(h.fake.calls({ verb: 'get', resource: 'pods' }).map((call) => call.name), ['racing']);
  h.fake.resumeWatches();
  await until('the watch to deliver it', () => h.labels.nodePods().some((pod) => pod.name === 'racing'));
  await h.labels.podInfo('apps', 'racing');
  t.equal(h.fake.calls({ verb: 'get', resource: 'pods' }).length, 1, 'once delivered, the snapshot answers');
});

t.test('as the ambit-cni service account: every call is granted by daemonset/40-cni.yaml, and every grant is used', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cni-rbac-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  seedCluster(fake);
  const token = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ambit-cni', audiences: ['https://kubernetes.default.svc'] });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir, token) });
  const labels = new KubernetesPodLabelSource({ connection, nodeName: 'node-a', logger: silentLogger(), batchMs: 10 });
  t.teardown(() => labels.stop());
  await labels.start();
  // A pod and a namespace the watches have not delivered yet: the agent reads them once.
  fake.pauseWatches();
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
  fake.seed(podObject('fresh', 'node-a', { namespace: 'late', ip: '10.244.1.9' }));
  t.ok(await labels.podInfo('late', 'fresh'), 'read from the API');
  fake.resumeWatches();

  const user = 'system:serviceaccount:istio-system:ambit-cni';
  const calls = fake.requests.filter((call) => call.user === user && !call.nonResource);
  const grantList = serviceAccountGrants('40-cni.yaml', 'istio-system', 'ambit-cni');
  const denied = new Set<string>();
  const used = new Set<string>();
  for (const call of calls) {
    for (const verb of [call.verb, ...call.alsoAuthorizes]) {
      if (grantList.some((grant) => grants(grant, call, verb))) used.add(`${call.group ?? ''}|${resourceOf(call)}|${verb}`);
      else denied.add(`${verb} ${call.group || 'core'}/${resourceOf(call)}`);
    }
  }
  t.same([...denied], [], 'no call outside the ClusterRole');
  const unused = grantList.flatMap((grant) => (grant.rule.resources ?? []).flatMap((resource) => grant.rule.verbs.filter((verb) => !used.has(`${(grant.rule.apiGroups ?? [''])[0]}|${resource}|${verb}`)).map((verb) => `${verb} ${resource}`)));
  t.same(unused, [], 'nothing granted that the agent does not use');
  t.ok(calls.filter((call) => call.resource === 'pods' && (call.verb === 'list' || call.verb === 'watch')).every((call) => call.query.fieldSelector === 'spec.nodeName=node-a'), 'pods are only ever listed and watched for this node');
});
