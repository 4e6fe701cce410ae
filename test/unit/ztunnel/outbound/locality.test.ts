// Locality-aware endpoint choice: ranks by the service's preferred scopes, STRICT keeps only full matches, FAILOVER the closest present.
import t from 'tap';
import { eligibleEndpoints, localityRank, type Placement } from '../../../../src/ztunnel/outbound/locality';

function at(node: string, region: string, zone: string, subzone = ''): Placement {
  return { node, network: '', cluster: 'Kubernetes', region, zone, subzone };
}

const CLOSE = ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'] as const;
const client = at('n1', 'r1', 'z1', 's1');

t.test('rank counts leading matches; zone and subzone are nested in their region', async (t) => {
  t.equal(localityRank(CLOSE, client, at('n9', 'r1', 'z1', 's1')), 4);
  t.equal(localityRank(CLOSE, client, at('n9', 'r1', 'z1', 's2')), 3);
  t.equal(localityRank(CLOSE, client, at('n9', 'r1', 'z2', 's1')), 2, 'same subzone name in another zone is not the same subzone');
  t.equal(localityRank(CLOSE, client, at('n9', 'r2', 'z1', 's1')), 1, 'same zone name in another region is not the same zone');
  t.equal(localityRank(['NODE'], client, at('n1', 'r9', 'z9')), 1);
  t.equal(localityRank(['NODE'], { ...client, node: '' }, at('', 'r1', 'z1')), 0, 'an unknown node matches nothing');
});

t.test('FAILOVER keeps the closest endpoints present; STRICT only full matches', async (t) => {
  const endpoints = { a: at('n1', 'r1', 'z1', 's1'), b: at('n2', 'r1', 'z1', 's2'), c: at('n3', 'r1', 'z2'), d: at('n4', 'r2', 'z1') };
  const names = Object.keys(endpoints) as (keyof typeof endpoints)[];
  const choose = (pool: typeof names, mode: 'FAILOVER' | 'STRICT', scopes: readonly string[] = CLOSE) =>
    eligibleEndpoints(pool, (name) => endpoints[name], client, { routingPreference: scopes as typeof CLOSE[number][], mode });
  t.same(choose(names, 'FAILOVER'), ['a'], 'same subzone first');
  t.same(choose(['b', 'c', 'd'], 'FAILOVER'), ['b'], 'then the same zone');
  t.same(choose(['c', 'd'], 'FAILOVER'), ['c'], 'then the same region');
  t.same(choose(['d'], 'FAILOVER'), ['d'], 'then anything in the network');
  t.same(choose(['b', 'c', 'd'], 'STRICT'), [], 'STRICT never leaves the preferred scopes');
  t.same(choose(names, 'STRICT', ['NODE']), ['a'], 'internalTrafficPolicy Local: this node only');
  t.same(choose(['b'], 'STRICT', ['NODE']), [], 'and nothing when the node has no endpoint');
  t.same(eligibleEndpoints(names, (name) => endpoints[name], undefined, { routingPreference: [...CLOSE], mode: 'FAILOVER' }), names, 'an unknown client: all');
  t.same(eligibleEndpoints(names, (name) => endpoints[name], client, undefined), names, 'no preference: all');
  t.same(eligibleEndpoints(names, (name) => endpoints[name], client, { routingPreference: [...CLOSE], mode: 'PASSTHROUGH' }), names);
});
