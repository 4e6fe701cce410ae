// StoreDraft and DirectoryStore.mutate: objects are copied only when read for writing, only those are compared, and the
// new snapshot shares every untouched object with the previous one without ever freezing the caller's own objects.
import path from 'node:path';
import t from 'tap';
import type { Resource } from '../../../../src/api';
import { DirectoryStore } from '../../../../src/local/store/directory-store';
import { readOnly, StoreDraft } from '../../../../src/local/store/store-draft';
import { tempDir } from '../fixtures/helpers';

function namespace(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

t.test('a draft copies an object when it is read, and only then', async (t) => {
  const base = new Map([['Namespace/a', Object.freeze(namespace('a'))], ['Namespace/b', Object.freeze(namespace('b'))]]);
  const draft = new StoreDraft(base);
  t.same([...draft.ownedKeys()], [], 'nothing owned after construction');
  t.equal(draft.peek().get('Namespace/a'), base.get('Namespace/a'), 'peek hands out the original');
  t.equal(readOnly(draft).get('Namespace/b'), base.get('Namespace/b'));
  const a = draft.get('Namespace/a');
  t.not(a, base.get('Namespace/a'), 'get hands out a copy');
  t.equal(draft.get('Namespace/a'), a, 'the same copy on the next read');
  t.notOk(Object.isFrozen(a), 'which the caller may change');
  t.same([...draft.ownedKeys()], ['Namespace/a']);
  for (const [key, object] of draft) t.not(object, base.get(key), `iterating copies ${key} (a caller may change what it iterates)`);
  draft.delete('Namespace/b');
  t.same(draft.deletedKeys(), ['Namespace/b']);
  draft.set('Namespace/c', namespace('c'));
  t.same([...draft.assignedKeys()], ['Namespace/c']);
  t.same([...draft.keys()].sort(), ['Namespace/a', 'Namespace/c']);
});

t.test('mutate: untouched objects are shared between snapshots; the caller\'s objects are copied before freezing', async (t) => {
  const store = DirectoryStore.open(path.join(tempDir(t), 'store'));
  store.mutate((objects) => {
    for (const name of ['a', 'b', 'c']) objects.set(`Namespace/${name}`, namespace(name));
  });
  const before = store.read();
  const mine = namespace('d', { team: 'x' });
  const after = store.mutate((objects) => {
    const a = objects.get('Namespace/a') as Resource;
    a.metadata.labels = { edited: 'yes' };
    objects.set('Namespace/d', mine);
  });
  t.equal(after.revision, before.revision + 1);
  t.equal(after.objects.get('Namespace/b'), before.objects.get('Namespace/b'), 'b untouched: the same object');
  t.same(after.objects.get('Namespace/a')?.metadata.labels, { edited: 'yes' });
  t.equal(after.objects.get('Namespace/a')?.metadata.resourceVersion, String(after.revision), 'the edited object gets the new resourceVersion');
  t.equal(after.objects.get('Namespace/b')?.metadata.resourceVersion, before.objects.get('Namespace/b')?.metadata.resourceVersion, 'the untouched one keeps its own');
  t.notOk(Object.isFrozen(mine), 'the caller\'s object is not frozen');
  mine.metadata.labels = { team: 'changed later' };
  t.same(after.objects.get('Namespace/d')?.metadata.labels, { team: 'x' }, 'and its later edits do not reach the snapshot');
  t.ok(Object.isFrozen(after.objects.get('Namespace/d')), 'the snapshot\'s copy is frozen');
  t.same(DirectoryStore.open(store.dir).read().objects.get('Namespace/a')?.metadata.labels, { edited: 'yes' }, 'a fresh reader sees the same on disk');

  const unchanged = store.mutate((objects) => {
    const b = objects.get('Namespace/b') as Resource;
    b.metadata.labels = { ...b.metadata.labels };
  });
  t.equal(unchanged, after, 'a read that changes nothing writes nothing');
});
