// The process supervisor: restart policies with backoff, status reasons, logs, and stopping a whole process group.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ProcessSupervisor, type ProcessSpec, type ProcessStatus, type RestartPolicy } from '../../../src/local/supervisor';
import { run } from '../../../src/local/shell';
import { waitFor } from '../../helpers/cluster';
import { tempDir, testNetnsName } from './fixtures/helpers';

const BACKOFF = { initialMs: 50, maxMs: 200, resetAfterMs: 10_000 };

interface Harness {
  supervisor: ProcessSupervisor;
  events: ProcessStatus[];
  spec(id: string, script: string, restartPolicy: RestartPolicy): ProcessSpec;
  until(id: string, check: (status: ProcessStatus) => boolean, what: string): Promise<ProcessStatus>;
}

function harness(t: Test): Harness {
  const dir = tempDir(t, 'ambit-supervisor-');
  const supervisor = new ProcessSupervisor(BACKOFF);
  const events: ProcessStatus[] = [];
  supervisor.on('change', (_id, status) => events.push(status));
  t.teardown(() => supervisor.stopAll(100));
  return {
    supervisor,
    events,
    spec: (id, script, restartPolicy) => ({
      id,
      command: 'sh',
      args: ['-c', script],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      cwd: dir,
      logFile: path.join(dir, 'logs', `${id}.log`),
      restartPolicy,
    }),
    until: async (id, check, what) => {
      let last: ProcessStatus | undefined;
      await waitFor(() => (last = supervisor.status(id)) !== undefined && check(last), 10_000, () => `${id}: ${what}; last status ${JSON.stringify(last)}`);
      return last as ProcessStatus;
    },
  };
}

/** Pids of live processes in a process group (zombies excluded). */
function processGroup(pgid: number): { pid: number; command: string }[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4 && Number(cols[1]) === pgid && !cols[2].startsWith('Z'))
    .map((cols) => ({ pid: Number(cols[0]), command: cols[3] }));
}

/** Gone, or a zombie waiting for whichever process inherited it to reap it. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

t.test('Always: a crashing process is restarted with CrashLoopBackOff and its exit code', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('crash', 'exit 3', 'Always'));
  const status = await h.until('crash', (s) => s.restarts >= 3, 'restarted three times');
  t.ok(status.restarts >= 3);
  const backoff = h.events.filter((e) => e.state === 'waiting' && e.reason === 'CrashLoopBackOff');
  t.ok(backoff.length >= 3, 'each exit puts it in CrashLoopBackOff');
  t.ok(backoff.every((e) => e.lastExitCode === 3 && e.lastSignal === null));
  const restarts = h.events.map((e) => e.restarts);
  t.same(restarts, [...restarts].sort((a, b) => a - b), 'the restart count never goes down');
  t.ok(h.events.some((e) => e.state === 'running' && typeof e.pid === 'number' && e.startedAt), 'running between crashes, with pid and start time');
  await h.supervisor.stop('crash', 100);
  t.equal(h.supervisor.status('crash'), undefined, 'a stopped process is forgotten');
  t.same(h.supervisor.ids(), []);
});

t.test('Always: a process that exits 0 is restarted too, reason Completed', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('done', 'exit 0', 'Always'));
  await h.until('done', (s) => s.restarts >= 1, 'restarted');
  t.ok(h.events.some((e) => e.state === 'waiting' && e.reason === 'Completed' && e.lastExitCode === 0));
});

t.test('restart policies that stop', async (t) => {
  const rows: { policy: RestartPolicy; script: string; reason: string; code: number }[] = [
    { policy: 'Never', script: 'exit 3', reason: 'Error', code: 3 },
    { policy: 'Never', script: 'exit 0', reason: 'Completed', code: 0 },
    { policy: 'OnFailure', script: 'exit 0', reason: 'Completed', code: 0 },
  ];
  for (const row of rows) {
    const h = harness(t);
    const id = `${row.policy}-${row.code}`;
    h.supervisor.start(h.spec(id, row.script, row.policy));
    const status = await h.until(id, (s) => s.state === 'terminated', 'terminated');
    t.same({ state: status.state, reason: status.reason, lastExitCode: status.lastExitCode, restarts: status.restarts }, { state: 'terminated', reason: row.reason, lastExitCode: row.code, restarts: 0 }, `${row.policy} + ${row.script}`);
    await new Promise((resolve) => setTimeout(resolve, 120));
    t.equal(h.supervisor.status(id)?.restarts, 0, `${row.policy} + ${row.script}: not restarted later either`);
  }
});

t.test('OnFailure restarts a failing process', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('fail', 'exit 1', 'OnFailure'));
  const status = await h.until('fail', (s) => s.restarts >= 2, 'restarted twice');
  t.ok(status.restarts >= 2);
  t.ok(h.events.some((e) => e.reason === 'CrashLoopBackOff' && e.lastExitCode === 1));
});

t.test('stdout and stderr go to the log file, appended across restarts', async (t) => {
  const h = harness(t);
  const spec = h.spec('logger', 'echo "to stdout $RUN"; echo "to stderr" >&2; exit 1', 'Never');
  h.supervisor.start({ ...spec, env: { ...spec.env, RUN: 'one' } });
  await h.until('logger', (s) => s.state === 'terminated', 'terminated');
  t.equal(fs.readFileSync(spec.logFile, 'utf8'), 'to stdout one\nto stderr\n');

  h.supervisor.start(h.spec('twice', 'echo line', 'Always'));
  // restarts reaches 3 only after the third run has exited (it counts up just before the next launch).
  await h.until('twice', (s) => s.restarts >= 3, 'ran three times');
  await h.supervisor.stop('twice', 100);
  t.match(fs.readFileSync(h.spec('twice', '', 'Always').logFile, 'utf8'), /^line\nline\nline\n/);
});

t.test('a command that cannot start is logged and retried like a crash', async (t) => {
  const h = harness(t);
  const spec = { ...h.spec('missing', '', 'Never'), command: '/nonexistent/ambit-test-command', args: [] };
  h.supervisor.start(spec);
  const status = await h.until('missing', (s) => s.state === 'terminated', 'terminated');
  t.equal(status.reason, 'Error');
  t.notOk(h.events.some((e) => e.state === 'running'), 'never reported as running');
  await waitFor(() => fs.existsSync(spec.logFile) && fs.readFileSync(spec.logFile, 'utf8').includes('ambit: cannot start'), 5000, () => 'log line');
  t.match(fs.readFileSync(spec.logFile, 'utf8'), 'ambit: cannot start /nonexistent/ambit-test-command: spawn /nonexistent/ambit-test-command ENOENT\n');
});

t.test('the same id cannot be supervised twice; unknown ids are harmless', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('one', 'sleep 30', 'Always'));
  t.throws(() => h.supervisor.start(h.spec('one', 'sleep 30', 'Always')), { message: 'process one is already supervised' });
  t.same(h.supervisor.ids(), ['one']);
  t.equal(h.supervisor.status('nope'), undefined);
  await h.supervisor.stop('nope');
  await h.supervisor.stopAll(100);
  t.same(h.supervisor.ids(), []);
});

t.test('stop sends SIGTERM to a process that exits on it', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('polite', 'exec sleep 30', 'Always'));
  await h.until('polite', (s) => s.state === 'running', 'running');
  let last: ProcessStatus | undefined;
  h.supervisor.on('change', (_id, status) => (last = status));
  await h.supervisor.stop('polite', 5000);
  t.same({ state: last?.state, reason: last?.reason, lastSignal: last?.lastSignal }, { state: 'terminated', reason: 'Stopped', lastSignal: 'SIGTERM' });
});

t.test('stop escalates to SIGKILL after the grace period and kills the whole process group', async (t) => {
  const h = harness(t);
  h.supervisor.start(h.spec('stubborn', 'trap "" TERM; sleep 30 & wait', 'Always'));
  const running = await h.until('stubborn', (s) => s.state === 'running', 'running');
  const pgid = running.pid as number;
  // The trap is set before sleep starts, so once sleep shows up the shell already ignores TERM (and so does sleep).
  await waitFor(() => processGroup(pgid).some((p) => p.command === 'sleep'), 5000, () => `no sleep in group ${pgid}: ${JSON.stringify(processGroup(pgid))}`);
  const members = processGroup(pgid);
  t.ok(members.length >= 2, 'the shell and its sleep share the group');
  let last: ProcessStatus | undefined;
  h.supervisor.on('change', (_id, status) => (last = status));
  await h.supervisor.stop('stubborn', 300);
  t.same({ state: last?.state, reason: last?.reason, lastSignal: last?.lastSignal }, { state: 'terminated', reason: 'Stopped', lastSignal: 'SIGKILL' });
  await waitFor(() => processGroup(pgid).length === 0, 5000, () => `left over: ${JSON.stringify(processGroup(pgid))}`);
  t.same(processGroup(pgid), [], 'the grandchild sleep is gone too');
  for (const member of members) t.ok(!isAlive(member.pid), `pid ${member.pid} (${member.command}) is dead`);
});

t.test('stop during backoff cancels the pending restart', async (t) => {
  const h = harness(t);
  const supervisor = new ProcessSupervisor({ initialMs: 300, maxMs: 300, resetAfterMs: 10_000 });
  const events: ProcessStatus[] = [];
  supervisor.on('change', (_id, status) => events.push(status));
  supervisor.start(h.spec('waiting', 'exit 4', 'Always'));
  await waitFor(() => supervisor.status('waiting')?.reason === 'CrashLoopBackOff', 5000, () => 'backoff');
  await supervisor.stop('waiting', 100);
  const count = events.length;
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal(events.length, count, 'nothing ran after stop');
  t.same(events[events.length - 1], { state: 'terminated', restarts: 0, lastExitCode: 4, lastSignal: null, reason: 'Stopped' });
});

t.test('a process with a netns runs inside it', async (t) => {
  const netns = testNetnsName();
  await run('ip', ['netns', 'add', netns]);
  t.teardown(() => run('ip', ['netns', 'del', netns]).catch(() => undefined));
  const h = harness(t);
  const spec = { ...h.spec('inside', '', 'Never'), netns, command: 'ip', args: ['-o', 'link', 'show'] };
  h.supervisor.start(spec);
  const status = await h.until('inside', (s) => s.state === 'terminated', 'terminated');
  t.equal(status.lastExitCode, 0);
  const links = fs.readFileSync(spec.logFile, 'utf8').trim().split('\n');
  t.equal(links.length, 1, 'a fresh netns has only loopback');
  t.match(links[0], /^1: lo: /);
});
