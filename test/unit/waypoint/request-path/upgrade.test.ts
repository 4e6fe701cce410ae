// Story tests of HTTP/1.1 Upgrade through an in-process waypoint: which upgrades are proxied, which filters apply (route, fault, rewrite) and which do not (retries, mirrors, the route timeout after the 101), h2c served as HTTP/1.1.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import type { HttpRouteDoc } from '../../../../src/waypoint/config/types';
import type { WaypointProxy } from '../../../../src/waypoint/proxy';
import { configDoc, FakeConnector, service, startBackend, startProxy, tunnel, workload } from '../fixtures/harness';

const HOST = 'reviews.bookinfo.svc.cluster.local';
const a = workload('reviews-v1-aaa', '10.1.0.1', { app: 'reviews', version: 'v1' });
const m = workload('mirror-v1-mmm', '10.1.5.5', { app: 'mirror' });
const route = (parts: Partial<HttpRouteDoc>): HttpRouteDoc => ({ name: 'r', source: 'VirtualService bookinfo/reviews', gatewaySemantics: false, matches: [], destinations: [{ host: HOST, weight: 100 }], ...parts });

interface UpgradeBackend {
  readonly port: number;
  readonly upgrades: { url: string; headers: http.IncomingHttpHeaders }[];
  readonly plain: { url: string; headers: http.IncomingHttpHeaders; body: string }[];
}

/**
 * A loopback app: plain requests get 200 "plain:<body>"; upgrades are answered by `onUpgrade` (default: 101, then
 * every chunk echoed with a "echo:" prefix, and the end echoed).
 */
async function startUpgradeBackend(t: Test, onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<UpgradeBackend> {
  const upgrades: UpgradeBackend['upgrades'] = [];
  const plain: UpgradeBackend['plain'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      plain.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`plain:${body}`);
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    if (onUpgrade) {
      onUpgrade(req, socket, head);
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on('end', () => socket.end());
  });
  // Upgraded sockets are no longer the HTTP server's: closeAllConnections() does not reach them.
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as net.AddressInfo).port, upgrades, plain };
}

async function setup(t: Test, routes: HttpRouteDoc[], onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) {
  const back = await startUpgradeBackend(t, onUpgrade);
  const mirror = await startBackend(t, 'mirror');
  const connector = new FakeConnector().map('10.1.0.1', 9080, back.port).map('10.1.5.5', 9080, mirror.port);
  const doc = configDoc({ services: [service('reviews', '10.96.0.10', [a], { routes })], backends: [service('mirror', '10.96.0.99', [m])], workloads: [a, m] });
  const proxy = startProxy(t, connector, doc);
  return { back, mirror, proxy, connector };
}

type Outcome = { kind: 'upgraded'; socket: Duplex; head: Buffer } | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: string };

/** Sends one Upgrade request on a fresh tunnel to the reviews VIP. */
function upgrade(proxy: WaypointProxy, path: string, headers: Record<string, string> = {}, body?: string): Promise<Outcome> {
  const stream = tunnel(proxy, '10.96.0.10:9080') as Duplex & Record<string, unknown>;
  for (const method of ['setKeepAlive', 'setNoDelay', 'ref', 'unref', 'setTimeout']) stream[method] ??= () => stream;
  return new Promise((resolve, reject) => {
    const req = http.request({ createConnection: () => stream as unknown as net.Socket, path, headers: { host: 'reviews:9080', connection: 'Upgrade', upgrade: 'websocket', ...headers } });
    req.once('upgrade', (_res: http.IncomingMessage, socket: Duplex, head: Buffer) => resolve({ kind: 'upgraded', socket, head }));
    req.once('response', (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

function readText(stream: Duplex): Promise<string> {
  return new Promise((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
}

t.test('route matching, request header operations and path rewrite apply to the upgrade request', async (t) => {
  const { back, proxy } = await setup(t, [
    route({ matches: [{ uri: { prefix: '/ws' } }], rewrite: { prefix: '/socket' }, headers: { request: { set: [['x-via', 'waypoint']] }, response: { set: [['x-resp', 'yes']] } } }),
  ]);
  const ws = await upgrade(proxy, '/ws/room1');
  t.equal(ws.kind, 'upgraded');
  t.equal(back.upgrades[0].url, '/socket/room1', 'the rewritten path goes upstream');
  t.equal(back.upgrades[0].headers['x-via'], 'waypoint');
  if (ws.kind === 'upgraded') {
    ws.socket.write('ping');
    t.equal(await readText(ws.socket), 'echo:ping');
    ws.socket.destroy();
  }
  const unmatched = await upgrade(proxy, '/other');
  t.equal(unmatched.kind === 'response' && unmatched.status, 404, 'no matching route: 404, as for any request');
  t.equal(back.upgrades.length, 1);
});

t.test('a fault abort answers the upgrade itself and opens no upstream connection', async (t) => {
  const { back, proxy, connector } = await setup(t, [route({ fault: { abort: { httpStatus: 418, percentage: 100 } } })]);
  const reply = await upgrade(proxy, '/');
  t.equal(reply.kind === 'response' && reply.status, 418);
  t.equal(back.upgrades.length, 0);
  t.same(connector.connects, []);
});

t.test('retries do not apply: a 503 to the upgrade reaches the client after one try', async (t) => {
  const { back, proxy } = await setup(t, [route({ retries: { attempts: 3, retryOn: ['5xx'], retriableStatusCodes: [] } })], (_req, socket) => {
    socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy');
  });
  const reply = await upgrade(proxy, '/');
  t.equal(reply.kind === 'response' && reply.status, 503);
  t.equal(reply.kind === 'response' && reply.body, 'busy');
  t.equal(back.upgrades.length, 1, 'one try only');
});

t.test('mirrors do not apply to upgrades', async (t) => {
  const { back, mirror, proxy } = await setup(t, [route({ mirrors: [{ host: 'mirror.bookinfo.svc.cluster.local', percentage: 100 }] })]);
  const ws = await upgrade(proxy, '/');
  t.equal(ws.kind, 'upgraded');
  if (ws.kind === 'upgraded') ws.socket.destroy();
  t.equal(back.upgrades.length, 1);
  t.equal(mirror.seen.length, 0, 'no shadow copy of the upgrade');
});

t.test('the route timeout runs until the 101 and not after it', async (t) => {
  let answer: ((socket: Duplex) => void) | undefined;
  const { proxy } = await setup(t, [route({ timeoutMs: 200 })], (req, socket) => {
    if (req.url === '/silent') return; // never answers
    answer?.(socket);
  });
  const stuck = await upgrade(proxy, '/silent');
  t.equal(stuck.kind === 'response' && stuck.status, 504, 'no answer before the route timeout: 504');
  t.equal(stuck.kind === 'response' && stuck.body, 'upstream request timeout');

  answer = (socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
  };
  const ws = await upgrade(proxy, '/live');
  t.equal(ws.kind, 'upgraded');
  if (ws.kind === 'upgraded') {
    // Well past the 200 ms route timeout, the upgraded connection still carries bytes.
    await new Promise((resolve) => setTimeout(resolve, 400));
    ws.socket.write('still here');
    t.equal(await readText(ws.socket), 'echo:still here');
    ws.socket.destroy();
  }
});

t.test('an endpoint that refuses the connection gets 503 connection failure', async (t) => {
  const { proxy, connector } = await setup(t, [route({})]);
  connector.routes.delete('10.1.0.1:9080');
  const reply = await upgrade(proxy, '/');
  t.equal(reply.kind === 'response' && reply.status, 503);
  t.match(reply.kind === 'response' ? reply.body : '', /connection failure/);
  const metrics = await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total');
  t.match(metrics, /response_flags="UF"/);
  t.match(metrics, /response_code="503"/);
});

t.test('an upgrade type other than websocket is refused with 403 before any filter', async (t) => {
  const { back, proxy, connector } = await setup(t, [route({})]);
  const reply = await upgrade(proxy, '/', { upgrade: 'foo/1.0' });
  t.equal(reply.kind === 'response' && reply.status, 403);
  t.equal(reply.kind === 'response' && reply.body, '');
  t.equal(reply.kind === 'response' && reply.headers.connection, 'close');
  t.equal(back.upgrades.length, 0);
  t.same(connector.connects, []);
  const deadline = Date.now() + 5_000;
  while (proxy.tunnels.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(proxy.tunnels.size, 0, 'the refused connection is closed on the waypoint\'s side too');
});

t.test('Upgrade: h2c is ignored: the request is served as HTTP/1.1 and the connection stays usable', async (t) => {
  const { back, proxy } = await setup(t, [route({})]);
  const stream = tunnel(proxy, '10.96.0.10:9080');
  let received = '';
  stream.on('data', (c: Buffer) => (received += c.toString()));
  stream.write(
    'POST /first HTTP/1.1\r\nHost: reviews:9080\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello' +
      'GET /second HTTP/1.1\r\nHost: reviews:9080\r\n\r\n',
  );
  const deadline = Date.now() + 5_000;
  while ((received.match(/HTTP\/1\.1 200/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  stream.destroy();
  t.equal((received.match(/HTTP\/1\.1 200/g) ?? []).length, 2, 'both requests, the pipelined one too, are answered');
  t.notMatch(received, /101 Switching/);
  t.match(received, /plain:hello/, 'the h2c request\'s body reached the app');
  t.same(back.plain.map((p) => p.url), ['/first', '/second']);
  t.equal(back.plain[0].headers.upgrade, undefined, 'no Upgrade header goes upstream');
  t.equal(back.plain[0].headers['http2-settings'], undefined);
  t.equal(back.upgrades.length, 0);
});

t.test('plain requests still lose Connection and Upgrade on the way up', async (t) => {
  const { back, proxy } = await setup(t, [route({})]);
  const stream = tunnel(proxy, '10.96.0.10:9080');
  let received = '';
  stream.on('data', (c: Buffer) => (received += c.toString()));
  // Upgrade without "upgrade" in Connection is no upgrade request.
  stream.write('GET /x HTTP/1.1\r\nHost: reviews:9080\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\r\n');
  const deadline = Date.now() + 5_000;
  while (!received.includes('plain:') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  stream.destroy();
  t.match(received, /^HTTP\/1\.1 200/);
  t.equal(back.plain[0].headers.upgrade, undefined);
  t.equal(back.upgrades.length, 0);
});

t.test('a client that resets the upgraded connection closes the upstream side, and the upgrade is recorded', async (t) => {
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
  const { proxy } = await setup(t, [route({})], (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on('error', () => undefined);
    socket.once('close', () => upstreamClosed());
  });
  const ws = await upgrade(proxy, '/');
  if (ws.kind !== 'upgraded') throw new Error('expected a 101');
  ws.socket.write('one');
  t.equal(await readText(ws.socket), 'echo:one');
  ws.socket.on('error', () => undefined);
  ws.socket.destroy(new Error('the client resets'));
  await closed;
  t.pass('the app\'s connection closed after the client reset');
  const deadline = Date.now() + 5_000;
  let metrics = '';
  while (!/response_code="101"/.test(metrics) && Date.now() < deadline) {
    metrics = await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.match(metrics, /response_code="101"[^}]*\} 1/);
  t.equal(proxy.tunnels.size, 0, 'the tunnel is closed once the upgrade is recorded');
});

t.test('bytes the client sends before the 101 (a request body) reach the upstream before it answers', async (t) => {
  const { proxy } = await setup(t, [route({})], (_req, socket, head) => {
    let got = '';
    const answer = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length < 5) return;
      socket.off('data', answer);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\ngot:${got}`);
    };
    socket.on('data', answer);
    if (head.length > 0) answer(head);
  });
  const ws = await upgrade(proxy, '/', { 'content-length': '5' }, 'early');
  if (ws.kind !== 'upgraded') throw new Error('expected a 101');
  const text = ws.head.length > 0 ? ws.head.toString() : await readText(ws.socket);
  t.equal(text, 'got:early', 'the app answered only once the body had come through');
  ws.socket.destroy();
});
