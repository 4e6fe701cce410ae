// HBONE mutual TLS: both chains must verify against the mesh roots, the server must pass secure naming, and nothing else gets a tunnel.
import tls from 'node:tls';
import t from 'tap';
import {
  HbonePool,
  SecureNamingViolation,
  TlsHandshakeFailed,
  clientTlsOptions,
  serverTlsOptions,
  type HboneConnectRequest,
  type SourceIdentity,
} from '../../../src/hbone';
import { CLIENT_ID, OTHER_ID, SERVER_ID, dialApp, dialTcp, eventually, meshRoot, readAll, startHbone, startTcpApp, workload } from './fixtures/mesh';

const root = meshRoot();
const foreignRoot = meshRoot();
const client = workload(root, CLIENT_ID);
const server = workload(root, SERVER_ID);

function connectTo(port: number, source: SourceIdentity = client, expected = SERVER_ID): HboneConnectRequest {
  return { source, destination: { ip: '127.0.0.1', port }, expectedIdentities: [expected], authority: '127.0.0.1:8080' };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('the connect succeeded');
}

t.test('secure naming: a server presenting another identity is rejected with SECURE_NAMING', async (t) => {
  const impostor = workload(root, OTHER_ID);
  const hbone = await startHbone(t, { certificateFor: () => impostor, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port)));
  t.ok(error instanceof SecureNamingViolation, `SecureNamingViolation, got ${error.name}: ${error.message}`);
  t.equal((error as SecureNamingViolation).code, 'SECURE_NAMING');
  t.match(error.message, OTHER_ID, 'the message names the presented identity');
  t.match(error.message, SERVER_ID, 'the message names the expected identity');
  t.equal(hbone.requests.length, 0, 'no request reached the handler');
  t.equal(pool.connectionCount, 0, 'the failed connection left the pool');
});

t.test('secure naming accepts any one of several expected identities', async (t) => {
  const app = await startTcpApp(t, (socket) => socket.end());
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect({ ...connectTo(hbone.port), expectedIdentities: [OTHER_ID, SERVER_ID] });
  t.equal(tunnel.peerIdentity, SERVER_ID);
  tunnel.end();
  await readAll(tunnel);
});

t.test('a client certificate from another CA fails the handshake and never reaches the handler', async (t) => {
  const stranger = workload(foreignRoot, CLIENT_ID, { trust: [root] });
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port, stranger)));
  t.ok(error instanceof TlsHandshakeFailed, `TlsHandshakeFailed, got ${error.name}: ${error.message}`);
  t.equal((error as TlsHandshakeFailed).code, 'TLS_HANDSHAKE');
  t.equal(hbone.requests.length, 0, 'the handler was never called');
  t.equal(hbone.openedConnections.length, 0, 'no HTTP/2 connection was served');
  await eventually(() => hbone.rejections.length === 1, 'the connectionRejected event');
  t.equal(hbone.rejections[0]?.reason, 'TLS_HANDSHAKE');
});

t.test('an expired client certificate is refused', async (t) => {
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  const expired = workload(root, CLIENT_ID, { now: twoDaysAgo, ttlSeconds: 3600 });
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port, expired)));
  t.equal((error as TlsHandshakeFailed).code, 'TLS_HANDSHAKE', error.message);
  t.equal(hbone.requests.length, 0, 'the handler was never called');
});

t.test('a server certificate from another CA fails the handshake on the client', async (t) => {
  const foreignServer = workload(foreignRoot, SERVER_ID, { trust: [root] });
  const hbone = await startHbone(t, { certificateFor: () => foreignServer, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port)));
  t.ok(error instanceof TlsHandshakeFailed, `TlsHandshakeFailed, got ${error.name}: ${error.message}`);
  t.equal(hbone.requests.length, 0);
});

t.test('no certificate for the dialled address closes the connection', async (t) => {
  const hbone = await startHbone(t, { certificateFor: () => undefined, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port)));
  t.equal((error as TlsHandshakeFailed).code, 'TLS_HANDSHAKE', error.message);
  await eventually(() => hbone.rejections.length === 1, 'the connectionRejected event');
  t.equal(hbone.rejections[0]?.reason, 'NO_CERTIFICATE');
  t.match(hbone.rejections[0]?.message, /127\.0\.0\.1/);
});

t.test('an unusable certificate closes the connection and says why', async (t) => {
  const broken = { ...server, keyPem: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' };
  const hbone = await startHbone(t, { certificateFor: () => broken, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const error = await failure(pool.connect(connectTo(hbone.port)));
  t.equal((error as TlsHandshakeFailed).code, 'TLS_HANDSHAKE', error.message);
  await eventually(() => hbone.rejections.length === 1, 'the connectionRejected event');
  t.equal(hbone.rejections[0]?.reason, 'CERTIFICATE_LOOKUP');
  t.match(hbone.rejections[0]?.message, /unusable/);
});

t.test('the certificate is chosen by the local address the client dialled', async (t) => {
  const seen: string[] = [];
  const app = await startTcpApp(t, (socket) => socket.end());
  const hbone = await startHbone(t, {
    certificateFor: (localAddress) => {
      seen.push(localAddress);
      return server;
    },
    onTunnel: dialApp(app.port),
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect(connectTo(hbone.port));
  tunnel.end();
  await readAll(tunnel);
  t.same(seen, ['127.0.0.1']);
});

t.test('a slow certificate lookup loses no bytes the socket buffered meanwhile', async (t) => {
  const app = await startTcpApp(t, (socket) => socket.end('ok'));
  const hbone = await startHbone(t, {
    certificateFor: () => new Promise((resolve) => setTimeout(() => resolve(server), 150)),
    onTunnel: dialApp(app.port),
    handOverDelayMs: 100,
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect(connectTo(hbone.port));
  tunnel.end();
  t.equal((await readAll(tunnel)).toString(), 'ok');
});

t.test('clients send no SNI, offer only h2 and speak TLS 1.3', async (t) => {
  const terminator = tls.createServer(serverTlsOptions(server, 5_000));
  const seen = new Promise<tls.TLSSocket>((resolve) => terminator.once('secureConnection', resolve));
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => terminator.close(() => resolve())));
  const address = terminator.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const socket = tls.connect(clientTlsOptions(client, [SERVER_ID], await dialTcp(port)));
  t.teardown(() => socket.destroy());
  const accepted = await seen;
  t.teardown(() => accepted.destroy());
  t.equal(accepted.servername, false, 'no SNI');
  t.equal(accepted.alpnProtocol, 'h2');
  t.equal(accepted.getProtocol(), 'TLSv1.3');
  t.equal(accepted.authorized, true, 'the client chain verified');
});
