// The production path on loopback: a client's HBONE tunnel to the waypoint (mTLS, :authority = service VIP), L7 routing and policy, then HBONE from the waypoint to the pod's ztunnel with secure naming.
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { HbonePool, type SpiffeId } from '../../../src/hbone';
import { parseSpiffeId } from '../../../src/pki';
import { HboneUpstreamConnector } from '../../../src/waypoint/upstream-hbone';
import { WaypointProxy } from '../../../src/waypoint/proxy';
import { meshRoot, startHbone, workload as cert } from '../hbone/fixtures/mesh';
import { configDoc, service, startBackend, workload } from './fixtures/harness';

const CLIENT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/productpage');
const WAYPOINT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/waypoint');
const REVIEWS: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/reviews');

t.test('HTTP through real HBONE on both sides of the waypoint', async (t) => {
  const root = meshRoot();
  const clientCert = cert(root, CLIENT);
  const waypointCert = cert(root, WAYPOINT);
  const reviewsCert = cert(root, REVIEWS);
  const backend = await startBackend(t, 'reviews-v1');

  // The destination pod's ztunnel: accepts HBONE as the reviews identity and delivers to the app.
  const peersAtPod: string[] = [];
  const pod = await startHbone(t, {
    certificateFor: () => reviewsCert,
    onTunnel: async (request) => {
      peersAtPod.push(`${request.peer.identity} -> ${request.authority.ip}:${request.authority.port}`);
      const socket = net.connect({ host: '127.0.0.1', port: backend.port });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return { status: 200, upstream: socket };
    },
  });

  const w = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' }, { sa: 'reviews' });
  const upstreamPool = new HbonePool();
  const connector = new HboneUpstreamConnector({
    source: async () => ({ ...waypointCert, identity: WAYPOINT }),
    pool: upstreamPool,
    // The pod's address is 10.1.0.1; on loopback its ztunnel listens on the harness port.
    dial: (ip, port) =>
      new Promise((resolve, reject) => {
        t.equal(`${ip}:${port}`, '10.1.0.1:15008', 'HBONE goes to the pod on 15008');
        const socket = net.connect({ host: '127.0.0.1', port: pod.port });
        socket.once('connect', () => resolve(socket)).once('error', reject);
      }),
  });
  const proxy = new WaypointProxy({ connector });
  t.teardown(() => {
    proxy.close();
    upstreamPool.destroy();
  });
  proxy.applyConfig(
    JSON.stringify(
      configDoc({
        services: [service('reviews', '10.96.0.10', [w])],
        workloads: [w],
        policies: [{ name: 'bookinfo/get-only', namespace: 'bookinfo', action: 'ALLOW', dryRun: false, attachment: { kind: 'gateway' }, rules: [{ from: [{ principals: ['cluster.local/ns/bookinfo/sa/productpage'] }], to: [{ methods: ['GET'] }] }] }],
      }),
    ),
  );
  const front = await startHbone(t, { certificateFor: () => waypointCert, onTunnel: (request) => proxy.onTunnel(request) });

  // The client's ztunnel: HBONE to the waypoint with the service VIP as :authority.
  const clientPool = new HbonePool();
  t.teardown(() => clientPool.destroy());
  const agent = new http.Agent({ keepAlive: true });
  (agent as unknown as { createConnection: unknown }).createConnection = (_options: unknown, callback: (e: Error | null, s?: unknown) => void) => {
    clientPool
      .connect({ source: clientCert, destination: { ip: '127.0.0.1', port: front.port }, expectedIdentities: [WAYPOINT], authority: '10.96.0.10:9080' })
      .then((tunnel) => {
        const s = tunnel as unknown as Record<string, unknown>;
        for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref', 'setTimeout']) s[m] ??= () => tunnel;
        callback(null, tunnel);
      }, callback);
    return undefined;
  };
  t.teardown(() => agent.destroy());
  const get = (method: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ agent, host: 'reviews', port: 9080, method, path: '/reviews/1' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  const ok = await get('GET');
  t.equal(ok.status, 200);
  t.equal(ok.body, 'reviews-v1');
  const denied = await get('DELETE');
  t.equal(denied.status, 403, 'the client identity proven by mTLS is what L7 policy judges');
  t.equal(denied.body, 'RBAC: access denied');
  t.equal((await get('GET')).status, 200, 'keep-alive through the tunnel');
  t.same(front.requests.map((r) => `${r.peer.identity} -> ${r.authority.ip}:${r.authority.port}`), [`${CLIENT} -> 10.96.0.10:9080`], 'one client tunnel carried every request');
  t.ok(peersAtPod.length >= 1);
  t.ok(peersAtPod.every((p) => p === `${WAYPOINT} -> 10.1.0.1:9080`), 'the pod sees the waypoint identity and its own address:targetPort as :authority');
  t.equal(backend.seen.length, 2);
  t.equal(upstreamPool.connectionCount, 1, 'upstream tunnels share one pooled HBONE connection');
});
