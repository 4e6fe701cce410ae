// The l4 benchmark's load tool: compiles l4load.c with the system C compiler and runs its server and clients
// inside pod network namespaces (`ip netns exec`), parsing each client's one-line JSON result.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cleanEnv } from '../../test/helpers/cluster';
import { REPO_ROOT } from '../../test/helpers/repo';
import { BenchTimeout } from '../lib/benchmark';
import { compileCTool } from '../lib/cluster-setup';

/** First of the three ports an l4load server listens on: sink, then echo (+1), then echo-once-and-close (+2). */
export const SINK_PORT = 5001;
export const ECHO_PORT = SINK_PORT + 1;
export const ONCE_PORT = SINK_PORT + 2;

/** Where the C source lives: bench/ sources stay beside the compiled JavaScript's checkout. */
const SOURCE = path.join(REPO_ROOT, 'bench', 'l4', 'l4load.c');
/** Slack past a client's own deadline before it is killed: connection setup, draining, the final read. */
const CLIENT_GRACE_MS = 45_000;

export class LoadToolError extends Error {
  readonly code = 'L4_LOAD_TOOL' as const;
  constructor(message: string, readonly stderr = '') {
    super(stderr ? `${message}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : message);
  }
}

export interface BulkResult {
  /** Bytes the sink counted, summed over streams (includes what was still queued when the send deadline passed). */
  readonly bytes: number;
  /** From the start signal until the last stream's sink reported its count. */
  readonly seconds: number;
  readonly streams: number;
  readonly gbitPerSecond: number;
  /** CPU the sending l4load used meanwhile (user+sys), to show the tool is not what limits the direct path. */
  readonly senderCpuSeconds: number;
}

export interface RoundTripResult {
  readonly count: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

export interface ConnectionResult {
  readonly connections: number;
  readonly errors: number;
  /** The last error's text, "" when none. */
  readonly error: string;
  readonly seconds: number;
  readonly perSecond: number;
}

export interface ToolServer {
  readonly pid: number;
  stop(): Promise<void>;
}

function numberField(parsed: Record<string, unknown>, name: string, line: string): number {
  const value = parsed[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new LoadToolError(`l4load printed no numeric "${name}" in ${JSON.stringify(line)}`);
  return value;
}

function stringField(parsed: Record<string, unknown>, name: string): string {
  const value = parsed[name];
  return typeof value === 'string' ? value : '';
}

function lastJsonLine(stdout: string): { line: string; parsed: Record<string, unknown> } {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null) return { line, parsed: parsed as Record<string, unknown> };
  } catch {
    // fall through to the error below
  }
  throw new LoadToolError(`l4load printed no JSON result (got ${JSON.stringify(stdout.slice(-200))})`);
}

/** Stops a child: SIGTERM, then SIGKILL if it is still there after a moment. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export class LoadTool {
  private constructor(readonly binary: string) {}

  /** Compiles l4load.c into `dir` (-O2, pthreads); fails with the compiler's message. */
  static async build(dir: string): Promise<LoadTool> {
    const binary = path.join(dir, 'l4load');
    await compileCTool(SOURCE, binary, ['-pthread'], (message, stderr) => new LoadToolError(message, stderr));
    return new LoadTool(binary);
  }

  /** Starts a server in `netns` and waits until it listens; it exits by itself after `maxSeconds`. */
  async startServer(netns: string, maxSeconds: number): Promise<ToolServer> {
    const child = spawn('ip', ['netns', 'exec', netns, this.binary, 'serve', String(SINK_PORT), String(Math.ceil(maxSeconds))], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('ready')) {
      if (child.exitCode !== null) throw new LoadToolError(`l4load server in ${netns} exited with ${child.exitCode}`, stderr);
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new BenchTimeout(`l4load server in ${netns}`, 10_000, 'it never printed "ready"');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (child.pid === undefined) throw new LoadToolError(`l4load server in ${netns} has no pid`);
    return { pid: child.pid, stop: () => stopChild(child) };
  }

  async bulk(netns: string, host: string, port: number, streams: number, seconds: number): Promise<BulkResult> {
    const { line, parsed } = await this.client(netns, ['bulk', host, String(port), String(streams), String(seconds)], seconds);
    const failed = numberField(parsed, 'failedStreams', line);
    if (failed > 0) throw new LoadToolError(`bulk to ${host}:${port}: ${failed} of ${streams} streams failed (${stringField(parsed, 'error')})`);
    const bytes = numberField(parsed, 'bytes', line);
    const elapsed = numberField(parsed, 'seconds', line);
    return { bytes, seconds: elapsed, streams, gbitPerSecond: (bytes * 8) / elapsed / 1e9, senderCpuSeconds: numberField(parsed, 'cpuSeconds', line) };
  }

  async roundTrips(netns: string, host: string, port: number, count: number, warmup: number): Promise<RoundTripResult> {
    const { line, parsed } = await this.client(netns, ['rr', host, String(port), String(count), String(warmup)], 5 + (count + warmup) / 500);
    const field = (name: string) => numberField(parsed, name, line);
    return { count: field('count'), p50Us: field('p50'), p90Us: field('p90'), p99Us: field('p99'), p999Us: field('p999'), maxUs: field('max'), meanUs: field('mean') };
  }

  async connections(netns: string, host: string, port: number, concurrency: number, seconds: number): Promise<ConnectionResult> {
    const { line, parsed } = await this.client(netns, ['conn', host, String(port), String(concurrency), String(seconds)], seconds);
    const connections = numberField(parsed, 'connections', line);
    const elapsed = numberField(parsed, 'seconds', line);
    return { connections, errors: numberField(parsed, 'errors', line), error: stringField(parsed, 'error'), seconds: elapsed, perSecond: connections / elapsed };
  }

  private client(netns: string, args: readonly string[], expectedSeconds: number): Promise<{ line: string; parsed: Record<string, unknown> }> {
    const timeoutMs = expectedSeconds * 1000 + CLIENT_GRACE_MS;
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', netns, this.binary, ...args], { env: cleanEnv(), timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
        if (error && (error as { killed?: boolean }).killed) {
          reject(new BenchTimeout(`l4load ${args.join(' ')} in ${netns}`, timeoutMs, stderr.trim() || 'no output'));
          return;
        }
        // bulk exits 1 when a stream failed and still prints its JSON, which names the failure.
        try {
          resolve(lastJsonLine(stdout));
        } catch (parseError) {
          reject(error ? new LoadToolError(`l4load ${args.join(' ')} in ${netns} failed`, stderr || error.message) : parseError);
        }
      });
    });
  }
}
