// Hostile and broken peers on the HBONE port: garbage instead of TLS, TLS without a client certificate, garbage after
// the handshake instead of HTTP/2, a flood of streams, a silent socket. Each is refused on its own connection, the server
// keeps running, and a tunnel that was already carrying data carries on undisturbed.
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { HbonePool, HboneServer } from '../../../src/hbone';
import { CLIENT_ID, SERVER_ID, dialApp, dialTcp, echo, eventually, meshRoot, randomBytes, rawHboneSession, requestStatus, startHbone, startTcpApp, workload } from './fixtures/mesh';

const root = meshRoot();
const client = workload(root, CLIENT_ID);
const server = workload(root, SERVER_ID);

/** Resolves when the server hangs up: its FIN (our side may be half-open) or a reset. */
function hungUp(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.once('end', done);
    socket.once('close', done);
    socket.on('error', done);
    // 'end' comes only once whatever the server sent before its FIN (a GOAWAY, an alert) has been read.
    socket.resume();
  });
}

/** Writes `count` chunks through an echo tunnel one at a time and checks each comes back intact. */
async function pingPong(duplex: NodeJS.ReadWriteStream, count: number): Promise<number> {
  let intact = 0;
  for (let i = 0; i < count; i++) {
    const chunk = randomBytes(4096);
    const back = await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      let size = 0;
      const onData = (data: Buffer) => {
        parts.push(data);
        size += data.length;
        if (size >= chunk.length) {
          duplex.off('data', onData);
          resolve(Buffer.concat(parts));
        }
      };
      duplex.on('data', onData);
      duplex.write(chunk);
    });
    if (back.equals(chunk)) intact += 1;
  }
  return intact;
}

t.test('hostile connections are refused one by one while an established tunnel keeps working', async (t) => {
  const app = await startTcpApp(t, echo);
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const tunnel = await pool.connect({ source: client, destination: { ip: '127.0.0.1', port: hbone.port }, expectedIdentities: [SERVER_ID], authority: '127.0.0.1:8080' });
  t.equal(await pingPong(tunnel, 5), 5, 'the tunnel works before the attack');

  const attacks: Promise<unknown>[] = [];
  // 1. Plain garbage where a TLS ClientHello belongs.
  for (let i = 0; i < 20; i++) {
    attacks.push(
      dialTcp(hbone.port).then(async (socket) => {
        socket.write(randomBytes(1024));
        await hungUp(socket);
      }),
    );
  }
  // 2. TLS without a client certificate.
  for (let i = 0; i < 5; i++) {
    attacks.push(
      new Promise<void>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: hbone.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
        void hungUp(socket).then(resolve);
      }),
    );
  }
  // 3. A proper mTLS handshake, then garbage instead of the HTTP/2 preface.
  for (let i = 0; i < 5; i++) {
    attacks.push(
      dialTcp(hbone.port).then(
        (raw) =>
          new Promise<void>((resolve) => {
            const socket = tls.connect({ socket: raw, ca: root.certPem, cert: client.certChainPems.join(''), key: client.keyPem, ALPNProtocols: ['h2'], rejectUnauthorized: false });
            socket.on('secureConnect', () => socket.write(randomBytes(2048)));
            void hungUp(socket).then(resolve);
          }),
      ),
    );
  }
  // Meanwhile the established tunnel keeps carrying data.
  const during = pingPong(tunnel, 20);
  await Promise.all(attacks);
  t.equal(await during, 20, 'every chunk echoed intact during the attack');
  t.equal(await pingPong(tunnel, 5), 5, 'and after it');
  t.ok(hbone.rejections.length >= 5, `refusals were reported (${hbone.rejections.length}), e.g. ${hbone.rejections[0]?.reason ?? ''}`);

  const fresh = await pool.connect({ source: client, destination: { ip: '127.0.0.1', port: hbone.port }, expectedIdentities: [SERVER_ID], authority: '127.0.0.1:8080' });
  t.equal(await pingPong(fresh, 3), 3, 'a new tunnel is accepted afterwards');
  fresh.end();
  tunnel.end();
});

t.test('a flood of CONNECT streams on one connection: all answered within the stream limit, the session survives', async (t) => {
  const app = await startTcpApp(t, echo);
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const session = await rawHboneSession(t, hbone.port, client, SERVER_ID);
  const limit = await new Promise<number>((resolve) => {
    const settings = session.remoteSettings;
    if (session.remoteSettings?.maxConcurrentStreams !== undefined && session.state.remoteWindowSize !== undefined) resolve(settings.maxConcurrentStreams ?? 0);
    session.once('remoteSettings', (remote) => resolve(remote.maxConcurrentStreams ?? 0));
  });
  t.equal(limit, 100, 'the server announces ztunnel\'s 100 concurrent streams');
  // 300 at once: the client may only have 100 open, so each tunnel is closed as soon as it is answered.
  const statuses = await Promise.all(
    Array.from(
      { length: 300 },
      () =>
        new Promise<number>((resolve) => {
          const stream = session.request({ ':method': 'CONNECT', ':authority': '127.0.0.1:8080' }, { endStream: false });
          stream.on('error', () => undefined);
          stream.once('response', (headers) => {
            resolve(Number(headers[':status']));
            stream.close();
          });
          stream.once('close', () => resolve(0));
        }),
    ),
  );
  t.equal(statuses.filter((status) => status === 200).length, 300, 'every tunnel of the flood was answered 200');
  t.notOk(session.destroyed, 'the session itself is still open');
  t.equal(await requestStatus(session, { ':method': 'GET', ':path': '/' }), 400, 'and still answers requests');
});

t.test('a socket that never starts TLS is closed after the handshake timeout', async (t) => {
  const hbone = new HboneServer({ certificateFor: () => server, onTunnel: () => ({ status: 503, reason: 'unused' }), handshakeTimeoutMs: 300 });
  const reasons: string[] = [];
  hbone.on('connectionRejected', (rejection) => reasons.push(rejection.message));
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => hbone.handleConnection(socket));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await hbone.close(0);
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  const silent = await dialTcp((listener.address() as net.AddressInfo).port);
  const started = Date.now();
  await hungUp(silent);
  t.ok(Date.now() - started < 5000, 'closed by the server, not left open');
  await eventually(() => reasons.length > 0, 'the rejection event');
  t.match(reasons, [/handshake timeout/i], 'and reported with the reason');
});
