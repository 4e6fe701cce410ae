// The compiled ambit-cni executable, run as a container runtime runs it (env + stdin), against a fake agent on a temp unix socket: exact stdout for every command and error.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import type { AgentErrorReply, AgentReply } from '../../../src/cni/agent-api';
import { tempDir, type Teardowns } from './helpers';

const PLUGIN = path.join(__dirname, '..', '..', '..', 'src', 'cni', 'ambit-cni.js');
const SUPPORTED = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];

const PREV_RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/c1-pod-apps-web' }],
  ips: [{ address: '10.44.1.2/32', gateway: '169.254.1.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0' }],
};

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

function runPlugin(env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLUGIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.end(stdin);
  });
}

interface Received {
  readonly path: string;
  readonly body: unknown;
}

/** A fake agent on a unix socket; `answer` decides the reply to each request. */
async function fakeAgent(t: Teardowns, answer: (path: string, body: Record<string, unknown>) => { status: number; body: AgentReply | AgentErrorReply }): Promise<{ socket: string; received: Received[] }> {
  const socket = path.join(tempDir(t), 'agent.sock');
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      received.push({ path: req.url ?? '', body });
      const reply = answer(req.url ?? '', body);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { socket, received };
}

function env(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee01',
    CNI_NETNS: '/var/run/netns/c1-pod-apps-web',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=apps;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=c0ffee01;K8S_POD_UID=uid-web',
    CNI_PATH: '/opt/cni/bin',
    ...extra,
  };
}

function config(agentSocket: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'ambit', type: 'ambit-cni', agentSocket, prevResult: PREV_RESULT, ...extra });
}

function cniError(code: number, msg: string, details: string, cniVersion = '1.0.0'): string {
  return `${JSON.stringify({ cniVersion, code, msg, details })}\n`;
}

t.test('VERSION prints the input cniVersion and the supported versions', async (t) => {
  t.same(await runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}'), {
    stdout: `{"cniVersion":"0.4.0","supportedVersions":${JSON.stringify(SUPPORTED)}}\n`,
    stderr: '',
    code: 0,
  });
  const bare = await runPlugin({ CNI_COMMAND: 'VERSION' }, '');
  t.equal(bare.stdout, `{"cniVersion":"1.0.0","supportedVersions":${JSON.stringify(SUPPORTED)}}\n`, 'no stdin: 1.0.0');
});

t.test('ADD tells the agent about the pod, then prints prevResult as its own result', async (t) => {
  const agent = await fakeAgent(t, () => ({ status: 200, body: { result: 'enrolled', detail: 'namespace-label' } }));
  const run = await runPlugin(env('ADD'), config(agent.socket));
  t.equal(run.code, 0);
  t.equal(run.stdout, `${JSON.stringify(PREV_RESULT)}\n`);
  t.equal(run.stderr, 'ambit-cni: ADD apps/web: enrolled (namespace-label)\n');
  t.same(agent.received, [{ path: '/cmdadd', body: { podName: 'web', podNamespace: 'apps', podUid: 'uid-web', netns: '/var/run/netns/c1-pod-apps-web', ips: ['10.44.1.2'] } }]);
});

t.test('ADD of a pod the agent leaves alone passes prevResult through, with the config cniVersion', async (t) => {
  const agent = await fakeAgent(t, () => ({ status: 200, body: { result: 'not-ambient', detail: 'not-enrolled' } }));
  const prev = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.44.2.7/24' }, { version: '6', address: 'fd00::7/64' }, { version: '4' }], dns: {} };
  const run = await runPlugin(env('ADD'), JSON.stringify({ cniVersion: '0.4.0', name: 'ambit', type: 'ambit-cni', agentSocket: agent.socket, prevResult: prev }));
  t.equal(run.code, 0);
  t.equal(run.stdout, `${JSON.stringify(prev)}\n`);
  t.same((agent.received[0].body as { ips: string[] }).ips, ['10.44.2.7', 'fd00::7'], 'addresses from 0.4.0-style ips, prefix stripped, bad entries skipped');
});

t.test('ADD when the agent is unreachable fails with "try again later" (11)', async (t) => {
  const socket = path.join(tempDir(t), 'nobody.sock');
  const run = await runPlugin(env('ADD'), config(socket));
  t.equal(run.code, 1);
  t.equal(run.stdout, cniError(11, 'the ambit CNI agent is unreachable', `${socket}: ENOENT: connect ENOENT ${socket}; is the node's CNI agent running?`));
});

t.test('ADD the agent refuses: retryable -> 11, otherwise 100, with the agent code in details', async (t) => {
  const agent = await fakeAgent(t, (_path, body) =>
    body.podName === 'web'
      ? { status: 503, body: { error: { code: 'CNI_ZTUNNEL_REJECTED', message: "the node's ztunnel refused pod apps/web: busy", retryable: true } } }
      : { status: 500, body: { error: { code: 'CNI_CAPTURE_SETUP_FAILED', message: 'cannot install capture rules', retryable: false } } },
  );
  const retry = await runPlugin(env('ADD'), config(agent.socket));
  t.equal(retry.code, 1);
  t.equal(retry.stdout, cniError(11, 'the ambit CNI agent refused ADD of apps/web', "CNI_ZTUNNEL_REJECTED: the node's ztunnel refused pod apps/web: busy"));
  const fatal = await runPlugin(env('ADD', { CNI_ARGS: 'K8S_POD_NAMESPACE=apps;K8S_POD_NAME=db' }), config(agent.socket));
  t.equal(fatal.stdout, cniError(100, 'the ambit CNI agent refused ADD of apps/db', 'CNI_CAPTURE_SETUP_FAILED: cannot install capture rules'));
  t.equal((agent.received[1].body as { podUid: string }).podUid, '', 'no K8S_POD_UID: the agent gets an empty uid');
});

t.test('DEL tells the agent and prints nothing; an unreachable agent does not fail a DEL', async (t) => {
  const agent = await fakeAgent(t, () => ({ status: 200, body: { result: 'released' } }));
  const run = await runPlugin(env('DEL'), config(agent.socket));
  t.same({ stdout: run.stdout, code: run.code }, { stdout: '', code: 0 });
  t.same(agent.received, [{ path: '/cmddel', body: { podName: 'web', podNamespace: 'apps', podUid: 'uid-web', netns: '/var/run/netns/c1-pod-apps-web', ips: ['10.44.1.2'] } }]);

  const noNetns = await runPlugin(env('DEL', { CNI_NETNS: '' }), JSON.stringify({ cniVersion: '1.0.0', name: 'ambit', type: 'ambit-cni', agentSocket: agent.socket }));
  t.same({ stdout: noNetns.stdout, code: noNetns.code }, { stdout: '', code: 0 }, 'DEL without CNI_NETNS or prevResult is allowed');
  t.same(agent.received[1].body, { podName: 'web', podNamespace: 'apps', podUid: 'uid-web', netns: '', ips: [] });

  const gone = await runPlugin(env('DEL'), config(path.join(tempDir(t), 'nobody.sock')));
  t.same({ stdout: gone.stdout, code: gone.code }, { stdout: '', code: 0 });
  t.match(gone.stderr, /agent unreachable on DEL of apps\/web/);
});

t.test('CHECK asks the agent: ok prints nothing, a missing capture is error 101', async (t) => {
  let healthy = true;
  const agent = await fakeAgent(t, () =>
    healthy ? { status: 200, body: { result: 'ok' } } : { status: 500, body: { error: { code: 'CNI_CAPTURE_MISSING', message: 'no capture rules', retryable: false } } },
  );
  const ok = await runPlugin(env('CHECK'), config(agent.socket));
  t.same({ stdout: ok.stdout, code: ok.code }, { stdout: '', code: 0 });
  t.equal(agent.received[0].path, '/cmdcheck');
  healthy = false;
  const bad = await runPlugin(env('CHECK'), config(agent.socket));
  t.same({ stdout: bad.stdout, code: bad.code }, { stdout: cniError(101, 'the ambit CNI agent refused CHECK of apps/web', 'CNI_CAPTURE_MISSING: no capture rules'), code: 1 }, bad.stderr);
});

t.test('a sandbox without Kubernetes pod args is passed through without asking the agent', async (t) => {
  const agent = await fakeAgent(t, () => ({ status: 200, body: { result: 'enrolled' } }));
  const run = await runPlugin(env('ADD', { CNI_ARGS: 'IgnoreUnknown=1' }), config(agent.socket));
  t.equal(run.code, 0);
  t.equal(run.stdout, `${JSON.stringify(PREV_RESULT)}\n`);
  t.same(agent.received, []);
});

/** The JSON.parse message of this Node version, which the plugin quotes. */
function jsonErrorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${text} parsed`);
}

t.test('configuration errors: bad JSON 6, bad fields 7, unsupported version 1', async (t) => {
  const socket = '/run/ambit/agent.sock';
  const cases: [string, string, string][] = [
    ['{not json', cniError(6, 'cannot decode the network configuration', `stdin is not JSON: ${jsonErrorOf('{not json')}`), 'bad JSON'],
    ['[]', cniError(6, 'cannot decode the network configuration', 'stdin is not a JSON object'), 'an array'],
    [config(socket, { cniVersion: '0.2.0' }), cniError(1, 'incompatible CNI version', 'ambit-cni supports CNI 0.3.0, 0.3.1, 0.4.0, 1.0.0, not 0.2.0', '0.2.0'), 'old version'],
    [config(socket, { agentSocket: 'agent.sock' }), cniError(7, 'invalid ambit-cni configuration', "agentSocket must be the absolute path of the CNI agent's unix socket"), 'relative socket'],
    [config(socket, { agentSocket: undefined }), cniError(7, 'invalid ambit-cni configuration', "agentSocket must be the absolute path of the CNI agent's unix socket"), 'no socket'],
    [config(socket, { type: 'istio-cni' }), cniError(7, 'invalid ambit-cni configuration', 'type must be "ambit-cni", got "istio-cni"'), 'wrong type'],
    [config(socket, { prevResult: undefined }), cniError(7, 'invalid ambit-cni configuration', 'prevResult is missing: ambit-cni is a chained plugin and must come after the primary CNI plugin in the conflist'), 'not chained'],
    [config(socket, { agentTimeoutMs: -1 }), cniError(7, 'invalid ambit-cni configuration', 'agentTimeoutMs must be a positive integer (milliseconds)'), 'bad timeout'],
    [config(socket, { name: '' }), cniError(7, 'invalid ambit-cni configuration', 'name must be a non-empty string'), 'no name'],
  ];
  for (const [stdin, stdout, what] of cases) {
    const run = await runPlugin(env('ADD'), stdin);
    t.same({ stdout: run.stdout, code: run.code }, { stdout, code: 1 }, what);
  }
});

t.test('environment errors are code 4 and name the variables', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{}, cniError(4, 'invalid CNI_COMMAND', 'CNI_COMMAND is ""; expected one of ADD, DEL, CHECK, VERSION')],
    [{ CNI_COMMAND: 'GC' }, cniError(4, 'invalid CNI_COMMAND', 'CNI_COMMAND is "GC"; expected one of ADD, DEL, CHECK, VERSION')],
    [{ ...env('ADD'), CNI_NETNS: '', CNI_IFNAME: '' }, cniError(4, 'missing environment variables', 'ADD needs CNI_IFNAME, CNI_NETNS')],
    [{ ...env('DEL'), CNI_CONTAINERID: '' }, cniError(4, 'missing environment variables', 'DEL needs CNI_CONTAINERID')],
  ];
  for (const [vars, stdout] of cases) {
    const run = await runPlugin(vars, config('/run/ambit/agent.sock'));
    t.same({ stdout: run.stdout, code: run.code }, { stdout, code: 1 }, vars.CNI_COMMAND ?? 'no CNI_COMMAND');
  }
});
