// A cross-process lock file that serializes writers of the directory store; a lock left by a dead process is taken over.
import crypto from 'node:crypto';
import fs from 'node:fs';

export class StoreLockTimeout extends Error {
  readonly code = 'STORE_LOCK_TIMEOUT';
  constructor(readonly lockPath: string, readonly holderPid: number | undefined) {
    super(`the store is locked by ${holderPid ? `process ${holderPid}` : 'another process'} (${lockPath}); try again, or remove the file if that process is gone`);
  }
}

/** A takeover guard older than this was left by a process that died inside the few microseconds it is held. */
const STALE_GUARD_MS = 5_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readContent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function holderOf(content: string | undefined): number | undefined {
  const pid = Number(content?.trim().split(' ')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuffer, 0, 0, ms);
}

/**
 * Creates the lock with its content in one step: the content is written to a private file first and then hard-linked
 * into place (link fails with EEXIST like O_EXCL), so nobody ever sees a lock without its holder.
 */
function tryCreate(lockPath: string, content: string): boolean {
  const temporary = `${lockPath}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temporary, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * Removes a lock whose holder is dead, but only while holding a guard and only if the lock still has the content seen
 * as stale: two waiters that both saw the same dead holder cannot both remove, so the second never deletes the fresh
 * lock the first made after its takeover.
 */
function takeOver(lockPath: string, staleContent: string): boolean {
  const guard = `${lockPath}.takeover`;
  if (!tryCreate(guard, `${process.pid}\n`)) {
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > STALE_GUARD_MS) fs.rmSync(guard, { force: true });
    return false;
  }
  try {
    if (readContent(lockPath) === staleContent) fs.rmSync(lockPath, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** Runs `critical` while holding the lock. Synchronous on purpose: store writes are short and must not interleave. */
export function withFileLock<T>(lockPath: string, critical: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  // The random part tells this acquisition from a later one by a process that happens to reuse our pid.
  const mine = `${process.pid} ${crypto.randomBytes(8).toString('hex')}\n`;
  for (;;) {
    if (tryCreate(lockPath, mine)) break;
    const content = readContent(lockPath);
    if (content === undefined) continue; // released between our attempt and the read
    const holder = holderOf(content);
    if (holder !== undefined && !processAlive(holder)) {
      if (!takeOver(lockPath, content)) sleepSync(1);
      continue;
    }
    if (Date.now() > deadline) throw new StoreLockTimeout(lockPath, holder);
    sleepSync(5);
  }
  try {
    return critical();
  } finally {
    // Only our own lock: if it was (wrongly) taken from us, the new holder's lock must survive.
    if (readContent(lockPath) === mine) fs.rmSync(lockPath, { force: true });
  }
}
