// The l7 benchmark: one 2-node local cluster, HTTP/1.1 keep-alive load from a client pod on node-1 to a server pod
// on node-2 directly, through the ambit waypoint (route + L7 policy + metrics), and through HAProxy in its own pod;
// requests/s, latency, and the proxies' CPU and memory. The cluster is always removed at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterNames } from '../../src/local/cluster-names';
import { startCluster } from '../../test/helpers/cluster';
import type { Benchmark, BenchOptions } from '../lib/benchmark';
import { podIps } from '../lib/cluster-setup';
import { processMemory } from '../lib/proc';
import type { BenchReport } from '../lib/report';
import { ProcessSampler, type ProcessUsage, type WatchedProcess } from '../l4/process-sampler';
import { findZtunnel } from '../l4/ztunnels';
import { H1Tool, HTTP_PORT, type LoadResult } from './h1-tool';
import { l7Report, type PathId, type PathMeasurement } from './l7-report';
import { profileWaypoint } from './waypoint-profile';
import {
  clusterManifest, deployWaypoint, findProcess, httpStatus, isWaypoint, MESH_NAMESPACE, PLAIN_NAMESPACE, PODS,
  serviceClusterIp, SERVICE_HOST, startHaproxy, waypointRequests,
} from './setup';

/** Servers and HAProxy end by themselves after this long even if the bench process is killed. */
const HELPER_MAX_SECONDS = 1800;
const WAYPOINT_READY_TIMEOUT_MS = 120_000;

interface L7Sizes {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

const FULL: L7Sizes = { connections: 32, warmupSeconds: 3, seconds: 10 };
const QUICK: L7Sizes = { connections: 8, warmupSeconds: 0.5, seconds: 2 };

/** Teardown steps, run last-in first-out; each runs even when an earlier one fails. */
class Teardowns {
  private readonly steps: (() => unknown)[] = [];

  teardown(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(log: (line: string) => void): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (error) {
        log(`teardown step failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export class PathNotProxied extends Error {
  readonly code = 'L7_PATH_NOT_PROXIED' as const;
  constructor(detail: string) {
    super(`the waypoint path did not go through the waypoint: ${detail}; check the waypoint and ztunnel logs in the cluster's state dir`);
  }
}

async function runL7(options: BenchOptions, sizes: L7Sizes, dir: string, teardowns: Teardowns): Promise<BenchReport> {
  const { log } = options;
  const loadAtStart = os.loadavg()[0];
  log('compiling h1load.c');
  const tool = await H1Tool.build(dir);
  const manifest = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(manifest, clusterManifest());
  log('starting a 2-node cluster');
  const cluster = await startCluster(teardowns, { nodes: 2, config: manifest, readyTimeoutMs: 120_000 });
  log(`cluster ${cluster.name} is up (state in ${cluster.stateDir})`);
  const names = new ClusterNames(cluster.name);
  const ips = await podIps(cluster, [PLAIN_NAMESPACE, MESH_NAMESPACE], PODS);
  const ip = (namespace: string, pod: string) => ips.get(`${namespace}/${pod}`) ?? '';
  const netns = (namespace: string, pod: string) => names.podNetns(namespace, pod);

  for (const namespace of [PLAIN_NAMESPACE, MESH_NAMESPACE]) {
    const server = await tool.startServer(netns(namespace, 'server'), HELPER_MAX_SECONDS);
    teardowns.teardown(() => server.stop());
  }
  const haproxy = await startHaproxy(dir, netns(PLAIN_NAMESPACE, 'haproxy'), ip(PLAIN_NAMESPACE, 'server'), HELPER_MAX_SECONDS);
  teardowns.teardown(() => haproxy.stop());

  log('applying the waypoint, VirtualService and AuthorizationPolicy');
  const waypoint = await deployWaypoint(cluster, dir, WAYPOINT_READY_TIMEOUT_MS);
  const waypointNetns = netns(MESH_NAMESPACE, waypoint.pod);
  const waypointPid = await findProcess(waypointNetns, isWaypoint, 'waypoint (waypoint/main.js)');
  const vip = await serviceClusterIp(cluster);
  log(`waypoint ${waypoint.pod} on ${waypoint.node} (pid ${waypointPid}); service VIP ${vip}`);
  const meshClient = netns(MESH_NAMESPACE, 'client');
  let getStatus = '';
  const ready = Date.now() + WAYPOINT_READY_TIMEOUT_MS;
  while ((getStatus = await httpStatus(meshClient, 'GET', `http://${vip}:${HTTP_PORT}/`, SERVICE_HOST).catch(() => '')) !== '200') {
    if (Date.now() > ready) {
      // The cluster's state dir goes away with the teardown: keep what the waypoint said about it in the error.
      throw new PathNotProxied(`GET via the service VIP answered "${getStatus}" for ${WAYPOINT_READY_TIMEOUT_MS / 1000} s; the waypoint's log ends with:\n${logTail(cluster.stateDir, waypoint.pod)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const postStatus = await httpStatus(meshClient, 'POST', `http://${vip}:${HTTP_PORT}/`, SERVICE_HOST);
  if (postStatus !== '403') throw new PathNotProxied(`POST answered ${postStatus}, the ALLOW-GET policy should answer 403`);

  const node1 = await findZtunnel('node-1', names.nodeNetns('node-1'));
  const node2 = await findZtunnel('node-2', names.nodeNetns('node-2'));
  const waypointProcess: WatchedProcess = { label: 'waypoint', pid: waypointPid };
  const haproxyProcess: WatchedProcess = { label: 'HAProxy', pid: haproxy.haproxyPid };
  const ztunnels: WatchedProcess[] = [{ label: 'ztunnel node-1', pid: node1.pid }, { label: 'ztunnel node-2', pid: node2.pid }];
  const idleRssBytes = new Map([waypointProcess, haproxyProcess, ...ztunnels].map((p) => [p.label, processMemory(p.pid).rssBytes]));

  const paths: { id: PathId; label: string; client: string; host: string; proxies: WatchedProcess[] }[] = [
    { id: 'direct', label: 'direct (pod -> pod)', client: netns(PLAIN_NAMESPACE, 'client'), host: ip(PLAIN_NAMESPACE, 'server'), proxies: [] },
    { id: 'waypoint', label: 'ambit waypoint', client: meshClient, host: vip, proxies: [waypointProcess, ...ztunnels] },
    { id: 'haproxy', label: 'HAProxy', client: netns(PLAIN_NAMESPACE, 'client'), host: ip(PLAIN_NAMESPACE, 'haproxy'), proxies: [haproxyProcess] },
  ];
  const measurements: PathMeasurement[] = [];
  const checks: string[] = [`waypoint checks: GET via the VIP -> ${getStatus}, POST -> ${postStatus} (the ALLOW-GET policy).`];
  for (const p of paths) {
    log(`${p.label}: warm-up ${sizes.warmupSeconds} s`);
    await tool.load(p.client, p.host, SERVICE_HOST, sizes.connections, 0, sizes.warmupSeconds);
    const countedBefore = p.id === 'waypoint' ? await waypointRequests(waypointNetns, waypoint.ip, '200') : 0;
    log(`${p.label}: measuring ${sizes.seconds} s`);
    const sampler = ProcessSampler.start(p.proxies);
    let load: LoadResult;
    let usage: ProcessUsage[];
    try {
      load = await tool.load(p.client, p.host, SERVICE_HOST, sizes.connections, 0, sizes.seconds);
    } finally {
      usage = sampler.stop();
    }
    log(`${p.label}: ${Math.round(load.perSecond)} req/s, p50 ${load.p50Us} us, p99 ${load.p99Us} us, ${load.errors} errors, ${load.non2xx} non-2xx${load.error ? ` (${load.error})` : ''}`);
    if (load.requests === 0) throw new Error(`${p.label}: no request completed (${load.error || 'no error reported'})`);
    if (p.id === 'waypoint') {
      const counted = (await waypointRequests(waypointNetns, waypoint.ip, '200')) - countedBefore;
      if (counted < load.requests) throw new PathNotProxied(`its istio_requests_total{response_code="200"} grew by ${counted}, the client finished ${load.requests}`);
      checks.push(`waypoint istio_requests_total{response_code="200"} grew by ${counted} during the measured run (client counted ${load.requests}).`);
    }
    measurements.push({ id: p.id, label: p.label, load, usage });
  }
  if (!isWaypoint(readArgv(waypointPid))) throw new Error(`the waypoint (pid ${waypointPid}) restarted during the run`);
  const profile = options.profileDir
    ? await profileWaypoint(tool, { pid: waypointPid, netns: waypointNetns, clientNetns: meshClient, host: vip, serviceHost: SERVICE_HOST }, sizes, options.profileDir, log)
    : undefined;
  const report = l7Report({
    connections: sizes.connections,
    warmupSeconds: sizes.warmupSeconds,
    seconds: sizes.seconds,
    cpus: os.cpus().length,
    load: [loadAtStart, os.loadavg()[0]],
    paths: measurements,
    idleRssBytes,
    checks,
    waypointNode: waypoint.node,
  });
  return profile ? { ...report, more: [...(report.more ?? []), profile] } : report;
}

/** The last lines of the waypoint pod's log (local mode writes <ns>_<pod>_<container>.log under the state dir). */
function logTail(stateDir: string, pod: string, lines = 15): string {
  try {
    const dir = path.join(stateDir, 'logs');
    const file = fs.readdirSync(dir).find((name) => name.startsWith(`${MESH_NAMESPACE}_${pod}_`));
    if (file === undefined) return '(no log file)';
    return fs.readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(could not read the log: ${error instanceof Error ? error.message : String(error)})`;
  }
}

function readArgv(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

export const l7Benchmark: Benchmark = {
  name: 'l7',
  description: 'HTTP/1.1 keep-alive req/s and latency on a 2-node cluster: direct vs ambit waypoint (route+authz+metrics) vs HAProxy; proxy CPU/RSS',
  async run(options: BenchOptions): Promise<BenchReport> {
    const sizes = options.quick ? QUICK : FULL;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-l7-'));
    const teardowns = new Teardowns();
    try {
      return await runL7(options, sizes, dir, teardowns);
    } finally {
      options.log('tearing down (servers, HAProxy, cluster)');
      await teardowns.run(options.log);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
