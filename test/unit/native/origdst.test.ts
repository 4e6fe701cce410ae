// originalDst reads the pre-REDIRECT destination of captured connections, for IPv4 and IPv6.

import net from 'node:net';
import t, { type Test } from 'tap';
import { connectInNetns, listenInNetns, NativeSocketError, originalDst, type OriginalDst } from '../../../src/native';
import { A_V4, A_V6, closeServer, inNs, makeNetnsPair } from './fixtures/netns';

const VIP4 = '10.251.0.77';
const VIP6 = 'fd00:251::77';
const CAPTURE_PORT = 15001;

interface Captured {
  dst: OriginalDst;
  local: string;
}

/** A listener on the capture port inside `netns` that records the original destination of each connection. */
async function captureListener(t: Test, netns: string, host: string): Promise<Captured[]> {
  const seen: Captured[] = [];
  const server = await listenInNetns({ netns, host, port: CAPTURE_PORT }, net.createServer((conn) => {
    seen.push({ dst: originalDst(conn), local: conn.localAddress ?? '' });
    conn.end();
  }));
  t.teardown(() => closeServer(server));
  return seen;
}

/** Connects, waits for the server to hang up, and returns the peer address the client saw. */
async function connectAndWaitForClose(netns: string, host: string, port: number): Promise<string | undefined> {
  const socket = await connectInNetns({ netns, host, port, timeoutMs: 5000 });
  const peer = socket.remoteAddress;
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
  return peer;
}

t.test('IPv4: connections REDIRECTed in OUTPUT and in PREROUTING report the VIP they were sent to', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  inNs(a, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', VIP4, '--dport', '80', '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  inNs(a, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-i', 'va', '-p', 'tcp', '-d', VIP4, '--dport', '80', '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  inNs(b, 'ip', 'route', 'add', `${VIP4}/32`, 'via', A_V4);
  const seen = await captureListener(t, a, '0.0.0.0');

  t.equal(await connectAndWaitForClose(a, VIP4, 80), VIP4, 'the client still believes it talks to the VIP');
  await connectAndWaitForClose(b, VIP4, 80);
  t.same(seen, [
    { dst: { address: VIP4, port: 80, family: 4 }, local: '127.0.0.1' },
    { dst: { address: VIP4, port: 80, family: 4 }, local: A_V4 },
  ], 'OUTPUT redirects land on 127.0.0.1, PREROUTING ones on the incoming address; both keep the VIP');
});

t.test('IPv6: ip6tables REDIRECT in a netns, read through IP6T_SO_ORIGINAL_DST', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  inNs(a, 'ip6tables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', VIP6, '--dport', '80', '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  inNs(a, 'ip6tables', '-t', 'nat', '-A', 'PREROUTING', '-i', 'va', '-p', 'tcp', '-d', VIP6, '--dport', '80', '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  inNs(b, 'ip', '-6', 'route', 'add', `${VIP6}/128`, 'via', A_V6);
  const seen = await captureListener(t, a, '::');

  await connectAndWaitForClose(a, VIP6, 80);
  await connectAndWaitForClose(b, VIP6, 80);
  t.same(seen, [
    { dst: { address: VIP6, port: 80, family: 6 }, local: '::1' },
    { dst: { address: VIP6, port: 80, family: 6 }, local: A_V6 },
  ]);
});

t.test('an IPv4 connection accepted on a dual-stack [::] listener falls back to SO_ORIGINAL_DST', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  inNs(a, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-i', 'va', '-p', 'tcp', '-d', VIP4, '--dport', '80', '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  inNs(b, 'ip', 'route', 'add', `${VIP4}/32`, 'via', A_V4);
  const seen = await captureListener(t, a, '::');
  await connectAndWaitForClose(b, VIP4, 80);
  t.same(seen, [{ dst: { address: VIP4, port: 80, family: 4 }, local: `::ffff:${A_V4}` }]);
});

t.test('a connection that conntrack does not track fails with ENOENT', async (t) => {
  const { b } = await makeNetnsPair(t);
  const errors: unknown[] = [];
  const server = await listenInNetns({ netns: b, host: '127.0.0.1', port: 0 }, net.createServer((conn) => {
    try {
      originalDst(conn);
    } catch (err) {
      errors.push(err);
    }
    conn.end();
  }));
  t.teardown(() => closeServer(server));
  await connectAndWaitForClose(b, '127.0.0.1', (server.address() as net.AddressInfo).port);
  t.equal(errors.length, 1);
  t.ok(errors[0] instanceof NativeSocketError);
  t.match(errors[0], { code: 'ENOENT', syscall: 'getsockopt', message: /^getsockopt SO_ORIGINAL_DST on fd \d+: ENOENT/ });
});

t.test('a connection that was not redirected reports its real destination; a socket without an fd is EBADF', async (t) => {
  const { a, b } = await makeNetnsPair(t);
  // The nat rule is only there so that conntrack tracks connections in A at all.
  inNs(a, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '-d', VIP4, '-j', 'REDIRECT', '--to-ports', `${CAPTURE_PORT}`);
  const seen = await captureListener(t, a, A_V4);
  await connectAndWaitForClose(b, A_V4, CAPTURE_PORT);
  t.same(seen, [{ dst: { address: A_V4, port: CAPTURE_PORT, family: 4 }, local: A_V4 }]);

  t.throws(() => originalDst(new net.Socket()), NativeSocketError);
  t.throws(() => originalDst(new net.Socket()), { code: 'EBADF', syscall: 'getsockopt' });
});
