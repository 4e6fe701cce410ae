// An HBONE tunnel carries bytes both ways with half-close, tells the server who is calling, and propagates resets.
import t from 'tap';
import { HbonePool, HboneStreamReset, type HboneTunnel, type TunnelDecision } from '../../../src/hbone';
import {
  CLIENT_ID,
  SERVER_ID,
  dialApp,
  dialTcp,
  eventually,
  meshRoot,
  randomBytes,
  readAll,
  sha256,
  startHbone,
  startTcpApp,
  workload,
} from './fixtures/mesh';

const MiB = 1024 * 1024;
const root = meshRoot();
const client = workload(root, CLIENT_ID);
const server = workload(root, SERVER_ID);

t.test('1 MiB each way with half-close; the handler sees the client identity and the authority', async (t) => {
  const reply = randomBytes(MiB);
  let appReceived: Buffer | undefined;
  // The app answers only after the client's half-close arrives, so both directions of the close are exercised.
  const app = await startTcpApp(t, (socket) => {
    readAll(socket).then((data) => {
      appReceived = data;
      socket.end(reply);
    }, () => undefined);
  });
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());

  const tunnel = await pool.connect({
    source: client,
    destination: { ip: '127.0.0.1', port: hbone.port },
    expectedIdentities: [SERVER_ID],
    authority: `10.0.0.7:${app.port}`,
    headers: { baggage: 'k8s.namespace.name=a', traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' },
  });
  t.equal(tunnel.peerIdentity, SERVER_ID, 'the tunnel reports the verified server identity');
  const sent = randomBytes(MiB);
  const received = readAll(tunnel);
  tunnel.end(sent);
  const got = await received;
  t.equal(got.length, MiB, 'a whole MiB came back');
  t.equal(sha256(got), sha256(reply), 'the reply arrived intact');
  t.equal(sha256(appReceived ?? Buffer.alloc(0)), sha256(sent), 'the app received what the client sent, then saw EOF');

  const request = hbone.requests[0];
  t.equal(request?.peer.identity, CLIENT_ID, 'the handler sees the client SPIFFE ID');
  t.same(request?.authority, { ip: '10.0.0.7', port: app.port }, 'the handler sees the parsed authority');
  t.equal(request?.headers['baggage'], 'k8s.namespace.name=a', 'request headers reach the handler');
  t.equal(request?.localAddress, '127.0.0.1');

  await eventually(() => hbone.closedTunnels.length === 1, 'the tunnelClosed event');
  const closed = hbone.closedTunnels[0];
  t.equal(closed?.outcome, 'completed');
  t.equal(closed?.status, 200);
  t.equal(closed?.bytesIn, MiB, 'bytes in counted');
  t.equal(closed?.bytesOut, MiB, 'bytes out counted');
  t.equal(tunnel.bytesSent, MiB);
  t.equal(tunnel.bytesReceived, MiB);
});

t.test('IPv6 authorities are bracketed and parsed', async (t) => {
  const app = await startTcpApp(t, (socket) => socket.end());
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect({
    source: client,
    destination: { ip: '127.0.0.1', port: hbone.port },
    expectedIdentities: [SERVER_ID],
    authority: '[fd00::a]:8080',
  });
  tunnel.end();
  await readAll(tunnel);
  t.same(hbone.requests[0]?.authority, { ip: 'fd00::a', port: 8080 });
});

t.test('an upstream reset resets the tunnel', async (t) => {
  const app = await startTcpApp(t, (socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect({ source: client, destination: { ip: '127.0.0.1', port: hbone.port }, expectedIdentities: [SERVER_ID], authority: '127.0.0.1:1' });
  tunnel.write('trigger');
  const error = await new Promise<Error>((resolve) => tunnel.once('error', resolve));
  t.ok(error instanceof HboneStreamReset, 'the client tunnel fails with HboneStreamReset');
  t.equal((error as HboneStreamReset).code, 'STREAM_RESET');
  await eventually(() => hbone.closedTunnels.length === 1, 'the tunnelClosed event');
  t.equal(hbone.closedTunnels[0]?.outcome, 'aborted');
  t.equal(hbone.closedTunnels[0]?.abortedBy, 'upstream');
});

t.test('destroying the client tunnel resets the upstream connection', async (t) => {
  let upstreamClosed = false;
  let upstreamGotEof = false;
  const app = await startTcpApp(t, (socket) => {
    socket.on('end', () => (upstreamGotEof = true));
    socket.on('close', () => (upstreamClosed = true));
    socket.write('hello');
  });
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel: HboneTunnel = await pool.connect({ source: client, destination: { ip: '127.0.0.1', port: hbone.port }, expectedIdentities: [SERVER_ID], authority: '127.0.0.1:1' });
  await new Promise((resolve) => tunnel.once('data', resolve));
  tunnel.destroy();
  await eventually(() => upstreamClosed, 'the upstream socket to close');
  t.notOk(upstreamGotEof, 'the upstream saw a reset, not a clean FIN');
  await eventually(() => hbone.closedTunnels.length === 1, 'the tunnelClosed event');
  t.equal(hbone.closedTunnels[0]?.abortedBy, 'tunnel');
});

t.test('response headers from the handler reach the client; headers Node cannot send turn into 503', async (t) => {
  const app = await startTcpApp(t, (socket) => socket.end());
  const hbone = await startHbone(t, {
    certificateFor: () => server,
    onTunnel: async (request): Promise<TunnelDecision> => {
      const upstream = await dialTcp(app.port);
      if (request.authority.port === 1) return { status: 200, upstream, headers: { baggage: 'k8s.namespace.name=b' } };
      return { status: 200, upstream, headers: { connection: 'close' } };
    },
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const base = { source: client, destination: { ip: '127.0.0.1', port: hbone.port }, expectedIdentities: [SERVER_ID] };
  const tunnel = await pool.connect({ ...base, authority: '10.0.0.1:1' });
  t.equal(tunnel.responseHeaders['baggage'], 'k8s.namespace.name=b');
  tunnel.end();
  await readAll(tunnel);
  await t.rejects(pool.connect({ ...base, authority: '10.0.0.1:2' }), { code: 'CONNECT_REFUSED', status: 503 });
  await eventually(() => hbone.closedTunnels.length === 2, 'tunnelClosed events');
  t.match(hbone.closedTunnels.find((closed) => closed.status === 503)?.reason, /response headers were rejected/);
});

t.test('pseudo-headers in a connect request are refused before anything is sent', async (t) => {
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  await t.rejects(
    pool.connect({ source: client, destination: { ip: '127.0.0.1', port: 1 }, expectedIdentities: [SERVER_ID], authority: '10.0.0.1:80', headers: { ':path': '/' } }),
    { code: 'INVALID_CONNECT_REQUEST' },
  );
  await t.rejects(pool.connect({ source: client, destination: { ip: '127.0.0.1', port: 1 }, expectedIdentities: [], authority: '10.0.0.1:80' }), {
    code: 'INVALID_CONNECT_REQUEST',
  });
  t.equal(pool.connectionCount, 0);
});
