// The HBONE pool shares one HTTP/2 connection per key, opens more at the stream cap, drops idle or gone connections, and never mixes identities.
import t from 'tap';
import { HbonePool, HboneServer, type HboneConnectRequest, type HboneTunnel, type SourceIdentity } from '../../../src/hbone';
import { CLIENT_ID, OTHER_ID, SERVER_ID, dialApp, echo, eventually, meshRoot, readAll, startHbone, startTcpApp, workload, type Teardown } from './fixtures/mesh';

const root = meshRoot();
const client = workload(root, CLIENT_ID);
const otherClient = workload(root, OTHER_ID);
const server = workload(root, SERVER_ID);

async function echoMesh(t: Teardown) {
  const app = await startTcpApp(t, echo);
  return startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
}

function request(port: number, source: SourceIdentity = client): HboneConnectRequest {
  return { source, destination: { ip: '127.0.0.1', port }, expectedIdentities: [SERVER_ID], authority: '10.0.0.9:80' };
}

/** Sends a message through the tunnel, half-closes, and checks the echo. */
async function roundTrip(tunnel: HboneTunnel, message: string): Promise<string> {
  const reply = readAll(tunnel);
  tunnel.end(message);
  return (await reply).toString();
}

t.test('concurrent first connects share one handshake; sequential and concurrent tunnels share one connection', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());

  const concurrent = await Promise.all(Array.from({ length: 10 }, () => pool.connect(request(hbone.port))));
  t.equal(hbone.accepted(), 1, '10 concurrent first connects made one TCP connection');
  t.equal(new Set(concurrent.map((tunnel) => tunnel.connectionId)).size, 1, 'all on one pooled connection');
  const replies = await Promise.all(concurrent.map((tunnel, index) => roundTrip(tunnel, `concurrent ${index}`)));
  t.same(replies, Array.from({ length: 10 }, (_, index) => `concurrent ${index}`));

  for (let index = 0; index < 10; index += 1) {
    const tunnel = await pool.connect(request(hbone.port));
    t.equal(await roundTrip(tunnel, `sequential ${index}`), `sequential ${index}`);
  }
  t.equal(hbone.accepted(), 1, '10 more sequential tunnels reused the connection');
  t.equal(hbone.openedConnections.length, 1, 'the server served one HTTP/2 connection');
  t.equal(pool.connectionCount, 1);
});

t.test('maxStreamsPerConnection 2 with 5 concurrent tunnels opens 3 connections', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool({ maxStreamsPerConnection: 2 });
  t.teardown(() => pool.destroy());
  const tunnels = await Promise.all(Array.from({ length: 5 }, () => pool.connect(request(hbone.port))));
  t.equal(hbone.openedConnections.length, 3, 'three server-side connections');
  t.same(
    pool
      .connections()
      .map((connection) => connection.activeStreams)
      .sort(),
    [1, 2, 2],
    'streams are packed two per connection',
  );
  await Promise.all(tunnels.map((tunnel, index) => roundTrip(tunnel, `t${index}`)));
  const next = await pool.connect(request(hbone.port));
  t.equal(hbone.openedConnections.length, 3, 'freed slots are reused');
  await roundTrip(next, 'again');
});

t.test('an idle connection closes after idleTimeoutMs and the next tunnel opens a fresh one', async (t) => {
  const hbone = await echoMesh(t);
  const closedOnServer: number[] = [];
  hbone.server.on('connectionClosed', (info) => closedOnServer.push(info.connectionId));
  const pool = new HbonePool({ idleTimeoutMs: 150 });
  t.teardown(() => pool.destroy());
  const first = await pool.connect(request(hbone.port));
  await roundTrip(first, 'one');
  await eventually(() => pool.connectionCount === 0, 'the idle connection to leave the pool');
  await eventually(() => closedOnServer.length === 1, 'the server to see the connection close');
  const second = await pool.connect(request(hbone.port));
  t.equal(await roundTrip(second, 'two'), 'two');
  t.equal(hbone.accepted(), 2, 'a new connection was made after the idle close');
});

t.test('an open tunnel keeps its connection from idling out', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool({ idleTimeoutMs: 50 });
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect(request(hbone.port));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(pool.connectionCount, 1, 'still pooled while a stream is open');
  t.equal(await roundTrip(tunnel, 'still here'), 'still here');
});

t.test('different source identities never share a connection', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const [a, b, c] = await Promise.all([pool.connect(request(hbone.port, client)), pool.connect(request(hbone.port, otherClient)), pool.connect(request(hbone.port, client))]);
  t.equal(hbone.openedConnections.length, 2, 'one connection per source identity');
  t.not(a?.connectionId, b?.connectionId);
  t.equal(a?.connectionId, c?.connectionId);
  t.same(hbone.openedConnections.map((info) => info.peer.identity).sort(), [CLIENT_ID, OTHER_ID].sort(), 'the server saw each identity once');
  await Promise.all([a, b, c].map((tunnel) => (tunnel ? roundTrip(tunnel, 'x') : Promise.resolve(''))));
});

t.test('different expected identities or partitions get separate connections', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const plain = await pool.connect(request(hbone.port));
  const wider = await pool.connect({ ...request(hbone.port), expectedIdentities: [SERVER_ID, OTHER_ID] });
  const partitioned = await pool.connect({ ...request(hbone.port), poolPartition: 'pod-uid-2' });
  t.equal(new Set([plain.connectionId, wider.connectionId, partitioned.connectionId]).size, 3);
  await Promise.all([plain, wider, partitioned].map((tunnel) => roundTrip(tunnel, 'x')));
});

t.test('after GOAWAY new tunnels go to a fresh connection while the old tunnel finishes', async (t) => {
  const app = await startTcpApp(t, echo);
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const old = await pool.connect(request(hbone.port));
  const oldServer = hbone.server;
  hbone.swapServer(new HboneServer({ certificateFor: () => server, onTunnel: dialApp(app.port) }));
  const draining = oldServer.close(10_000);
  await eventually(() => pool.connections().some((connection) => connection.state === 'draining'), 'the pool to see GOAWAY');
  const fresh = await pool.connect(request(hbone.port));
  t.not(fresh.connectionId, old.connectionId, 'a new connection after GOAWAY');
  t.equal(await roundTrip(fresh, 'fresh'), 'fresh');
  t.equal(await roundTrip(old, 'old'), 'old', 'the tunnel on the GOAWAY connection still completes');
  await draining;
  await eventually(() => pool.connectionCount === 1, 'the drained connection to leave the pool');
});

t.test('a connection that dies is removed and the next tunnel reconnects', async (t) => {
  const hbone = await echoMesh(t);
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const doomed = await pool.connect(request(hbone.port));
  const oldServer = hbone.server;
  hbone.swapServer(new HboneServer({ certificateFor: () => server, onTunnel: () => ({ status: 503, reason: 'unused' }) }));
  const reset = new Promise<Error>((resolve) => doomed.once('error', resolve));
  await oldServer.close(0);
  t.equal((await reset).name, 'HboneStreamReset', 'the open tunnel fails instead of hanging');
  await eventually(() => pool.connectionCount === 0, 'the dead connection to leave the pool');
  await t.rejects(pool.connect(request(hbone.port)), { code: 'CONNECT_REFUSED', status: 503 }, 'the next tunnel reached the new server');
  t.equal(hbone.accepted(), 2);
});
