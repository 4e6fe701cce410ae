// IP_TRANSPARENT through the addon: binding to addresses that are not local to the netns, for listeners and for sources.

import net from 'node:net';
import t from 'tap';
import { connectInNetns, listenInNetns, openListenerFd } from '../../../src/native';
import { A_V4, closeServer, echo, inNs, makeNetnsPair, packetCount, rejection, roundTrip } from './fixtures/netns';

const SPOOFED = '10.251.0.99'; // in the veth subnet, but an address of neither netns

t.test('a transparent listener binds an address its netns does not have; a plain one cannot', async (t) => {
  const { a } = await makeNetnsPair(t);
  const err = await rejection(Promise.resolve().then(() => openListenerFd({ netns: a, host: '10.251.0.200', port: 8000 })));
  t.match(err, { code: 'EADDRNOTAVAIL', syscall: 'bind', netns: a }, 'without IP_TRANSPARENT bind refuses a non-local address');
  const server = await listenInNetns({ netns: a, host: '10.251.0.200', port: 8000, transparent: true });
  t.teardown(() => closeServer(server));
  t.match(server.address(), { address: '10.251.0.200', port: 8000 }, 'with IP_TRANSPARENT it listens there');
});

t.test('connect with a transparent source address sends from that address, and completes once replies are routed back', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  const peers: string[] = [];
  const server = await listenInNetns({ netns: a, host: A_V4, port: 0 }, net.createServer((conn) => {
    peers.push(conn.remoteAddress ?? '');
    echo(conn);
  }));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;
  inNs(a, 'iptables', '-A', 'INPUT', '-p', 'tcp', '-s', SPOOFED, '--syn', '-m', 'comment', '--comment', 'tnat-spoofed-syn');

  // Step 1, no return path: A answers to 10.251.0.99 but nobody answers ARP for it, so the
  // connect cannot complete; still, the SYN left B with the non-local source address.
  const err = await rejection(connectInNetns({ netns: b, host: A_V4, port, sourceAddress: { host: SPOOFED }, timeoutMs: 500 }));
  t.match(err, { code: 'ETIMEDOUT', syscall: 'connect' }, 'without a return path the handshake does not finish');
  const synsSeen = packetCount(a, 'filter', 'INPUT', 'tnat-spoofed-syn');
  t.ok(synsSeen >= 1, `A received SYNs from ${SPOOFED} (${synsSeen})`);

  // Step 2, the return path ambit's capture sets up: A routes the address to B, and B delivers
  // packets that belong to a transparent socket locally (mark + policy route to a local table).
  inNs(a, 'ip', 'route', 'add', `${SPOOFED}/32`, 'via', '10.251.0.2');
  inNs(b, 'iptables', '-t', 'mangle', '-A', 'PREROUTING', '-m', 'socket', '--transparent', '-j', 'MARK', '--set-mark', '0x111');
  inNs(b, 'ip', 'rule', 'add', 'fwmark', '0x111', 'lookup', '251');
  inNs(b, 'ip', 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '251');
  const socket = await connectInNetns({ netns: b, host: A_V4, port, sourceAddress: { host: SPOOFED, port: 40123 }, timeoutMs: 5000 });
  t.teardown(() => socket.destroy());
  t.equal(socket.localAddress, SPOOFED, 'the socket is bound to the non-local address');
  t.equal(socket.localPort, 40123, 'and to the requested source port');
  t.equal(await roundTrip(socket, 'spoofed'), 'echo:spoofed\n', 'data round-trips');
  t.same(peers, [SPOOFED], `the server saw ${SPOOFED} as its peer`);
  t.ok(packetCount(a, 'filter', 'INPUT', 'tnat-spoofed-syn') > synsSeen, 'the new SYN came from that address too');
});

t.test('a source address of the other IP family is refused before any syscall', async (t) => {
  await t.rejects(connectInNetns({ host: A_V4, port: 80, sourceAddress: { host: 'fd00:251::9' } }), { code: 'INVALID_SOCKET_OPTION', option: 'sourceAddress.host' });
  await t.rejects(connectInNetns({ host: 'example.invalid', port: 80 }), { code: 'INVALID_SOCKET_OPTION', option: 'host' });
});
