// Story tests of what the waypoint speaks inside a tunnel: HTTP/1.1 keep-alive and pipelining, HTTP/2 prior knowledge, gRPC, and TCP for everything else.
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import type { AppProtocolDoc } from '../../../../src/waypoint/config/types';
import type { WaypointProxy } from '../../../../src/waypoint/proxy';
import { configDoc, FakeConnector, h2Session, service, startBackend, startProxy, tunnel, workload } from '../fixtures/harness';

const w = workload('echo-v1-aaa', '10.1.0.1', { app: 'echo' });

function proxyFor(t: Test, connector: FakeConnector, appProtocol: AppProtocolDoc): WaypointProxy {
  const svc = service('echo', '10.96.0.20', [w]);
  return startProxy(t, connector, configDoc({ services: [{ ...svc, ports: [{ port: 9080, targetPort: 9080, appProtocol }] }], workloads: [w] }));
}

function readUntil(stream: NodeJS.ReadableStream, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (done(text)) {
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.once('end', () => resolve(text));
  });
}

t.test('HTTP/1.1 pipelined requests on one tunnel are answered in order', async (t) => {
  const backend = await startBackend(t, 'echo', (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`you asked ${req.url}`));
  const proxy = proxyFor(t, new FakeConnector().map('10.1.0.1', 9080, backend.port), 'UNKNOWN');
  const stream = tunnel(proxy, '10.96.0.20:9080');
  t.teardown(() => stream.destroy());
  stream.write('GET /first HTTP/1.1\r\nHost: echo\r\n\r\nGET /second HTTP/1.1\r\nHost: echo\r\n\r\nGET /third HTTP/1.1\r\nHost: echo\r\n\r\n');
  const text = await readUntil(stream, (s) => s.includes('you asked /third'));
  const order = ['/first', '/second', '/third'].map((p) => text.indexOf(`you asked ${p}`));
  t.ok(order.every((i) => i >= 0), 'all three answered');
  t.same([...order].sort((x, y) => x - y), order, 'in the order asked');
  t.equal((text.match(/HTTP\/1\.1 200/g) ?? []).length, 3);
});

t.test('HTTP/2 prior knowledge (h2c) is served and proxied to an h2c backend', async (t) => {
  const seen: string[] = [];
  const server = http2.createServer((req, res) => {
    seen.push(`${req.httpVersion} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`h2 ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const proxy = proxyFor(t, new FakeConnector().map('10.1.0.1', 9080, (server.address() as net.AddressInfo).port), 'HTTP2');
  const session = h2Session(proxy, '10.96.0.20:9080');
  t.teardown(() => session.destroy());
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': path, ':authority': 'echo:9080' });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => (body += c.toString()));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
  const replies = await Promise.all([get('/a'), get('/b'), get('/c')]);
  t.same(replies.map((r) => r.body), ['h2 /a', 'h2 /b', 'h2 /c'], 'three concurrent streams on one tunnel');
  t.ok(seen.every((s) => s.startsWith('2.0')), 'the backend was reached over HTTP/2');
});

const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

t.test('gRPC through the waypoint: a grpc-js client in front, a grpc-js echo server behind', async (t) => {
  const server = new grpc.Server();
  server.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const text = call.request.toString();
      if (text === 'fail') callback({ code: grpc.status.FAILED_PRECONDITION, details: 'asked to fail' });
      else callback(null, Buffer.from(`echo:${text}`));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const proxy = proxyFor(t, new FakeConnector().map('10.1.0.1', 9080, port), 'GRPC');
  // A loopback listener standing in for the client's ztunnel: each connection becomes one tunnel to the service VIP.
  const front = net.createServer((socket) => {
    const stream = tunnel(proxy, '10.96.0.20:9080');
    socket.pipe(stream).pipe(socket);
    socket.on('error', () => stream.destroy());
    stream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => front.close(() => resolve())));
  const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(`127.0.0.1:${(front.address() as net.AddressInfo).port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const call = (text: string) =>
    new Promise<{ error: grpc.ServiceError | null; value?: Buffer }>((resolve) =>
      (client as unknown as { echo: (req: Buffer, cb: (e: grpc.ServiceError | null, v?: Buffer) => void) => void }).echo(Buffer.from(text), (error, value) => resolve({ error, value })),
    );
  const ok = await call('hello');
  t.equal(ok.error, null);
  t.equal(ok.value?.toString(), 'echo:hello');
  const failed = await call('fail');
  t.equal(failed.error?.code, grpc.status.FAILED_PRECONDITION, 'gRPC status travels back in trailers');
  t.equal(failed.error?.details, 'asked to fail');
  const metrics = await proxy.metrics.registry.getSingleMetricAsString('istio_requests_total');
  t.match(metrics, /grpc_response_status="9"/, 'the gRPC status is in the metrics');
});

t.test('bytes that are not HTTP are proxied as TCP', async (t) => {
  const echo = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => echo.close(() => resolve())));
  const proxy = proxyFor(t, new FakeConnector().map('10.1.0.1', 9080, (echo.address() as net.AddressInfo).port), 'UNKNOWN');
  const stream = tunnel(proxy, '10.96.0.20:9080');
  stream.end('\x16\x03\x01 not http at all');
  const text = await readUntil(stream, () => false);
  t.equal(text, '\x16\x03\x01 not http at all', 'the bytes came back through the echo server');
  t.match(await proxy.metrics.registry.getSingleMetricAsString('istio_tcp_connections_opened_total'), /request_protocol="tcp"/);
});

t.test('a server-first protocol (nothing sent by the client) falls back to TCP after the sniff timeout', async (t) => {
  const greeter = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('220 hello from the server\r\n');
  });
  await new Promise<void>((resolve) => greeter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => greeter.close(() => resolve())));
  const proxy = proxyFor(t, new FakeConnector().map('10.1.0.1', 9080, (greeter.address() as net.AddressInfo).port), 'UNKNOWN');
  const stream = tunnel(proxy, '10.96.0.20:9080');
  t.teardown(() => stream.destroy());
  const text = await readUntil(stream, (s) => s.includes('\r\n'));
  t.equal(text, '220 hello from the server\r\n');
});
