// The enrollment client (agent side) against the enrollment server (ztunnel side) over a real unix socket: acks, nacks, replay and snapshot after reconnect.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { ZtunnelEnrollmentClient } from '../../../src/cni/enrollment-client';
import { EnrollmentServer, type EnrollmentHandlers } from '../../../src/cni/enrollment-server';
import type { EnrolledPod } from '../../../src/cni/protocol';
import { tempDir, waitFor, type Teardowns } from './helpers';

function pod(uid: string): EnrolledPod {
  return { uid, name: `pod-${uid}`, namespace: 'apps', serviceAccount: 'default', ips: ['10.44.1.9'], netns: `/var/run/netns/x-${uid}` };
}

/** A fake ztunnel that records every call; `refuse` makes onAdd throw for those uids. */
class FakeZtunnel implements EnrollmentHandlers {
  readonly calls: string[] = [];
  readonly snapshots: string[][] = [];
  readonly refuse = new Set<string>();
  /** When set, onAdd waits on it (to hold acks back). */
  gate: Promise<void> | undefined;

  async onAdd(added: EnrolledPod): Promise<void> {
    await this.gate;
    this.calls.push(`add ${added.uid}`);
    if (this.refuse.has(added.uid)) throw new Error(`cannot open listeners in ${added.netns}`);
  }

  onDel(uid: string): void {
    this.calls.push(`del ${uid}`);
  }

  onSnapshotSent(uids: ReadonlySet<string>): void {
    this.calls.push('snapshot-sent');
    this.snapshots.push([...uids].sort());
  }
}

async function startServer(t: Teardowns, socketPath: string, handlers: EnrollmentHandlers): Promise<EnrollmentServer> {
  const server = new EnrollmentServer({ socketPath, handlers });
  await server.listen();
  t.teardown(() => server.close());
  return server;
}

function startClient(t: Teardowns, socketPath: string, ackTimeoutMs = 2000): ZtunnelEnrollmentClient {
  const client = new ZtunnelEnrollmentClient({ socketPath, ackTimeoutMs, backoff: { initialMs: 10, maxMs: 50 } });
  t.teardown(() => client.close());
  return client;
}

t.test('add and del are acked; the first connect sends an empty snapshot', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const ztunnel = new FakeZtunnel();
  await startServer(t, socketPath, ztunnel);
  const client = startClient(t, socketPath);
  client.start();
  t.equal(await client.whenConnected(2000), true);

  t.same(await client.add(pod('a')), { status: 'acked' });
  t.equal(client.isAcked('a'), true);
  t.same(client.enrolled().map((p) => p.uid), ['a']);
  t.same(await client.del('a'), { status: 'acked' });
  t.equal(client.isAcked('a'), false);
  t.same(client.enrolled(), []);
  t.same(ztunnel.calls, ['snapshot-sent', 'add a', 'del a']);
  t.same(ztunnel.snapshots, [[]]);
  t.equal((fs.statSync(socketPath).mode & 0o777).toString(8), '600', 'only root may talk to the ztunnel socket');
});

t.test('a handler that throws produces a nack with its message, and the client forgets the pod', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const ztunnel = new FakeZtunnel();
  ztunnel.refuse.add('bad');
  await startServer(t, socketPath, ztunnel);
  const client = startClient(t, socketPath);
  client.start();
  await client.whenConnected(2000);
  t.same(await client.add(pod('bad')), { status: 'nacked', reason: 'cannot open listeners in /var/run/netns/x-bad' });
  t.same(client.enrolled(), [], 'a refused pod is not replayed later');
  t.same(await client.add(pod('good')), { status: 'acked' }, 'the connection keeps working after a nack');
});

t.test('without a ztunnel, add resolves pending at once; the pod is sent in the snapshot when the ztunnel comes up', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const client = startClient(t, socketPath);
  client.start();
  t.same(await client.add(pod('early')), { status: 'pending', why: 'not-connected' });
  t.same(await client.add(pod('gone')), { status: 'pending', why: 'not-connected' });
  t.same(await client.del('gone'), { status: 'pending', why: 'not-connected' });

  const ztunnel = new FakeZtunnel();
  await startServer(t, socketPath, ztunnel);
  t.equal(await client.whenConnected(3000), true, 'the client keeps retrying until the socket appears');
  await waitFor('the snapshot', () => ztunnel.snapshots.length === 1);
  t.same(ztunnel.calls, ['add early', 'snapshot-sent']);
  t.same(ztunnel.snapshots, [['early']]);
  await waitFor('the replayed add to be acked', () => client.isAcked('early'));
});

t.test('after the ztunnel restarts, the client reconnects and replays every enrolled pod, then snapshot-sent', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const first = new FakeZtunnel();
  const server = await startServer(t, socketPath, first);
  const client = startClient(t, socketPath);
  const changes: boolean[] = [];
  client.onConnectionChange((connected) => changes.push(connected));
  client.start();
  await client.whenConnected(2000);
  await client.add(pod('a'));
  await client.add(pod('b'));
  await client.add(pod('c'));
  await client.del('b');

  await server.close();
  await waitFor('the client to notice', () => !client.connected);
  t.equal(client.isAcked('a'), false, 'acks belong to a connection');
  const second = new FakeZtunnel();
  await startServer(t, socketPath, second);
  await client.whenConnected(3000);
  await waitFor('the snapshot', () => second.snapshots.length === 1);
  t.same(second.calls, ['add a', 'add c', 'snapshot-sent']);
  t.same(second.snapshots, [['a', 'c']], 'the server hands the ztunnel exactly the replayed uids');
  t.same(changes, [true, false, true]);
});

t.test('an add that is not answered in time resolves pending(ack-timeout); its late ack is not mistaken for the next message', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const ztunnel = new FakeZtunnel();
  let release: () => void = () => undefined;
  ztunnel.gate = new Promise((resolve) => (release = resolve));
  await startServer(t, socketPath, ztunnel);
  const client = startClient(t, socketPath, 100);
  client.start();
  await client.whenConnected(2000);
  t.same(await client.add(pod('slow')), { status: 'pending', why: 'ack-timeout' });
  const del = client.del('slow');
  release();
  t.same(await del, { status: 'acked' }, 'the del gets its own ack, after the late add ack was consumed');
  t.equal(client.isAcked('slow'), false, 'the late ack of the add does not mark a deleted pod as held');
});

t.test('the server answers a garbage line with a nack and keeps the connection', async (t) => {
  const socketPath = path.join(tempDir(t), 'ztunnel.sock');
  const ztunnel = new FakeZtunnel();
  await startServer(t, socketPath, ztunnel);
  const socket = net.createConnection(socketPath);
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.write('this is not json\n');
  socket.write('{"type":"del","uid":""}\n');
  socket.write(`${JSON.stringify({ type: 'add', pod: { ...pod('x'), ips: ['bad'] } })}\n`);
  socket.write('{"type":"del","uid":"u-ok"}\n');
  await waitFor('four answers', () => received.split('\n').filter(Boolean).length === 4);
  const answers = received.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; uid: string; reason?: string });
  t.match(answers, [
    { type: 'nack', uid: '', reason: /not JSON/ },
    { type: 'nack', uid: '', reason: /uid must not be empty/ },
    { type: 'nack', uid: 'x', reason: /pod\.ips\[0\] is not an IP address/ },
    { type: 'ack', uid: 'u-ok' },
  ]);
  t.same(ztunnel.calls, ['del u-ok'], 'only the valid message reached a handler');
});

t.test('the server replaces a stale socket file but refuses to delete a regular file', async (t) => {
  const dir = tempDir(t);
  const stale = path.join(dir, 'stale.sock');
  // A process killed while listening leaves its socket file behind, as a crashed ztunnel would.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.ok(fs.lstatSync(stale).isSocket(), 'a dead socket file is there');
  const server = await startServer(t, stale, new FakeZtunnel());
  t.equal(server.connectionCount, 0);

  const regular = path.join(dir, 'file.sock');
  fs.writeFileSync(regular, 'keep me');
  const refused = new EnrollmentServer({ socketPath: regular, handlers: new FakeZtunnel() });
  await t.rejects(refused.listen(), { code: 'SOCKET_PATH_OCCUPIED', path: regular });
  t.equal(fs.readFileSync(regular, 'utf8'), 'keep me');
});
