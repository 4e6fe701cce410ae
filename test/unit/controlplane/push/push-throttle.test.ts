// The push throttle: at most N large responses unanswered at once, slots back on ACK, NACK, stream end or timeout,
// waiters served in order — alone and inside the delta-xDS server over real gRPC/TLS.
import t from 'tap';
import { LARGE_RESPONSE_RESOURCES, PushThrottle } from '../../../../src/controlplane/push/push-throttle';
import { makeTlsMaterial, MemoryCatalog, RawAdsStream, sleep, startXdsServer, waitFor } from './fixtures/xds-harness';

t.test('slots: capacity, order of waiters, idempotent release, and the timeout', async (t) => {
  const throttle = new PushThrottle(2, 50);
  const ran: string[] = [];
  const a = throttle.tryAcquire(() => ran.push('a'));
  const b = throttle.tryAcquire(() => ran.push('b'));
  t.ok(a && b, 'two slots');
  t.equal(throttle.tryAcquire(() => ran.push('c')), undefined, 'the third waits');
  t.equal(throttle.tryAcquire(() => ran.push('d')), undefined);
  t.equal(throttle.queued, 2);
  a?.release();
  a?.release();
  t.same(ran, ['c', 'd'], 'a freed slot wakes waiters in order; ones that take nothing let the next try');
  t.equal(throttle.active, 1, 'a second release of the same slot gives nothing back');
  await sleep(120);
  t.equal(throttle.active, 0, 'an unanswered slot comes back by itself after the timeout');
  t.equal(throttle.peak, 2);
  t.throws(() => new PushThrottle(0), RangeError);
});

t.test('the server sends one large response at a time with capacity 1; ACKs and stream ends pass the slot on', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  const typeUrl = 'type.googleapis.com/test.Thing';
  for (let i = 0; i < LARGE_RESPONSE_RESOURCES; i++) catalog.set(typeUrl, `thing-${i}`, '1', new Uint8Array([i % 256]));
  const server = await startXdsServer(t, { catalog, tls, largeResponsesInFlight: 1 });
  const streams = ['a', 'b', 'c'].map(() => new RawAdsStream(t, server.address, tls));
  for (const [index, stream] of streams.entries()) stream.send({ node: { id: `proxy-${index}` }, typeUrl });
  await waitFor(() => streams.some((stream) => stream.received.length > 0), 'a first response');
  await sleep(150);
  t.equal(streams.filter((stream) => stream.received.length > 0).length, 1, 'one full response at a time');
  const first = streams.find((stream) => stream.received.length > 0) as RawAdsStream;
  t.equal(first.received[0].resources.length, LARGE_RESPONSE_RESOURCES);

  first.ack(first.received[0]);
  await waitFor(() => streams.filter((stream) => stream.received.length > 0).length === 2, 'the next after the ACK');
  const second = streams.find((stream) => stream !== first && stream.received.length > 0) as RawAdsStream;
  await sleep(100);
  t.equal(streams.filter((stream) => stream.received.length > 0).length, 2, 'still one unanswered at a time');
  second.close();
  await waitFor(() => streams.every((stream) => stream.received.length > 0), 'the last once the second stream ended unanswered');

  // Small incremental pushes are never throttled.
  const third = streams.find((stream) => stream !== first && stream !== second) as RawAdsStream;
  catalog.set(typeUrl, 'thing-0', '2', new Uint8Array([9]));
  await waitFor(() => first.received.length === 2, 'an edit reaches the first proxy while the third holds the slot');
  t.equal(first.received[1].resources.length, 1);
  t.equal(third.received.length >= 1, true);
});
