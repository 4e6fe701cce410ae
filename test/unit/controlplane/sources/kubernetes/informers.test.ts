// The Kubernetes source's informers against the fake API server: no snapshot before every kind has listed, bookmarks and
// resumption from resourceVersion, capped backoff after errors, absent CRDs, and objects converted on arrival.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import type { Resource } from '../../../../../src/api';
import { KubernetesSource, WATCHED_KINDS, type InformerRestart, type KubernetesSourceOptions } from '../../../../../src/controlplane/sources/kubernetes';
import { KubeConnection } from '../../../../../src/kube/connection';
import { silentLogger } from '../../../../../src/telemetry/logger';
import { FakeKubeApiServer, type FakeKubeApiServerOptions } from '../../../../fakes/kube-apiserver';
import { until } from '../../../../helpers/until';

interface Harness {
  readonly fake: FakeKubeApiServer;
  readonly source: KubernetesSource;
  readonly restarts: InformerRestart[];
  readonly logs: { msg: string; kind?: string }[];
  readonly changes: string[][];
}


async function harness(
  t: { teardown(fn: () => void | Promise<void>): void },
  options: { fake?: FakeKubeApiServerOptions; source?: Partial<KubernetesSourceOptions>; seed?: (fake: FakeKubeApiServer) => void } = {},
): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-informers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start(options.fake);
  t.teardown(() => fake.close());
  options.seed?.(fake);
  const restarts: InformerRestart[] = [];
  const logs: { msg: string; kind?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const source = new KubernetesSource({
    connection,
    logger,
    batchMs: 10,
    backoff: { initialMs: 20, maxMs: 80 },
    missingKindRetryMs: 50,
    onRestart: (restart) => restarts.push(restart),
    ...options.source,
  });
  t.teardown(() => source.stop());
  const changes: string[][] = [];
  source.onChange((_snapshot, changed) => changes.push([...changed].sort()));
  return { fake, source, restarts, logs, changes };
}

const podObject = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'apps', labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', keep: 'me' } },
  spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'example/app:1' }] },
  status: { podIP: '10.44.1.2', phase: 'Running' },
  ...extra,
});

const seedApps = (fake: FakeKubeApiServer) => {
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  fake.seed(podObject('web-1'));
  fake.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'apps' }, spec: { clusterIP: '10.96.0.20', selector: { app: 'web' }, ports: [{ port: 80 }] } });
};

t.test('the first snapshot waits until every informer has listed', async (t) => {
  const h = await harness(t, { seed: seedApps });
  const held = h.fake.hold({ resource: 'services', verb: 'list' });
  let started = false;
  const starting = h.source.start().then(() => (started = true));
  await until('the other informers to open their watches', () => h.fake.calls({ verb: 'watch' }).length === WATCHED_KINDS.length - 1);
  t.equal(held.waiting(), 1, 'the services list is parked');
  t.notOk(started, 'start() has not resolved');
  t.equal(h.source.snapshot().objects.size, 0, 'and there is no snapshot, not even the kinds already listed');
  held.release();
  await starting;
  t.same([...h.source.snapshot().objects.keys()].sort(), ['Namespace/apps', 'Namespace/default', 'Pod/apps/web-1', 'Service/apps/web']);
  t.same(h.changes, [], 'the initial state is the snapshot, not a change');
});

t.test('objects are converted on arrival: type meta set, bookkeeping stripped, plain data', async (t) => {
  const h = await harness(t, { seed: seedApps });
  await h.source.start();
  const listed = h.source.snapshot().objects.get('Pod/apps/web-1') as Resource;
  t.equal(listed.apiVersion, 'v1', 'list items (which carry no apiVersion) get it');
  t.equal(listed.kind, 'Pod');
  t.notOk('managedFields' in listed.metadata, 'managedFields stripped');
  t.same(listed.metadata.annotations, { keep: 'me' }, 'the last-applied-configuration annotation stripped');
  t.type(listed.metadata.creationTimestamp, 'string', 'timestamps are strings, not Dates');
  t.ok(Object.isFrozen(listed) && Object.isFrozen(listed.metadata));
  t.same(listed.status, { podIP: '10.44.1.2', phase: 'Running' });
  t.notOk(JSON.stringify(listed).includes('null'), 'no fields the typed client left undefined');

  h.fake.seed(podObject('web-2'));
  await until('the watched pod', () => h.source.snapshot().objects.has('Pod/apps/web-2'));
  const watched = h.source.snapshot().objects.get('Pod/apps/web-2') as Resource;
  t.notOk('managedFields' in watched.metadata, 'watch events are converted the same way');
  t.same(watched.metadata.annotations, { keep: 'me' });
  t.same(Object.keys(watched).sort(), Object.keys(listed).sort());
});

t.test('watches ask for bookmarks and resume from the latest resourceVersion without relisting', async (t) => {
  const h = await harness(t, { seed: seedApps });
  await h.source.start();
  await until('every watch to be open', () => h.fake.openWatches === WATCHED_KINDS.length);
  for (const call of h.fake.calls({ verb: 'watch' })) t.equal(call.query.allowWatchBookmarks, 'true', `${call.resource} watch allows bookmarks`);
  const podWatch = h.fake.calls({ verb: 'watch', resource: 'pods' })[0];
  t.ok(Number(podWatch.query.timeoutSeconds) >= 300, 'and sets a server-side timeout');

  // Changes to other kinds move the global resourceVersion on; a bookmark tells the pod informer about it.
  h.fake.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  h.fake.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' } });
  const bookmarkedAt = String(h.fake.store.currentRevision);
  t.ok(Number(bookmarkedAt) > Number(podWatch.query.resourceVersion));
  await until('the nodes', () => h.source.snapshot().objects.has('Node/node-b'));
  t.ok(h.fake.sendBookmarks() >= WATCHED_KINDS.length);
  await until('the bookmark', () => h.source.informerCounts().Pod.bookmarks === 1);

  const lists = h.fake.calls({ verb: 'list' }).length;
  h.fake.dropWatches({ abrupt: true });
  await until('the pod watch to reopen', () => h.fake.calls({ verb: 'watch', resource: 'pods' }).length === 2);
  t.equal(h.fake.calls({ verb: 'watch', resource: 'pods' })[1].query.resourceVersion, bookmarkedAt, 'resumed from the bookmark');
  h.fake.seed(podObject('web-3'));
  await until('the pod seen after the resume', () => h.source.snapshot().objects.has('Pod/apps/web-3'));
  t.equal(h.fake.calls({ verb: 'list' }).length, lists, 'nothing relisted');
  t.same(h.changes.at(-1), ['Pod/apps/web-3']);
});

t.test('events arriving together are delivered as one change, and unchanged relists deliver none', async (t) => {
  const h = await harness(t, { seed: seedApps, source: { batchMs: 200 } });
  await h.source.start();
  await until('every watch to be open', () => h.fake.openWatches === WATCHED_KINDS.length);
  h.fake.seed(podObject('web-2'));
  h.fake.seed(podObject('web-3'));
  h.fake.unseed('v1', 'Pod', 'apps', 'web-1');
  await until('the batch', () => h.changes.length === 1);
  t.same(h.changes, [['Pod/apps/web-1', 'Pod/apps/web-2', 'Pod/apps/web-3']]);

  // An expired watch relists everything; nothing changed, so nothing is delivered.
  h.fake.compact();
  h.fake.expireWatches();
  await until('the relists', () => h.source.informerCounts().Pod.lists === 2 && h.fake.openWatches === WATCHED_KINDS.length);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(h.changes.length, 1, 'no change after a relist that found nothing new');
});

t.test('a failing list is retried with doubling delays up to the cap, then syncs', async (t) => {
  const h = await harness(t, { seed: seedApps });
  h.fake.inject({ resource: 'services', verb: 'list' }, 500, 5);
  await h.source.start();
  t.same(
    h.restarts.map((restart) => [restart.kind, restart.attempt, restart.delayMs, restart.status]),
    [
      ['Service', 1, 20, 500],
      ['Service', 2, 40, 500],
      ['Service', 3, 80, 500],
      ['Service', 4, 80, 500],
      ['Service', 5, 80, 500],
    ],
  );
  t.ok(h.source.snapshot().objects.has('Service/apps/web'));
  t.equal(h.logs.filter((line) => line.msg === 'list of Service failed; restarting after backoff').length, 5, 'each failure logged once');
});

t.test('a watch that fails with an error the library gives up on is restarted from its resourceVersion', async (t) => {
  const h = await harness(t, { seed: seedApps });
  await h.source.start();
  await until('every watch to be open', () => h.fake.openWatches === WATCHED_KINDS.length);
  const resumeFrom = h.fake.calls({ verb: 'watch', resource: 'pods' })[0].query.resourceVersion;
  h.fake.inject({ resource: 'pods', verb: 'watch' }, 500, 2);
  h.fake.inject({ resource: 'pods', verb: 'watch' }, 403, 1);
  h.fake.dropWatches();
  await until('the pod watch to come back', () => h.source.informerCounts().Pod.watches === 5 && h.fake.openWatches === WATCHED_KINDS.length);
  t.same(h.restarts.map((restart) => [restart.kind, restart.attempt, restart.status]), [['Pod', 1, 500], ['Pod', 2, 500], ['Pod', 3, 403]]);
  t.same(h.restarts.map((restart) => restart.delayMs), [20, 40, 80]);
  const podWatches = h.fake.calls({ verb: 'watch', resource: 'pods' });
  t.same(podWatches.map((call) => [call.query.resourceVersion, call.status]), [
    [resumeFrom, 200],
    [resumeFrom, 500],
    [resumeFrom, 500],
    [resumeFrom, 403],
    [resumeFrom, 200],
  ]);
  t.equal(h.source.informerCounts().Pod.lists, 1, 'no relist: the resourceVersion was still good');
  h.fake.seed(podObject('web-9'));
  await until('an event after the restart', () => h.source.snapshot().objects.has('Pod/apps/web-9'));
});

t.test('a kind whose CRD is not installed does not block start, and is picked up once installed', async (t) => {
  const h = await harness(t, { seed: seedApps, fake: { withoutTypes: ['authorizationpolicies', 'httproutes'] } });
  await h.source.start();
  t.equal(h.source.informerStates().AuthorizationPolicy, 'missing');
  t.equal(h.source.informerStates().HTTPRoute, 'missing');
  t.equal(h.source.informerStates().Pod, 'watching');
  const warning = h.logs.filter((line) => line.kind === 'AuthorizationPolicy');
  t.equal(warning.length, 1, 'logged once, however often it is retried');
  t.match(warning[0].msg, /AuthorizationPolicy \(security\.istio\.io\/v1\) is not served by the API server: is its CRD installed\?/);
  await until('a few retries', () => h.fake.calls({ resource: 'authorizationpolicies', verb: 'list' }).length >= 3);
  t.equal(h.logs.filter((line) => line.kind === 'AuthorizationPolicy').length, 1);

  h.fake.installType('authorizationpolicies');
  h.fake.seed({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-nothing', namespace: 'apps' }, spec: {} });
  await until('the policy', () => h.source.snapshot().objects.has('AuthorizationPolicy/apps/allow-nothing'));
  t.equal(h.source.informerStates().AuthorizationPolicy, 'watching');
  t.same(h.changes.at(-1), ['AuthorizationPolicy/apps/allow-nothing']);

  h.fake.uninstallType('authorizationpolicies');
  await until('the policy to vanish with its CRD', () => !h.source.snapshot().objects.has('AuthorizationPolicy/apps/allow-nothing'));
  t.equal(h.source.informerStates().AuthorizationPolicy, 'missing');
});

t.test('stop() during start() rejects start and leaves no informer running', async (t) => {
  const h = await harness(t, { seed: seedApps, source: { logger: silentLogger() } });
  const held = h.fake.hold({ resource: 'pods', verb: 'list' });
  const starting = h.source.start();
  await until('the pod list to be parked', () => held.waiting() === 1);
  h.source.stop();
  await t.rejects(starting, { code: 'SOURCE_STOPPED' });
  held.release();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(h.fake.openWatches, 0, 'every watch closed');
  t.equal(h.fake.calls({ verb: 'watch', resource: 'pods' }).length, 0, 'the parked list did not lead to a watch');
});

t.test('a kind narrowed by a field selector lists and watches only what matches (a node agent\'s own pods)', async (t) => {
  const podsOnNodeB = { ...WATCHED_KINDS.find((kind) => kind.kind === 'Pod'), fieldSelector: 'spec.nodeName=node-b' } as (typeof WATCHED_KINDS)[number];
  const h = await harness(t, { seed: seedApps, source: { kinds: [podsOnNodeB] } });
  await h.source.start();
  t.same([...h.source.snapshot().objects.keys()], [], 'web-1 runs on node-a');
  t.equal(h.fake.calls({ verb: 'list', resource: 'pods' })[0].query.fieldSelector, 'spec.nodeName=node-b');
  await until('the watch', () => h.fake.openWatches === 1);
  t.equal(h.fake.calls({ verb: 'watch', resource: 'pods' })[0].query.fieldSelector, 'spec.nodeName=node-b');
  h.fake.seed(podObject('web-2', { spec: { nodeName: 'node-b', containers: [{ name: 'main', image: 'example/app:1' }] } }));
  h.fake.seed(podObject('web-3'));
  await until('the pod on node-b', () => h.source.snapshot().objects.has('Pod/apps/web-2'));
  // Moving off the node is a DELETED event for this watch.
  h.fake.seed(podObject('web-2'));
  await until('the pod to leave', () => !h.source.snapshot().objects.has('Pod/apps/web-2'));
  t.notOk(h.source.snapshot().objects.has('Pod/apps/web-3'));
});
