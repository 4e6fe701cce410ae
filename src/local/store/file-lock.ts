// A cross-process lock file (O_EXCL) that serializes writers of the directory store; a lock left by a dead process is taken over.
import fs from 'node:fs';

export class StoreLockTimeout extends Error {
  readonly code = 'STORE_LOCK_TIMEOUT';
  constructor(readonly lockPath: string, readonly holderPid: number | undefined) {
    super(`the store is locked by ${holderPid ? `process ${holderPid}` : 'another process'} (${lockPath}); try again, or remove the file if that process is gone`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuffer, 0, 0, ms);
}

/** Runs `critical` while holding the lock. Synchronous on purpose: store writes are short and must not interleave. */
export function withFileLock<T>(lockPath: string, critical: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(lockPath);
      if (holder !== undefined && !processAlive(holder)) {
        fs.rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StoreLockTimeout(lockPath, holder);
      sleepSync(5);
    }
  }
  try {
    return critical();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}
