// Outbound sockets created inside a network namespace connect without blocking the event loop.

import { readdirSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { connectInNetns, listenInNetns, NativeSocketError } from '../../../src/native';
import { A_V4, A_V6, B_V4, B_V6, closeServer, echo, echoServerInNs, inNs, makeNetnsPair, ownNetns, rejection, roundTrip } from './fixtures/netns';

t.test('connectInNetns from the host process into netns B reaches a server in netns A over the veth', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  await echoServerInNs(t, a, A_V4, 7070);
  const hostNs = ownNetns();
  const socket = await connectInNetns({ netns: b, host: A_V4, port: 7070, timeoutMs: 5000 });
  t.teardown(() => socket.destroy());
  t.equal(ownNetns(), hostNs, 'the main thread is back in the host netns');
  t.ok(socket instanceof net.Socket, 'a net.Socket');
  t.equal(socket.remoteAddress, A_V4);
  t.equal(socket.remotePort, 7070);
  t.equal(socket.localAddress, B_V4, "the local address is B's veth address");
  t.equal(await roundTrip(socket, 'one'), 'echo:one\n', 'data goes to the server and its answer comes back');
  t.equal(await roundTrip(socket, 'two'), 'echo:two\n', 'and again on the same connection');
});

t.test('a server in-process (listenInNetns in A) and a client in-process (connectInNetns in B) talk over IPv6', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  const peers: string[] = [];
  const server = await listenInNetns({ netns: a, host: A_V6, port: 0 }, net.createServer((conn) => {
    peers.push(`${conn.remoteAddress} -> ${conn.localAddress}`);
    echo(conn);
  }));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;
  const socket = await connectInNetns({ netns: b, host: `[${A_V6}]`, port });
  t.teardown(() => socket.destroy());
  t.equal(socket.remoteAddress, A_V6);
  t.equal(socket.localAddress, B_V6);
  t.equal(await roundTrip(socket, 'six'), 'echo:six\n');
  t.same(peers, [`${B_V6} -> ${A_V6}`], 'the server saw B as the peer');
});

t.test('fifty concurrent connects into a netns each get their own working socket', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  const server = await listenInNetns({ netns: a, host: A_V4, port: 0 }, net.createServer(echo));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;
  const sockets = await Promise.all(Array.from({ length: 50 }, () => connectInNetns({ netns: b, host: A_V4, port, timeoutMs: 5000 })));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.equal(new Set(sockets.map((s) => s.localPort)).size, 50, 'fifty distinct connections');
  const replies = await Promise.all(sockets.map((s, i) => roundTrip(s, `n${i}`)));
  t.same(replies, sockets.map((_, i) => `echo:n${i}\n`), 'each one carries its own data');
});

t.test('connectInNetns without a netns connects from the current namespace', async (t) => {
  const server = net.createServer(echo);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;
  const socket = await connectInNetns({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  t.equal(socket.remotePort, port);
  t.equal(await roundTrip(socket, 'local'), 'echo:local\n');
});

t.test('a refused connection rejects with ECONNREFUSED from connect, naming the netns', async (t) => {
  const { b } = await makeNetnsPair(t);
  const err = await rejection(connectInNetns({ netns: b, host: A_V4, port: 9 }));
  t.ok(err instanceof NativeSocketError, 'a NativeSocketError');
  t.match(err, { code: 'ECONNREFUSED', syscall: 'connect', errno: -111, netns: b, address: A_V4, port: 9 });
  t.equal((err as Error).message, `connect ${A_V4}:9 in netns ${b}: ECONNREFUSED (connection refused)`);
});

t.test('a connect whose SYNs are dropped times out with ETIMEDOUT while the event loop keeps running', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  // DROP rather than a blackhole route: a blackhole fails at once (EINVAL/ENETUNREACH) and never times out.
  inNs(a, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', '7171', '-j', 'DROP');
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  t.teardown(() => clearInterval(ticker));
  const err = await rejection(connectInNetns({ netns: b, host: A_V4, port: 7171, timeoutMs: 400 }));
  t.match(err, { code: 'ETIMEDOUT', syscall: 'connect', netns: b });
  t.equal((err as Error).message, `connect ${A_V4}:7171 in netns ${b}: ETIMEDOUT (connection timed out)`);
  t.ok(ticks > 0, `timers ran while the connect was pending (${ticks} ticks)`);
});

t.test('failed connects close their sockets', async (t) => {
  const { b } = await makeNetnsPair(t);
  const before = openFdCount();
  for (let i = 0; i < 20; i++) {
    await rejection(connectInNetns({ netns: b, host: A_V4, port: 9 }));
  }
  const after = openFdCount();
  t.ok(after <= before + 2, `twenty refused connects left no sockets behind (${before} fds before, ${after} after)`);
});

function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
