// The Waypoint process wiring on loopback: xDS subscription (node id and metadata), NACK of a bad push, HBONE on its port, readiness, metrics and /config_dump.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { HbonePool, type SpiffeId } from '../../../src/hbone';
import { parseSpiffeId } from '../../../src/pki';
import { encodeWaypointConfig, WAYPOINT_TYPE_URL } from '../../../src/xds';
import { Waypoint, waypointNodeId } from '../../../src/waypoint/waypoint';
import { captureLogger, makeTlsMaterial, MemoryCatalog, startXdsServer, waitFor } from '../controlplane/push/fixtures/xds-harness';
import { meshRoot, workload as cert } from '../hbone/fixtures/mesh';
import { configDoc, FakeConnector, service, startBackend, workload } from './fixtures/harness';

const WAYPOINT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/waypoint');
const CLIENT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/productpage');

function httpGet(port: number, urlPath: string, agent?: http.Agent, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: urlPath, ...(agent ? { agent } : {}) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('a waypoint process takes its config over xDS, serves HBONE, and NACKs a bad push', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-waypoint-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tls = makeTlsMaterial(t);
  fs.writeFileSync(path.join(dir, 'root.pem'), tls.cert);
  fs.writeFileSync(path.join(dir, 'token'), 'good-token\n');
  const root = meshRoot();
  const waypointCert = cert(root, WAYPOINT);
  const clientCert = cert(root, CLIENT);

  const b1 = await startBackend(t, 'v1');
  const b2 = await startBackend(t, 'v2');
  const w1 = workload('reviews-v1-a', '10.1.0.1', { app: 'reviews', version: 'v1' });
  const w2 = workload('reviews-v2-b', '10.1.0.2', { app: 'reviews', version: 'v2' });
  const connector = new FakeConnector().map('10.1.0.1', 9080, b1.port).map('10.1.0.2', 9080, b2.port);
  const docFor = (endpoint: typeof w1) => configDoc({ services: [service('reviews', '10.96.0.10', [endpoint])], workloads: [w1, w2] });
  const resource = (json: string) => encodeWaypointConfig({ name: 'waypoint', namespace: 'bookinfo', json });

  const catalog = new MemoryCatalog();
  catalog.set(WAYPOINT_TYPE_URL, 'bookinfo/waypoint', '1', resource(JSON.stringify(docFor(w1))));
  const server = await startXdsServer(t, { catalog, tls });
  const { logger, lines } = captureLogger();
  const waypoint = new Waypoint({
    name: 'waypoint',
    namespace: 'bookinfo',
    identity: WAYPOINT,
    podIp: '10.1.7.7',
    podName: 'waypoint-abc',
    controlPlaneAddress: server.address,
    controlPlaneName: '127.0.0.1',
    rootCertFile: path.join(dir, 'root.pem'),
    tokenFile: path.join(dir, 'token'),
    logger,
    accessLog: logger,
    listenHost: '127.0.0.1',
    hbonePort: 0,
    adminPorts: { admin: 0, metrics: 0, readiness: 0 },
    certificates: { get: async () => waypointCert },
    connector,
  });
  await waypoint.start();
  t.teardown(() => waypoint.stop());
  const ports = waypoint.adminPorts!;
  await waitFor(() => waypoint.proxy.ready, 'the first config');
  t.equal((await httpGet(ports.readiness, '/healthz/ready')).status, 200, 'ready once config is applied');
  const client = catalog.seenClients.find((c) => c.nodeId.startsWith('waypoint~'));
  t.equal(client?.nodeId, waypointNodeId('10.1.7.7', 'waypoint-abc', 'bookinfo'));
  t.equal(client?.nodeId, 'waypoint~10.1.7.7~waypoint-abc.bookinfo~bookinfo.svc.cluster.local');
  t.same(client?.metadata, { WAYPOINT_NAME: 'waypoint', WAYPOINT_NAMESPACE: 'bookinfo' });

  const pool = new HbonePool();
  t.teardown(() => pool.destroy());
  const agent = new http.Agent({ keepAlive: false });
  (agent as unknown as { createConnection: unknown }).createConnection = (_o: unknown, callback: (e: Error | null, s?: unknown) => void) => {
    pool.connect({ source: clientCert, destination: { ip: '127.0.0.1', port: waypoint.hbonePort }, expectedIdentities: [WAYPOINT], authority: '10.96.0.10:9080' }).then((tunnel) => {
      const s = tunnel as unknown as Record<string, unknown>;
      for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref', 'setTimeout']) s[m] ??= () => tunnel;
      callback(null, tunnel);
    }, callback);
    return undefined;
  };
  t.equal((await httpGet(9080, '/', agent, 'reviews')).body, 'v1', 'HBONE on the waypoint port reaches the service');

  const generation = waypoint.proxy.table.generation;
  catalog.set(WAYPOINT_TYPE_URL, 'bookinfo/waypoint', '2', resource('{"version": 2}'));
  await waitFor(() => lines.some((l) => l.msg === 'rejected a waypoint config push; keeping the last good config'), 'the NACK');
  t.equal(waypoint.proxy.table.generation, generation, 'the bad push changed nothing');
  t.equal((await httpGet(9080, '/', agent, 'reviews')).body, 'v1', 'the last good config keeps serving');

  catalog.set(WAYPOINT_TYPE_URL, 'bookinfo/waypoint', '3', resource(JSON.stringify(docFor(w2))));
  await waitFor(() => waypoint.proxy.table.generation > generation, 'the next good config');
  t.equal((await httpGet(9080, '/', agent, 'reviews')).body, 'v2');

  const metrics = await httpGet(ports.metrics, '/stats/prometheus');
  const series = metrics.body.split('\n').filter((line) => line.startsWith('istio_requests_total{'));
  t.ok(series.every((line) => /reporter="waypoint"/.test(line) && /request_protocol="http"/.test(line) && /connection_security_policy="mutual_tls"/.test(line)), 'Istio\'s labels with reporter="waypoint"');
  const ok = series.filter((line) => /destination_service="reviews.bookinfo.svc.cluster.local"/.test(line) && /response_code="200"/.test(line));
  t.equal(ok.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0), 3, 'three successful requests counted');
  t.ok(ok.some((line) => /destination_workload="reviews-v2"/.test(line) && /destination_version="v2"/.test(line)), 'with the destination workload');
  t.equal((await httpGet(ports.metrics, '/metrics')).status, 200);
  const dump = JSON.parse((await httpGet(ports.admin, '/config_dump')).body) as { generation: number; config: { services: { hostname: string }[] }; clusters: unknown[] };
  t.equal(dump.generation, waypoint.proxy.table.generation);
  t.same(dump.config.services.map((s) => s.hostname), ['reviews.bookinfo.svc.cluster.local']);
  t.ok(dump.clusters.length >= 1);
  t.ok(lines.some((l) => l.msg === 'request' && l.responseCode === 200 && l['src.identity'] === CLIENT), 'an access-log line per request');
  agent.destroy();
});
