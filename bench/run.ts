// The bench runner (`npm run bench -- [NAME...] [--quick]`): runs the registered benchmarks one after another
// and prints each report as a table on stdout; progress goes to stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlPlaneBenchmark } from './controlplane';
import { l4Benchmark } from './l4';
import { l7Benchmark } from './l7';
import { BenchUsageError, parseBenchArgs, USAGE } from './lib/args';
import type { Benchmark, BenchOptions } from './lib/benchmark';
import { formatReport, type BenchReport } from './lib/report';

/** Every benchmark the runner knows, in the order `npm run bench` runs them. Add one per line. */
const BENCHMARKS: readonly Benchmark[] = [
  controlPlaneBenchmark,
  l4Benchmark,
  l7Benchmark,
];

function select(names: readonly string[]): Benchmark[] {
  if (names.length === 0) return [...BENCHMARKS];
  return names.map((name) => {
    const found = BENCHMARKS.find((benchmark) => benchmark.name === name);
    if (!found) throw new BenchUsageError(`no benchmark named "${name}"; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    return found;
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.list) {
    for (const benchmark of BENCHMARKS) process.stdout.write(`${benchmark.name.padEnd(16)} ${benchmark.description}\n`);
    return 0;
  }
  const selected = select(args.names);
  const profileDir = args.profile === undefined ? undefined : args.profile || fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-profile-'));
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
  const reports: { name: string; report: BenchReport }[] = [];
  let failed = 0;
  for (const benchmark of selected) {
    const options: BenchOptions = { quick: args.quick, profileDir, log: (line) => log(`${benchmark.name}: ${line}`) };
    log(`${benchmark.name}: starting${args.quick ? ' (quick)' : ''}`);
    try {
      const report = await benchmark.run(options);
      reports.push({ name: benchmark.name, report });
      if (!args.json) process.stdout.write(`\n${formatReport(report)}\n`);
    } catch (error) {
      failed += 1;
      log(`${benchmark.name}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (args.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
