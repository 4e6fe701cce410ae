// Failures inside the addon surface as NativeSocketErrors with errno codes, and never strand the process in another netns.

import t from 'tap';
import { connectInNetns, NativeSocketError, openListenerFd } from '../../../src/native';
import { A_V4, makeNetnsPair, ownNetns, rejection } from './fixtures/netns';

const hostNs = ownNetns();

t.test('a netns name that does not exist is ENOENT from open, for listeners and connects', async (t) => {
  const missing = `tnat-missing-${process.pid}`;
  const thrown = await rejection(Promise.resolve().then(() => openListenerFd({ netns: missing, host: '127.0.0.1', port: 0 })));
  t.ok(thrown instanceof NativeSocketError);
  t.match(thrown, { code: 'ENOENT', errno: -2, syscall: 'open', netns: missing });
  t.equal((thrown as Error).message, `open netns /var/run/netns/${missing}: ENOENT (no such file or directory)`);

  const rejected = await rejection(connectInNetns({ netns: missing, host: A_V4, port: 80 }));
  t.ok(rejected instanceof NativeSocketError, 'connect rejects (it does not throw synchronously)');
  t.match(rejected, { code: 'ENOENT', syscall: 'open' });
  t.equal(ownNetns(), hostNs, 'still in the host netns');
});

t.test('a path that is not a network namespace is EINVAL from setns', async (t) => {
  const err = await rejection(connectInNetns({ netns: '/proc/self/ns/uts', host: A_V4, port: 80 }));
  t.match(err, { code: 'EINVAL', syscall: 'setns', message: 'setns netns /proc/self/ns/uts: EINVAL (invalid argument)' });
  t.equal(ownNetns(), hostNs, 'still in the host netns');
});

t.test('a relative netns name with a slash is refused rather than resolved', async (t) => {
  t.throws(() => openListenerFd({ netns: '../netns/x', host: '127.0.0.1', port: 0 }), { code: 'EINVAL', syscall: 'open' });
});

t.test('a failure after entering the netns still returns the thread to the host netns', async (t) => {
  const { a } = await makeNetnsPair(t);
  // 10.251.0.200 is not an address of A: bind fails inside A, after setns.
  t.throws(() => openListenerFd({ netns: a, host: '10.251.0.200', port: 80 }), { code: 'EADDRNOTAVAIL', syscall: 'bind', netns: a });
  t.equal(ownNetns(), hostNs, 'back in the host netns after a failed bind');
  const err = await rejection(connectInNetns({ netns: a, host: '10.99.0.1', port: 80 }));
  t.match(err, { code: 'ENETUNREACH', syscall: 'connect', netns: a }, 'A has no route to 10.99.0.1 (nothing is sent)');
  t.equal(ownNetns(), hostNs, 'back in the host netns after a failed connect');
});
