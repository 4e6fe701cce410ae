// Proves `ambit down`, Ctrl-C and SIGTERM leave nothing behind: host links and rules unchanged, no netns, no process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ClusterNames } from '../../../src/local/cluster-names';
import { runAmbit, runCommand, startCluster, uniqueClusterName, waitFor, type TestCluster } from '../../helpers/cluster';
import { AMBIT_BIN, fixture } from '../../helpers/repo';

interface HostState {
  readonly links: string;
  readonly rules: string;
  readonly routes: string;
}

async function hostState(): Promise<HostState> {
  // Only link names and flags: counters and other tests' transient veths inside their own netns never show here.
  const links = (await runCommand('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((line) => line.split(':').slice(0, 2).join(':')).sort().join('\n');
  const rules = (await runCommand('iptables-save', [])).stdout.split('\n').filter((line) => !line.startsWith('#')).map((line) => line.replace(/\[\d+:\d+\]/, '')).join('\n');
  const routes = (await runCommand('ip', ['route', 'show', 'table', 'all'])).stdout;
  return { links, rules, routes };
}

async function leftovers(cluster: string): Promise<{ netns: string[]; etc: string[]; processes: string[] }> {
  const names = new ClusterNames(cluster);
  const netns = (await runCommand('ip', ['netns', 'list'])).stdout.split('\n').map((line) => line.split(' ')[0]).filter((name) => name && names.owns(name));
  const etc = fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns').filter((name) => names.owns(name)) : [];
  const ps = (await runCommand('ps', ['-eo', 'pid,args'])).stdout.split('\n');
  const processes = ps.filter((line) => line.includes(`--cluster ${cluster}`) || line.includes(`netns exec ${cluster}-`));
  return { netns, etc, processes };
}

async function assertNothingLeft(t: Test, cluster: string, before: HostState): Promise<void> {
  await waitFor(async () => (await leftovers(cluster)).processes.length === 0, 10_000, () => 'processes left');
  t.same(await leftovers(cluster), { netns: [], etc: [], processes: [] }, 'no netns, /etc/netns dir or process of the cluster remains');
  const after = await hostState();
  t.equal(after.links, before.links, 'host links unchanged');
  t.equal(after.rules, before.rules, 'host iptables unchanged');
  t.equal(after.routes, before.routes, 'host routes unchanged');
}

async function clusterHasPods(cluster: TestCluster): Promise<void> {
  const pods = await cluster.pods('apps');
  if (!pods.some((pod) => pod.ready)) throw new Error('no ready pods: the teardown tests need a populated cluster');
}

t.test('ambit down removes everything the cluster made', async (t) => {
  const before = await hostState();
  const cluster = await startCluster(t, { config: fixture('local', 'cluster.yaml') });
  await clusterHasPods(cluster);
  t.ok((await leftovers(cluster.name)).netns.length >= 8, 'the running cluster has fabric, control-plane, node and pod netns');
  const down = await cluster.down();
  t.equal(down.code, 0, down.stderr);
  await assertNothingLeft(t, cluster.name, before);
});

t.test('Ctrl-C (SIGINT) to ambit up removes everything', async (t) => {
  const before = await hostState();
  const cluster = await startCluster(t, { config: fixture('local', 'cluster.yaml') });
  await clusterHasPods(cluster);
  cluster.up.kill('SIGINT');
  await waitFor(() => cluster.up.exitCode !== null, 30_000, () => 'ambit up did not exit on SIGINT');
  t.equal(cluster.up.exitCode, 0);
  t.match(cluster.output(), /cluster removed/);
  await assertNothingLeft(t, cluster.name, before);
});

t.test('after ambit up is killed midway (SIGKILL), ambit down still removes everything', async (t) => {
  const before = await hostState();
  const cluster = await startCluster(t, { config: fixture('local', 'cluster.yaml') });
  await clusterHasPods(cluster);
  cluster.up.kill('SIGKILL');
  await waitFor(() => cluster.up.exitCode !== null || cluster.up.signalCode !== null, 10_000, () => 'not killed');
  t.ok((await leftovers(cluster.name)).netns.length > 0, 'a killed ambit up leaves its namespaces');
  const down = await cluster.down();
  t.equal(down.code, 0, down.stderr);
  await assertNothingLeft(t, cluster.name, before);
});

t.test('a test that fails midway still leaves nothing: the stdin lifeline tears the cluster down', async (t) => {
  const before = await hostState();
  const name = uniqueClusterName();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `ambit-${name}-`));
  t.teardown(() => runAmbit(['down', '--purge', '--cluster', name, '--state-dir', stateDir]));
  // Stands in for a test process that dies: it starts a cluster, then exits without any teardown.
  const script = `
    const { spawn } = require('node:child_process');
    const up = spawn(process.execPath, [${JSON.stringify(AMBIT_BIN)}, 'up', '--cluster', '${name}', '--state-dir', ${JSON.stringify(stateDir)}, '--exit-on-eof', '--config', ${JSON.stringify(fixture('local', 'cluster.yaml'))}], { stdio: ['pipe', 'pipe', 'inherit'] });
    up.stdout.on('data', (d) => { if (/^ready:/m.test(String(d))) { console.log('up'); process.exit(1); } });`;
  const dying = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  dying.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  await waitFor(() => dying.exitCode !== null, 90_000, () => 'the dying test never got its cluster up');
  t.match(printed, /up/, 'the cluster was up when its test died');
  await waitFor(async () => (await leftovers(name)).netns.length === 0, 30_000, () => 'the orphaned cluster was not removed');
  await assertNothingLeft(t, name, before);
});
