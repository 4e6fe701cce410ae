// The l4 benchmark: one 2-node local cluster, four paths from a client pod to a server pod (direct, stunnel TLS 1.3,
// ztunnel on the same node, ztunnel across nodes), each measured for bulk throughput, round-trip latency and new
// connections per second, with the proxies' CPU and memory. The cluster is always removed at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterNames } from '../../src/local/cluster-names';
import { startCluster } from '../../test/helpers/cluster';
import type { Benchmark, BenchOptions } from '../lib/benchmark';
import { BenchTimeout } from '../lib/benchmark';
import { podIps } from '../lib/cluster-setup';
import { processMemory } from '../lib/proc';
import type { BenchReport } from '../lib/report';
import { l4Report, type ZtunnelMemory } from './l4-report';
import { LoadTool, ONCE_PORT } from './load-tool';
import { FULL_SIZES, measureRound, QUICK_SIZES, type L4Sizes, type PathRound } from './measure';
import { clusterManifest, measuredPaths, MESH_NAMESPACE, PLAIN_NAMESPACE, PODS, type MeasuredPath, type PathId } from './paths';
import { profilePass } from './profile-pass';
import { StunnelPair } from './stunnel-pair';
import { findZtunnel, inboundMtlsConnections, stillRunning, type ZtunnelProcess } from './ztunnels';

/** Servers and stunnels end by themselves after this long even if the bench process is killed. */
const HELPER_MAX_SECONDS = 1800;
const MESH_READY_TIMEOUT_MS = 60_000;

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

/** Waits until a probe connection to `workload` is counted by its ztunnel as mutual TLS: both pods enrolled and known. */
async function waitForMesh(tool: LoadTool, clientNetns: string, host: string, ztunnel: ZtunnelProcess, workload: string): Promise<void> {
  const deadline = Date.now() + MESH_READY_TIMEOUT_MS;
  let last = '';
  for (;;) {
    const before = await inboundMtlsConnections(ztunnel, MESH_NAMESPACE, workload);
    const probe = await tool.connections(clientNetns, host, ONCE_PORT, 1, 0.2);
    const after = await inboundMtlsConnections(ztunnel, MESH_NAMESPACE, workload);
    if (probe.connections > 0 && probe.errors === 0 && after > before) return;
    last = `${probe.connections} connections, ${probe.errors} errors (${probe.error}), mTLS count ${before} -> ${after}`;
    if (Date.now() > deadline) throw new BenchTimeout(`mesh path to ${workload}`, MESH_READY_TIMEOUT_MS, last);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function ztunnelMemory(ztunnel: ZtunnelProcess, idleRssBytes: number): ZtunnelMemory {
  const now = processMemory(ztunnel.pid);
  return { node: ztunnel.node, idleRssBytes, peakRssBytes: now.peakRssBytes, rssAtEndBytes: now.rssBytes };
}

async function runL4(options: BenchOptions, sizes: L4Sizes, dir: string, teardowns: Teardowns): Promise<BenchReport> {
  const { log } = options;
  const loadAtStart = os.loadavg()[0];
  log('compiling l4load.c');
  const tool = await LoadTool.build(dir);
  const manifest = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(manifest, clusterManifest());
  log('starting a 2-node cluster');
  const cluster = await startCluster(teardowns, { nodes: 2, config: manifest, readyTimeoutMs: 120_000 });
  log(`cluster ${cluster.name} is up (state in ${cluster.stateDir})`);
  const names = new ClusterNames(cluster.name);
  const ips = await podIps(cluster, [PLAIN_NAMESPACE, MESH_NAMESPACE], PODS);
  const podIp = (namespace: string, pod: string) => ips.get(`${namespace}/${pod}`) ?? '';
  const podNetns = (namespace: string, pod: string) => names.podNetns(namespace, pod);
  const node1 = await findZtunnel('node-1', names.nodeNetns('node-1'));
  const node2 = await findZtunnel('node-2', names.nodeNetns('node-2'));

  for (const [namespace, pod] of [[PLAIN_NAMESPACE, 'server'], [MESH_NAMESPACE, 'server-local'], [MESH_NAMESPACE, 'server-remote']] as const) {
    const server = await tool.startServer(podNetns(namespace, pod), HELPER_MAX_SECONDS);
    teardowns.teardown(() => server.stop());
  }
  const stunnelOptions = {
    dir: path.join(dir, 'stunnel'),
    clientNetns: podNetns(PLAIN_NAMESPACE, 'client'),
    serverNetns: podNetns(PLAIN_NAMESPACE, 'server'),
    serverIp: podIp(PLAIN_NAMESPACE, 'server'),
    maxSeconds: HELPER_MAX_SECONDS,
  };
  const stunnel = await StunnelPair.start(stunnelOptions);
  teardowns.teardown(() => stunnel.stop());
  const stunnelTls = await StunnelPair.negotiated(stunnelOptions);
  log(`stunnel negotiates ${stunnelTls.protocol} ${stunnelTls.cipherSuite}`);

  log('waiting until the ztunnels carry the mesh paths');
  const meshClient = podNetns(MESH_NAMESPACE, 'client');
  await waitForMesh(tool, meshClient, podIp(MESH_NAMESPACE, 'server-local'), node1, 'server-local');
  await waitForMesh(tool, meshClient, podIp(MESH_NAMESPACE, 'server-remote'), node2, 'server-remote');
  const idle = [processMemory(node1.pid).rssBytes, processMemory(node2.pid).rssBytes];

  // AMBIT_L4_PATHS=stunnel,ztunnel-cross-node narrows a run to some paths (for quicker A/B comparisons of one change).
  const only = process.env.AMBIT_L4_PATHS?.split(',').filter((id) => id !== '');
  const paths: MeasuredPath[] = measuredPaths({ podNetns, podIp, ztunnels: { node1, node2 }, stunnel }).filter((p) => only === undefined || only.includes(p.id));
  const rounds = new Map<PathId, PathRound[]>(paths.map((p) => [p.id, []]));
  for (let round = 1; round <= sizes.rounds; round++) {
    for (const measuredPath of paths) {
      log(`round ${round}/${sizes.rounds}: ${measuredPath.label}`);
      rounds.get(measuredPath.id)?.push(await measureRound(tool, measuredPath, sizes, log));
    }
  }
  for (const ztunnel of [node1, node2]) {
    if (!stillRunning(ztunnel)) throw new Error(`the ztunnel on ${ztunnel.node} (pid ${ztunnel.pid}) restarted during the run; see ${cluster.stateDir}/logs/ztunnel-${ztunnel.node}.log`);
  }
  const crossNode = paths.find((p) => p.id === 'ztunnel-cross-node');
  const profiles = options.profileDir && crossNode ? await profilePass(tool, crossNode, [node1, node2], sizes, options.profileDir, log) : [];
  return l4Report({
    sizes,
    paths,
    rounds,
    cpus: os.cpus().length,
    load: [loadAtStart, os.loadavg()[0]],
    stunnelTls,
    ztunnelMemory: [ztunnelMemory(node1, idle[0]), ztunnelMemory(node2, idle[1])],
    ztunnelLogLevel: process.env.AMBIT_LOG_LEVEL ?? 'info',
  }, profiles);
}

export const l4Benchmark: Benchmark = {
  name: 'l4',
  description: 'L4 data path on a 2-node local cluster: direct vs stunnel TLS 1.3 vs ztunnel (same/cross node); throughput, latency, conn/s, proxy CPU/RSS',
  async run(options: BenchOptions): Promise<BenchReport> {
    const base = options.quick ? QUICK_SIZES : FULL_SIZES;
    // AMBIT_L4_ROUNDS and AMBIT_L4_SECONDS (bulk and connection run length) resize a run between --quick and full.
    const rounds = Number(process.env.AMBIT_L4_ROUNDS ?? base.rounds);
    const seconds = Number(process.env.AMBIT_L4_SECONDS ?? base.bulkSeconds);
    const sizes: L4Sizes = { ...base, rounds: rounds > 0 ? rounds : base.rounds, bulkSeconds: seconds > 0 ? seconds : base.bulkSeconds, connectionSeconds: seconds > 0 ? seconds : base.connectionSeconds };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-l4-'));
    const teardowns = new Teardowns();
    try {
      return await runL4(options, sizes, dir, teardowns);
    } finally {
      options.log('tearing down (servers, stunnel, cluster)');
      await teardowns.run(options.log);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
