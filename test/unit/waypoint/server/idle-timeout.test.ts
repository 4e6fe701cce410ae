// Idle timeouts on the stream ends Node's HTTP code treats as sockets (the tunnel pair and the upstream shim): they fire after inactivity, activity pushes them back, and setTimeout(0, cb) removes cb as net.Socket does.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { createDuplexPair } from '../../../../src/waypoint/server/duplex-pair';
import { asSocket } from '../../../../src/waypoint/upstream/socket-shim';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a pair end times out after the idle limit, and traffic pushes the limit back', async (t) => {
  const { outer, inner } = createDuplexPair();
  t.teardown(() => inner.destroy());
  inner.resume();
  let fired = 0;
  inner.setTimeout(500, () => fired++);
  for (let i = 0; i < 5; i++) {
    await sleep(120);
    outer.write('x');
  }
  t.equal(fired, 0, 'no timeout while bytes flow (600 ms of traffic, limit 500 ms)');
  const deadline = Date.now() + 3_000;
  while (fired === 0 && Date.now() < deadline) await sleep(20);
  t.equal(fired, 1, 'times out once traffic stops');
});

t.test('setTimeout(0, cb) on a pair end removes cb instead of adding it', async (t) => {
  const { inner } = createDuplexPair();
  t.teardown(() => inner.destroy());
  const cb = (): void => undefined;
  inner.setTimeout(1000, cb);
  t.equal(inner.listenerCount('timeout'), 1);
  for (let i = 0; i < 20; i++) inner.setTimeout(0, cb);
  t.equal(inner.listenerCount('timeout'), 0, 'no listener piles up');
  t.equal(inner.timeout, 0);
});

t.test('the socket shim: idle timeout with activity, and setTimeout(0, cb) removes cb', async (t) => {
  const stream = new PassThrough();
  const socket = asSocket(stream);
  t.teardown(() => stream.destroy());
  let fired = 0;
  const cb = (): void => void fired++;
  for (let i = 0; i < 50; i++) {
    socket.setTimeout(5_000, cb);
    socket.setTimeout(0, cb);
  }
  t.equal(stream.listenerCount('timeout'), 0, 'per-request timeout callbacks do not pile up (the HTTP client sets and clears one per request)');
  socket.setTimeout(500, cb);
  stream.resume();
  for (let i = 0; i < 5; i++) {
    await sleep(120);
    stream.write('x');
  }
  t.equal(fired, 0, 'incoming data keeps it alive');
  const deadline = Date.now() + 3_000;
  while (fired === 0 && Date.now() < deadline) await sleep(20);
  t.equal(fired, 1, 'times out once data stops');
});
