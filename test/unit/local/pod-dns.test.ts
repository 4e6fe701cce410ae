// Pod name resolution files: hosts aliases per namespace, resolv.conf search path, and in-place writes under /etc/netns.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CLUSTER_DOMAIN, renderHosts, renderResolvConf, writePodDnsFiles, type ServiceName } from '../../../src/local/pod-dns';
import { testNetnsName } from './fixtures/helpers';

const SERVICES: ServiceName[] = [
  { namespace: 'other', name: 'db', clusterIp: '10.96.0.12' },
  { namespace: 'apps', name: 'web', clusterIp: '10.96.0.11' },
  { namespace: 'apps', name: 'api', clusterIp: '10.96.0.10' },
];

t.test('hosts lists localhost, the pod itself and every service; short names only in the pod\'s namespace', async (t) => {
  t.equal(CLUSTER_DOMAIN, 'cluster.local');
  t.equal(
    renderHosts({ namespace: 'apps', name: 'client', ip: '10.44.1.5' }, SERVICES),
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.44.1.5\tclient',
      '10.96.0.10\tapi.apps.svc.cluster.local api.apps.svc api.apps api',
      '10.96.0.11\tweb.apps.svc.cluster.local web.apps.svc web.apps web',
      '10.96.0.12\tdb.other.svc.cluster.local db.other.svc db.other',
      '',
    ].join('\n'),
  );
  t.equal(
    renderHosts({ namespace: 'other', name: 'x', ip: '10.44.2.7' }, SERVICES),
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.44.2.7\tx',
      '10.96.0.10\tapi.apps.svc.cluster.local api.apps.svc api.apps',
      '10.96.0.11\tweb.apps.svc.cluster.local web.apps.svc web.apps',
      '10.96.0.12\tdb.other.svc.cluster.local db.other.svc db.other db',
      '',
    ].join('\n'),
  );
});

t.test('hosts with no services and its order independence', async (t) => {
  t.equal(renderHosts({ namespace: 'a', name: 'p', ip: '10.44.1.2' }, []), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.44.1.2\tp\n');
  const pod = { namespace: 'apps', name: 'client', ip: '10.44.1.5' };
  t.equal(renderHosts(pod, [...SERVICES].reverse()), renderHosts(pod, SERVICES));
});

t.test('resolv.conf searches the pod namespace first and never leaves the machine', async (t) => {
  t.equal(renderResolvConf('apps'), 'search apps.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n');
  t.equal(renderResolvConf('default'), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n');
});

t.test('writePodDnsFiles writes /etc/netns/<netns> files in place, so bind mounts see updates', async (t) => {
  const netns = testNetnsName();
  const dir = path.join('/etc/netns', netns);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hostsFile = path.join(dir, 'hosts');
  const resolvFile = path.join(dir, 'resolv.conf');

  writePodDnsFiles(netns, 'first hosts\n', 'first resolv\n');
  t.equal(fs.readFileSync(hostsFile, 'utf8'), 'first hosts\n');
  t.equal(fs.readFileSync(resolvFile, 'utf8'), 'first resolv\n');
  const hostsBefore = fs.statSync(hostsFile);
  const resolvBefore = fs.statSync(resolvFile);

  writePodDnsFiles(netns, 'second hosts, longer than before\n', 'first resolv\n');
  const hostsAfter = fs.statSync(hostsFile);
  t.equal(fs.readFileSync(hostsFile, 'utf8'), 'second hosts, longer than before\n');
  t.equal(hostsAfter.ino, hostsBefore.ino, 'hosts keeps its inode');
  t.equal(fs.statSync(resolvFile).ino, resolvBefore.ino, 'resolv.conf keeps its inode');
  t.equal(fs.statSync(resolvFile).mtimeMs, resolvBefore.mtimeMs, 'unchanged content is not rewritten');

  writePodDnsFiles(netns, 'short\n', 'first resolv\n');
  t.equal(fs.readFileSync(hostsFile, 'utf8'), 'short\n', 'a shorter update leaves no tail of the old content');
  t.equal(fs.statSync(hostsFile).ino, hostsBefore.ino);
});
