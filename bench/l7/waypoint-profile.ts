// With --profile: one extra, unmeasured run of the waypoint path's load while the waypoint process is CPU-profiled
// over its inspector (SIGUSR1, as the l4 bench profiles ztunnels), summarised as self time and time in ambit code.
import path from 'node:path';
import { profileReport, summarizeCpuProfile } from '../lib/cpu-profile';
import type { BenchReport } from '../lib/report';
import { ZtunnelProfiler } from '../l4/ztunnel-profiler';
import type { H1Tool } from './h1-tool';

export interface WaypointProfileTarget {
  readonly pid: number;
  /** The waypoint pod's netns, where its inspector listens on 127.0.0.1:9229. */
  readonly netns: string;
  readonly clientNetns: string;
  readonly host: string;
  readonly serviceHost: string;
}

export async function profileWaypoint(
  tool: H1Tool,
  target: WaypointProfileTarget,
  load: { readonly connections: number; readonly seconds: number },
  profileDir: string,
  log: (line: string) => void,
): Promise<BenchReport> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(profileDir, `l7-waypoint-${stamp}.cpuprofile`);
  // The profiler helper only needs a pid and the netns to reach 127.0.0.1:9229 in.
  const profiler = await ZtunnelProfiler.start({ node: 'waypoint', netns: target.netns, pid: target.pid, nodeIp: '' }, file);
  let result;
  try {
    log(`profiling the waypoint (pid ${target.pid}) under ${load.connections} connections for ${load.seconds} s`);
    result = await tool.load(target.clientNetns, target.host, target.serviceHost, load.connections, 0, load.seconds);
  } catch (error) {
    await profiler.abandon();
    throw error;
  }
  await profiler.stop();
  log(`profile of the waypoint: ${file} (${Math.round(result.perSecond)} req/s while profiled)`);
  const summary = summarizeCpuProfile(file, 25);
  const report = profileReport(`waypoint under ${load.connections} keep-alive connections (${Math.round(result.perSecond)} req/s, ${result.requests} requests)`, summary);
  return { ...report, notes: [...(report.notes ?? []), `${((summary.totalMs - summary.idleMs) / Math.max(result.requests, 1) * 1000).toFixed(1)} us of JS-visible busy time per request ("(program)" = native work is counted as idle)`] };
}
