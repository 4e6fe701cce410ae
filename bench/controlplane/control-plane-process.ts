// Starts the control plane under test as a child process and observes it from outside: its IPC reports, its
// /proc memory and CPU, and its debug HTTP views on a unix socket.
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { BenchTimeout } from '../lib/benchmark';
import { processCpuSeconds, processMemory, type ProcessMemory } from '../lib/proc';
import { isChildMessage, type ChildConfig, type ChildMessage, type ParentMessage } from './child-protocol';

type Ready = Extract<ChildMessage, { kind: 'ready' }>;
export type ChangeReport = Extract<ChildMessage, { kind: 'change' }>;

export class ControlPlaneExited extends Error {
  readonly code = 'CONTROL_PLANE_EXITED' as const;
  constructor(detail: string, logFile: string) {
    super(`the control-plane child process exited: ${detail} (its log: ${logFile})`);
    this.name = 'ControlPlaneExited';
  }
}

export interface ControlPlaneProcessOptions extends ChildConfig {
  /** Write a CPU profile (.cpuprofile) into this directory when the process exits. */
  readonly profileDir?: string;
  readonly startTimeoutMs: number;
}

export class ControlPlaneProcess {
  /** Every change the control plane reported, in order. */
  readonly changes: ChangeReport[] = [];
  private memoryWaiters: ((usage: NodeJS.MemoryUsage) => void)[] = [];
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: Ready,
    private readonly options: ControlPlaneProcessOptions,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.kind === 'change') this.changes.push(message);
      else if (message.kind === 'memory') for (const waiter of this.memoryWaiters.splice(0)) waiter(message.usage);
    });
  }

  static async start(options: ControlPlaneProcessOptions): Promise<ControlPlaneProcess> {
    const config: ChildConfig = { storeDir: options.storeDir, stateDir: options.stateDir, debugSocket: options.debugSocket, logFile: options.logFile, trustDomain: options.trustDomain };
    const execArgv = ['--expose-gc', ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=controlplane.cpuprofile'] : [])];
    const child = fork(path.join(__dirname, 'server-child.js'), [JSON.stringify(config)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new BenchTimeout('control plane start', options.startTimeoutMs, `no ready message (log: ${options.logFile})`));
      }, options.startTimeoutMs);
      child.on('message', (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.kind === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else if (message.kind === 'failed') {
          clearTimeout(timer);
          reject(new ControlPlaneExited(message.message, options.logFile));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new ControlPlaneExited(`code ${code} signal ${signal} before it was ready`, options.logFile));
      });
    });
    return new ControlPlaneProcess(child, ready, options);
  }

  get logFile(): string {
    return this.options.logFile;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  memory(): ProcessMemory {
    return processMemory(this.pid);
  }

  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** The child's own view of its heap (process.memoryUsage()), after a full GC when `gc` is set. */
  heap(gc: boolean, timeoutMs = 30_000): Promise<NodeJS.MemoryUsage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new BenchTimeout('control plane memory report', timeoutMs, 'no answer over IPC')), timeoutMs);
      this.memoryWaiters.push((usage) => {
        clearTimeout(timer);
        resolve(usage);
      });
      const request: ParentMessage = { kind: 'memory', gc };
      this.child.send(request);
    });
  }

  /** GET a debug view (e.g. /debug/push_stats) from the control plane's unix-socket debug endpoint. */
  debug(view: string, timeoutMs = 10_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const request = http.get({ socketPath: this.options.debugSocket, path: view, timeout: timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
      });
      request.on('timeout', () => request.destroy(new BenchTimeout(`debug view ${view}`, timeoutMs, 'no response')));
      request.on('error', reject);
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`; resolves once it is gone. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
