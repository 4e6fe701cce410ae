// cni/install-cni.sh against a node's CNI directories made in a temp dir: it copies a self-contained plugin that runs,
// chains it into the primary network config (once), converts a single-plugin .conf, and uninstalls cleanly.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../../helpers/repo';

const SCRIPT = path.join(REPO_ROOT, 'cni', 'install-cni.sh');

interface Node {
  readonly bin: string;
  readonly conf: string;
  run(command: 'install' | 'uninstall', env?: Record<string, string>): { status: number | null; stdout: string; stderr: string };
}

function node(t: { teardown(fn: () => void): void }, configs: Record<string, unknown>): Node {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cni-node-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const bin = path.join(root, 'opt', 'cni', 'bin');
  const conf = path.join(root, 'etc', 'cni', 'net.d');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(conf, { recursive: true });
  for (const [name, config] of Object.entries(configs)) fs.writeFileSync(path.join(conf, name), JSON.stringify(config));
  return {
    bin,
    conf,
    run: (command, env = {}) => {
      const result = spawnSync('sh', [SCRIPT, command], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_BIN_DIR: bin, HOST_CNI_BIN_DIR: bin, CNI_CONF_DIR: conf, APP_DIR: REPO_ROOT, WAIT_SECONDS: '1', ...env },
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

const FLANNEL = { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { hairpinMode: true } }, { type: 'portmap', capabilities: { portMappings: true } }] };

function plugins(file: string): { type: string; agentSocket?: string }[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { plugins: { type: string; agentSocket?: string }[] }).plugins;
}

t.test('install chains ambit-cni last in the primary conflist and copies a plugin that runs on its own runtime', async (t) => {
  const n = node(t, { '10-flannel.conflist': FLANNEL, '99-other.conflist': { name: 'other', cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] } });
  const installed = n.run('install', { AGENT_SOCKET: '/run/custom/agent.sock' });
  t.equal(installed.status, 0, installed.stderr);
  t.match(installed.stdout, /chained ambit-cni into .*10-flannel\.conflist \(agent socket \/run\/custom\/agent\.sock\)/);
  t.same(plugins(path.join(n.conf, '10-flannel.conflist')).map((plugin) => plugin.type), ['flannel', 'portmap', 'ambit-cni']);
  t.equal(plugins(path.join(n.conf, '10-flannel.conflist'))[2].agentSocket, '/run/custom/agent.sock');
  t.same(plugins(path.join(n.conf, '99-other.conflist')).map((plugin) => plugin.type), ['bridge'], 'only the primary config (first in order) is touched');

  // The node has no Node.js of its own: the wrapper runs the copied loader, libraries and binary.
  const version = spawnSync(path.join(n.bin, 'ambit-cni'), [], { input: '{"cniVersion":"1.0.0"}', encoding: 'utf8', env: { CNI_COMMAND: 'VERSION', PATH: '/nonexistent' } });
  t.equal(version.status, 0, version.stderr);
  t.match(JSON.parse(version.stdout), { supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  const add = spawnSync(path.join(n.bin, 'ambit-cni'), [], {
    input: JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'ambit-cni', agentSocket: path.join(n.bin, 'no-agent.sock'), prevResult: { cniVersion: '1.0.0', ips: [] } }),
    encoding: 'utf8',
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: n.bin, CNI_ARGS: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b', PATH: '/nonexistent' },
  });
  t.equal(add.status, 1, 'ADD without an agent fails, as a CNI plugin must');
  t.match(JSON.parse(add.stdout), { code: 11, msg: 'the ambit CNI agent is unreachable' }, 'try again later');

  const twice = n.run('install', { AGENT_SOCKET: '/run/custom/agent.sock' });
  t.equal(twice.status, 0);
  t.same(plugins(path.join(n.conf, '10-flannel.conflist')).map((plugin) => plugin.type), ['flannel', 'portmap', 'ambit-cni'], 'installing again does not chain twice');
});

t.test('a single-plugin .conf becomes a chained .conflist', async (t) => {
  const n = node(t, { '05-bridge.conf': { cniVersion: '0.4.0', name: 'mynet', type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local' } } });
  t.equal(n.run('install').status, 0);
  t.notOk(fs.existsSync(path.join(n.conf, '05-bridge.conf')));
  const list = JSON.parse(fs.readFileSync(path.join(n.conf, '05-bridge.conflist'), 'utf8')) as { name: string; cniVersion: string; plugins: Record<string, unknown>[] };
  t.same(list, {
    cniVersion: '0.4.0',
    name: 'mynet',
    plugins: [{ type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local' } }, { type: 'ambit-cni', agentSocket: '/var/run/ambit/cni-agent.sock', agentTimeoutMs: 5000 }],
  });
});

t.test('install waits for the network plugin\'s config and says what is missing when it never comes', async (t) => {
  const n = node(t, {});
  const result = n.run('install');
  t.equal(result.status, 1);
  t.match(result.stdout, /no CNI network config appeared in .* after 1s; is the cluster's network plugin installed\?/);
});

t.test('uninstall takes the plugin out of the chain and removes its files', async (t) => {
  const n = node(t, { '10-flannel.conflist': FLANNEL });
  t.equal(n.run('install').status, 0);
  const removed = n.run('uninstall');
  t.equal(removed.status, 0, removed.stderr);
  t.same(JSON.parse(fs.readFileSync(path.join(n.conf, '10-flannel.conflist'), 'utf8')), FLANNEL);
  t.same(fs.readdirSync(n.bin), []);
  t.equal(n.run('uninstall').status, 0, 'uninstalling twice is harmless');
});
