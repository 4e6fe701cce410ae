// The l7 benchmark's cluster and proxies: pods and Service, the waypoint with its route and L7 policy, HAProxy in
// its own pod, and finding the waypoint process and its request counter.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, waitFor, type TestCluster } from '../../test/helpers/cluster';
import { stopChild, type ToolServer } from '../l4/load-tool';
import { HTTP_PORT } from './h1-tool';

export const PLAIN_NAMESPACE = 'l7plain';
export const MESH_NAMESPACE = 'l7mesh';
/** The Host header every path sends, so the three servers see the same request. */
export const SERVICE_HOST = `server.${MESH_NAMESPACE}.svc.cluster.local`;
/** The waypoint's Prometheus port (src/telemetry/proxy-endpoints.ts), on the pod address. */
const WAYPOINT_METRICS_PORT = 15020;

/** Every container only sleeps: the bench runs its tools in the pods' netns. HAProxy sits on node-1 with the client. */
export const PODS = [
  { namespace: PLAIN_NAMESPACE, name: 'client', node: 'node-1' },
  { namespace: PLAIN_NAMESPACE, name: 'server', node: 'node-2' },
  { namespace: PLAIN_NAMESPACE, name: 'haproxy', node: 'node-1' },
  { namespace: MESH_NAMESPACE, name: 'client', node: 'node-1' },
  { namespace: MESH_NAMESPACE, name: 'server', node: 'node-2' },
] as const;

export function clusterManifest(): string {
  const namespaces = [
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${PLAIN_NAMESPACE}`,
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${MESH_NAMESPACE}\n  labels:\n    istio.io/dataplane-mode: ambient`,
  ];
  const pods = PODS.map((pod) =>
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: ${pod.name}`,
      `  namespace: ${pod.namespace}`,
      `  labels: { app: ${pod.name} }`,
      'spec:',
      `  nodeName: ${pod.node}`,
      '  containers:',
      '  - name: main',
      '    command: ["sleep", "infinity"]',
    ].join('\n'),
  );
  const service = [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: server',
    `  namespace: ${MESH_NAMESPACE}`,
    'spec:',
    '  selector: { app: server }',
    '  ports:',
    `  - { name: http, port: ${HTTP_PORT}, targetPort: ${HTTP_PORT}, appProtocol: http }`,
  ].join('\n');
  return `${[...namespaces, ...pods, service].join('\n---\n')}\n`;
}

/** What the waypoint does per request besides proxying: a VirtualService route and an ALLOW-GET AuthorizationPolicy. */
export function meshConfig(): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: server
  namespace: ${MESH_NAMESPACE}
spec:
  hosts: [${SERVICE_HOST}]
  http:
  - match: [{ uri: { prefix: / } }]
    route:
    - destination: { host: ${SERVICE_HOST}, port: { number: ${HTTP_PORT} } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-get
  namespace: ${MESH_NAMESPACE}
spec:
  targetRefs: [{ kind: Service, group: "", name: server }]
  action: ALLOW
  rules:
  - to: [{ operation: { methods: [GET] } }]
`;
}

export function capture(command: string, args: readonly string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim()}`)) : resolve(stdout),
    );
  });
}

async function mustAmbit(cluster: TestCluster, args: readonly string[]): Promise<string> {
  const result = await cluster.ambit(args);
  if (result.code !== 0) throw new Error(`ambit ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}

export async function serviceClusterIp(cluster: TestCluster): Promise<string> {
  const parsed = JSON.parse(await mustAmbit(cluster, ['get', 'services', 'server', '-n', MESH_NAMESPACE, '-o', 'json'])) as { spec?: { clusterIP?: string } };
  const ip = parsed.spec?.clusterIP;
  if (!ip) throw new Error(`service ${MESH_NAMESPACE}/server has no clusterIP`);
  return ip;
}

export interface WaypointPod {
  readonly pod: string;
  readonly ip: string;
  readonly node: string;
}

/** Applies the waypoint (namespace enrolled), the route and the policy; waits until the waypoint is programmed and its pod ready. */
export async function deployWaypoint(cluster: TestCluster, dir: string, timeoutMs: number): Promise<WaypointPod> {
  await mustAmbit(cluster, ['waypoint', 'apply', '-n', MESH_NAMESPACE, '--enroll-namespace']);
  const file = path.join(dir, 'mesh-config.yaml');
  fs.writeFileSync(file, meshConfig());
  await mustAmbit(cluster, ['apply', '-f', file]);
  let listing = '';
  await waitFor(
    async () => {
      listing = (await cluster.ambit(['waypoint', 'list', '-n', MESH_NAMESPACE])).stdout;
      return /\bTrue\b/.test(listing.split('\n').find((line) => line.startsWith('waypoint ')) ?? '');
    },
    timeoutMs,
    () => `waypoint not programmed:\n${listing}`,
  );
  let found: WaypointPod | undefined;
  await waitFor(
    async () => {
      const pod = (await cluster.pods(MESH_NAMESPACE)).find((p) => p.name.startsWith('waypoint') && p.ready && p.ip);
      found = pod && { pod: pod.name, ip: pod.ip, node: pod.node };
      return found !== undefined;
    },
    timeoutMs,
    () => `no ready waypoint pod in ${MESH_NAMESPACE}`,
  );
  if (!found) throw new Error('unreachable: waitFor returned without a waypoint pod');
  return found;
}

function commandLine(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // ended between listing and reading
  }
}

/** The one process in `netns` whose command line runs a script ending in `suffix`. */
export async function findProcess(netns: string, matches: (argv: readonly string[]) => boolean, what: string): Promise<number> {
  const pids = (await capture('ip', ['netns', 'pids', netns])).split(/\s+/).filter(Boolean).map(Number);
  const found = pids.filter((pid) => matches(commandLine(pid)));
  if (found.length !== 1) throw new Error(`expected one ${what} process in netns ${netns}, found ${found.length}`);
  return found[0];
}

export function isWaypoint(argv: readonly string[]): boolean {
  return argv.some((arg) => arg.endsWith('waypoint/main.js'));
}

/** Sum of istio_requests_total on the waypoint for `code` (e.g. "200"), read from its metrics port inside its netns. */
export async function waypointRequests(netns: string, ip: string, code: string): Promise<number> {
  const text = await capture('ip', ['netns', 'exec', netns, 'curl', '-sf', '-m', '10', `http://${ip}:${WAYPOINT_METRICS_PORT}/metrics`]);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_requests_total{') || !line.includes(`response_code="${code}"`)) continue;
    total += Number(line.slice(line.lastIndexOf('}') + 1).trim()) || 0;
  }
  return total;
}

/** The HTTP status `curl -X METHOD` gets from `url`, run in `netns`. */
export async function httpStatus(netns: string, method: string, url: string, host: string): Promise<string> {
  return (await capture('ip', ['netns', 'exec', netns, 'curl', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', '-X', method, '-H', `Host: ${host}`, url])).trim();
}

export function haproxyConfig(serverIp: string): string {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend fe
  bind 0.0.0.0:${HTTP_PORT}
  default_backend be
backend be
  server server ${serverIp}:${HTTP_PORT}
`;
}

export interface HaproxyProcess extends ToolServer {
  /** The haproxy process itself (not `timeout`), for CPU and RSS. */
  readonly haproxyPid: number;
}

/** Starts HAProxy in the foreground in `netns`, bounded by `timeout`, and waits until it answers. */
export async function startHaproxy(dir: string, netns: string, serverIp: string, maxSeconds: number): Promise<HaproxyProcess> {
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, haproxyConfig(serverIp));
  const child = spawn('ip', ['netns', 'exec', netns, 'timeout', String(maxSeconds), 'haproxy', '-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = () => stopChild(child);
  try {
    await waitFor(
      async () => child.exitCode !== null || (await httpStatus(netns, 'GET', `http://127.0.0.1:${HTTP_PORT}/`, SERVICE_HOST).catch(() => '')) === '200',
      15_000,
      () => `haproxy did not answer 200:\n${output}`,
    );
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    const haproxyPid = await findProcess(netns, (argv) => argv[0] === 'haproxy' || argv[0].endsWith('/haproxy'), 'haproxy');
    return { pid: child.pid ?? 0, haproxyPid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
