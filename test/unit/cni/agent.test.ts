// The node CNI agent end to end over its socket: real in-pod rules in throwaway netns, a fake ztunnel (EnrollmentServer) and a fake label source.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CniAgent, runAgent, type CniAgentConfig, type PodInfo, type PodLabelSource, type RunningPod } from '../../../src/cni/agent';
import { callAgent, type AgentCallOutcome, type PluginCommand } from '../../../src/cni/agent-api';
import type { Labels } from '../../../src/cni/ambient';
import { EnrollmentServer, type EnrollmentHandlers } from '../../../src/cni/enrollment-server';
import { hasInpodRules, installInpodRules } from '../../../src/cni/inpod-rules';
import type { EnrolledPod } from '../../../src/cni/protocol';
import { inNs, makePodNetns, tempDir, waitFor, type Teardowns } from './helpers';

const MODE = 'istio.io/dataplane-mode';
const PROBES = ['10.99.0.11'];

/** Cluster state the test edits; every edit notifies the agent as the store watcher would. */
class FakeLabelSource implements PodLabelSource {
  private readonly pods = new Map<string, { uid: string; labels: Labels; annotations: Labels; serviceAccount: string }>();
  private readonly namespaces = new Map<string, Labels>();
  private readonly listeners = new Set<() => void>();

  setPod(namespace: string, name: string, uid: string, labels: Labels = {}, annotations: Labels = {}): void {
    this.pods.set(`${namespace}/${name}`, { uid, labels, annotations, serviceAccount: `${name}-sa` });
    this.emit();
  }

  setNamespace(namespace: string, labels: Labels): void {
    this.namespaces.set(namespace, labels);
    this.emit();
  }

  podInfo(namespace: string, name: string): PodInfo | undefined {
    const pod = this.pods.get(`${namespace}/${name}`);
    return pod && { ...pod, namespaceLabels: this.namespaces.get(namespace) ?? {} };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A fake ztunnel that records adds/dels/snapshots; `refuse` makes it nack those uids. */
class FakeZtunnel implements EnrollmentHandlers {
  readonly calls: string[] = [];
  readonly added: EnrolledPod[] = [];
  readonly refuse = new Set<string>();
  private server: EnrollmentServer | undefined;

  constructor(private readonly socketPath: string) {}

  async start(t: Teardowns): Promise<void> {
    this.server = new EnrollmentServer({ socketPath: this.socketPath, handlers: this });
    await this.server.listen();
    t.teardown(() => this.server?.close());
  }

  async onAdd(pod: EnrolledPod): Promise<void> {
    this.calls.push(`add ${pod.uid}`);
    if (this.refuse.has(pod.uid)) throw new Error('listeners would not open');
    this.added.push(pod);
  }

  onDel(uid: string): void {
    this.calls.push(`del ${uid}`);
  }

  onSnapshotSent(uids: ReadonlySet<string>): void {
    this.calls.push(`snapshot [${[...uids].sort().join(',')}]`);
  }
}

interface Setup {
  readonly agent: CniAgent;
  readonly ztunnel: FakeZtunnel;
  readonly labels: FakeLabelSource;
  readonly call: (command: PluginCommand, namespace: string, name: string, netns: string, uid?: string) => Promise<AgentCallOutcome>;
}

async function setup(t: Teardowns, options: { running?: RunningPod[]; ztunnelUp?: boolean; labels?: FakeLabelSource } = {}): Promise<Setup> {
  const dir = tempDir(t);
  const labels = options.labels ?? new FakeLabelSource();
  const ztunnel = new FakeZtunnel(path.join(dir, 'ztunnel.sock'));
  if (options.ztunnelUp !== false) await ztunnel.start(t);
  const config: CniAgentConfig = {
    nodeName: 'node-1',
    agentSocket: path.join(dir, 'agent.sock'),
    ztunnelSocket: path.join(dir, 'ztunnel.sock'),
    probeSourceAddresses: PROBES,
    pods: labels,
    listPods: async () => options.running ?? [],
    ackTimeoutMs: 2000,
    reconnectBackoff: { initialMs: 10, maxMs: 50 },
  };
  const agent = await runAgent(config);
  t.teardown(() => agent.stop());
  if (options.ztunnelUp !== false) await agent.ztunnel.whenConnected(3000);
  const call = (command: PluginCommand, namespace: string, name: string, netns: string, uid = '') =>
    callAgent(config.agentSocket, command, { podName: name, podNamespace: namespace, podUid: uid, netns: `/var/run/netns/${netns}`, ips: ['10.252.9.2'] }, 10_000);
  return { agent, ztunnel, labels, call };
}

t.test('ADD of an ambient pod installs its rules, then enrols it with the ztunnel', async (t) => {
  const { agent, ztunnel, labels, call } = await setup(t);
  const netns = makePodNetns(t);
  labels.setNamespace('apps', { [MODE]: 'ambient' });
  labels.setPod('apps', 'web', 'uid-web');

  t.same(await call('add', 'apps', 'web', netns), { kind: 'reply', reply: { result: 'enrolled', detail: 'namespace-label' } });
  t.equal(await hasInpodRules(netns, { probeSourceAddresses: PROBES }), true, 'exactly the capture rules for this node are in the pod');
  t.same(ztunnel.added, [{ uid: 'uid-web', name: 'web', namespace: 'apps', serviceAccount: 'web-sa', ips: ['10.252.9.2'], netns: `/var/run/netns/${netns}` }]);
  t.match(agent.knownPods(), [{ uid: 'uid-web', captured: true, acked: true, reason: 'namespace-label' }]);
  t.same(await call('check', 'apps', 'web', netns), { kind: 'reply', reply: { result: 'ok', detail: 'namespace-label' } });
});

t.test('ADD of a pod outside the mesh leaves it untouched', async (t) => {
  const { ztunnel, labels, call } = await setup(t);
  const netns = makePodNetns(t);
  labels.setPod('apps', 'plain', 'uid-plain');
  t.same(await call('add', 'apps', 'plain', netns, 'uid-plain'), { kind: 'reply', reply: { result: 'not-ambient', detail: 'not-enrolled' } });
  t.equal(inNs(netns, 'iptables-save').includes('AMBIT'), false);
  t.same(ztunnel.calls, ['snapshot []']);
  t.same(await call('check', 'apps', 'plain', netns), { kind: 'reply', reply: { result: 'ok', detail: 'not-enrolled' } });
});

t.test('label changes move running pods in and out of the mesh without any CNI call', async (t) => {
  const { agent, ztunnel, labels, call } = await setup(t);
  const web = makePodNetns(t);
  const db = makePodNetns(t);
  labels.setPod('apps', 'web', 'uid-web');
  labels.setPod('apps', 'db', 'uid-db');
  await call('add', 'apps', 'web', web);
  await call('add', 'apps', 'db', db);
  t.same(ztunnel.calls, ['snapshot []'], 'nothing enrolled yet');

  labels.setNamespace('apps', { [MODE]: 'ambient' });
  await waitFor('both pods to be enrolled', () => ztunnel.added.length === 2);
  await agent.reevaluate();
  t.equal(await hasInpodRules(web), true);
  t.equal(await hasInpodRules(db), true);

  labels.setPod('apps', 'db', 'uid-db', { [MODE]: 'none' });
  await waitFor('db to be released', () => ztunnel.calls.includes('del uid-db'));
  await agent.reevaluate();
  t.equal(await hasInpodRules(db), false, 'the opted-out pod has no capture left');
  t.equal(inNs(db, 'iptables-save').includes('AMBIT'), false);
  t.equal(await hasInpodRules(web), true, 'the other pod stays captured');
  t.same([...ztunnel.calls].sort(), ['add uid-db', 'add uid-web', 'del uid-db', 'snapshot []'].sort());
  t.match(agent.knownPods().find((pod) => pod.name === 'db'), { captured: false, reason: 'pod-opted-out' });
});

t.test('DEL removes the rules and tells the ztunnel; a repeated DEL is fine', async (t) => {
  const { agent, ztunnel, labels, call } = await setup(t);
  const netns = makePodNetns(t);
  labels.setPod('apps', 'web', 'uid-web', { [MODE]: 'ambient' });
  await call('add', 'apps', 'web', netns, 'uid-web');
  t.same(await call('del', 'apps', 'web', netns, 'uid-web'), { kind: 'reply', reply: { result: 'released' } });
  t.equal(await hasInpodRules(netns), false);
  t.equal(inNs(netns, 'ip', 'rule', 'show').includes('0x111'), false, 'the fwmark rule is gone too');
  t.same(ztunnel.calls, ['snapshot []', 'add uid-web', 'del uid-web']);
  t.same(agent.knownPods(), []);
  t.same(await call('del', 'apps', 'web', netns, 'uid-web'), { kind: 'reply', reply: { result: 'not-known' } });
  t.same(ztunnel.calls, ['snapshot []', 'add uid-web', 'del uid-web'], 'nothing more reaches the ztunnel');
});

t.test('an ADD for a new sandbox of the same pod, without a DEL between, releases the old capture first', async (t) => {
  const { ztunnel, labels, call } = await setup(t);
  const first = makePodNetns(t);
  const second = makePodNetns(t);
  labels.setPod('apps', 'web', 'uid-1', { [MODE]: 'ambient' });
  await call('add', 'apps', 'web', first, 'uid-1');
  labels.setPod('apps', 'web', 'uid-2', { [MODE]: 'ambient' });
  t.match(await call('add', 'apps', 'web', second, 'uid-2'), { kind: 'reply', reply: { result: 'enrolled' } });
  t.same(ztunnel.calls, ['snapshot []', 'add uid-1', 'del uid-1', 'add uid-2']);
  t.equal(await hasInpodRules(first), false, 'the old sandbox lost its rules');
  t.equal(await hasInpodRules(second), true);
});

t.test('refusals: unknown pod (retryable), ztunnel nack (rules rolled back), missing capture on CHECK', async (t) => {
  const { ztunnel, labels, call } = await setup(t);
  const netns = makePodNetns(t);
  t.same(await call('add', 'apps', 'ghost', netns), {
    kind: 'refused',
    error: { code: 'CNI_POD_NOT_KNOWN', message: 'pod apps/ghost is not in the cluster state the agent reads (yet); retry once it is', retryable: true },
  });

  labels.setPod('apps', 'web', 'uid-web', { [MODE]: 'ambient' });
  ztunnel.refuse.add('uid-web');
  t.same(await call('add', 'apps', 'web', netns), {
    kind: 'refused',
    error: { code: 'CNI_ZTUNNEL_REJECTED', message: "the node's ztunnel refused pod apps/web: listeners would not open", retryable: true },
  });
  t.equal(inNs(netns, 'iptables-save').includes('AMBIT'), false, 'a refused pod is not left captured with nobody listening');

  ztunnel.refuse.clear();
  t.match(await call('add', 'apps', 'web', netns), { kind: 'reply', reply: { result: 'enrolled' } }, 'the runtime retry succeeds');
  inNs(netns, 'iptables', '-t', 'nat', '-F', 'AMBIT-OUTPUT');
  t.match(await call('check', 'apps', 'web', netns), { kind: 'refused', error: { code: 'CNI_CAPTURE_MISSING', retryable: false, message: /lacks ambit's capture rules/ } });
});

t.test('with the ztunnel down, ADD answers pending; the ztunnel gets the pod in its first snapshot', async (t) => {
  const { agent, ztunnel, labels, call } = await setup(t, { ztunnelUp: false });
  const netns = makePodNetns(t);
  labels.setPod('apps', 'web', 'uid-web', { [MODE]: 'ambient' });
  t.match(await call('add', 'apps', 'web', netns), { kind: 'reply', reply: { result: 'pending', detail: /not-connected/ } });
  t.equal(await hasInpodRules(netns), true, 'capture is in place already (fail closed, as Istio)');
  t.match(await call('check', 'apps', 'web', netns), { kind: 'refused', error: { code: 'CNI_CAPTURE_MISSING', retryable: true } });

  await ztunnel.start(t);
  await waitFor('the snapshot', () => ztunnel.calls.length === 2);
  t.same(ztunnel.calls, ['add uid-web', 'snapshot [uid-web]']);
  await waitFor('the ack', () => agent.knownPods()[0]?.acked === true);
  t.match(await call('check', 'apps', 'web', netns), { kind: 'reply', reply: { result: 'ok' } });
});

t.test('on start the agent enrols running ambient pods and strips stale rules from the rest', async (t) => {
  const web = makePodNetns(t);
  const plain = makePodNetns(t);
  await installInpodRules(plain, { probeSourceAddresses: ['10.99.0.99'] }); // left from an earlier enrolment
  const labels = new FakeLabelSource();
  labels.setNamespace('apps', { [MODE]: 'ambient' });
  labels.setPod('apps', 'web', 'uid-web');
  labels.setPod('apps', 'plain', 'uid-plain', { [MODE]: 'none' });
  const running: RunningPod[] = [
    { name: 'web', namespace: 'apps', netns: web, ips: ['10.252.9.2'] },
    { name: 'plain', namespace: 'apps', uid: 'uid-plain', netns: `/var/run/netns/${plain}`, ips: ['10.252.9.3'] },
    { name: 'vanished', namespace: 'apps', netns: 'tcni-not-there', ips: [] },
  ];
  const { agent, ztunnel } = await setup(t, { running, labels });
  await waitFor('the snapshot', () => ztunnel.calls.some((call) => call.startsWith('snapshot')));
  t.same(ztunnel.calls, ['add uid-web', 'snapshot [uid-web]'], 'the reconciled pod reaches the ztunnel in the first snapshot');
  t.equal(ztunnel.added[0].netns, `/var/run/netns/${web}`, 'a netns name from listPods becomes a path');
  t.equal(await hasInpodRules(web, { probeSourceAddresses: PROBES }), true);
  t.equal(inNs(plain, 'iptables-save').includes('AMBIT'), false, 'stale rules removed from the opted-out pod');
  t.same(agent.knownPods().map((pod) => `${pod.name}:${pod.captured}`).sort(), ['plain:false', 'web:true']);
});

t.test('a label change that lands while the agent reconciles is applied once it runs', async (t) => {
  const web = makePodNetns(t);
  // The namespace is enrolled right after reconcile has read the pod as outside the mesh.
  class LabelledDuringReconcile extends FakeLabelSource {
    private flipped = false;
    override podInfo(namespace: string, name: string): PodInfo | undefined {
      const info = super.podInfo(namespace, name);
      if (!this.flipped) {
        this.flipped = true;
        this.setNamespace('apps', { [MODE]: 'ambient' });
      }
      return info;
    }
  }
  const labels = new LabelledDuringReconcile();
  labels.setPod('apps', 'web', 'uid-web');
  const { agent, ztunnel } = await setup(t, { running: [{ name: 'web', namespace: 'apps', netns: web, ips: ['10.252.9.2'] }], labels });
  await waitFor('the late enrolment', () => ztunnel.added.some((pod) => pod.uid === 'uid-web'));
  t.equal(await hasInpodRules(web, { probeSourceAddresses: PROBES }), true, 'captured without waiting for another change');
  t.same(agent.knownPods().map((pod) => `${pod.name}:${pod.captured}`), ['web:true']);
});

t.test('bad configs are refused with a literal code naming the field', async (t) => {
  const base: CniAgentConfig = {
    nodeName: 'node-1',
    agentSocket: '/run/ambit/agent.sock',
    ztunnelSocket: '/run/ambit/ztunnel.sock',
    probeSourceAddresses: PROBES,
    pods: new FakeLabelSource(),
    listPods: async () => [],
  };
  t.throws(() => new CniAgent({ ...base, agentSocket: 'agent.sock' }), { code: 'INVALID_CNI_AGENT_CONFIG', field: 'agentSocket' });
  t.throws(() => new CniAgent({ ...base, ztunnelSocket: base.agentSocket }), { code: 'INVALID_CNI_AGENT_CONFIG', field: 'ztunnelSocket' });
  t.throws(() => new CniAgent({ ...base, probeSourceAddresses: ['10.99.0.11', 'node-1'] }), { code: 'INVALID_CNI_AGENT_CONFIG', field: 'probeSourceAddresses[1]' });
  t.throws(() => new CniAgent({ ...base, nodeName: '' }), { code: 'INVALID_CNI_AGENT_CONFIG', field: 'nodeName' });
  t.throws(() => new CniAgent({ ...base, ackTimeoutMs: 0 }), { code: 'INVALID_CNI_AGENT_CONFIG', field: 'ackTimeoutMs' });
});

t.test('an agent whose socket path is taken by a regular file fails to start and leaves the file alone', async (t) => {
  const dir = tempDir(t);
  const agentSocket = path.join(dir, 'agent.sock');
  fs.writeFileSync(agentSocket, 'not a socket');
  const config: CniAgentConfig = {
    nodeName: 'node-1',
    agentSocket,
    ztunnelSocket: path.join(dir, 'ztunnel.sock'),
    probeSourceAddresses: PROBES,
    pods: new FakeLabelSource(),
    listPods: async () => [],
  };
  await t.rejects(runAgent(config), { code: 'SOCKET_PATH_OCCUPIED', path: agentSocket });
  t.equal(fs.readFileSync(agentSocket, 'utf8'), 'not a socket');
});
