// Summarises a V8 .cpuprofile (written by node --cpu-prof) into where the time went: busy time, the functions
// with the most self time, and the ambit functions with the most inclusive time (themselves plus callees).
import fs from 'node:fs';
import type { BenchReport } from './report';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  /** "name file:line", with file relative to dist/ or a node: URL. */
  readonly frame: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly idleMs: number;
  /** Idle time is left out. */
  readonly topSelf: readonly FunctionTime[];
  /** Only frames from ambit's own compiled sources (dist/src), where a fix would go. */
  readonly topInclusive: readonly FunctionTime[];
}

const IDLE = new Set(['(idle)', '(program)']);

function isCpuProfile(value: unknown): value is CpuProfile {
  const candidate = value as Partial<CpuProfile> | null;
  return typeof candidate === 'object' && candidate !== null && Array.isArray(candidate.nodes) && Array.isArray(candidate.samples) && Array.isArray(candidate.timeDeltas);
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const distAt = url.indexOf('/dist/');
  const file = distAt >= 0 ? url.slice(distAt + '/dist/'.length) : url.replace(/^file:\/\/.*\/node_modules\//, '');
  return `${name} ${file}:${lineNumber + 1}`;
}

function top(times: Map<string, number>, count: number): FunctionTime[] {
  return [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, us]) => ({ frame, ms: us / 1000 }));
}

export function summarizeCpuProfile(file: string, count = 15): ProfileSummary {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isCpuProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile (no nodes/samples/timeDeltas)`);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of parsed.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  parsed.samples.forEach((id, i) => {
    const us = parsed.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    totalUs += us;
    const name = frameName(node);
    if (IDLE.has(name)) idleUs += us;
    else self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame || !frame.callFrame.url.includes('/dist/src/')) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  });
  return { file, totalMs: totalUs / 1000, idleMs: idleUs / 1000, topSelf: top(self, count), topInclusive: top(inclusive, count) };
}

/** The summary as two report tables (self time, then inclusive time in ambit code). */
export function profileReport(title: string, summary: ProfileSummary): BenchReport {
  const busy = summary.totalMs - summary.idleMs;
  const share = (ms: number) => `${((100 * ms) / Math.max(busy, 1)).toFixed(1)}%`;
  return {
    title: `${title}: self time`,
    columns: ['function', 'self ms', 'of busy'],
    rows: summary.topSelf.map((entry) => [entry.frame, entry.ms, share(entry.ms)]),
    notes: [`profile ${summary.file}: ${Math.round(summary.totalMs)} ms sampled, ${Math.round(busy)} ms busy`],
    more: [
      {
        title: `${title}: inclusive time in ambit code`,
        columns: ['function', 'incl ms', 'of busy'],
        rows: summary.topInclusive.map((entry) => [entry.frame, entry.ms, share(entry.ms)]),
      },
    ],
  };
}
