// A WebSocket through the waypoint on loopback with real HBONE on both sides: 101 relayed, frames both ways, half-close, L7 denial without an upstream connection, a refused upgrade, and telemetry.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { HbonePool, type SpiffeId } from '../../../src/hbone';
import { parseSpiffeId } from '../../../src/pki';
import { HboneUpstreamConnector } from '../../../src/waypoint/upstream-hbone';
import { WaypointProxy } from '../../../src/waypoint/proxy';
import { meshRoot, startHbone, workload as cert } from '../hbone/fixtures/mesh';
import { configDoc, service, workload } from './fixtures/harness';

const CLIENT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/productpage');
const WAYPOINT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/waypoint');
const CHAT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/chat');
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One WebSocket frame with FIN set and a payload under 126 bytes; clients mask, servers do not (RFC 6455 5.2). */
function frame(opcode: number, text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text);
  const mask = masked ? Buffer.from([0x12, 0x34, 0x56, 0x78]) : Buffer.alloc(0);
  const body = masked ? Buffer.from(payload.map((b, i) => b ^ mask[i % 4])) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]), mask, body]);
}

/** Reads one small frame back: its opcode and unmasked text. */
function unframe(bytes: Buffer): { opcode: number; text: string } {
  const masked = (bytes[1] & 0x80) !== 0;
  const length = bytes[1] & 0x7f;
  const mask = masked ? bytes.subarray(2, 6) : undefined;
  const payload = bytes.subarray(masked ? 6 : 2, (masked ? 6 : 2) + length);
  return { opcode: bytes[0] & 0x0f, text: Buffer.from(payload.map((b, i) => (mask ? b ^ mask[i % 4] : b))).toString() };
}

function read(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    stream.once('data', (chunk: Buffer) => resolve(chunk));
    stream.once('error', reject);
  });
}

t.test('a WebSocket through the waypoint over HBONE', async (t) => {
  const root = meshRoot();
  const clientCert = cert(root, CLIENT);
  const waypointCert = cert(root, WAYPOINT);
  const chatCert = cert(root, CHAT);

  // The app: a WebSocket echo that answers the upgrade on /chat, refuses it with 400 on /bad, and upper-cases text.
  const seenUpgrades: http.IncomingHttpHeaders[] = [];
  const backendEnded: string[] = [];
  const app = http.createServer((_req, res) => res.writeHead(200).end('plain'));
  app.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    seenUpgrades.push(req.headers);
    if (req.url !== '/chat') {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 11\r\nconnection: close\r\n\r\nno upgrade!');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (chunk: Buffer) => {
      const got = unframe(chunk);
      if (got.opcode === 1) socket.write(frame(1, got.text.toUpperCase(), false));
    });
    socket.on('end', () => {
      backendEnded.push(String(req.url));
      socket.end();
    });
  });
  // Upgraded sockets are no longer the HTTP server's: closeAllConnections() does not reach them.
  const sockets = new Set<net.Socket>();
  app.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    app.close(() => resolve());
  }));
  const appPort = (app.address() as net.AddressInfo).port;

  // The chat pod's ztunnel: HBONE in, plain TCP to the app.
  const pod = await startHbone(t, {
    certificateFor: () => chatCert,
    onTunnel: async () => {
      const socket = net.connect({ host: '127.0.0.1', port: appPort });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return { status: 200, upstream: socket };
    },
  });

  const w = workload('chat-v1-aaa', '10.1.0.5', { app: 'chat', version: 'v1' }, { sa: 'chat' });
  const upstreamPool = new HbonePool();
  const connector = new HboneUpstreamConnector({
    source: async () => ({ ...waypointCert, identity: WAYPOINT }),
    pool: upstreamPool,
    dial: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: pod.port });
        socket.once('connect', () => resolve(socket)).once('error', reject);
      }),
  });
  const accessLines: Record<string, unknown>[] = [];
  const accessLog = pino({ level: 'info' }, { write: (line: string) => accessLines.push(JSON.parse(line) as Record<string, unknown>) });
  const proxy = new WaypointProxy({ connector, accessLog });
  t.teardown(() => {
    proxy.close();
    upstreamPool.destroy();
  });
  proxy.applyConfig(
    JSON.stringify(
      configDoc({
        services: [service('chat', '10.96.0.50', [w])],
        workloads: [w],
        policies: [{ name: 'bookinfo/no-admin', namespace: 'bookinfo', action: 'DENY', dryRun: false, attachment: { kind: 'gateway' }, rules: [{ to: [{ paths: ['/admin'] }] }] }],
      }),
    ),
  );
  const front = await startHbone(t, { certificateFor: () => waypointCert, onTunnel: (request) => proxy.onTunnel(request) });

  // The client's ztunnel: one HBONE tunnel per WebSocket, :authority = the service VIP.
  const clientPool = new HbonePool();
  t.teardown(() => clientPool.destroy());
  const open = async (path: string): Promise<{ kind: 'upgraded'; socket: Duplex; headers: http.IncomingHttpHeaders; head: Buffer } | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: string }> => {
    const tunnel = await clientPool.connect({ source: clientCert, destination: { ip: '127.0.0.1', port: front.port }, expectedIdentities: [WAYPOINT], authority: '10.96.0.50:9080' });
    const s = tunnel as unknown as Record<string, unknown>;
    for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref', 'setTimeout']) s[m] ??= () => tunnel;
    return new Promise((resolve, reject) => {
      const req = http.request({
        createConnection: () => tunnel as unknown as net.Socket,
        host: 'chat',
        path,
        headers: { host: 'chat:9080', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
      });
      req.once('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => resolve({ kind: 'upgraded', socket, headers: res.headers, head }));
      req.once('response', (res: http.IncomingMessage) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.once('error', reject);
      req.end();
    });
  };

  const ws = await open('/chat');
  if (ws.kind !== 'upgraded') throw new Error(`expected a 101, got ${ws.status} ${ws.body}`);
  t.equal(ws.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'the app\'s 101 is relayed with its handshake headers');
  t.equal(String(ws.headers.upgrade).toLowerCase(), 'websocket');
  t.equal(seenUpgrades[0].upgrade, 'websocket', 'Upgrade reaches the app');
  t.match(String(seenUpgrades[0].connection), /upgrade/i, 'Connection: Upgrade reaches the app');
  t.equal(seenUpgrades[0]['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
  t.ok(seenUpgrades[0]['x-request-id'], 'the request went through the filters (request id)');

  ws.socket.write(frame(1, 'hello waypoint', true));
  const echoed = unframe(ws.head.length > 0 ? ws.head : await read(ws.socket));
  t.same(echoed, { opcode: 1, text: 'HELLO WAYPOINT' }, 'a text frame goes up and its echo comes back');
  ws.socket.write(frame(1, 'again', true));
  t.same(unframe(await read(ws.socket)), { opcode: 1, text: 'AGAIN' }, 'the pipe keeps flowing');

  // Half-close: the client's end reaches the app, whose end comes back and closes the client side.
  const clientSawEnd = new Promise<void>((resolve) => ws.socket.once('end', () => resolve()));
  ws.socket.resume();
  ws.socket.end();
  await clientSawEnd;
  t.same(backendEnded, ['/chat'], 'the client\'s half-close reached the app');

  // The request is recorded once the upgraded connection is over.
  const deadline = Date.now() + 5_000;
  while (!accessLines.some((l) => l.responseCode === 101) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const line = accessLines.find((l) => l.responseCode === 101);
  t.ok(line, 'one access-log line for the WebSocket');
  t.equal(line?.upgrade, 'websocket');
  t.equal(line?.path, '/chat');
  t.ok(Number(line?.bytesSent) > 0 && Number(line?.bytesReceived) > 0, 'bytes each way are counted');
  t.type(line?.durationMs, 'number');

  // A path the policy denies: 403 from the waypoint and no connection to the pod.
  const podTunnels = pod.requests.length;
  const denied = await open('/admin');
  t.equal(denied.kind, 'response');
  if (denied.kind === 'response') {
    t.equal(denied.status, 403);
    t.equal(denied.body, 'RBAC: access denied');
    t.equal(denied.headers.connection, 'close', 'a refused upgrade closes the connection');
  }
  t.equal(pod.requests.length, podTunnels, 'a denied upgrade opens no upstream connection');

  // The app refuses the upgrade: its 400 is the client's answer.
  const refused = await open('/bad');
  t.equal(refused.kind, 'response');
  if (refused.kind === 'response') {
    t.equal(refused.status, 400);
    t.equal(refused.body, 'no upgrade!');
  }
  t.equal(pod.requests.length, podTunnels + 1, 'each upgrade that is forwarded opens its own upstream tunnel');
  t.equal(accessLines.filter((l) => l.responseCode === 101).length, 1, 'the WebSocket was logged once');

  const metrics = await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total');
  t.match(metrics, /istio_requests_total\{[^}]*response_code="101"[^}]*\} 1/, 'one request counted with response_code 101');
  t.match(metrics, /istio_requests_total\{[^}]*response_code="403"[^}]*\} 1/);
  t.match(metrics, /istio_requests_total\{[^}]*response_code="400"[^}]*\} 1/);
});
