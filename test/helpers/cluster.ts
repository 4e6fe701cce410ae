// Starts a real local cluster for an end-to-end test (its own cluster name and state dir) and always removes it afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AMBIT_BIN } from './repo';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The part of tap's Test a helper needs, so helpers do not depend on tap's types. */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

export interface TestCluster {
  readonly name: string;
  readonly stateDir: string;
  readonly up: ChildProcess;
  /** Everything `ambit up` printed so far. */
  output(): string;
  ambit(args: readonly string[]): Promise<CommandResult>;
  /** Runs CMD in a pod (name or deploy/NAME) through `ambit exec`. */
  exec(target: string, namespace: string, command: readonly string[]): Promise<CommandResult>;
  /** Pods of a namespace as the store reports them. */
  pods(namespace: string): Promise<PodView[]>;
  down(): Promise<CommandResult>;
}

export interface PodView {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly labels: Record<string, string>;
}

/** The environment for processes tests start: without tap's NODE_OPTIONS loaders, which write coverage data as the caller's user. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

export function uniqueClusterName(prefix = 't'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function runAmbit(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [AMBIT_BIN, ...args], options);
}

export function runCommand(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that never reads stdin may exit first
    child.stdin.end(options.input ?? '');
  });
}

export interface StartClusterOptions {
  readonly nodes?: number;
  readonly config?: string;
  readonly readyTimeoutMs?: number;
}

export async function startCluster(t: Teardowns, options: StartClusterOptions = {}): Promise<TestCluster> {
  const name = uniqueClusterName();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `ambit-${name}-`));
  const common = ['--cluster', name, '--state-dir', stateDir];
  const args = ['up', ...common, '--exit-on-eof', '--nodes', String(options.nodes ?? 2), ...(options.config ? ['--config', options.config] : [])];
  // stdin stays open as a lifeline: if this test process dies, `ambit up` sees EOF and removes the cluster itself.
  const up = spawn(process.execPath, [AMBIT_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() });
  let output = '';
  up.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  up.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const cluster: TestCluster = {
    name,
    stateDir,
    up,
    output: () => output,
    ambit: (more) => runAmbit([...more, ...common]),
    exec: (target, namespace, command) => runAmbit(['exec', target, '-n', namespace, ...common, '--', ...command]),
    pods: async (namespace) => {
      const result = await runAmbit(['get', 'pods', '-n', namespace, '-o', 'json', ...common]);
      if (result.code !== 0) throw new Error(`ambit get pods failed: ${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as { items?: unknown[] } & Record<string, unknown>;
      const items = (parsed.kind === 'List' ? parsed.items ?? [] : [parsed]) as {
        metadata: { name: string; labels?: Record<string, string> };
        spec: { nodeName?: string };
        status?: { podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] };
      }[];
      return items.map((pod) => ({
        name: pod.metadata.name,
        node: pod.spec.nodeName ?? '',
        ip: pod.status?.podIP ?? '',
        ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
        labels: pod.metadata.labels ?? {},
      }));
    },
    down: () => runAmbit(['down', '--purge', ...common]),
  };
  t.teardown(async () => {
    await cluster.down();
    up.kill('SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  await waitFor(() => /^ready:/m.test(output) || up.exitCode !== null, options.readyTimeoutMs ?? 90_000, () => `cluster ${name} not ready:\n${output}`);
  if (up.exitCode !== null) throw new Error(`ambit up exited with ${up.exitCode}:\n${output}`);
  return cluster;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
