// Matching a node's netns to its pods by address, with no netns at all: the address reader is injected.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import type { NodePod } from '../../../../src/cni/kube/pod-label-source';
import { matchRunningPods, parseIpv4Addresses, runningPodFinder } from '../../../../src/cni/kube/running-pods';

const pod = (name: string, ips: string[], extra: Partial<NodePod> = {}): NodePod => ({ name, namespace: 'apps', uid: `uid-${name}`, hostNetwork: false, phase: 'Running', ips, ...extra });

t.test('parseIpv4Addresses reads `ip -o -4 addr show` and drops loopback', async (t) => {
  const output = [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '2: eth0    inet 10.244.1.5/24 brd 10.244.1.255 scope global eth0\\       valid_lft forever preferred_lft forever',
    '3: net1    inet 192.168.7.9/32 scope global net1\\       valid_lft forever preferred_lft forever',
    '',
  ].join('\n');
  t.same(parseIpv4Addresses(output), ['10.244.1.5', '192.168.7.9']);
  t.same(parseIpv4Addresses(''), []);
});

t.test('each pod gets the netns that holds one of its addresses', async (t) => {
  const pods = [pod('web', ['10.244.1.5', 'fd00::5']), pod('db', ['10.244.1.6'])];
  const result = matchRunningPods(pods, [
    { path: '/var/run/netns/cni-1', ips: ['10.244.1.6'] },
    { path: '/var/run/netns/cni-2', ips: ['10.244.1.5'] },
    { path: '/var/run/netns/cni-3', ips: ['10.244.1.99'] },
  ]);
  t.same(result.running, [
    { name: 'web', namespace: 'apps', uid: 'uid-web', netns: '/var/run/netns/cni-2', ips: ['10.244.1.5', 'fd00::5'] },
    { name: 'db', namespace: 'apps', uid: 'uid-db', netns: '/var/run/netns/cni-1', ips: ['10.244.1.6'] },
  ], 'the unknown netns cni-3 is ignored; the pod keeps all its status addresses');
  t.same(result.unmatched, []);
});

t.test('hostNetwork, finished and address-less pods take no part', async (t) => {
  const pods = [
    pod('host', ['10.0.0.4'], { hostNetwork: true }),
    pod('done', ['10.244.1.7'], { phase: 'Succeeded' }),
    pod('failed', ['10.244.1.8'], { phase: 'Failed' }),
    pod('pending', []),
    pod('new', ['10.244.1.7'], { phase: 'Pending' }),
  ];
  const result = matchRunningPods(pods, [
    { path: '/n/a', ips: ['10.0.0.4'] },
    { path: '/n/b', ips: ['10.244.1.7'] },
    { path: '/n/c', ips: ['10.244.1.8'] },
  ]);
  t.same(result.running.map((running) => `${running.name}@${running.netns}`), ['new@/n/b'], 'a finished pod\'s reused address belongs to the live pod');
  t.same(result.unmatched, []);
});

t.test('a pod whose address is in no netns is reported, not fatal', async (t) => {
  const result = matchRunningPods([pod('web', ['10.244.1.5']), pod('gone', ['10.244.1.9'])], [{ path: '/n/a', ips: ['10.244.1.5'] }]);
  t.same(result.running.map((running) => running.name), ['web']);
  t.same(result.unmatched, [{ pod: 'apps/gone', why: 'no-netns' }]);
});

t.test('ambiguity is never guessed: an address two pods claim, or a pod in two netns', async (t) => {
  const result = matchRunningPods(
    [pod('a', ['10.244.1.5']), pod('b', ['10.244.1.5']), pod('c', ['10.244.1.6', '10.244.1.16']), pod('d', ['10.244.1.7'])],
    [
      { path: '/n/1', ips: ['10.244.1.5'] },
      { path: '/n/2', ips: ['10.244.1.6'] },
      { path: '/n/3', ips: ['10.244.1.16'] },
      { path: '/n/4', ips: ['10.244.1.7'] },
    ],
  );
  t.same(result.running.map((running) => running.name), ['d']);
  t.same(result.unmatched, [
    { pod: 'apps/a', why: 'ambiguous-ip' },
    { pod: 'apps/b', why: 'ambiguous-ip' },
    { pod: 'apps/c', why: 'ambiguous-netns', netns: ['/n/2', '/n/3'] },
  ]);
});

t.test('a pod with two addresses in one netns matches once', async (t) => {
  const result = matchRunningPods([pod('dual', ['10.244.1.5', '10.244.2.5'])], [{ path: '/n/1', ips: ['10.244.2.5', '10.244.1.5'] }]);
  t.same(result.running, [{ name: 'dual', namespace: 'apps', uid: 'uid-dual', netns: '/n/1', ips: ['10.244.1.5', '10.244.2.5'] }]);
});

t.test('runningPodFinder reads every entry of the netns dir, skips unreadable ones, and logs unmatched pods', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-netns-dir-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['cni-a', 'cni-b', 'cni-broken']) fs.writeFileSync(path.join(dir, name), '');
  fs.mkdirSync(path.join(dir, 'subdir'));
  const addresses: Record<string, string[]> = { 'cni-a': ['10.244.1.5'], 'cni-b': ['10.244.1.6'] };
  const read: string[] = [];
  const logs: { level: number; msg: string; pod?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const find = runningPodFinder({
    netnsDir: dir,
    pods: () => [pod('web', ['10.244.1.5']), pod('db', ['10.244.1.6']), pod('lost', ['10.244.1.40'])],
    readAddresses: async (netnsPath) => {
      read.push(path.basename(netnsPath));
      const found = addresses[path.basename(netnsPath)];
      if (!found) throw new Error('setns: Invalid argument');
      return found;
    },
    logger,
    concurrency: 2,
  });
  const running = await find();
  t.same(read.sort(), ['cni-a', 'cni-b', 'cni-broken'], 'directories are not netns');
  t.same(running.map((entry) => `${entry.name}@${entry.netns}`), [`web@${path.join(dir, 'cni-a')}`, `db@${path.join(dir, 'cni-b')}`]);
  t.ok(logs.some((line) => line.level === 20 && line.pod === 'apps/lost'), 'the pod without a netns is logged at debug');
  t.ok(logs.some((line) => line.level === 20 && /cannot read the addresses/.test(line.msg)), 'so is the unreadable netns');
});

t.test('a missing netns dir means no running pods yet', async (t) => {
  const find = runningPodFinder({ netnsDir: path.join(os.tmpdir(), 'ambit-no-such-netns-dir'), pods: () => [pod('web', ['10.244.1.5'])], readAddresses: async () => [], logger: pino({ level: 'silent' }) });
  t.same(await find(), []);
});
