// With --profile: one extra, unmeasured pass of the cross-node load (bulk N streams, round trips, connections)
// while both ztunnels are CPU-profiled, summarised as self time and time inside ambit's own functions.
import fs from 'node:fs';
import path from 'node:path';
import { profileReport, summarizeCpuProfile } from '../lib/cpu-profile';
import type { BenchReport } from '../lib/report';
import type { LoadTool } from './load-tool';
import type { L4Sizes } from './measure';
import type { MeasuredPath } from './paths';
import { ZtunnelProfiler } from './ztunnel-profiler';
import type { ZtunnelProcess } from './ztunnels';

/**
 * "(program)" is native work with no JavaScript on the stack: for a ztunnel mostly TLS records and HTTP/2 frames
 * processed inside Node's C++ (TLSWrap, nghttp2) and the syscalls under them. The summary counts it as idle, so
 * it is stated beside the table.
 */
function nativeTimeNote(file: string): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string } }[]; samples: number[]; timeDeltas: number[] };
  const names = new Map(profile.nodes.map((node) => [node.id, node.callFrame.functionName]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const name = names.get(id) ?? '';
    if (name === '(program)' || name === '(idle)') totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const ms = (name: string) => Math.round((totals.get(name) ?? 0) / 1000);
  return `not in "busy": (program) ${ms('(program)')} ms = native work outside JS (TLS, HTTP/2 framing in C++, syscalls); (idle) ${ms('(idle)')} ms`;
}

export async function profilePass(
  tool: LoadTool,
  crossNode: MeasuredPath,
  ztunnels: readonly ZtunnelProcess[],
  sizes: L4Sizes,
  profileDir: string,
  log: (line: string) => void,
): Promise<BenchReport[]> {
  const { clientNetns: netns, host } = crossNode;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profilers: ZtunnelProfiler[] = [];
  try {
    for (const ztunnel of ztunnels) {
      profilers.push(await ZtunnelProfiler.start(ztunnel, path.join(profileDir, `l4-ztunnel-${ztunnel.node}-${stamp}.cpuprofile`)));
    }
    log(`profiling ${ztunnels.map((z) => `ztunnel ${z.node}`).join(' and ')} under the ${crossNode.label} load`);
    await tool.bulk(netns, host, crossNode.sinkPort, sizes.parallelStreams, sizes.bulkSeconds);
    await tool.roundTrips(netns, host, crossNode.echoPort, sizes.roundTrips, sizes.roundTripWarmup);
    await tool.connections(netns, host, crossNode.oncePort, sizes.connectionConcurrency, sizes.connectionSeconds);
    const files: string[] = [];
    for (const profiler of profilers.splice(0)) files.push(await profiler.stop());
    return files.map((file, i) => {
      const role = i === 0 ? 'client side' : 'server side';
      log(`profile of ztunnel ${ztunnels[i].node}: ${file}`);
      const report = profileReport(`ztunnel ${ztunnels[i].node} (${role}), ${crossNode.label}: bulk ${sizes.parallelStreams} streams + rr + conn`, summarizeCpuProfile(file));
      return { ...report, notes: [...(report.notes ?? []), nativeTimeNote(file)] };
    });
  } finally {
    await Promise.all(profilers.map((profiler) => profiler.abandon()));
  }
}
