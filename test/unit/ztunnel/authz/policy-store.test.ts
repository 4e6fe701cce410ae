// PolicySnapshot: indexes by key, scope and namespace; delta updates build a new snapshot and leave the old one alone.
import t from 'tap';
import { compileAuthorization, PolicySnapshot } from '../../../../src/ztunnel/authz';
import { exact, match, policy } from './helpers';

const denyAll = (key: string, scope: 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR') => policy(key, 'DENY', [[]], { scope });

t.test('indexes', async (t) => {
  const snap = PolicySnapshot.from([
    denyAll('istio-system/mesh', 'GLOBAL'),
    denyAll('app/b', 'NAMESPACE'),
    denyAll('app/a', 'NAMESPACE'),
    denyAll('app/sel', 'WORKLOAD_SELECTOR'),
    denyAll('istio-system/istio_converted_static_strict', 'WORKLOAD_SELECTOR'),
  ]);
  t.equal(snap.size, 5);
  t.same(snap.global().map((p) => p.key), ['istio-system/mesh'], 'GLOBAL by scope');
  t.same(snap.namespaced('app').map((p) => p.key), ['app/a', 'app/b'], 'NAMESPACE by namespace, sorted by key');
  t.same(snap.namespaced('istio-system').map((p) => p.key), [], 'GLOBAL and selector policies are not namespace-wide');
  t.same(snap.namespaced('nowhere'), []);
  t.equal(snap.get('app/sel')?.scope, 'WORKLOAD_SELECTOR', 'selector policies only by key');
  t.equal(snap.has('app/missing'), false);
  t.same(snap.all().map((p) => p.key), ['app/a', 'app/b', 'app/sel', 'istio-system/istio_converted_static_strict', 'istio-system/mesh']);
  t.ok(Object.isFrozen(snap) && Object.isFrozen(snap.global()) && Object.isFrozen(snap.namespaced('app')), 'frozen');
});

t.test('delta updates', async (t) => {
  const v1 = PolicySnapshot.from([denyAll('app/a', 'NAMESPACE'), denyAll('app/b', 'NAMESPACE')]);
  const v2 = v1.withChanges([denyAll('app/a', 'WORKLOAD_SELECTOR'), denyAll('other/c', 'NAMESPACE')], ['app/b']);
  t.same(v1.namespaced('app').map((p) => p.key), ['app/a', 'app/b'], 'the old snapshot is unchanged');
  t.same(v2.namespaced('app').map((p) => p.key), [], 'a scope change moves the policy out of the namespace index');
  t.equal(v2.get('app/a')?.scope, 'WORKLOAD_SELECTOR');
  t.equal(v2.has('app/b'), false, 'removed by resource name');
  t.same(v2.namespaced('other').map((p) => p.key), ['other/c']);
  const v3 = v2.withChanges([], ['not/there']);
  t.equal(v3.size, v2.size, 'removing an unknown name is harmless');
  t.equal(PolicySnapshot.from([denyAll('app/x', 'NAMESPACE'), policy('app/x', 'ALLOW', [])]).get('app/x')?.action, 'ALLOW', 'a later policy with the same key replaces an earlier one');
});

t.test('compilation precomputes matches', async (t) => {
  const compiled = compileAuthorization(policy('app/p', 'ALLOW', [[[match({ namespaces: [exact('a'), {}] }), match({})]]]));
  const [m1, m2] = compiled.rules[0][0];
  t.same(m1.namespaces, [{ kind: 'exact', value: 'a' }], 'unset StringMatch dropped');
  t.equal(m1.empty, false);
  t.equal(m2.empty, true, 'empty flagged once, at build time');
  t.ok(Object.isFrozen(compiled) && Object.isFrozen(compiled.rules) && Object.isFrozen(m1), 'frozen');
});
