// Per-stream flow control: a tunnel nobody reads (in either direction) must not stall other tunnels on the same HTTP/2 connection.
import type net from 'node:net';
import t from 'tap';
import { HbonePool, type HboneConnectRequest, type TunnelRequest } from '../../../src/hbone';
import { CLIENT_ID, SERVER_ID, dialTcp, echo, meshRoot, randomBytes, readAll, sha256, startHbone, startTcpApp, workload } from './fixtures/mesh';

const MiB = 1024 * 1024;
const FIREHOSE_LIMIT = 64 * MiB;
const root = meshRoot();
const client = workload(root, CLIENT_ID);
const server = workload(root, SERVER_ID);

t.test('a never-read tunnel in each direction does not stall a busy tunnel on the same connection', async (t) => {
  // Upstream that writes as fast as backpressure allows, up to 64 MiB, to a client that never reads.
  let firehoseWritten = 0;
  const firehose = await startTcpApp(t, (socket) => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => {
      while (firehoseWritten < FIREHOSE_LIMIT) {
        firehoseWritten += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  // Upstream that never reads what the client pushes into it.
  let blackholeSocket: net.Socket | undefined;
  const blackhole = await startTcpApp(t, (socket) => {
    blackholeSocket = socket;
    socket.pause();
  });
  const echoApp = await startTcpApp(t, echo);
  const appFor = new Map<number, number>([
    [1, firehose.port],
    [2, blackhole.port],
    [3, echoApp.port],
  ]);
  const hbone = await startHbone(t, {
    certificateFor: () => server,
    onTunnel: async (request: TunnelRequest) => ({ status: 200, upstream: await dialTcp(appFor.get(request.authority.port) ?? 0) }),
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const to = (port: number): HboneConnectRequest => ({
    source: client,
    destination: { ip: '127.0.0.1', port: hbone.port },
    expectedIdentities: [SERVER_ID],
    authority: `10.0.0.5:${port}`,
  });

  const neverRead = await pool.connect(to(1));
  const intoBlackhole = await pool.connect(to(2));
  // Fill the blackhole direction until the tunnel stops draining: every buffer between here and the app is full.
  let pushed = 0;
  const block = Buffer.alloc(256 * 1024, 1);
  for (;;) {
    pushed += block.length;
    if (intoBlackhole.write(block)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      intoBlackhole.once('drain', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!drained) break;
  }

  const busy = await pool.connect(to(3));
  t.equal(new Set([neverRead.connectionId, intoBlackhole.connectionId, busy.connectionId]).size, 1, 'all three tunnels share one HTTP/2 connection');
  const payload = randomBytes(8 * MiB);
  const started = Date.now();
  const echoed = readAll(busy);
  busy.end(payload);
  const reply = await echoed;
  t.equal(reply.length, payload.length, '8 MiB echoed through the busy tunnel');
  t.equal(sha256(reply), sha256(payload), 'intact');
  t.comment(`8 MiB round trip beside two stalled tunnels: ${Date.now() - started} ms`);

  t.ok(firehoseWritten < FIREHOSE_LIMIT, `backpressure reached the firehose upstream (${(firehoseWritten / MiB).toFixed(1)} MiB written of 64)`);
  t.ok(neverRead.bytesReceived <= 64 * 1024, `the unread tunnel took only its own buffer's worth (${neverRead.bytesReceived} bytes) off the stream`);
  t.ok(blackholeSocket !== undefined && pushed < 64 * MiB, `the unread upstream pushed back after ${(pushed / MiB).toFixed(1)} MiB`);

  // Shutting down must not wait on a client that stopped reading: after the grace period its connection is cut.
  const reset = new Promise<Error>((resolve) => neverRead.once('error', resolve));
  intoBlackhole.on('error', () => undefined);
  await hbone.server.close(50);
  t.equal((await reset).name, 'HboneStreamReset', 'the stalled tunnel was reset by the shutdown');
});
