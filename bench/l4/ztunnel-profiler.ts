// CPU-profiles a running ztunnel without restarting it or changing how the runtime starts it: SIGUSR1 makes Node
// open its inspector on 127.0.0.1:9229 inside the node's netns, and a helper process in that netns drives the
// profiler over the inspector protocol (inspector-child.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cleanEnv } from '../../test/helpers/cluster';
import { BenchTimeout } from '../lib/benchmark';
import { stopChild } from './load-tool';
import type { ZtunnelProcess } from './ztunnels';

const CHILD = path.join(__dirname, 'inspector-child.js');
const STEP_TIMEOUT_MS = 20_000;

function waitForLine(child: ChildProcess, output: () => string, line: string, step: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = setInterval(() => {
      if (output().includes(`${line}\n`)) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null || Date.now() - started > STEP_TIMEOUT_MS) {
        clearInterval(check);
        reject(child.exitCode !== null ? new Error(`${step}: the inspector helper exited with ${child.exitCode}: ${output().trim()}`) : new BenchTimeout(step, STEP_TIMEOUT_MS, output().trim() || 'no output'));
      }
    }, 50);
  });
}

export class ZtunnelProfiler {
  private constructor(
    readonly file: string,
    private readonly child: ChildProcess,
    private readonly output: () => string,
  ) {}

  /** Starts sampling `ztunnel`; the profile goes to `file` when stopped. */
  static async start(ztunnel: ZtunnelProcess, file: string): Promise<ZtunnelProfiler> {
    process.kill(ztunnel.pid, 'SIGUSR1');
    const child = spawn('ip', ['netns', 'exec', ztunnel.netns, process.execPath, '--experimental-websocket', '--no-warnings', CHILD, file], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: cleanEnv(),
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const profiler = new ZtunnelProfiler(file, child, () => output);
    try {
      await waitForLine(child, () => output, 'started', `profiling the ztunnel on ${ztunnel.node}`);
    } catch (error) {
      await stopChild(child);
      throw error;
    }
    return profiler;
  }

  /** Stops sampling and waits until the profile is written. */
  async stop(): Promise<string> {
    this.child.stdin?.end();
    try {
      await waitForLine(this.child, this.output, 'saved', `saving the profile ${this.file}`);
    } finally {
      await stopChild(this.child);
    }
    return this.file;
  }

  /** For teardown after a failure: ends the helper without waiting for a profile. */
  abandon(): Promise<void> {
    return stopChild(this.child);
  }
}
