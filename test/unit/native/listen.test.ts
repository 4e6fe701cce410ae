// Listening sockets opened inside a network namespace live there, not in the host's namespace.

import { readlinkSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { listenInNetns, NativeSocketError, openListenerFd } from '../../../src/native';
import { A_V4, B_V4, clientInNs, closeServer, echo, inNs, makeNetnsPair, ownNetns, rejection, sh } from './fixtures/netns';

t.test('a listener opened in netns A accepts connections made inside A and over its veth', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  const hostNs = ownNetns();
  const peers: string[] = [];
  const server = await listenInNetns({ netns: a, host: A_V4, port: 0 }, net.createServer((conn) => {
    peers.push(conn.remoteAddress ?? '');
    echo(conn);
  }));
  t.teardown(() => closeServer(server));
  const addr = server.address();
  t.ok(addr !== null && typeof addr === 'object', 'server.address() reports the bound socket');
  const port = (addr as net.AddressInfo).port;
  t.equal((addr as net.AddressInfo).address, A_V4);
  t.ok(port > 0, 'port 0 got a real port');
  t.equal(ownNetns(), hostNs, 'the main thread is back in the host netns');

  t.equal(await clientInNs(a, A_V4, port, 'from-a'), 'echo:from-a\n', 'a client inside A reaches it');
  t.equal(await clientInNs(b, A_V4, port, 'from-b'), 'echo:from-b\n', 'a client in B reaches it over the veth');
  t.same(peers, [A_V4, B_V4], 'the server saw the addresses of A and B as peers');
  t.match(inNs(a, 'ss', '-Htln', `sport = :${port}`), `${A_V4}:${port}`, 'ss inside A lists the listener');
});

t.test('a loopback listener in netns A is not reachable from the host', async (t) => {
  const { a } = await makeNetnsPair(t);
  const server = await listenInNetns({ netns: a, host: '127.0.0.1', port: 0 }, net.createServer(echo));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;

  t.equal(await clientInNs(a, '127.0.0.1', port, 'inside'), 'echo:inside\n', "A's own loopback reaches it");
  t.equal(sh('ss', '-Htln', `sport = :${port}`).trim(), '', 'the host has no listener on that port');
  const err = await rejection(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  }));
  t.match(err, { code: 'ECONNREFUSED' }, "the host's loopback refuses the connection");
});

t.test('openListenerFd takes an absolute netns path and returns a listening socket fd', async (t) => {
  const { a } = await makeNetnsPair(t);
  const fd = openListenerFd({ netns: `/var/run/netns/${a}`, host: '::', port: 0, backlog: 16, reuseAddr: true });
  t.ok(Number.isInteger(fd) && fd > 2, `got fd ${fd}`);
  t.match(readlinkSync(`/proc/self/fd/${fd}`), /^socket:\[\d+\]$/, 'the fd is a socket');
  const server = net.createServer(echo);
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  t.teardown(() => closeServer(server));
  const addr = server.address() as net.AddressInfo;
  t.equal(addr.family, 'IPv6');
  t.equal(await clientInNs(a, '::1', addr.port, 'v6'), 'echo:v6\n', 'an IPv6 client inside A reaches it');
});

t.test('a listener with a port already taken in that netns fails with EADDRINUSE from bind', async (t) => {
  const { a } = await makeNetnsPair(t);
  const first = await listenInNetns({ netns: a, host: A_V4, port: 0 });
  t.teardown(() => closeServer(first));
  const port = (first.address() as net.AddressInfo).port;
  const err = await rejection(listenInNetns({ netns: a, host: A_V4, port, reuseAddr: true }));
  t.ok(err instanceof NativeSocketError, 'a NativeSocketError');
  t.match(err, { code: 'EADDRINUSE', syscall: 'bind', netns: a, address: A_V4, port });
  t.equal((err as Error).message, `bind ${A_V4}:${port} in netns ${a}: EADDRINUSE (address already in use)`);
});
