// The CNI agent's Kubernetes entry point for real: `node dist/src/cni/agent-main.js` against the fake API server, pods'
// netns under /var/run/netns (named tka-*), and a fake ztunnel that is the real EnrollmentServer on a unix socket.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { callAgent } from '../../../src/cni/agent-api';
import { EnrollmentServer, type EnrollmentHandlers } from '../../../src/cni/enrollment-server';
import { hasInpodRules, installInpodRules } from '../../../src/cni/inpod-rules';
import type { EnrolledPod } from '../../../src/cni/protocol';
import { FakeKubeApiServer } from '../../fakes/kube-apiserver';
import { makeNetns, randomSuffix, requireRoot, sh, tempDir, waitFor } from '../../unit/cni/helpers';

const MODE = 'istio.io/dataplane-mode';
const PROBE_SOURCE = '10.251.255.1';
const RULES = { probeSourceAddresses: [PROBE_SOURCE] };
const AGENT_MAIN = path.join(__dirname, '..', '..', '..', 'src', 'cni', 'agent-main.js');

/** A fake ztunnel recording what the agent tells it. */
class RecordingZtunnel implements EnrollmentHandlers {
  readonly added: EnrolledPod[] = [];
  readonly deleted: string[] = [];
  private readonly enrolled = new Set<string>();

  async onAdd(pod: EnrolledPod): Promise<void> {
    this.added.push(pod);
    this.enrolled.add(pod.uid);
  }

  onDel(uid: string): void {
    this.deleted.push(uid);
    this.enrolled.delete(uid);
  }

  onSnapshotSent(): void {}

  has(uid: string): boolean {
    return this.enrolled.has(uid);
  }
}

/** A pod sandbox's netns: lo up and eth0 holding the pod's /32 (a veth whose peer stays inside), as a CNI would leave it. */
function podNetns(t: Test, name: string, ip: string): string {
  makeNetns(t, name);
  sh('ip', '-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer');
  sh('ip', '-n', name, 'link', 'set', 'eth0peer', 'up');
  sh('ip', '-n', name, 'addr', 'add', `${ip}/32`, 'dev', 'eth0');
  sh('ip', '-n', name, 'link', 'set', 'eth0', 'up');
  return `/var/run/netns/${name}`;
}

function podObject(name: string, namespace: string, node: string, ip: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: { nodeName: node, serviceAccountName: `${name}-sa`, containers: [{ name: 'main', image: 'example/app:1' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** Resolves with the exit code once the process has exited. */
function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

t.test('the Kubernetes CNI agent reconciles, enrols, follows labels and stops on SIGTERM', async (t) => {
  requireRoot();
  const suffix = randomSuffix();
  const dir = tempDir(t, 'ambit-tka-');
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  const kubeconfig = fake.writeKubeconfig(dir);

  const ambientNs = `tka-mesh-${suffix}`;
  const plainNs = `tka-plain-${suffix}`;
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ambientNs, labels: { [MODE]: 'ambient' } } });
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: plainNs } });
  const uidOf = (namespace: string, name: string) => fake.get('v1', 'Pod', namespace, name)?.metadata.uid ?? '';

  const ambNetns = podNetns(t, `tka-${suffix}-amb`, '10.251.0.2');
  const plainNetns = podNetns(t, `tka-${suffix}-plain`, '10.251.0.3');
  const farNetns = podNetns(t, `tka-${suffix}-far`, '10.251.0.4');
  fake.seed(podObject('amb', ambientNs, 'node-a', '10.251.0.2'));
  fake.seed(podObject('plain', plainNs, 'node-a', '10.251.0.3'));
  fake.seed(podObject('far', ambientNs, 'node-b', '10.251.0.4'));
  // A left-over capture in a pod that is not ambient: reconcile must take it out.
  await installInpodRules(plainNetns, RULES);

  const ztunnel = new RecordingZtunnel();
  const ztunnelSocket = path.join(dir, 'ztunnel.sock');
  const agentSocket = path.join(dir, 'cni-agent.sock');
  const server = new EnrollmentServer({ socketPath: ztunnelSocket, handlers: ztunnel });
  await server.listen();
  t.teardown(() => server.close());

  const env: NodeJS.ProcessEnv = { ...process.env, AMBIT_LOG_LEVEL: 'debug' };
  delete env.NODE_OPTIONS;
  delete env.NODE_NAME;
  const child = spawn(process.execPath, [AGENT_MAIN, '--node', 'node-a', '--kubeconfig', kubeconfig, '--agent-socket', agentSocket, '--ztunnel-socket', ztunnelSocket, '--probe-source', PROBE_SOURCE], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    if (!t.passing()) console.error(`agent-main output:\n${logs}`);
  });

  await t.test('on start, the node\'s ambient pod is reconciled into capture', async (t) => {
    const uid = uidOf(ambientNs, 'amb');
    await waitFor('the ztunnel to get the ambient pod', () => ztunnel.has(uid), 20_000);
    await waitFor('the agent socket', () => fs.existsSync(agentSocket), 10_000);
    t.same(ztunnel.added.find((pod) => pod.uid === uid), { uid, name: 'amb', namespace: ambientNs, serviceAccount: 'amb-sa', ips: ['10.251.0.2'], netns: ambNetns });
    t.equal(await hasInpodRules(ambNetns, RULES), true, 'capture rules in the ambient pod, with the probe source exempt');
  });

  await t.test('the non-ambient pod has no rules and the other node\'s pod is never sent', async (t) => {
    await waitFor('the stale rules to go', async () => !(await hasInpodRules(plainNetns)), 10_000);
    t.equal(await hasInpodRules(plainNetns), false);
    t.notOk(ztunnel.added.some((pod) => pod.uid === uidOf(plainNs, 'plain')), 'the plain pod was not sent');
    t.notOk(ztunnel.added.some((pod) => pod.uid === uidOf(ambientNs, 'far') || pod.name === 'far'), 'node-b\'s pod was not sent');
    t.equal(await hasInpodRules(farNetns), false, 'node-b\'s netns was not touched');
  });

  await t.test('a plugin-style ADD for a newly created pod enrols it', async (t) => {
    const lateNetns = podNetns(t, `tka-${suffix}-late`, '10.251.0.5');
    fake.seed(podObject('late', ambientNs, 'node-a', '10.251.0.5'));
    const uid = uidOf(ambientNs, 'late');
    const outcome = await callAgent(agentSocket, 'add', { podName: 'late', podNamespace: ambientNs, podUid: uid, netns: lateNetns, ips: ['10.251.0.5'] }, 10_000);
    t.equal(outcome.kind === 'reply' ? outcome.reply.result : JSON.stringify(outcome), 'enrolled');
    t.ok(ztunnel.has(uid), 'the ztunnel has it');
    t.equal(await hasInpodRules(lateNetns, RULES), true);

    await t.test('removing the namespace\'s dataplane-mode label releases its pods', async (t) => {
      const ambUid = uidOf(ambientNs, 'amb');
      fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ambientNs, labels: {} } });
      await waitFor('the ztunnel to get both dels', () => ztunnel.deleted.includes(uid) && ztunnel.deleted.includes(ambUid), 10_000);
      t.notOk(ztunnel.has(uid) || ztunnel.has(ambUid));
      t.equal(await hasInpodRules(ambNetns), false, 'rules removed from the reconciled pod');
      t.equal(await hasInpodRules(lateNetns), false, 'and from the pod added through the plugin');
    });
  });

  await t.test('SIGTERM stops the agent with exit code 0 and leaves no socket behind', async (t) => {
    const exit = exited(child);
    child.kill('SIGTERM');
    t.equal(await exit, 0);
    t.notOk(fs.existsSync(agentSocket), 'the agent socket is removed');
  });
});

t.test('a start-up mistake is one line on stderr and exit 1', async (t) => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_NAME;
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [AGENT_MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  const noNode = await run(['--probe-source=10.251.255.1']);
  t.equal(noNode.code, 1);
  t.match(noNode.stderr, /^cni-agent: missing --node \(or \$NODE_NAME\)/);
  t.equal(noNode.stderr.trim().split('\n').length, 1, 'one line');
  const badKubeconfig = await run(['--node=node-a', '--kubeconfig=/nonexistent/kubeconfig', '--probe-source=10.251.255.1']);
  t.equal(badKubeconfig.code, 1);
  t.match(badKubeconfig.stderr, /^cni-agent: cannot load the kubeconfig \/nonexistent\/kubeconfig/);
  t.equal(badKubeconfig.stderr.trim().split('\n').length, 1, 'one line');
});
