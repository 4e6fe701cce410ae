// relay() between two TCP connections: bursts arrive intact and in order in both directions, a reader that stops
// reading pauses the writer at a bounded queue instead of buffering everything, and ends map to ends.
import crypto from 'node:crypto';
import net from 'node:net';
import t from 'tap';
import { relay, type RelayResult } from '../../../src/hbone';
import type { Teardown } from './fixtures/mesh';

const MiB = 1024 * 1024;

interface Pair {
  /** The end a test writes to or reads from. */
  readonly outer: net.Socket;
  /** The end handed to relay(). */
  readonly inner: net.Socket;
}

async function socketPair(t: Teardown): Promise<Pair> {
  // Half-open like the sockets relay() is given: one direction ending must not end the other.
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const outer = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve) => outer.once('connect', resolve));
  const inner = await accepted;
  server.close();
  t.teardown(() => {
    outer.destroy();
    inner.destroy();
  });
  return { outer, inner };
}

function sha256(parts: readonly Buffer[]): string {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** Writes `total` bytes of random data in `chunk`-sized writes honouring backpressure, then ends; resolves to the hash. */
function writeAll(socket: net.Socket, total: number, chunk: number): Promise<string> {
  const hash = crypto.createHash('sha256');
  return new Promise((resolve) => {
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        const block = crypto.randomBytes(Math.min(chunk, total - written));
        hash.update(block);
        written += block.length;
        if (!socket.write(block)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
      resolve(hash.digest('hex'));
    };
    pump();
  });
}

function readAll(socket: net.Socket): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    socket.on('data', (part: Buffer) => parts.push(part));
    socket.once('end', () => resolve(parts));
  });
}

t.test('a burst in each direction arrives intact and in order, and the ends close the relay cleanly', async (t) => {
  const a = await socketPair(t);
  const b = await socketPair(t);
  const result: Promise<RelayResult> = relay(a.inner, b.inner);
  const intoB = readAll(b.outer);
  const intoA = readAll(a.outer);
  const [sentAB, sentBA] = await Promise.all([writeAll(a.outer, 16 * MiB, 64 * 1024), writeAll(b.outer, 3 * MiB + 17, 5000)]);
  const [gotB, gotA] = await Promise.all([intoB, intoA]);
  t.equal(sha256(gotB), sentAB, '16 MiB from a reach b unchanged');
  t.equal(sha256(gotA), sentBA, '3 MiB + 17 bytes from b reach a unchanged');
  const done = await result;
  t.equal(done.outcome, 'completed');
  t.equal(done.bytesIn, 16 * MiB, 'bytesIn counts what a sent');
  t.equal(done.bytesOut, 3 * MiB + 17, 'bytesOut counts what b sent');
});

t.test('a reader that stops reading pauses the writer; everything arrives once it reads again', async (t) => {
  const a = await socketPair(t);
  const b = await socketPair(t);
  let relayed = 0;
  const result = relay(a.inner, b.inner, { onBytes: (direction, bytes) => (relayed += direction === 'in' ? bytes : 0) });
  b.outer.pause();
  const total = 64 * MiB;
  const sent = writeAll(a.outer, total, 128 * 1024);
  // Wait until the relay stops taking bytes in: both kernels' buffers and the relay's bounded queue are full.
  let last = -1;
  while (relayed !== last) {
    last = relayed;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.ok(relayed < total / 2, `the relay stopped reading at ${(relayed / MiB).toFixed(1)} MiB of ${total / MiB} MiB`);
  const received = readAll(b.outer);
  b.outer.resume();
  t.equal(sha256(await received), await sent, 'all 64 MiB arrive unchanged after the reader resumes');
  a.outer.end();
  b.outer.end();
  t.equal((await result).outcome, 'completed');
});
