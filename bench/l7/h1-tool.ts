// The l7 benchmark's load tool: compiles h1load.c and runs its HTTP/1.1 server and keep-alive load client inside
// pod network namespaces (`ip netns exec`), parsing the client's one-line JSON result.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { cleanEnv } from '../../test/helpers/cluster';
import { REPO_ROOT } from '../../test/helpers/repo';
import { BenchTimeout } from '../lib/benchmark';
import { compileCTool } from '../lib/cluster-setup';
import { stopChild, type ToolServer } from '../l4/load-tool';

/** The port the h1load server listens on in the server pod (and HAProxy in its pod). */
export const HTTP_PORT = 8080;

const SOURCE = path.join(REPO_ROOT, 'bench', 'l7', 'h1load.c');
/** Slack past a client's own deadline before it is killed. */
const CLIENT_GRACE_MS = 45_000;

export class H1ToolError extends Error {
  readonly code = 'L7_LOAD_TOOL' as const;
  constructor(message: string, readonly stderr = '') {
    super(stderr ? `${message}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : message);
  }
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly error: string;
  /** CPU the client used while measuring, to show it is not the limit. */
  readonly clientCpuSeconds: number;
}

function field(parsed: Record<string, unknown>, name: string, line: string): number {
  const value = parsed[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new H1ToolError(`h1load printed no numeric "${name}" in ${JSON.stringify(line)}`);
  return value;
}

export class H1Tool {
  private constructor(readonly binary: string) {}

  static async build(dir: string): Promise<H1Tool> {
    const binary = path.join(dir, 'h1load');
    await compileCTool(SOURCE, binary, [], (message, stderr) => new H1ToolError(message, stderr));
    return new H1Tool(binary);
  }

  /** Starts the 1 KiB-response server in `netns`; it exits by itself after `maxSeconds`. */
  async startServer(netns: string, maxSeconds: number): Promise<ToolServer> {
    const child = spawn('ip', ['netns', 'exec', netns, this.binary, 'serve', String(HTTP_PORT), String(Math.ceil(maxSeconds))], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('ready')) {
      if (child.exitCode !== null) throw new H1ToolError(`h1load server in ${netns} exited with ${child.exitCode}`, stderr);
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new BenchTimeout(`h1load server in ${netns}`, 10_000, 'it never printed "ready"');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (child.pid === undefined) throw new H1ToolError(`h1load server in ${netns} has no pid`);
    return { pid: child.pid, stop: () => stopChild(child) };
  }

  /** `connections` keep-alive connections doing GET / back to back; `warmup` seconds first, not counted. */
  load(netns: string, host: string, hostHeader: string, connections: number, warmup: number, seconds: number): Promise<LoadResult> {
    const args = ['load', host, String(HTTP_PORT), hostHeader, String(connections), String(warmup), String(seconds)];
    const timeoutMs = (warmup + seconds) * 1000 + CLIENT_GRACE_MS;
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', netns, this.binary, ...args], { env: cleanEnv(), timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
        if (error) {
          reject((error as { killed?: boolean }).killed ? new BenchTimeout(`h1load ${args.join(' ')} in ${netns}`, timeoutMs, stderr.trim() || 'no output') : new H1ToolError(`h1load ${args.join(' ')} in ${netns} failed`, stderr || error.message));
          return;
        }
        const line = stdout.trim().split('\n').pop() ?? '';
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          reject(new H1ToolError(`h1load printed no JSON result (got ${JSON.stringify(stdout.slice(-200))})`));
          return;
        }
        const f = (name: string) => field(parsed, name, line);
        resolve({
          requests: f('requests'),
          seconds: f('seconds'),
          perSecond: f('perSecond'),
          p50Us: f('p50'),
          p90Us: f('p90'),
          p99Us: f('p99'),
          p999Us: f('p999'),
          maxUs: f('max'),
          non2xx: f('non2xx'),
          errors: f('errors'),
          error: typeof parsed.error === 'string' ? parsed.error : '',
          clientCpuSeconds: f('cpuSeconds'),
        });
      });
    });
  }
}
