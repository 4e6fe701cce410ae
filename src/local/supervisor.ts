// Runs processes (pod containers, mesh components) inside netns and restarts them with capped exponential backoff.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface ProcessSpec {
  /** Unique id, e.g. "bookinfo/productpage-v1-abc/productpage". */
  readonly id: string;
  /** Netns to run in; undefined runs in the supervisor's own netns. */
  readonly netns?: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly restartPolicy: RestartPolicy;
}

export type ProcessState = 'running' | 'waiting' | 'terminated';

export interface ProcessStatus {
  readonly state: ProcessState;
  readonly pid?: number;
  readonly restarts: number;
  readonly lastExitCode?: number | null;
  readonly lastSignal?: string | null;
  /** Why it is waiting or terminated, e.g. "CrashLoopBackOff" or "Completed". */
  readonly reason?: string;
  readonly startedAt?: string;
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A process that ran this long resets the backoff, as kubelet does. */
  readonly resetAfterMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 };

class SupervisedProcess {
  child: ChildProcess | undefined;
  status: ProcessStatus = { state: 'waiting', restarts: 0, reason: 'ContainerCreating' };
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: ProcessSpec,
    private readonly backoff: BackoffOptions,
    private readonly onChange: (id: string, status: ProcessStatus) => void,
  ) {}

  launch(): void {
    if (this.stopping) return;
    fs.mkdirSync(path.dirname(this.spec.logFile), { recursive: true });
    const log = fs.openSync(this.spec.logFile, 'a');
    const [command, args] = this.spec.netns
      ? ['ip', ['netns', 'exec', this.spec.netns, this.spec.command, ...this.spec.args]]
      : [this.spec.command, [...this.spec.args]];
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      // detached: its own process group, so a terminal's Ctrl-C reaches only the supervisor, which then stops children in order.
      child = spawn(command as string, args as string[], { cwd: this.spec.cwd, env: { ...this.spec.env }, detached: true, stdio: ['ignore', log, log] });
    } finally {
      fs.closeSync(log);
    }
    this.child = child;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.once('error', (error) => {
      fs.appendFileSync(this.spec.logFile, `ambit: cannot start ${this.spec.command}: ${error.message}\n`);
    });
    child.once('spawn', () => this.setStatus({ state: 'running', pid: child.pid, restarts: this.status.restarts, startedAt: new Date(startedAt).toISOString() }));
    child.once('close', (code, signal) => {
      this.child = undefined;
      if (this.stopping) {
        this.setStatus({ state: 'terminated', restarts: this.status.restarts, lastExitCode: code, lastSignal: signal, reason: 'Stopped' });
        return;
      }
      const failed = code !== 0;
      const restart = this.spec.restartPolicy === 'Always' || (this.spec.restartPolicy === 'OnFailure' && failed);
      if (!restart) {
        this.setStatus({ state: 'terminated', restarts: this.status.restarts, lastExitCode: code, lastSignal: signal, reason: failed ? 'Error' : 'Completed' });
        return;
      }
      this.failures = Date.now() - startedAt >= this.backoff.resetAfterMs ? 1 : this.failures + 1;
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
      this.setStatus({ state: 'waiting', restarts: this.status.restarts, lastExitCode: code, lastSignal: signal, reason: failed ? 'CrashLoopBackOff' : 'Completed' });
      this.timer = setTimeout(() => {
        this.status = { ...this.status, restarts: this.status.restarts + 1 };
        this.launch();
      }, delay);
    });
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.pid === undefined) {
      this.setStatus({ ...this.status, state: 'terminated', reason: 'Stopped' });
      return;
    }
    signalGroup(child.pid, 'SIGTERM');
    const killer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  private setStatus(status: ProcessStatus): void {
    this.status = status;
    this.onChange(this.spec.id, status);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export class ProcessSupervisor extends EventEmitter<{ change: [id: string, status: ProcessStatus] }> {
  private readonly processes = new Map<string, SupervisedProcess>();

  constructor(private readonly backoff: BackoffOptions = DEFAULT_BACKOFF) {
    super();
  }

  start(spec: ProcessSpec): void {
    if (this.processes.has(spec.id)) throw new Error(`process ${spec.id} is already supervised`);
    const supervised = new SupervisedProcess(spec, this.backoff, (id, status) => this.emit('change', id, status));
    this.processes.set(spec.id, supervised);
    supervised.launch();
  }

  status(id: string): ProcessStatus | undefined {
    return this.processes.get(id)?.status;
  }

  ids(): string[] {
    return [...this.processes.keys()];
  }

  async stop(id: string, graceMs = 3000): Promise<void> {
    const supervised = this.processes.get(id);
    if (!supervised) return;
    await supervised.stop(graceMs);
    this.processes.delete(id);
  }

  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(this.ids().map((id) => this.stop(id, graceMs)));
  }
}
