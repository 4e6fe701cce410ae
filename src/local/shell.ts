// Runs the system tools the local runtime drives (ip, iptables-restore, sysctl) and turns failures into errors that say what was run.
import { execFile, spawn } from 'node:child_process';

export class CommandFailed extends Error {
  readonly code = 'COMMAND_FAILED';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
  }
}

export interface RunOptions {
  /** Text fed to the command's stdin (for `ip -batch -` and `iptables-restore`). */
  readonly input?: string;
  /** Exit codes other than 0 that still count as success (e.g. "already gone"). */
  readonly okExitCodes?: readonly number[];
}

/** Runs a command to completion and returns its stdout, or throws CommandFailed. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const printable = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const exitCode = typeof error.code === 'number' ? error.code : null;
      if (exitCode !== null && options.okExitCodes?.includes(exitCode)) return resolve(stdout);
      if (error.code === 'ENOENT') return reject(new CommandFailed(printable, null, `${command} is not installed`));
      reject(new CommandFailed(printable, exitCode, String(stderr)));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs `ip -batch -` (optionally inside a netns with -n) so many link/addr/route changes cost one exec. */
export function ipBatch(lines: readonly string[], netns?: string): Promise<string> {
  if (lines.length === 0) return Promise.resolve('');
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  return run('ip', args, { input: lines.join('\n') + '\n' });
}

/** Runs a command inside a named netns through `ip netns exec` (which also applies /etc/netns/NAME files). */
export function runInNetns(netns: string, command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return run('ip', ['netns', 'exec', netns, command, ...args], options);
}

/** Like run() but never throws: resolves with the exit code (for probes such as "does this exist"). */
export function probe(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', () => resolve(127));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
