// Measures proxies while a load runs: CPU seconds (user and sys from /proc/<pid>/stat) between start and stop, and
// the highest VmRSS seen by polling /proc/<pid>/status.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { processMemory } from '../lib/proc';

/** A process under measurement, named the way the report shows it. */
export interface WatchedProcess {
  readonly label: string;
  readonly pid: number;
}

export interface ProcessUsage {
  readonly label: string;
  /** User plus system time. */
  readonly cpuSeconds: number;
  /** The part of cpuSeconds spent in the kernel (syscalls, and the softirq network work they trigger). */
  readonly sysSeconds: number;
  /** Highest VmRSS polled during the load, bytes. */
  readonly peakRssBytes: number;
}

export class ProcessGone extends Error {
  readonly code = 'L4_PROCESS_GONE' as const;
  constructor(readonly label: string, readonly pid: number) {
    super(`${label} (pid ${pid}) ended while it was being measured; its log says why`);
  }
}

const POLL_MS = 200;

interface CpuTimes {
  readonly user: number;
  readonly sys: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

function cpuTimes(pid: number): CpuTimes {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces: utime is 14th, stime 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clockTicks(), sys: Number(fields[12]) / clockTicks() };
}

const NO_TIMES: CpuTimes = { user: 0, sys: 0 };

export class ProcessSampler {
  private readonly cpuAtStart: CpuTimes[];
  private readonly peaks: number[];
  private readonly timer: NodeJS.Timeout;
  private gone: ProcessGone | undefined;

  private constructor(private readonly processes: readonly WatchedProcess[]) {
    this.cpuAtStart = processes.map((p) => this.read(p, () => cpuTimes(p.pid), NO_TIMES));
    this.peaks = processes.map(() => 0);
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  static start(processes: readonly WatchedProcess[]): ProcessSampler {
    return new ProcessSampler(processes);
  }

  /** Ends the measurement; throws ProcessGone when a watched process ended meanwhile. */
  stop(): ProcessUsage[] {
    clearInterval(this.timer);
    this.poll();
    const usage = this.processes.map((p, i) => {
      const end = this.read(p, () => cpuTimes(p.pid), NO_TIMES);
      const start = this.cpuAtStart[i];
      const sysSeconds = end.sys - start.sys;
      return { label: p.label, cpuSeconds: end.user - start.user + sysSeconds, sysSeconds, peakRssBytes: this.peaks[i] };
    });
    if (this.gone) throw this.gone;
    return usage;
  }

  private poll(): void {
    this.processes.forEach((p, i) => {
      const rss = this.read(p, () => processMemory(p.pid).rssBytes, 0);
      if (rss > this.peaks[i]) this.peaks[i] = rss;
    });
  }

  private read<T>(p: WatchedProcess, reader: () => T, fallback: T): T {
    try {
      return reader();
    } catch {
      this.gone ??= new ProcessGone(p.label, p.pid);
      return fallback;
    }
  }
}
