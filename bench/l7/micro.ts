// The waypoint alone on loopback, for CPU per request and a CPU profile without a cluster: this process is the waypoint (real
// HBONE in and out, the l7 bench's route and ALLOW-GET policy, metrics, access log to a file); a child process is
// the client pods' ztunnel with N keep-alive HTTP/1.1 connections, the server pod's ztunnel and a 1 KiB server.
//
//   node dist/bench/l7/micro.js [--connections 32] [--warmup 3] [--seconds 10] [--profile FILE.cpuprofile] [--rounds 1] [--sync-log]
//
// --sync-log writes the access log with pino's synchronous destination (one write per line), as the waypoint did
// before BatchedLineWriter. Requests are counted by the load child, so this also runs against older waypoint code.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HboneServer, HbonePool, type SourceIdentity, type SpiffeId } from '../../src/hbone';
import pino from 'pino';
import { parseSpiffeId } from '../../src/pki';
import { createLogger } from '../../src/telemetry/logger';
import type { WaypointConfigDoc } from '../../src/waypoint/config/types';
import { WaypointProxy } from '../../src/waypoint/proxy';
import { createAccessLogger } from '../../src/waypoint/telemetry/access-log';
import { HboneUpstreamConnector } from '../../src/waypoint/upstream-hbone';
import { meshRoot, workload as issue } from '../../test/unit/hbone/fixtures/mesh';
import { profileReport, summarizeCpuProfile } from '../lib/cpu-profile';
import { formatReport } from '../lib/report';

const CLIENT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/l7mesh/sa/client');
const WAYPOINT: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/l7mesh/sa/waypoint');
const SERVER: SpiffeId = parseSpiffeId('spiffe://cluster.local/ns/l7mesh/sa/server');
const VIP = '10.96.0.10';
const SERVER_IP = '10.1.0.7';
const PORT = 8080;
const HOST = 'server.l7mesh.svc.cluster.local';

interface ChildSetup {
  readonly client: SourceIdentity;
  readonly server: SourceIdentity;
  readonly waypointPort: number;
  readonly connections: number;
}

type ChildMessage = { kind: 'ready'; podPort: number } | { kind: 'count'; requests: number; errors: number };

function benchConfig(): WaypointConfigDoc {
  const uid = 'Kubernetes//Pod/l7mesh/server';
  return {
    version: 1,
    waypoint: { name: 'waypoint', namespace: 'l7mesh', identity: WAYPOINT, trustDomain: 'cluster.local' },
    services: [
      {
        hostname: HOST,
        namespace: 'l7mesh',
        name: 'server',
        vips: [VIP],
        ports: [{ port: PORT, targetPort: PORT, appProtocol: 'UNKNOWN' }],
        endpoints: [{ workload: uid, ip: SERVER_IP, ports: { [String(PORT)]: PORT } }],
        routes: [{ name: '', source: 'VirtualService l7mesh/server', gatewaySemantics: false, matches: [{ uri: { prefix: '/' } }], destinations: [{ host: HOST, port: PORT, weight: 100 }] }],
      },
    ],
    backends: [],
    directWorkloads: [],
    workloads: [
      {
        uid,
        name: 'server',
        namespace: 'l7mesh',
        ips: [SERVER_IP],
        identity: SERVER,
        labels: { app: 'server' },
        workloadName: 'server',
        canonicalName: 'server',
        canonicalRevision: 'latest',
        healthy: true,
      },
    ],
    policies: [{ name: 'l7mesh/allow-get', namespace: 'l7mesh', action: 'ALLOW', dryRun: false, attachment: { kind: 'service', hostname: HOST }, rules: [{ to: [{ methods: ['GET'] }] }] }],
  };
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function stringOption(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function runWaypoint(): Promise<void> {
  const connections = option('connections', 32);
  const warmup = option('warmup', 3);
  const seconds = option('seconds', 10);
  const rounds = option('rounds', 1);
  const profileFile = stringOption('profile');
  const root = meshRoot();
  const client = issue(root, CLIENT);
  const waypointCert = issue(root, WAYPOINT);
  const server = issue(root, SERVER);

  const logFile = path.join(os.tmpdir(), `ambit-l7-micro-access-${process.pid}.log`);
  const logFd = fs.openSync(logFile, 'a');
  const accessLog = process.argv.includes('--sync-log')
    ? createLogger({ component: 'waypoint', destination: pino.destination({ fd: logFd, sync: true }) }).child({ waypoint: 'l7mesh/waypoint' }).child({ target: 'access' })
    : createAccessLogger(logFd, 'l7mesh/waypoint').logger;
  let podPort = 0;
  const upstreamPool = new HbonePool();
  const connector = new HboneUpstreamConnector({
    source: async () => waypointCert,
    pool: upstreamPool,
    dial: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: podPort });
        socket.once('connect', () => resolve(socket)).once('error', reject);
      }),
  });
  const proxy = new WaypointProxy({ connector, accessLog });
  proxy.applyConfig(benchConfig());
  const hbone = new HboneServer({ certificateFor: () => waypointCert, onTunnel: (request) => proxy.onTunnel(request) });
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => hbone.handleConnection(socket));
  const waypointPort = await listen(listener);

  const child = fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: ChildMessage[] = [];
  const next = (kind: ChildMessage['kind']): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        const at = messages.findIndex((m) => m.kind === kind);
        if (at >= 0) {
          clearInterval(poll);
          resolve(messages.splice(at, 1)[0]);
        } else if (child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`the load child exited with ${child.exitCode}`));
        }
      }, 20);
    });
  child.on('message', (message: ChildMessage) => messages.push(message));
  const setup: ChildSetup = { client, server, waypointPort, connections };
  child.send(setup);
  const ready = await next('ready');
  if (ready.kind === 'ready') podPort = ready.podPort;
  child.send('start');
  const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
  let childCount = { requests: 0, errors: 0 };
  const counted = async (): Promise<number> => {
    child.send('count');
    const reply = await next('count');
    if (reply.kind === 'count') childCount = reply;
    return childCount.requests;
  };
  try {
    await sleep(warmup);
    for (let round = 1; round <= rounds; round++) {
      const session = profileFile && round === 1 ? await startProfile() : undefined;
      const requests0 = await counted();
      const cpu0 = cpuMs();
      const t0 = Date.now();
      await sleep(seconds);
      const requests = (await counted()) - requests0;
      const cpu = cpuMs() - cpu0;
      const wall = (Date.now() - t0) / 1000;
      console.log(`round ${round}: ${Math.round(requests / wall)} req/s, waypoint CPU ${(cpu / 10 / wall).toFixed(1)}% of a core, ${((cpu / Math.max(requests, 1)) * 1000).toFixed(1)} CPU-ms per 1k requests${session ? ' (profiled)' : ''}`);
      if (session && profileFile) {
        await stopProfile(session, profileFile);
        console.log(formatReport(profileReport('waypoint (in-process micro bench)', summarizeCpuProfile(profileFile, 30))));
      }
    }
    await counted();
    console.log(`load child: ${childCount.requests} responses, ${childCount.errors} not 200; access log ${fs.statSync(logFile).size} bytes`);
  } finally {
    child.kill('SIGKILL');
    listener.close();
    proxy.close();
    upstreamPool.destroy();
    fs.rmSync(logFile, { force: true });
  }
  process.exit(0);
}

function post(session: inspector.Session, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

async function startProfile(): Promise<inspector.Session> {
  const session = new inspector.Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
  await post(session, 'Profiler.start');
  return session;
}

async function stopProfile(session: inspector.Session, file: string): Promise<void> {
  const result = (await post(session, 'Profiler.stop')) as { profile: unknown };
  fs.writeFileSync(file, JSON.stringify(result.profile));
  session.disconnect();
}

// ----- the child: client ztunnel + load, server ztunnel + server -----

const BODY = Buffer.alloc(1024, 'x');
const RESPONSE = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\n\r\n`), BODY]);
const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nhost: ${HOST}:${PORT}\r\nuser-agent: l7-micro\r\n\r\n`);

/** Answers every request (a GET without a body: ends at an empty line) with 200 and 1 KiB. */
function serve(socket: net.Socket): void {
  let tail = '';
  socket.on('data', (chunk: Buffer) => {
    const text = tail + chunk.toString('latin1');
    let from = 0;
    for (;;) {
      const at = text.indexOf('\r\n\r\n', from);
      if (at < 0) break;
      socket.write(RESPONSE);
      from = at + 4;
    }
    tail = text.slice(Math.max(from, text.length - 3));
  });
  socket.on('error', () => undefined);
}

/** One keep-alive connection with one GET in flight at a time; counts complete responses. */
function loop(stream: NodeJS.ReadWriteStream & { on(event: 'error', listener: () => void): unknown }, counters: { requests: number; errors: number }): void {
  let buffered: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buffered.subarray(0, headEnd).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      const total = headEnd + 4 + length;
      if (buffered.length < total) return;
      if (!head.startsWith('HTTP/1.1 200')) counters.errors += 1;
      counters.requests += 1;
      buffered = buffered.subarray(total);
      stream.write(REQUEST);
    }
  });
  stream.on('error', () => (counters.errors += 1));
  stream.write(REQUEST);
}

async function runChild(): Promise<void> {
  const setup = await new Promise<ChildSetup>((resolve) => process.once('message', (m) => resolve(m as ChildSetup)));
  const app = net.createServer(serve);
  const appPort = await listen(app);
  const pod = new HboneServer({
    certificateFor: () => setup.server,
    onTunnel: async () => {
      const socket = net.connect({ host: '127.0.0.1', port: appPort });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return { status: 200, upstream: socket };
    },
  });
  const podListener = net.createServer({ pauseOnConnect: true }, (socket) => pod.handleConnection(socket));
  const podPort = await listen(podListener);
  process.send?.({ kind: 'ready', podPort } satisfies ChildMessage);
  await new Promise((resolve) => process.once('message', resolve));
  const pool = new HbonePool();
  const counters = { requests: 0, errors: 0 };
  for (let i = 0; i < setup.connections; i++) {
    const tunnel = await pool.connect({ source: setup.client, destination: { ip: '127.0.0.1', port: setup.waypointPort }, expectedIdentities: [WAYPOINT], authority: `${VIP}:${PORT}` });
    loop(tunnel, counters);
  }
  process.on('message', (message) => {
    if (message === 'count') process.send?.({ kind: 'count', ...counters } satisfies ChildMessage);
  });
  process.on('disconnect', () => process.exit(0));
}

function main(): void {
  const run = process.argv.includes('--child') ? runChild() : runWaypoint();
  run.catch((error: Error) => {
    process.stderr.write(`l7 micro bench: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}

main();

