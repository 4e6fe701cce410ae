// The store's cross-process lock: no lost updates between processes, stale locks taken over, a clear timeout when held.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { StoreLockTimeout, withFileLock } from '../../../../src/local/store/file-lock';
import { DirectoryStore } from '../../../../src/local/store/directory-store';
import { cleanEnv } from '../../../helpers/cluster';
import { REPO_ROOT } from '../../../helpers/repo';
import { manifests, NAMESPACE_APPS, tempDir } from '../fixtures/helpers';

const STORE_MODULE = path.join(REPO_ROOT, 'dist', 'src', 'local', 'store', 'directory-store.js');

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', ''], { env: cleanEnv() }).pid;
  if (!pid) throw new Error('could not start a short-lived process');
  return pid;
}

function runNode(script: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

t.test('withFileLock holds the lock (with our pid) only while the critical section runs', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const result = withFileLock(lock, () => {
    t.match(fs.readFileSync(lock, 'utf8'), new RegExp(`^${process.pid} [0-9a-f]{16}\n$`), 'our pid, and a token telling this acquisition apart');
    return 42;
  });
  t.equal(result, 42);
  t.notOk(fs.existsSync(lock));
  t.throws(() => withFileLock(lock, () => {
    throw new Error('inside');
  }), /inside/);
  t.notOk(fs.existsSync(lock), 'released when the critical section throws');
});

t.test('two processes incrementing through two stores lose no update', async (t) => {
  const dir = tempDir(t);
  DirectoryStore.open(dir);
  const script = `
    const { DirectoryStore } = require(${JSON.stringify(STORE_MODULE)});
    const [dir, id, startAt] = process.argv.slice(1);
    const store = DirectoryStore.open(dir);
    while (Date.now() < Number(startAt)) {} // both start together so their writes interleave
    for (let i = 0; i < 50; i++) {
      store.mutate((objects) => {
        const ns = objects.get('Namespace/default');
        const labels = ns.metadata.labels || {};
        ns.metadata.labels = { ...labels, count: String(Number(labels.count || 0) + 1), ['writer-' + id]: String(i + 1) };
      });
    }`;
  const startAt = String(Date.now() + 400);
  const results = await Promise.all([runNode(script, [dir, 'a', startAt]), runNode(script, [dir, 'b', startAt])]);
  t.same(results.map((r) => r.code), [0, 0], results.map((r) => r.stderr).join('\n'));
  const store = DirectoryStore.open(dir);
  const labels = store.get('Namespace', undefined, 'default')?.metadata.labels;
  t.same(labels, { count: '100', 'writer-a': '50', 'writer-b': '50' });
  t.equal(store.read().revision, 101, 'one revision per write after the seed');
  t.notOk(fs.existsSync(path.join(dir, 'objects.lock')));
  t.same(fs.readdirSync(dir).sort(), ['objects.json'], 'no temporary files left behind');
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const dir = tempDir(t);
  const store = DirectoryStore.open(dir);
  const lock = path.join(dir, 'objects.lock');
  fs.writeFileSync(lock, `${deadPid()}\n`);
  t.same(store.apply(manifests(NAMESPACE_APPS)).map((r) => r.outcome), ['created']);
  t.equal(store.read().revision, 2);
  t.notOk(fs.existsSync(lock), 'the taken-over lock is released afterwards');
});

t.test('two processes taking over the same stale lock at once: one takes it, the other waits its turn', async (t) => {
  for (let round = 0; round < 3; round++) {
    const dir = tempDir(t);
    DirectoryStore.open(dir);
    fs.writeFileSync(path.join(dir, 'objects.lock'), `${deadPid()}\n`);
    const script = `
      const { DirectoryStore } = require(${JSON.stringify(STORE_MODULE)});
      const [dir, id, startAt] = process.argv.slice(1);
      const store = DirectoryStore.open(dir);
      while (Date.now() < Number(startAt)) {}
      for (let i = 0; i < 20; i++) {
        store.mutate((objects) => {
          const ns = objects.get('Namespace/default');
          const labels = ns.metadata.labels || {};
          ns.metadata.labels = { ...labels, count: String(Number(labels.count || 0) + 1) };
        });
      }`;
    const startAt = String(Date.now() + 400);
    const results = await Promise.all(['a', 'b', 'c'].map((id) => runNode(script, [dir, id, startAt])));
    t.same(results.map((r) => r.code), [0, 0, 0], results.map((r) => r.stderr).join('\n'));
    t.equal(DirectoryStore.open(dir).get('Namespace', undefined, 'default')?.metadata.labels?.count, '60', `round ${round}: no update lost`);
    t.same(fs.readdirSync(dir).sort(), ['objects.json'], `round ${round}: no lock, guard or temporary file left`);
  }
});

t.test('a lock held by a live process times out with a message naming it', async (t) => {
  const dir = tempDir(t);
  const lock = path.join(dir, 'objects.lock');
  const rows: { name: string; content: string; holder: number | undefined; message: string }[] = [
    {
      name: 'holder known',
      content: String(process.pid),
      holder: process.pid,
      message: `the store is locked by process ${process.pid} (${lock}); try again, or remove the file if that process is gone`,
    },
    {
      name: 'holder not yet written',
      content: '',
      holder: undefined,
      message: `the store is locked by another process (${lock}); try again, or remove the file if that process is gone`,
    },
    {
      name: 'garbage in the file',
      content: 'not-a-pid',
      holder: undefined,
      message: `the store is locked by another process (${lock}); try again, or remove the file if that process is gone`,
    },
  ];
  for (const row of rows) {
    fs.writeFileSync(lock, row.content);
    let ran = false;
    t.throws(() => withFileLock(lock, () => (ran = true), 50), { constructor: StoreLockTimeout, code: 'STORE_LOCK_TIMEOUT', lockPath: lock, holderPid: row.holder, message: row.message }, row.name);
    t.notOk(ran, `${row.name}: the critical section did not run`);
    t.equal(fs.readFileSync(lock, 'utf8'), row.content, `${row.name}: someone else's lock is left alone`);
  }
});
