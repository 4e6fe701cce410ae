// Certificate renewal on either side: tunnels already open keep running, new tunnels use the new certificate.
import t from 'tap';
import { certInfo } from '../../../src/pki';
import { HbonePool, SecureNamingViolation, type HboneConnectRequest, type HboneTunnel, type SourceIdentity } from '../../../src/hbone';
import { CLIENT_ID, OTHER_ID, SERVER_ID, dialApp, echo, meshRoot, readAll, startHbone, startTcpApp, workload } from './fixtures/mesh';

const root = meshRoot();
const server = workload(root, SERVER_ID);

function serialOf(material: SourceIdentity): string {
  return certInfo(material.certChainPems[0] ?? '').serial;
}

async function roundTrip(tunnel: HboneTunnel, message: string): Promise<string> {
  const reply = readAll(tunnel);
  tunnel.end(message);
  return (await reply).toString();
}

/** Writes and reads one message without closing the tunnel. */
async function ping(tunnel: HboneTunnel, message: string): Promise<string> {
  const reply = new Promise<string>((resolve) => tunnel.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  tunnel.write(message);
  return reply;
}

t.test('a renewed client certificate is presented by new tunnels; the open tunnel keeps working', async (t) => {
  const app = await startTcpApp(t, echo);
  const hbone = await startHbone(t, { certificateFor: () => server, onTunnel: dialApp(app.port) });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const before = workload(root, CLIENT_ID);
  const after = workload(root, CLIENT_ID);
  const to = (source: SourceIdentity): HboneConnectRequest => ({
    source,
    destination: { ip: '127.0.0.1', port: hbone.port },
    expectedIdentities: [SERVER_ID],
    authority: '10.0.0.3:80',
  });

  const old = await pool.connect(to(before));
  t.equal(await ping(old, 'first'), 'first');
  const renewed = await pool.connect(to(after));
  t.not(renewed.connectionId, old.connectionId, 'the renewed certificate got its own connection');
  t.same(
    hbone.requests.map((request) => request.peer.certificateSerial),
    [serialOf(before), serialOf(after)],
    'the server saw the old serial, then the new one',
  );
  t.equal(await ping(old, 'still alive'), 'still alive', 'the tunnel opened before the renewal still carries data');
  t.equal(pool.connections().find((connection) => connection.id === old.connectionId)?.state, 'draining', 'the old connection takes no new streams');
  const another = await pool.connect(to(after));
  t.equal(another.connectionId, renewed.connectionId, 'later tunnels share the renewed connection');
  t.equal(await roundTrip(old, 'bye'), 'bye');
  await Promise.all([roundTrip(renewed, 'r'), roundTrip(another, 'a')]);
});

t.test('a server that swaps its certificate serves new connections with it; open tunnels are untouched', async (t) => {
  const app = await startTcpApp(t, echo);
  let current = workload(root, SERVER_ID);
  const hbone = await startHbone(t, { certificateFor: () => current, onTunnel: dialApp(app.port) });
  const client = workload(root, CLIENT_ID);
  // Separate pool partitions force a new connection per phase so each sees the certificate of its moment.
  const to = (expected: typeof SERVER_ID, phase: string): HboneConnectRequest => ({
    source: client,
    destination: { ip: '127.0.0.1', port: hbone.port },
    expectedIdentities: [expected],
    authority: '10.0.0.3:80',
    poolPartition: phase,
  });
  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const old = await pool.connect(to(SERVER_ID, 'before'));
  current = workload(root, OTHER_ID);
  await t.rejects(pool.connect(to(SERVER_ID, 'after')), SecureNamingViolation, 'a new connection now sees the new identity');
  const renewed = await pool.connect(to(OTHER_ID, 'after-2'));
  t.equal(renewed.peerIdentity, OTHER_ID);
  t.equal(await roundTrip(old, 'old'), 'old', 'the tunnel made under the old certificate still works');
  t.equal(await roundTrip(renewed, 'new'), 'new');
});
