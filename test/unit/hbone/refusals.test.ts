// A refused tunnel answers with a status and a reset, never a hang: policy denials, failed upstreams, bad requests, broken handlers.
import net from 'node:net';
import t from 'tap';
import { HboneConnectRefused, HbonePool, type HboneConnectRequest } from '../../../src/hbone';
import { CLIENT_ID, SERVER_ID, dialApp, eventually, meshRoot, rawHboneSession, requestStatus, startHbone, workload } from './fixtures/mesh';

const root = meshRoot();
const client = workload(root, CLIENT_ID);
const server = workload(root, SERVER_ID);

function connectTo(port: number, authority = '127.0.0.1:8080'): HboneConnectRequest {
  return { source: client, destination: { ip: '127.0.0.1', port }, expectedIdentities: [SERVER_ID], authority };
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function refusal(promise: Promise<unknown>): Promise<HboneConnectRefused> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HboneConnectRefused) return error;
    throw error;
  }
  throw new Error('the connect was not refused');
}

t.test('a 403 from the handler reaches the client as HboneConnectRefused, and the connection stays usable', async (t) => {
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: () => ({ status: 403, reason: 'policy deny-all' }) });
  const pool = new HbonePool({ connectTimeoutMs: 60_000 });
  t.teardown(() => pool.destroy());
  const refused = await refusal(pool.connect(connectTo(hbone.port)));
  t.equal(refused.code, 'CONNECT_REFUSED');
  t.equal(refused.status, 403);
  t.match(refused.message, /127\.0\.0\.1:8080.*403/);
  const again = await refusal(pool.connect(connectTo(hbone.port)));
  t.equal(again.status, 403, 'a second tunnel on the same connection is refused the same way');
  t.equal(hbone.openedConnections.length, 1, 'refusals do not cost the connection');
  await eventually(() => hbone.closedTunnels.length === 2, 'tunnelClosed events');
  t.same(
    hbone.closedTunnels.map((closed) => [closed.status, closed.outcome, closed.reason]),
    [
      [403, 'refused', 'policy deny-all'],
      [403, 'refused', 'policy deny-all'],
    ],
  );
});

t.test('a failed upstream connect, mapped to 503 by the handler, reaches the client as 503', async (t) => {
  const deadPort = await closedPort();
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(deadPort) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const refused = await refusal(pool.connect(connectTo(hbone.port)));
  t.equal(refused.status, 503);
  await eventually(() => hbone.closedTunnels.length === 1, 'tunnelClosed');
  t.match(hbone.closedTunnels[0]?.reason, /upstream connect failed.*ECONNREFUSED/);
});

t.test('a handler that throws or rejects answers 503', async (t) => {
  let calls = 0;
  const hbone = await startHbone(t, {
    certificateFor: () => server,
    onTunnel: () => {
      calls += 1;
      if (calls === 1) throw new Error('handler bug');
      return Promise.reject(new Error('async handler bug'));
    },
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  t.equal((await refusal(pool.connect(connectTo(hbone.port)))).status, 503);
  t.equal((await refusal(pool.connect(connectTo(hbone.port)))).status, 503);
  await eventually(() => hbone.closedTunnels.length === 2, 'tunnelClosed');
  t.match(hbone.closedTunnels[0]?.reason, /handler bug/);
});

t.test('a handler that never decides answers 503 after the decision timeout and sees its signal aborted', async (t) => {
  let signal: AbortSignal | undefined;
  const hbone = await startHbone(t, {
    certificateFor: () => server,
    decisionTimeoutMs: 200,
    onTunnel: (request) => {
      signal = request.signal;
      return new Promise(() => undefined);
    },
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  t.equal((await refusal(pool.connect(connectTo(hbone.port)))).status, 503);
  t.equal(signal?.aborted, true, 'the handler was told to stop');
});

t.test('a client giving up aborts the pending decision', async (t) => {
  let signal: AbortSignal | undefined;
  const hbone = await startHbone(t, {
    certificateFor: () => server,
    onTunnel: (request) => {
      signal = request.signal;
      return new Promise(() => undefined);
    },
  });
  const pool = new HbonePool({ connectTimeoutMs: 300 });
  t.teardown(() => pool.destroy());
  await t.rejects(pool.connect(connectTo(hbone.port)), { code: 'CONNECT_TIMEOUT' });
  await eventually(() => signal?.aborted === true, 'the handler signal to abort');
  await eventually(() => hbone.closedTunnels.length === 1, 'tunnelClosed');
  t.equal(hbone.closedTunnels[0]?.outcome, 'cancelled');
});

t.test('a non-CONNECT request or a bad authority gets 400 without reaching the handler', async (t) => {
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: () => ({ status: 403, reason: 'unreachable' }) });
  const session = await rawHboneSession(t, hbone.port, client, SERVER_ID);
  t.equal(await requestStatus(session, { ':method': 'GET', ':path': '/' }), 400, 'GET');
  t.equal(await requestStatus(session, { ':method': 'POST', ':path': '/x' }), 400, 'POST');
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  for (const authority of ['example.com:80', '10.0.0.1', '10.0.0.1:0', '10.0.0.1:70000', 'fd00::1:80', '[fd00::1]', '10.0.0.1:http']) {
    const refused = await refusal(pool.connect(connectTo(hbone.port, authority)));
    t.equal(refused.status, 400, `authority ${authority}`);
  }
  t.equal(hbone.requests.length, 0, 'the handler never ran');
  await eventually(() => hbone.closedTunnels.length === 9, 'tunnelClosed events');
  t.ok(hbone.closedTunnels.every((closed) => closed.status === 400 && closed.outcome === 'refused'));
});
