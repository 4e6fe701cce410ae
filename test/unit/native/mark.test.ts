// SO_MARK set through the addon reaches the packets, as netfilter counters in the test netns show.

import net from 'node:net';
import t from 'tap';
import { connectInNetns, InvalidSocketOption, listenInNetns, NativeSocketError, setMark } from '../../../src/native';
import { A_V4, closeServer, echo, echoServerInNs, inNs, makeNetnsPair, packetCount, rejection, roundTrip } from './fixtures/netns';

const MARK = 0x539;

t.test('connectInNetns with a mark sends marked packets; without one it does not', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  await echoServerInNs(t, a, A_V4, 7080);
  inNs(b, 'iptables', '-t', 'mangle', '-A', 'OUTPUT', '-m', 'mark', '--mark', `${MARK}`, '-m', 'comment', '--comment', 'tnat-marked');

  const plain = await connectInNetns({ netns: b, host: A_V4, port: 7080 });
  t.teardown(() => plain.destroy());
  t.equal(await roundTrip(plain, 'plain'), 'echo:plain\n');
  t.equal(packetCount(b, 'mangle', 'OUTPUT', 'tnat-marked'), 0, 'an unmarked connection matches no mark rule');

  const marked = await connectInNetns({ netns: b, host: A_V4, port: 7080, mark: MARK });
  t.teardown(() => marked.destroy());
  const afterSyn = packetCount(b, 'mangle', 'OUTPUT', 'tnat-marked');
  t.ok(afterSyn >= 2, `the SYN and the handshake ACK carried mark ${MARK} (${afterSyn} packets)`);
  t.equal(await roundTrip(marked, 'marked'), 'echo:marked\n');
  t.ok(packetCount(b, 'mangle', 'OUTPUT', 'tnat-marked') > afterSyn, 'data packets carry the mark too');
});

t.test('setMark marks the packets an existing socket sends from then on', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  await echoServerInNs(t, a, A_V4, 7081);
  inNs(b, 'iptables', '-t', 'mangle', '-A', 'OUTPUT', '-m', 'mark', '--mark', `${MARK}`, '-m', 'comment', '--comment', 'tnat-marked');
  const socket = await connectInNetns({ netns: b, host: A_V4, port: 7081 });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'before'), 'echo:before\n');
  t.equal(packetCount(b, 'mangle', 'OUTPUT', 'tnat-marked'), 0, 'nothing marked before setMark');
  setMark(socket, MARK);
  t.equal(await roundTrip(socket, 'after'), 'echo:after\n');
  t.ok(packetCount(b, 'mangle', 'OUTPUT', 'tnat-marked') > 0, 'the data sent after setMark is marked');
});

t.test("a listener's mark is carried by its SYN-ACKs and its accepted connections", async (t) => {
  const { a, b } = await makeNetnsPair(t);
  inNs(a, 'iptables', '-t', 'mangle', '-A', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-m', 'mark', '--mark', `${MARK}`, '-m', 'comment', '--comment', 'tnat-synack');
  const server = await listenInNetns({ netns: a, host: A_V4, port: 0, mark: MARK }, net.createServer(echo));
  t.teardown(() => closeServer(server));
  const port = (server.address() as net.AddressInfo).port;
  const socket = await connectInNetns({ netns: b, host: A_V4, port });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'hi'), 'echo:hi\n');
  t.equal(packetCount(a, 'mangle', 'OUTPUT', 'tnat-synack'), 1, 'the one SYN-ACK left A with the mark');
});

t.test('setMark on a socket that has no file descriptor yet fails with EBADF; a mark out of range is refused', async (t) => {
  const socket = new net.Socket();
  const err = await rejection(Promise.resolve().then(() => setMark(socket, MARK)));
  t.ok(err instanceof NativeSocketError);
  t.match(err, { code: 'EBADF', syscall: 'setsockopt' });
  t.throws(() => setMark(socket, -1), InvalidSocketOption);
  t.throws(() => setMark(socket, -1), { code: 'INVALID_SOCKET_OPTION', option: 'mark' });
  t.throws(() => setMark(socket, 2 ** 32), { code: 'INVALID_SOCKET_OPTION', option: 'mark' });
});
