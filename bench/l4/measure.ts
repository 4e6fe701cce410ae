// One round on one path: a short warm-up, then bulk with 1 and with N streams, 1-byte round trips on one open
// connection and new connections per second, each with the path's proxies measured while it runs.
import type { BulkResult, ConnectionResult, LoadTool, RoundTripResult } from './load-tool';
import type { MeasuredPath } from './paths';
import { ProcessSampler, type ProcessUsage } from './process-sampler';
import { inboundMtlsConnections } from './ztunnels';

export interface L4Sizes {
  /** Every path is measured once per round; rounds interleave the paths so drift on the machine hits them alike. */
  readonly rounds: number;
  readonly bulkSeconds: number;
  readonly parallelStreams: number;
  readonly roundTrips: number;
  readonly roundTripWarmup: number;
  readonly connectionSeconds: number;
  readonly connectionConcurrency: number;
  /** Per path and round, before measuring: bulk and connections for this long each (JIT, pools, caches). */
  readonly warmupSeconds: number;
}

export const FULL_SIZES: L4Sizes = {
  rounds: 3,
  bulkSeconds: 5,
  parallelStreams: 8,
  roundTrips: 10_000,
  roundTripWarmup: 1_000,
  connectionSeconds: 5,
  connectionConcurrency: 4,
  warmupSeconds: 1,
};

export const QUICK_SIZES: L4Sizes = {
  rounds: 1,
  bulkSeconds: 1,
  parallelStreams: 8,
  roundTrips: 1_000,
  roundTripWarmup: 100,
  connectionSeconds: 1,
  connectionConcurrency: 4,
  warmupSeconds: 0.3,
};

export type Measured<T> = T & { readonly usage: readonly ProcessUsage[] };

export interface PathRound {
  readonly bulkSingle: Measured<BulkResult>;
  readonly bulkParallel: Measured<BulkResult>;
  /** `count` timed round trips; the proxies' CPU also covers the warm-up round trips (`roundTripWarmup`). */
  readonly roundTrips: Measured<RoundTripResult>;
  readonly connections: Measured<ConnectionResult>;
  /** Mesh paths: connections the destination ztunnel accepted with mutual TLS during the round, and how many the round opened. */
  readonly mtls?: { readonly counted: number; readonly opened: number };
}

export class PathNotMeshed extends Error {
  readonly code = 'L4_PATH_NOT_MESHED' as const;
  constructor(label: string, counted: number, opened: number) {
    super(`${label}: the destination ztunnel counted ${counted} mutual-TLS connections but the round opened ${opened}; traffic bypassed the mesh`);
  }
}

async function measured<T>(path: MeasuredPath, work: () => Promise<T>): Promise<Measured<T>> {
  const sampler = ProcessSampler.start(path.proxies);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    sampler.stop();
    throw error;
  }
  return { ...result, usage: sampler.stop() };
}

async function mtlsCount(path: MeasuredPath): Promise<number> {
  if (!path.mesh) return 0;
  return inboundMtlsConnections(path.mesh.destinationZtunnel, path.mesh.namespace, path.mesh.workload);
}

export async function warmUp(tool: LoadTool, path: MeasuredPath, sizes: L4Sizes): Promise<void> {
  await tool.bulk(path.clientNetns, path.host, path.sinkPort, 1, sizes.warmupSeconds);
  await tool.connections(path.clientNetns, path.host, path.oncePort, sizes.connectionConcurrency, sizes.warmupSeconds);
}

export async function measureRound(tool: LoadTool, path: MeasuredPath, sizes: L4Sizes, log: (line: string) => void): Promise<PathRound> {
  const { clientNetns: netns, host } = path;
  await warmUp(tool, path, sizes);
  const mtlsBefore = await mtlsCount(path);
  const bulkSingle = await measured(path, () => tool.bulk(netns, host, path.sinkPort, 1, sizes.bulkSeconds));
  const bulkParallel = await measured(path, () => tool.bulk(netns, host, path.sinkPort, sizes.parallelStreams, sizes.bulkSeconds));
  const roundTrips = await measured(path, () => tool.roundTrips(netns, host, path.echoPort, sizes.roundTrips, sizes.roundTripWarmup));
  const connections = await measured(path, () => tool.connections(netns, host, path.oncePort, sizes.connectionConcurrency, sizes.connectionSeconds));
  log(
    `${path.label}: ${bulkSingle.gbitPerSecond.toFixed(2)} / ${bulkParallel.gbitPerSecond.toFixed(2)} Gbit/s, ` +
      `rr p50 ${roundTrips.p50Us.toFixed(0)} us p99 ${roundTrips.p99Us.toFixed(0)} us, ${Math.round(connections.perSecond)} conn/s` +
      (connections.errors > 0 ? ` (${connections.errors} failed: ${connections.error})` : ''),
  );
  if (!path.mesh) return { bulkSingle, bulkParallel, roundTrips, connections };
  const opened = 1 + sizes.parallelStreams + 1 + connections.connections;
  const counted = (await mtlsCount(path)) - mtlsBefore;
  if (counted < opened) throw new PathNotMeshed(path.label, counted, opened);
  return { bulkSingle, bulkParallel, roundTrips, connections, mtls: { counted, opened } };
}
