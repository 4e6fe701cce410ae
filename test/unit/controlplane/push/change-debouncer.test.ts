// ChangeDebouncer coalesces bursts; asserted by what fires, not by how long it took.
import t from 'tap';
import { ChangeDebouncer } from '../../../../src/controlplane/push';

t.test('a burst fires once with the union of type URLs', async (t) => {
  const fired: string[][] = [];
  let done: () => void = () => undefined;
  const once = new Promise<void>((resolve) => (done = resolve));
  const debouncer = new ChangeDebouncer((typeUrls) => {
    fired.push([...typeUrls].sort());
    done();
  }, { quietMs: 20, maxDelayMs: 1000 });
  t.teardown(() => debouncer.close());
  for (let i = 0; i < 50; i++) debouncer.add([i % 2 === 0 ? 'a' : 'b']);
  await once;
  t.same(fired, [['a', 'b']]);
});

t.test('changes that keep coming still fire by the max delay', async (t) => {
  const fired: string[][] = [];
  const debouncer = new ChangeDebouncer((typeUrls) => fired.push([...typeUrls]), { quietMs: 50, maxDelayMs: 60 });
  t.teardown(() => debouncer.close());
  let adds = 0;
  while (fired.length === 0 && adds < 10_000) {
    debouncer.add(['a']);
    adds += 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.equal(fired.length, 1, 'fired although the quiet period never came');
  t.ok(adds > 1, 'several changes went into that one firing');
});

t.test('flush fires now; close drops pending changes', async (t) => {
  const fired: string[][] = [];
  const debouncer = new ChangeDebouncer((typeUrls) => fired.push([...typeUrls]), { quietMs: 10_000 });
  debouncer.flush();
  t.same(fired, [], 'nothing pending, nothing fired');
  debouncer.add(['a']);
  debouncer.flush();
  t.same(fired, [['a']]);
  debouncer.add(['b']);
  debouncer.close();
  debouncer.add(['c']);
  debouncer.flush();
  t.same(fired, [['a']], 'closed debouncer never fires');
});

t.test('quietMs 0 fires synchronously', async (t) => {
  const fired: string[][] = [];
  const debouncer = new ChangeDebouncer((typeUrls) => fired.push([...typeUrls]), { quietMs: 0 });
  debouncer.add(['a']);
  t.same(fired, [['a']]);
});
