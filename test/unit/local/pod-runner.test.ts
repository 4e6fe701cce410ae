// Pod containers: $(VAR) expansion, the environment a container sees, and how a PodRunner turns process states into pod status.
import path from 'node:path';
import t from 'tap';
import type { Container, PodSpec, Resource } from '../../../src/api';
import { SOURCE_DIR_ANNOTATION } from '../../../src/local/deployment-controller';
import { containerEnv, expandVariables, PodRunner, serviceAccountOf, type PodRunnerOptions } from '../../../src/local/pod-runner';
import { ProcessSupervisor, type ProcessSpec, type ProcessStatus } from '../../../src/local/supervisor';

const OPTIONS: PodRunnerOptions = { nodeName: 'node-2', hostIp: '10.99.0.12', logDir: '/var/log/ambit-test', probeIntervalMs: 10 };

function pod(spec: Partial<PodSpec>, metadata: Partial<Resource['metadata']> = {}): Resource<PodSpec> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'apps', uid: 'pod-uid', labels: { app: 'web', 'app.kubernetes.io/version': 'v2' }, annotations: { note: 'hello' }, ...metadata },
    spec: { containers: [{ name: 'main', command: ['sleep', 'infinity'] }], ...spec },
  };
}

t.test('status.podIPs and status.hostIPs resolve like their singular forms', async (t) => {
  const env = containerEnv(pod({}), { name: 'm', env: [
    { name: 'IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
    { name: 'HOSTS', valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } },
  ] }, '10.44.2.7', OPTIONS);
  t.equal(env.IPS, '10.44.2.7');
  t.equal(env.HOSTS, OPTIONS.hostIp);
});

t.test('expandVariables follows Kubernetes $(VAR) rules', async (t) => {
  const env = { A: '1', B: 'two', LOOP: '$(A)' };
  const rows: [string, string][] = [
    ['$(A)', '1'],
    ['x-$(A)-$(B)', 'x-1-two'],
    ['$(A)$(A)', '11'],
    ['$$(A)', '$(A)'],
    ['$$', '$'],
    ['$$$(A)', '$1'],
    ['a$$b', 'a$b'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$(UNKNOWN) and $(A)', '$(UNKNOWN) and 1'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['$()', '$()'],
    ['$(1A)', '$(1A)'],
    ['$(LOOP)', '$(A)'],
    ['plain text', 'plain text'],
    ['', ''],
  ];
  for (const [input, want] of rows) t.equal(expandVariables(input, env), want, JSON.stringify(input));
});

t.test('serviceAccountOf: serviceAccountName, then the deprecated serviceAccount, then default', async (t) => {
  t.equal(serviceAccountOf(pod({ serviceAccountName: 'sa1', serviceAccount: 'old' })), 'sa1');
  t.equal(serviceAccountOf(pod({ serviceAccount: 'old' })), 'old');
  t.equal(serviceAccountOf(pod({})), 'default');
});

t.test('containerEnv gives the pod identity and the downward API', async (t) => {
  const container: Container = {
    name: 'main',
    env: [
      { name: 'GREETING', value: 'hi $(POD_NAME) in $(POD_NAMESPACE)' },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'VERSION', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/version']" } } },
      { name: 'NO_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['nope']" } } },
      { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
      { name: 'MY_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'MY_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'MY_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'MY_SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'MY_HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'BOTH', value: '$(APP)/$(GREETING)' },
      { name: 'TOO_EARLY', value: '$(LATER)' },
      { name: 'LATER', value: 'late' },
      { name: 'NO_VALUE' },
      { name: 'ESCAPED', value: '$$(APP)' },
    ],
  };
  const env = containerEnv(pod({ serviceAccountName: 'web-sa' }), container, '10.44.2.7', OPTIONS);
  t.same(env, {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/root',
    HOSTNAME: 'web-1',
    POD_NAME: 'web-1',
    POD_NAMESPACE: 'apps',
    POD_IP: '10.44.2.7',
    NODE_NAME: 'node-2',
    SERVICE_ACCOUNT: 'web-sa',
    GREETING: 'hi web-1 in apps',
    APP: 'web',
    VERSION: 'v2',
    NO_LABEL: '',
    NOTE: 'hello',
    MY_NAME: 'web-1',
    MY_NAMESPACE: 'apps',
    MY_UID: 'pod-uid',
    MY_NODE: 'node-2',
    MY_SA: 'web-sa',
    MY_IP: '10.44.2.7',
    MY_HOST: '10.99.0.12',
    BOTH: 'web/hi web-1 in apps',
    TOO_EARLY: '$(LATER)',
    LATER: 'late',
    NO_VALUE: '',
    ESCAPED: '$(APP)',
  });
});

t.test('containerEnv defaults: service account default, namespace default, and env may override the built-ins', async (t) => {
  const bare = pod({}, { namespace: undefined, labels: undefined, annotations: undefined, uid: undefined });
  const env = containerEnv(bare, { name: 'main', env: [{ name: 'POD_IP', value: 'custom' }, { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['x']" } } }] }, '10.44.1.2', OPTIONS);
  t.equal(env.SERVICE_ACCOUNT, 'default');
  t.equal(env.POD_NAMESPACE, 'default');
  t.equal(env.POD_IP, 'custom');
  t.equal(env.L, '', 'a label of a pod without labels is empty');
  t.same(Object.keys(containerEnv(bare, { name: 'main' }, '10.44.1.2', OPTIONS)).sort(), ['HOME', 'HOSTNAME', 'NODE_NAME', 'PATH', 'POD_IP', 'POD_NAME', 'POD_NAMESPACE', 'SERVICE_ACCOUNT']);
});

/** A supervisor that records what it is asked to run and reports states the test sets. */
class FakeSupervisor extends ProcessSupervisor {
  readonly started: ProcessSpec[] = [];
  readonly stopped: string[] = [];
  readonly states = new Map<string, ProcessStatus>();

  override start(spec: ProcessSpec): void {
    this.started.push(spec);
  }

  override status(id: string): ProcessStatus | undefined {
    return this.states.get(id);
  }

  override async stop(id: string): Promise<void> {
    this.stopped.push(id);
  }
}

const ATTACHMENT = { netns: 'tx-pod-apps-web-1', nodeNetns: 'tx-node-2', ip: '10.44.2.7', hostVeth: 'v123' };

t.test('start runs each container with expanded argv, its env, cwd and log file', async (t) => {
  const supervisor = new FakeSupervisor();
  const spec: Partial<PodSpec> = {
    restartPolicy: 'OnFailure',
    containers: [
      { name: 'main', command: ['node', '$(SCRIPT)'], args: ['--name=$(POD_NAME)', '$$(POD_NAME)'], env: [{ name: 'SCRIPT', value: 'server.js' }] },
      { name: 'side', command: ['sleep'], args: ['1'], workingDir: '/tmp' },
      { name: 'imageonly', image: 'nginx' },
    ],
  };
  const runner = new PodRunner(pod(spec, { annotations: { [SOURCE_DIR_ANNOTATION]: '/srv/manifests' } }), ATTACHMENT, supervisor, OPTIONS, () => undefined);
  runner.start();
  t.teardown(() => runner.stop(0));
  t.same(
    supervisor.started.map((p) => ({ id: p.id, netns: p.netns, command: p.command, args: p.args, cwd: p.cwd, logFile: p.logFile, restartPolicy: p.restartPolicy })),
    [
      {
        id: 'apps/web-1/main',
        netns: 'tx-pod-apps-web-1',
        command: 'node',
        args: ['server.js', '--name=web-1', '$(POD_NAME)'],
        cwd: '/srv/manifests',
        logFile: path.join('/var/log/ambit-test', 'apps_web-1_main.log'),
        restartPolicy: 'OnFailure',
      },
      { id: 'apps/web-1/side', netns: 'tx-pod-apps-web-1', command: 'sleep', args: ['1'], cwd: '/tmp', logFile: path.join('/var/log/ambit-test', 'apps_web-1_side.log'), restartPolicy: 'OnFailure' },
    ],
    'a container without a command is not started',
  );
  t.equal(supervisor.started[0].env.SCRIPT, 'server.js');
  t.equal(supervisor.started[0].env.POD_IP, '10.44.2.7');
  const status = runner.status();
  t.same(status.containerStatuses?.[2], {
    name: 'imageonly',
    ready: false,
    restartCount: 0,
    state: { waiting: { reason: 'container has no command: local mode runs container.command/args, not images' } },
  });
  await runner.stop(5);
  t.same(supervisor.stopped, ['apps/web-1/main', 'apps/web-1/side', 'apps/web-1/imageonly']);
});

t.test('a running container without probe or ports becomes ready, and the pod reports it', async (t) => {
  const supervisor = new FakeSupervisor();
  supervisor.states.set('apps/web-1/main', { state: 'running', pid: 1234, restarts: 2, startedAt: '2024-01-01T00:00:00.000Z' });
  let changed!: () => void;
  const becameReady = new Promise<void>((resolve) => (changed = resolve));
  const runner = new PodRunner(pod({}), ATTACHMENT, supervisor, OPTIONS, () => changed());
  t.equal(runner.status().conditions?.[1].status, 'False', 'not ready before the first probe');
  runner.start();
  t.teardown(() => runner.stop(0));
  await becameReady;
  const status = runner.status();
  t.same(
    { phase: status.phase, hostIP: status.hostIP, podIP: status.podIP, podIPs: status.podIPs, conditions: status.conditions, containerStatuses: status.containerStatuses },
    {
      phase: 'Running',
      hostIP: '10.99.0.12',
      podIP: '10.44.2.7',
      podIPs: [{ ip: '10.44.2.7' }],
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      containerStatuses: [{ name: 'main', ready: true, restartCount: 2, state: { running: { startedAt: '2024-01-01T00:00:00.000Z' } } }],
    },
  );
  t.ok(Date.parse(status.startTime ?? '') > 0);
});

t.test('pod phase and container states follow the processes', async (t) => {
  const two: Partial<PodSpec> = { containers: [{ name: 'a', command: ['true'] }, { name: 'b', command: ['true'] }] };
  const rows: { name: string; a?: ProcessStatus; b?: ProcessStatus; phase: string; states: unknown[] }[] = [
    {
      name: 'not started yet',
      phase: 'Running',
      states: [{ waiting: { reason: 'ContainerCreating' } }, { waiting: { reason: 'ContainerCreating' } }],
    },
    {
      name: 'one crash-looping',
      a: { state: 'waiting', restarts: 3, lastExitCode: 1, reason: 'CrashLoopBackOff' },
      b: { state: 'running', restarts: 0, pid: 5 },
      phase: 'Running',
      states: [{ waiting: { reason: 'CrashLoopBackOff' } }, { running: { startedAt: 'START' } }],
    },
    {
      name: 'all completed',
      a: { state: 'terminated', restarts: 0, lastExitCode: 0, reason: 'Completed' },
      b: { state: 'terminated', restarts: 0, lastExitCode: 0, reason: 'Completed' },
      phase: 'Succeeded',
      states: [{ terminated: { exitCode: 0, reason: 'Completed' } }, { terminated: { exitCode: 0, reason: 'Completed' } }],
    },
    {
      name: 'one failed',
      a: { state: 'terminated', restarts: 0, lastExitCode: 0, reason: 'Completed' },
      b: { state: 'terminated', restarts: 0, lastExitCode: 2 },
      phase: 'Failed',
      states: [{ terminated: { exitCode: 0, reason: 'Completed' } }, { terminated: { exitCode: 2, reason: 'Error' } }],
    },
    {
      name: 'killed by a signal',
      a: { state: 'terminated', restarts: 0, lastExitCode: null, lastSignal: 'SIGKILL', reason: 'Error' },
      b: { state: 'terminated', restarts: 0, lastExitCode: 0, reason: 'Completed' },
      phase: 'Failed',
      states: [{ terminated: { exitCode: null, reason: 'Error' } }, { terminated: { exitCode: 0, reason: 'Completed' } }],
    },
  ];
  for (const row of rows) {
    const supervisor = new FakeSupervisor();
    if (row.a) supervisor.states.set('apps/web-1/a', row.a);
    if (row.b) supervisor.states.set('apps/web-1/b', row.b);
    const runner = new PodRunner(pod(two), ATTACHMENT, supervisor, OPTIONS, () => undefined);
    const status = runner.status();
    t.equal(status.phase, row.phase, `${row.name}: phase`);
    const states = (status.containerStatuses ?? []).map((c) => (c.state.running ? { running: { startedAt: 'START' } } : c.state));
    t.same(states, row.states, `${row.name}: container states`);
    t.same(status.containerStatuses?.map((c) => c.restartCount), [row.a?.restarts ?? 0, row.b?.restarts ?? 0], `${row.name}: restart counts`);
  }
});
