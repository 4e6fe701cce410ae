// Turns the l7 benchmark's measurements into tables: requests/s and latency per path with ratios to the direct
// path and to HAProxy, then the proxies' CPU per 1,000 requests/s and their memory.
import type { BenchReport } from '../lib/report';
import { formatNumber } from '../lib/report';
import { mib } from '../lib/stats';
import type { ProcessUsage } from '../l4/process-sampler';
import type { LoadResult } from './h1-tool';

export type PathId = 'direct' | 'waypoint' | 'haproxy';

export interface PathMeasurement {
  readonly id: PathId;
  readonly label: string;
  readonly load: LoadResult;
  /** The proxies on the path while the measured load ran. */
  readonly usage: readonly ProcessUsage[];
}

export interface L7ReportInput {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly cpus: number;
  readonly load: readonly [number, number];
  readonly paths: readonly PathMeasurement[];
  /** Idle RSS (before any load) by process label. */
  readonly idleRssBytes: ReadonlyMap<string, number>;
  readonly checks: readonly string[];
  readonly waypointNode: string;
}

function ratio(value: number, base: number | undefined): string {
  if (base === undefined || base === 0 || !Number.isFinite(value)) return '-';
  return `${formatNumber(value / base)}x`;
}

function throughputTable(input: L7ReportInput): BenchReport {
  const byId = new Map(input.paths.map((p) => [p.id, p.load]));
  const direct = byId.get('direct');
  const haproxy = byId.get('haproxy');
  const rows = input.paths.map((p) => {
    const l = p.load;
    return [
      p.label,
      Math.round(l.perSecond),
      l.p50Us,
      l.p99Us,
      l.errors + l.non2xx,
      ratio(l.perSecond, direct?.perSecond),
      ratio(l.p50Us, direct?.p50Us),
      ratio(l.p99Us, direct?.p99Us),
      ratio(l.perSecond, haproxy?.perSecond),
      ratio(l.p50Us, haproxy?.p50Us),
      ratio(l.p99Us, haproxy?.p99Us),
    ];
  });
  return {
    title: `l7: HTTP/1.1 keep-alive GET, 1 KiB responses, ${input.connections} connections, ${input.seconds} s after ${input.warmupSeconds} s warm-up`,
    columns: ['path', 'req/s', 'p50 us', 'p99 us', 'failed', 'req/s vs direct', 'p50 vs direct', 'p99 vs direct', 'req/s vs HAProxy', 'p50 vs HAProxy', 'p99 vs HAProxy'],
    rows,
    notes: [
      `${input.cpus} CPUs shared by client, server, proxies and the kernel's veth work; load average ${input.load[0].toFixed(2)} at start, ${input.load[1].toFixed(2)} at end.`,
      `Latency is per request (send to last byte), closed loop: ${input.connections} requests in flight at any time. "failed" = errors plus non-2xx answers.`,
      `The waypoint path is client -> ztunnel node-1 -> HBONE -> waypoint (${input.waypointNode}) -> HBONE -> ztunnel node-2 -> server: it includes two ztunnel hops and mTLS, HAProxy's does not.`,
      ...input.paths.map((p) => `load client CPU on ${p.label}: ${formatNumber((p.load.clientCpuSeconds / p.load.seconds) * 100)}% of one core`),
      ...input.checks,
    ],
  };
}

function cpuTable(input: L7ReportInput): BenchReport {
  const rows: (string | number)[][] = [];
  let haproxyMs: number | undefined;
  let haproxyRss: number | undefined;
  for (const p of input.paths) {
    for (const u of p.usage) {
      const perThousand = (u.cpuSeconds * 1000 * 1000) / Math.max(1, p.load.requests);
      if (u.label === 'HAProxy') {
        haproxyMs = perThousand;
        haproxyRss = u.peakRssBytes;
      }
      rows.push([u.label, p.label, Math.round(p.load.perSecond), (u.cpuSeconds / p.load.seconds) * 100, perThousand, (u.sysSeconds / Math.max(u.cpuSeconds, 1e-9)) * 100, mib(input.idleRssBytes.get(u.label) ?? 0), mib(u.peakRssBytes)]);
    }
  }
  for (const row of rows) {
    row.push(ratio(row[4] as number, haproxyMs), ratio(row[7] as number, haproxyRss === undefined ? undefined : mib(haproxyRss)));
  }
  return {
    title: 'l7: proxy CPU and memory under that load',
    columns: ['process', 'path', 'req/s', 'CPU % of a core', 'CPU ms per 1k req', 'sys %', 'idle RSS MiB', 'peak RSS MiB', 'CPU vs HAProxy', 'RSS vs HAProxy'],
    rows,
    notes: [
      '"CPU ms per 1k req" is CPU time (user+sys, /proc/<pid>/stat) per 1,000 requests, which is also millicores per 1,000 req/s.',
      'Peak RSS is the highest VmRSS polled every 200 ms during the measured load; idle RSS was read before any load.',
      'HAProxy runs with nbthread 1 (the waypoint is one Node.js process), http mode, keep-alive on both sides, http-reuse always.',
    ],
  };
}

export function l7Report(input: L7ReportInput): BenchReport {
  return { ...throughputTable(input), more: [cpuTable(input)] };
}
