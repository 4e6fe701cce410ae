// Turns the l4 benchmark's rounds into tables: the paths side by side with ratios against direct and stunnel, the
// proxies' CPU and memory per unit of work, and every round's raw figures.
import type { BenchCell, BenchReport } from '../lib/report';
import { formatNumber } from '../lib/report';
import { median, mib } from '../lib/stats';
import type { L4Sizes, Measured, PathRound } from './measure';
import type { MeasuredPath, PathId } from './paths';
import type { NegotiatedTls } from './stunnel-pair';

export interface ZtunnelMemory {
  readonly node: string;
  /** VmRSS after the cluster came up, before any measured traffic. */
  readonly idleRssBytes: number;
  /** VmHWM at the end of the run. */
  readonly peakRssBytes: number;
  readonly rssAtEndBytes: number;
}

export interface L4Results {
  readonly sizes: L4Sizes;
  readonly paths: readonly MeasuredPath[];
  readonly rounds: ReadonlyMap<PathId, readonly PathRound[]>;
  readonly cpus: number;
  /** 1-minute load average at the start and at the end. */
  readonly load: readonly [number, number];
  readonly stunnelTls: NegotiatedTls;
  readonly ztunnelMemory: readonly ZtunnelMemory[];
  /** AMBIT_LOG_LEVEL the ztunnels ran with. */
  readonly ztunnelLogLevel: string;
}

interface Headline {
  readonly single: number;
  readonly parallel: number;
  readonly p50: number;
  readonly p99: number;
  readonly connPerSecond: number;
}

function headline(rounds: readonly PathRound[]): Headline {
  return {
    single: median(rounds.map((r) => r.bulkSingle.gbitPerSecond)),
    parallel: median(rounds.map((r) => r.bulkParallel.gbitPerSecond)),
    p50: median(rounds.map((r) => r.roundTrips.p50Us)),
    p99: median(rounds.map((r) => r.roundTrips.p99Us)),
    connPerSecond: median(rounds.map((r) => r.connections.perSecond)),
  };
}

function ratio(value: number, reference: number | undefined): string {
  if (reference === undefined || reference === 0 || !Number.isFinite(value)) return '-';
  const r = value / reference;
  return `${r.toFixed(r >= 100 ? 0 : r >= 10 ? 1 : 2)}x`;
}

const METRICS: readonly (keyof Headline)[] = ['single', 'parallel', 'p50', 'p99', 'connPerSecond'];
const SHORT: Record<keyof Headline, string> = { single: '1st', parallel: 'Nst', p50: 'p50', p99: 'p99', connPerSecond: 'c/s' };

function pathsTable(results: L4Results): BenchReport {
  const { sizes } = results;
  const headlines = new Map(results.paths.map((path) => [path.id, headline(results.rounds.get(path.id) ?? [])]));
  const direct = headlines.get('direct');
  const stunnel = headlines.get('stunnel');
  const streams = sizes.parallelStreams;
  const rows: BenchCell[][] = results.paths.map((path) => {
    const h = headlines.get(path.id);
    if (!h) return [path.label];
    return [
      path.label,
      h.single,
      h.parallel,
      h.p50,
      h.p99,
      Math.round(h.connPerSecond),
      ...METRICS.map((metric) => ratio(h[metric], direct?.[metric])),
      ...METRICS.map((metric) => ratio(h[metric], stunnel?.[metric])),
    ];
  });
  const load = results.load.map((value) => value.toFixed(1)).join(' at start, ');
  const directRounds = results.rounds.get('direct') ?? [];
  const senderLoad = (kind: 'bulkSingle' | 'bulkParallel') =>
    median(directRounds.map((r) => r[kind].senderCpuSeconds / r[kind].seconds)).toFixed(2);
  return {
    title: `L4 data path: direct vs stunnel vs ztunnel (median of ${sizes.rounds} round${sizes.rounds === 1 ? '' : 's'})`,
    columns: [
      'path',
      'Gbit/s 1st',
      `Gbit/s ${streams}st`,
      'rr p50 us',
      'rr p99 us',
      'conn/s',
      ...METRICS.map((m) => `${SHORT[m].replace('N', String(streams))}/dir`),
      ...METRICS.map((m) => `${SHORT[m].replace('N', String(streams))}/stn`),
    ],
    rows,
    notes: [
      `bulk: ${sizes.bulkSeconds} s per run, 128 KiB writes; bytes counted by the sink, time until the last byte arrived (l4load.c)`,
      `rr: one open connection, ${formatNumber(sizes.roundTrips)} timed 1-byte round trips after ${formatNumber(sizes.roundTripWarmup)} untimed, TCP_NODELAY at both ends`,
      `conn/s: ${sizes.connectionConcurrency} loops for ${sizes.connectionSeconds} s, each connect + 1 byte each way + server close + client close`,
      `paths: direct = plain TCP, unenrolled pods, node-1 -> node-2; stunnel = the same pods through a stunnel pair; ztunnel = enrolled pods (HBONE), node-1 -> node-1 or node-2`,
      `Gbit/s 1st/${streams}st: 1 stream / ${streams} parallel streams; x/dir and x/stn: this row's value over the direct / stunnel row's (throughput and conn/s: below 1x is worse; latency: above 1x is worse)`,
      `stunnel: mutual TLS, ECDSA P-256, handshake check negotiated ${results.stunnelTls.protocol} ${results.stunnelTls.cipherSuite}; ztunnel: HBONE (HTTP/2 CONNECT over mutual TLS 1.3, Node's default suites)`,
      `every process shares ${results.cpus} CPU(s): client, server, proxies and the kernel's veth/bridge work; load average ${load} at end`,
      `load tool on the direct path: the l4load sender used ${senderLoad('bulkSingle')} CPU (1 stream) and ${senderLoad('bulkParallel')} CPUs (${streams} streams), mostly kernel TCP work`,
      `ztunnel log level ${results.ztunnelLogLevel} (at info it writes one access-log line per connection, as Istio's ztunnel does); stunnel logs at its default level to a file`,
    ],
  };
}

type LoadKind = 'bulkSingle' | 'bulkParallel' | 'roundTrips' | 'connections';

interface LoadFigures {
  readonly work: string;
  readonly units: number;
  readonly unit: string;
  /** Divide total CPU seconds by `units` and multiply by this to get the per-unit figure. */
  readonly scale: number;
}

function loadFigures(kind: LoadKind, rounds: readonly PathRound[], sizes: L4Sizes): LoadFigures {
  switch (kind) {
    case 'bulkSingle':
    case 'bulkParallel': {
      const bytes = rounds.reduce((sum, r) => sum + r[kind].bytes, 0);
      return { work: `${formatNumber(bytes / 1e9)} GB`, units: bytes / 1e9, unit: 'CPU s/GB', scale: 1 };
    }
    case 'roundTrips': {
      const trips = rounds.reduce((sum, r) => sum + r.roundTrips.count + sizes.roundTripWarmup, 0);
      return { work: `${formatNumber(trips)} round trips`, units: trips, unit: 'CPU us/round trip', scale: 1e6 };
    }
    case 'connections': {
      const conns = rounds.reduce((sum, r) => sum + r.connections.connections, 0);
      return { work: `${formatNumber(conns)} conns`, units: conns / 1000, unit: 'CPU s/1k conns', scale: 1 };
    }
  }
}

const LOAD_LABEL = (sizes: L4Sizes): Record<LoadKind, string> => ({
  bulkSingle: 'bulk 1 stream',
  bulkParallel: `bulk ${sizes.parallelStreams} streams`,
  roundTrips: 'rr',
  connections: 'conn',
});

function usageOf(rounds: readonly PathRound[], kind: LoadKind): { cpu: number[]; sys: number; peakRss: number[] } {
  const cpu: number[] = [];
  const peakRss: number[] = [];
  let sys = 0;
  for (const round of rounds) {
    const measuredLoad: Measured<unknown> = round[kind];
    measuredLoad.usage.forEach((usage, side) => {
      cpu[side] = (cpu[side] ?? 0) + usage.cpuSeconds;
      sys += usage.sysSeconds;
      peakRss[side] = Math.max(peakRss[side] ?? 0, usage.peakRssBytes);
    });
  }
  return { cpu, sys, peakRss };
}

function proxiesTable(results: L4Results): BenchReport {
  const { sizes } = results;
  const kinds: LoadKind[] = ['bulkSingle', 'bulkParallel', 'roundTrips', 'connections'];
  const proxied = results.paths.filter((path) => path.proxies.length > 0);
  const perUnit = (path: MeasuredPath, kind: LoadKind): number | undefined => {
    const rounds = results.rounds.get(path.id) ?? [];
    const figures = loadFigures(kind, rounds, sizes);
    const { cpu } = usageOf(rounds, kind);
    return figures.units > 0 ? (cpu.reduce((a, b) => a + b, 0) / figures.units) * figures.scale : undefined;
  };
  const stunnel = proxied.find((path) => path.id === 'stunnel');
  const rows: BenchCell[][] = [];
  for (const kind of kinds) {
    for (const path of proxied) {
      const rounds = results.rounds.get(path.id) ?? [];
      const figures = loadFigures(kind, rounds, sizes);
      const { cpu, sys, peakRss } = usageOf(rounds, kind);
      const total = cpu.reduce((a, b) => a + b, 0);
      const value = perUnit(path, kind);
      const reference = stunnel ? perUnit(stunnel, kind) : undefined;
      const oneProcess = path.proxies.length === 1;
      rows.push([
        path.label,
        LOAD_LABEL(sizes)[kind],
        figures.work,
        cpu[0],
        oneProcess ? 'same' : cpu[1],
        total > 0 ? `${Math.round((100 * sys) / total)}%` : '-',
        value,
        figures.unit,
        path.id === 'stunnel' || value === undefined ? '-' : ratio(value, reference),
        peakRss[0] === undefined ? undefined : mib(peakRss[0]),
        oneProcess || peakRss[1] === undefined ? '-' : mib(peakRss[1]),
      ]);
    }
  }
  const memory = results.ztunnelMemory.map(
    (z) => `${z.node} ${formatNumber(mib(z.idleRssBytes))} MiB idle, ${formatNumber(mib(z.rssAtEndBytes))} MiB at end, VmHWM ${formatNumber(mib(z.peakRssBytes))} MiB`,
  );
  return {
    title: 'Proxy CPU and memory under load (all rounds summed)',
    columns: ['path', 'load', 'work', 'client CPU s', 'server CPU s', 'in kernel', 'CPU/unit', 'unit', 'vs stunnel', 'client RSS MiB', 'server RSS MiB'],
    rows,
    notes: [
      'CPU: user+sys from /proc/<pid>/stat over each run; client = ztunnel node-1 or the stunnel client, server = ztunnel node-2 or the stunnel server',
      'in kernel: share of that CPU spent as sys time (syscalls and the network stack work they run); CPU/unit: both sides together; on the same node one ztunnel does both sides; rr CPU includes the untimed warm-up round trips',
      'RSS: highest VmRSS polled every 200 ms during the runs',
      `ztunnel memory: ${memory.join('; ')}`,
    ],
  };
}

function roundsTable(results: L4Results): BenchReport {
  const rows: BenchCell[][] = [];
  for (const path of results.paths) {
    (results.rounds.get(path.id) ?? []).forEach((round, i) => {
      rows.push([
        path.label,
        i + 1,
        round.bulkSingle.gbitPerSecond,
        round.bulkParallel.gbitPerSecond,
        round.roundTrips.p50Us,
        round.roundTrips.p90Us,
        round.roundTrips.p99Us,
        round.roundTrips.p999Us,
        round.roundTrips.maxUs,
        Math.round(round.connections.perSecond),
        round.connections.errors,
        round.mtls ? `${round.mtls.counted}/${round.mtls.opened}` : '-',
      ]);
    });
  }
  return {
    title: 'Every round',
    columns: ['path', 'round', '1 stream Gbit/s', `${results.sizes.parallelStreams} streams Gbit/s`, 'rr p50 us', 'rr p90 us', 'rr p99 us', 'rr p99.9 us', 'rr max us', 'conn/s', 'conn errors', 'mTLS seen/opened'],
    rows,
    notes: ['mTLS seen/opened: connections the destination ztunnel counted as mutual TLS (istio_tcp_connections_opened_total) against the connections the round opened'],
  };
}

/** The three tables, then any further ones (CPU profile summaries). */
export function l4Report(results: L4Results, extra: readonly BenchReport[] = []): BenchReport {
  return { ...pathsTable(results), more: [proxiesTable(results), roundsTable(results), ...extra] };
}
