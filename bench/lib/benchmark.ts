// The contract between the bench runner and each benchmark: registering a benchmark is one line in bench/run.ts.
import type { BenchReport } from './report';

export interface BenchOptions {
  /** Shrink sizes for a smoke run (CI, or checking the benchmark itself still works). */
  readonly quick: boolean;
  /** When set, processes under test write V8 CPU profiles (.cpuprofile) into this directory. */
  readonly profileDir?: string;
  /** Progress for the operator; goes to stderr so stdout carries only reports. */
  readonly log: (line: string) => void;
}

export interface Benchmark {
  /** Short name used on the command line: `npm run bench -- <name>`. */
  readonly name: string;
  /** One line for `--list`. */
  readonly description: string;
  /** Runs to completion on its own: every loop is bounded in count and in time, and traffic stays on 127.0.0.1. */
  run(options: BenchOptions): Promise<BenchReport>;
}

/** A benchmark step that did not finish within its time bound; the message names the step and what was missing. */
export class BenchTimeout extends Error {
  readonly code = 'BENCH_TIMEOUT' as const;
  constructor(
    readonly step: string,
    readonly limitMs: number,
    detail: string,
  ) {
    super(`${step} did not finish within ${Math.round(limitMs / 1000)} s: ${detail}`);
    this.name = 'BenchTimeout';
  }
}
