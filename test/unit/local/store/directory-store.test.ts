// The directory store: seeding, apply outcomes and metadata, atomic refusal, cascading namespace deletes, no-op writes, cross-instance watch.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Resource } from '../../../../src/api';
import { DirectoryStore, isNamespaced, StoreConflict } from '../../../../src/local/store/directory-store';
import { deployment, manifests, NAMESPACE_APPS, service, tempDir } from '../fixtures/helpers';

function documentStat(store: DirectoryStore): fs.Stats {
  return fs.statSync(path.join(store.dir, 'objects.json'));
}

t.test('open creates the directory and seeds Namespace/default once', async (t) => {
  const dir = path.join(tempDir(t), 'nested', 'store');
  const store = DirectoryStore.open(dir);
  const snapshot = store.read();
  t.equal(snapshot.revision, 1);
  t.same([...snapshot.objects.keys()], ['Namespace/default']);
  const ns = store.get('Namespace', undefined, 'default');
  t.equal(ns?.apiVersion, 'v1');
  t.match(ns?.metadata.uid, /^[0-9a-f-]{36}$/);
  t.equal(ns?.metadata.resourceVersion, '1');
  t.ok(ns?.metadata.creationTimestamp && !Number.isNaN(Date.parse(ns.metadata.creationTimestamp)));
  t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the store directory is private');

  const again = DirectoryStore.open(dir);
  t.equal(again.read().revision, 1, 'opening an existing store writes nothing');
  t.equal(again.get('Namespace', undefined, 'default')?.metadata.uid, ns?.metadata.uid);
});

t.test('read returns the same frozen snapshot until the file changes', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  const first = store.read();
  t.equal(store.read(), first, 'cached while nothing changed on disk');
  const ns = first.objects.get('Namespace/default') as Resource;
  t.ok(Object.isFrozen(ns) && Object.isFrozen(ns.metadata), 'objects handed out are deeply frozen');
  t.throws(() => {
    (ns.metadata as { name: string }).name = 'changed';
  }, TypeError);
  store.apply(manifests(NAMESPACE_APPS));
  t.not(store.read(), first);
  t.equal(store.read().revision, 2);
});

t.test('apply reports created, configured and unchanged', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  const rows: { name: string; yaml: string; outcomes: string[] }[] = [
    { name: 'first apply creates', yaml: NAMESPACE_APPS + '---\n' + deployment('web', 'apps'), outcomes: ['Namespace apps created', 'Deployment apps/web created'] },
    { name: 'the same objects again are unchanged', yaml: NAMESPACE_APPS + '---\n' + deployment('web', 'apps'), outcomes: ['Namespace apps unchanged', 'Deployment apps/web unchanged'] },
    { name: 'a changed spec is configured', yaml: NAMESPACE_APPS + '---\n' + deployment('web', 'apps', 3), outcomes: ['Namespace apps unchanged', 'Deployment apps/web configured'] },
    {
      name: 'a new label is configured',
      yaml: NAMESPACE_APPS.replace('  name: apps\n', '  name: apps\n  labels: { istio.io/dataplane-mode: ambient }\n'),
      outcomes: ['Namespace apps configured'],
    },
  ];
  for (const row of rows) {
    const results = store.apply(manifests(row.yaml));
    t.same(results.map((r) => `${r.description} ${r.outcome}`), row.outcomes, row.name);
  }
  t.same(store.apply(manifests(deployment('web', 'apps', 3)))[0], { key: 'Deployment/apps/web', description: 'Deployment apps/web', outcome: 'unchanged' });
});

t.test('re-apply keeps uid and creationTimestamp; generation moves only with the spec', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  store.apply(manifests(NAMESPACE_APPS + '---\n' + deployment('web', 'apps')));
  const created = store.get('Deployment', 'apps', 'web') as Resource;
  t.equal(created.metadata.generation, 1);
  t.equal(created.metadata.resourceVersion, '2');

  const steps: { name: string; yaml: string; generation: number; resourceVersion: string }[] = [
    { name: 'unchanged', yaml: deployment('web', 'apps'), generation: 1, resourceVersion: '2' },
    { name: 'metadata only', yaml: deployment('web', 'apps').replace('  namespace: apps\n', '  namespace: apps\n  labels: { team: a }\n'), generation: 1, resourceVersion: '3' },
    { name: 'spec change', yaml: deployment('web', 'apps', 2), generation: 2, resourceVersion: '4' },
    { name: 'spec change again', yaml: deployment('web', 'apps', 4), generation: 3, resourceVersion: '5' },
    { name: 'same spec once more', yaml: deployment('web', 'apps', 4), generation: 3, resourceVersion: '5' },
  ];
  for (const step of steps) {
    store.apply(manifests(step.yaml));
    const current = store.get('Deployment', 'apps', 'web') as Resource;
    t.equal(store.read().revision, Number(step.resourceVersion), `${step.name}: an unchanged apply writes no revision`);
    t.equal(current.metadata.uid, created.metadata.uid, `${step.name}: uid kept`);
    t.equal(current.metadata.creationTimestamp, created.metadata.creationTimestamp, `${step.name}: creationTimestamp kept`);
    t.equal(current.metadata.generation, step.generation, `${step.name}: generation`);
    t.equal(current.metadata.resourceVersion, step.resourceVersion, `${step.name}: resourceVersion`);
  }
});

t.test('status written by the runtime survives a re-apply', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  const pod = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    command: ["sleep", "infinity"]
`;
  store.apply(manifests(pod));
  store.mutate((objects) => {
    const stored = objects.get('Pod/default/p') as Resource;
    stored.status = { phase: 'Running', podIP: '10.44.1.2' };
  });
  t.same(store.apply(manifests(pod)).map((r) => r.outcome), ['unchanged'], 'status is not part of what apply compares');
  t.same(store.get('Pod', 'default', 'p')?.status, { phase: 'Running', podIP: '10.44.1.2' });
  store.apply(manifests(pod.replace('name: p\n', 'name: p\n  labels: { a: b }\n')));
  const configured = store.get('Pod', 'default', 'p') as Resource;
  t.same(configured.metadata.labels, { a: 'b' });
  t.same(configured.status, { phase: 'Running', podIP: '10.44.1.2' }, 'a configured object keeps its status too');
});

t.test('an object in a namespace that does not exist is refused and nothing is written', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  const text = `apiVersion: v1
kind: Namespace
metadata:
  name: fine
---
${deployment('x', 'apps')}`;
  const resources = manifests(text, 'test.yaml');
  const line = resources[1].source.line;
  t.equal(line, 6, 'the Deployment document starts on line 6');
  const before = store.read();
  const statBefore = documentStat(store);
  t.throws(() => store.apply(resources), {
    constructor: StoreConflict,
    code: 'STORE_CONFLICT',
    file: 'test.yaml',
    line: 6,
    object: 'Deployment apps/x',
    field: 'metadata.namespace',
    message: `test.yaml:${line}: Deployment apps/x: metadata.namespace: namespace "apps" does not exist; create it first or include it in the same apply`,
  });
  const after = store.read();
  t.equal(after.revision, before.revision, 'revision unchanged');
  t.same([...after.objects.keys()], ['Namespace/default'], 'the valid Namespace in the same batch was not stored either');
  t.equal(documentStat(store).ino, statBefore.ino, 'the document was not rewritten');
  t.notOk(fs.existsSync(path.join(store.dir, 'objects.lock')), 'the lock is released after a refused apply');
});

t.test('a namespace created in the same batch, in any order, is accepted', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  const results = store.apply(manifests(`${deployment('x', 'apps')}---\n${NAMESPACE_APPS}`));
  t.same(results.map((r) => `${r.key} ${r.outcome}`), ['Deployment/apps/x created', 'Namespace/apps created']);
  t.ok(store.get('Deployment', 'apps', 'x'));
});

t.test('isNamespaced tells cluster-scoped kinds from namespaced ones', async (t) => {
  t.equal(isNamespaced('v1', 'Namespace'), false);
  t.equal(isNamespaced('v1', 'Pod'), true);
  t.equal(isNamespaced('example.com/v1', 'Unknown'), true, 'unknown kinds count as namespaced');
});

t.test('deleting a Namespace deletes everything in it and nothing else', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  store.apply(manifests([NAMESPACE_APPS, deployment('web', 'apps'), service('web', 'apps'), deployment('web', 'default')].join('---\n')));
  const removed = store.delete(['Namespace/apps', 'Pod/apps/missing']);
  t.same(removed.sort(), ['Deployment/apps/web', 'Namespace/apps', 'Service/apps/web']);
  t.same([...store.read().objects.keys()].sort(), ['Deployment/default/web', 'Namespace/default']);
  const revision = store.read().revision;
  t.same(store.delete(['Namespace/apps']), [], 'deleting what is gone removes nothing');
  t.equal(store.read().revision, revision, 'and writes nothing');
});

t.test('mutate writes nothing when the change changes nothing', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  store.apply(manifests(NAMESPACE_APPS));
  const before = store.read();
  const stat = documentStat(store);
  const rows: { name: string; change: (objects: Map<string, Resource>) => void }[] = [
    { name: 'no-op', change: () => undefined },
    { name: 'same value written back', change: (objects) => ((objects.get('Namespace/apps') as Resource).metadata.name = 'apps') },
    { name: 'replaced by an equal copy', change: (objects) => objects.set('Namespace/apps', structuredClone(objects.get('Namespace/apps') as Resource)) },
  ];
  for (const row of rows) {
    const result = store.mutate(row.change);
    t.same(result, before, `${row.name}: returns the state as it was`);
    t.equal(store.read().revision, before.revision, `${row.name}: revision unchanged`);
    const now = documentStat(store);
    t.equal(now.ino, stat.ino, `${row.name}: file not replaced`);
    t.equal(now.mtimeMs, stat.mtimeMs, `${row.name}: file not touched`);
  }
});

t.test('mutate stamps changed and added objects and only those', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  store.apply(manifests(NAMESPACE_APPS));
  const snapshot = store.mutate((objects, revision) => {
    t.equal(revision, 3, 'the change sees the revision it will write');
    (objects.get('Namespace/apps') as Resource).metadata.labels = { x: 'y' };
    objects.set('ConfigMap/apps/new', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new', namespace: 'apps' } });
  });
  t.equal(snapshot.revision, 3);
  t.equal(snapshot.objects.get('Namespace/apps')?.metadata.resourceVersion, '3');
  t.equal(snapshot.objects.get('Namespace/default')?.metadata.resourceVersion, '1', 'an untouched object keeps its resourceVersion');
  const added = snapshot.objects.get('ConfigMap/apps/new') as Resource;
  t.equal(added.metadata.resourceVersion, '3');
  t.match(added.metadata.uid, /^[0-9a-f-]{36}$/);
  t.ok(added.metadata.creationTimestamp);
  t.same(
    (JSON.parse(fs.readFileSync(path.join(store.dir, 'objects.json'), 'utf8')) as { objects: Resource[] }).objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/new', 'Namespace/apps', 'Namespace/default'],
    'the document lists objects sorted by key',
  );
});

t.test('a throwing change writes nothing and releases the lock', async (t) => {
  const store = DirectoryStore.open(tempDir(t));
  t.throws(() =>
    store.mutate((objects) => {
      objects.clear();
      throw new Error('boom');
    }),
  /boom/);
  t.same([...store.read().objects.keys()], ['Namespace/default']);
  t.notOk(fs.existsSync(path.join(store.dir, 'objects.lock')));
});

t.test('watch reports a change made by another store instance on the same directory', async (t) => {
  const dir = tempDir(t);
  const watched = DirectoryStore.open(dir);
  const writer = DirectoryStore.open(dir);
  const seen: number[] = [];
  let notify: () => void = () => undefined;
  const stop = watched.watch((snapshot) => {
    seen.push(snapshot.revision);
    notify();
  }, 20);
  t.teardown(stop);
  // watch() keeps nothing alive on purpose (the runtime owns the event loop), so the test holds it open itself.
  let guard: NodeJS.Timeout | undefined;
  const changed = new Promise<void>((resolve, reject) => {
    notify = resolve;
    guard = setTimeout(() => reject(new Error('no watch callback within 5 s')), 5000);
  });
  writer.apply(manifests(NAMESPACE_APPS));
  await changed;
  clearTimeout(guard);
  t.same(seen, [2]);
  t.ok(watched.get('Namespace', undefined, 'apps'), 'the watching instance reads the new state');
  stop();
  writer.apply(manifests(NAMESPACE_APPS.replace('apps', 'more')));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(seen, [2], 'no callbacks after the returned stop function ran');
});
