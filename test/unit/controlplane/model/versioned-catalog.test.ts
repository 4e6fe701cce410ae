// The catalog's bookkeeping: content versions, drafts published together, handed-out maps never mutated, changed names.
import t from 'tap';
import { VersionedCatalog } from '../../../../src/controlplane/model/versioned-catalog';

const TYPE = 'type.example/Thing';
const bytes = (text: string) => new TextEncoder().encode(text);

t.test('writes stay in drafts until commit; published maps are never changed in place', async (t) => {
  const catalog = new VersionedCatalog([TYPE]);
  catalog.begin();
  t.equal(catalog.put(TYPE, 'a', bytes('one')), true);
  t.equal(catalog.put(TYPE, 'a', bytes('one')), false, 'same content, same version: no change');
  t.equal(catalog.resources(TYPE).size, 0, 'nothing published before commit');
  t.equal(catalog.current(TYPE).size, 1, 'the change sees its own draft');
  catalog.commit();
  const first = catalog.resources(TYPE);
  const version = first.get('a')?.version;
  t.match(version, /^[0-9a-f]{16}$/);
  t.same([...(catalog.changedNames().get(TYPE) ?? [])], ['a']);

  catalog.begin();
  t.same(catalog.changedNames().size, 0, 'a new change starts with no names');
  catalog.put(TYPE, 'a', bytes('two'));
  catalog.put(TYPE, 'b', bytes('x'));
  catalog.put(TYPE, 'missing', undefined);
  catalog.commit();
  t.equal(first.get('a')?.version, version, 'the map handed out earlier is unchanged');
  t.not(catalog.resources(TYPE).get('a')?.version, version);
  t.same([...(catalog.changedNames().get(TYPE) ?? [])].sort(), ['a', 'b'], 'removing what is absent is no change');

  catalog.begin();
  catalog.put(TYPE, 'b', undefined);
  catalog.begin();
  catalog.commit();
  t.ok(catalog.resources(TYPE).has('b'), 'a change abandoned (begin again) publishes nothing');
});
