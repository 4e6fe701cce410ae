// Table tests for planDelta and TypeSubscription: the server's delta decisions with no network involved.
import t from 'tap';
import { planDelta, planDeltaFor, type DeltaPlanInput } from '../../../../src/controlplane/push';
import { TypeSubscription } from '../../../../src/controlplane/push/type-subscription';
import type { CatalogSnapshot } from '../../../../src/controlplane/push';
import type { DeltaDiscoveryRequest } from '../../../../src/xds';

function snapshot(entries: Record<string, string>): CatalogSnapshot {
  return new Map(Object.entries(entries).map(([name, version]) => [name, { version, resource: new Uint8Array([1]) }]));
}

function input(partial: Partial<DeltaPlanInput> & { snapshot: CatalogSnapshot }): DeltaPlanInput {
  return { wildcard: true, names: new Set(), known: new Map(), forced: new Set(), ...partial };
}

t.test('planDelta', async (t) => {
  const cases: Array<{ name: string; in: DeltaPlanInput; upserts: string[]; removals: string[] }> = [
    { name: 'wildcard, client holds nothing: everything', in: input({ snapshot: snapshot({ b: '1', a: '1' }) }), upserts: ['a', 'b'], removals: [] },
    {
      name: 'wildcard, client current: nothing',
      in: input({ snapshot: snapshot({ a: '1' }), known: new Map([['a', '1']]) }),
      upserts: [],
      removals: [],
    },
    {
      name: 'version differs: resend; vanished: remove',
      in: input({ snapshot: snapshot({ a: '2', c: '1' }), known: new Map([['a', '1'], ['b', '1'], ['c', '1']]) }),
      upserts: ['a'],
      removals: ['b'],
    },
    {
      name: 'explicit: only subscribed names',
      in: input({ wildcard: false, names: new Set(['a']), snapshot: snapshot({ a: '1', b: '1' }) }),
      upserts: ['a'],
      removals: [],
    },
    {
      name: 'forced names are sent even when current; forced missing names are removals',
      in: input({ wildcard: false, names: new Set(['a', 'x']), forced: new Set(['a', 'x']), known: new Map([['a', '1']]), snapshot: snapshot({ a: '1' }) }),
      upserts: ['a'],
      removals: ['x'],
    },
    {
      name: 'known but no longer of interest: removal',
      in: input({ wildcard: false, names: new Set(), known: new Map([['a', '1']]), snapshot: snapshot({ a: '1' }) }),
      upserts: [],
      removals: ['a'],
    },
  ];
  for (const c of cases) {
    const plan = planDelta(c.in);
    t.same({ upserts: plan.upserts, removals: plan.removals }, { upserts: c.upserts, removals: c.removals }, c.name);
  }
});

function request(partial: Partial<DeltaDiscoveryRequest>): DeltaDiscoveryRequest {
  return {
    typeUrl: 't',
    resourceNamesSubscribe: [],
    resourceNamesUnsubscribe: [],
    initialResourceVersions: {},
    responseNonce: '',
    ...partial,
  };
}

t.test('TypeSubscription: first request, ACK, NACK, flow control', async (t) => {
  const now = new Date('2026-01-01T00:00:00Z');
  const sub = new TypeSubscription('t');
  sub.applySubscription(request({ initialResourceVersions: { a: '1', gone: '1' } }));
  t.ok(sub.readyToPush(), 'the first request is always answered');
  const first = sub.plan(snapshot({ a: '1', b: '1' }));
  t.same(first, { upserts: ['b'], removals: ['gone'] });
  sub.sent('n1', new Map([['b', '1']]), ['gone']);
  t.notOk(sub.readyToPush(), 'nothing owed');
  sub.markDirty();
  t.notOk(sub.readyToPush(), 'a change waits while a response is in flight');

  t.same(sub.applyAck(request({ responseNonce: 'old' }), now), { kind: 'stale', nonce: 'old' }, 'a stale nonce is ignored');
  t.same(sub.applyAck(request({ responseNonce: 'n1' }), now), { kind: 'ack', nonce: 'n1' });
  t.same(sub.debug().acked, { a: '1', b: '1' }, 'ACK applies the versions and the removal');
  t.ok(sub.readyToPush(), 'the queued change may go now');
  t.equal(sub.plan(snapshot({ a: '1', b: '1' })), undefined, 'an empty delta after a change is not sent');

  sub.markDirty();
  const second = sub.plan(snapshot({ a: '2', b: '1' }));
  t.same(second?.upserts, ['a']);
  sub.sent('n2', new Map([['a', '2']]), []);
  const nack = sub.applyAck(request({ responseNonce: 'n2', errorDetail: { code: 3, message: 'bad a', details: [] } }), now);
  t.equal(nack.kind, 'nack');
  t.same(sub.debug().acked, { a: '1', b: '1' }, 'NACK keeps the old ACKed version');
  t.equal(sub.debug().lastNack?.message, 'bad a');
  t.notOk(sub.readyToPush(), 'the NACKed versions are not resent on their own');
  sub.markDirty();
  t.equal(sub.plan(snapshot({ a: '2', b: '1' })), undefined, 'nor on an unrelated change notification');
});

t.test('TypeSubscription: subscribe and unsubscribe after the first request', async (t) => {
  const sub = new TypeSubscription('t');
  sub.applySubscription(request({ resourceNamesSubscribe: ['a'] }));
  t.equal(sub.debug().wildcard, false, 'names on the first request = explicit');
  sub.sent('n1', new Map([['a', '1']]), []);
  sub.applyAck(request({ responseNonce: 'n1' }), new Date());
  sub.applySubscription(request({ resourceNamesSubscribe: ['a'] }));
  t.same(sub.plan(snapshot({ a: '1' }))?.upserts, ['a'], 're-subscribing a held name resends it');
  sub.sent('n2', new Map([['a', '1']]), []);
  sub.applyAck(request({ responseNonce: 'n2' }), new Date());
  sub.applySubscription(request({ resourceNamesUnsubscribe: ['a'], resourceNamesSubscribe: ['*'] }));
  t.equal(sub.debug().wildcard, true, '"*" turns the wildcard on later');
  t.same(sub.debug().names, []);
  sub.applySubscription(request({ resourceNamesUnsubscribe: ['*'] }));
  t.equal(sub.debug().wildcard, false, 'unsubscribing "*" turns it off');
  t.same(sub.debug().acked, {}, 'names no longer of interest are forgotten');
});

t.test('planDeltaFor gives the full plan\'s answer whenever the changed names cover every difference', async (t) => {
  // A small deterministic generator, so a failure is reproducible from the seed in its message.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const universe = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  for (let round = 0; round < 500; round++) {
    const startSeed = seed;
    const entries: Record<string, string> = {};
    const known = new Map<string, string>();
    for (const name of universe) {
      if (random(3) > 0) entries[name] = `v${random(3)}`;
      if (random(3) > 0) known.set(name, `v${random(3)}`);
    }
    const wildcard = random(2) === 0;
    const names = new Set(universe.filter(() => random(2) === 0));
    const forced = new Set(universe.filter(() => random(4) === 0));
    const plan = input({ snapshot: snapshot(entries), known, wildcard, names, forced });
    const full = planDelta(plan);
    // What the catalog would report: every name whose entry differs from what the client holds, plus some noise.
    const changed = new Set([...full.upserts, ...full.removals, ...universe.filter(() => random(3) === 0)]);
    t.same(planDeltaFor(plan, changed), full, `seed ${startSeed}`);
  }
});

t.test('TypeSubscription plans from the names the catalog reports, and scans everything after a (re)subscription', async (t) => {
  const sub = new TypeSubscription('type');
  sub.applySubscription(request({}));
  const first = sub.plan(snapshot({ a: '1', b: '1' }));
  t.same(first, { upserts: ['a', 'b'], removals: [] }, 'the first response: everything');
  sub.sent('n1', new Map([['a', '1'], ['b', '1']]), []);
  sub.applyAck(request({ responseNonce: 'n1' }), new Date());

  // b changed and c appeared, but the catalog reports only c: only c is planned (the catalog is trusted).
  sub.markDirty(new Set(['c']));
  t.same(sub.plan(snapshot({ a: '1', b: '2', c: '1' })), { upserts: ['c'], removals: [] });
  sub.sent('n2', new Map([['c', '1']]), []);
  sub.applyAck(request({ responseNonce: 'n2' }), new Date());

  sub.markDirty();
  t.same(sub.plan(snapshot({ a: '1', b: '2', c: '1' })), { upserts: ['b'], removals: [] }, 'a change without names: a full scan finds b');
  sub.sent('n3', new Map([['b', '2']]), []);
  sub.applyAck(request({ responseNonce: 'n3' }), new Date());

  sub.markDirty(new Set(['a']));
  t.same(sub.plan(snapshot({ b: '2', c: '1' })), { upserts: [], removals: ['a'] }, 'a reported removal');
});
