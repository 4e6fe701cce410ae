// Runs inside a node netns (`ip netns exec NS node --experimental-websocket inspector-child.js OUT`): attaches to the
// V8 inspector a Node process opened on 127.0.0.1:9229 after SIGUSR1, starts the CPU profiler, and on stdin's end
// stops it and writes the .cpuprofile to OUT. Prints "started" and "saved" so the parent can follow.
import fs from 'node:fs';
import http from 'node:http';

interface MinimalWebSocket {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

const INSPECTOR = 'http://127.0.0.1:9229/json/list';
const ATTACH_TIMEOUT_MS = 10_000;
/** The child never outlives a forgotten parent by much. */
const MAX_LIFETIME_MS = 30 * 60_000;

function fetchTargets(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(INSPECTOR, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(error);
          }
        });
      })
      .on('error', reject);
  });
}

async function debuggerUrl(): Promise<string> {
  const deadline = Date.now() + ATTACH_TIMEOUT_MS;
  for (;;) {
    try {
      const targets = await fetchTargets();
      const first = Array.isArray(targets) ? (targets[0] as { webSocketDebuggerUrl?: unknown } | undefined) : undefined;
      if (first && typeof first.webSocketDebuggerUrl === 'string') return first.webSocketDebuggerUrl;
    } catch {
      // the inspector opens a moment after SIGUSR1
    }
    if (Date.now() > deadline) throw new Error(`no inspector at ${INSPECTOR} within ${ATTACH_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(out: string): Promise<void> {
  const Socket = (globalThis as unknown as { WebSocket?: new (url: string) => MinimalWebSocket }).WebSocket;
  if (!Socket) throw new Error('no WebSocket in this Node; run with --experimental-websocket (Node 20) or Node 22+');
  const ws = new Socket(await debuggerUrl());
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id === undefined) return;
    if (message.error) throw new Error(`inspector: ${message.error.message}`);
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('inspector websocket failed'));
  });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 500 });
  await call('Profiler.start');
  process.stdout.write('started\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
  const result = (await call('Profiler.stop')) as { profile?: unknown };
  fs.writeFileSync(out, JSON.stringify(result.profile));
  await call('Profiler.disable');
  process.stdout.write('saved\n');
  ws.close();
}

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: inspector-child.js OUT.cpuprofile\n');
  process.exit(2);
}
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
main(out).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`inspector-child: ${error.message}\n`);
    process.exit(1);
  },
);
