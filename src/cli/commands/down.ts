// `ambit down`: stop a running `ambit up` and remove whatever its cluster left, even if that process was killed.
import fs from 'node:fs';
import { sweepCluster } from '../../local/teardown';
import { checkLocalClusterSupport } from '../../local/preflight';
import { booleanFlag, parseArgs } from '../args';
import { clusterContext, GLOBAL_FLAGS, pidFile } from '../context';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !alive(pid);
}

export async function down(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'purge', boolean: true }]);
  const context = clusterContext(args);
  await checkLocalClusterSupport();
  let pid: number | undefined;
  try {
    pid = Number(fs.readFileSync(pidFile(context), 'utf8').trim());
  } catch {
    pid = undefined;
  }
  if (pid && alive(pid)) {
    process.stdout.write(`stopping ambit up (pid ${pid})...\n`);
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 30_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }
  fs.rmSync(pidFile(context), { force: true });
  const removed = await sweepCluster(context.names);
  if (removed.length > 0) process.stdout.write(`removed ${removed.length} leftover network namespace(s)\n`);
  if (booleanFlag(args, 'purge')) fs.rmSync(context.dir, { recursive: true, force: true });
  process.stdout.write(`cluster ${context.names.cluster} is down${booleanFlag(args, 'purge') ? ' and its store is deleted' : ''}\n`);
  return 0;
}
