// The bench runner's command line: benchmark names, --quick, --profile[=DIR], --json, --list, --help.

export interface BenchArgs {
  readonly names: readonly string[];
  readonly quick: boolean;
  /** Directory for CPU profiles; "" when --profile was given without one (the runner picks a temp dir). */
  readonly profile: string | undefined;
  readonly json: boolean;
  readonly list: boolean;
  readonly help: boolean;
}

export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE' as const;
}

export const USAGE = `usage: npm run bench -- [NAME...] [--quick] [--profile[=DIR]] [--json] [--list]

  NAME           run only these benchmarks (default: all)
  --quick        small sizes, for a smoke run
  --profile=DIR  write CPU profiles of the processes under test to DIR and summarise them
  --json         print the reports as JSON instead of tables
  --list         list the benchmarks and exit`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const names: string[] = [];
  let quick = false;
  let profile: string | undefined;
  let json = false;
  let list = false;
  let help = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--json') json = true;
    else if (arg === '--list') list = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--profile') profile = '';
    else if (arg.startsWith('--profile=')) profile = arg.slice('--profile='.length);
    else if (arg.startsWith('-')) throw new BenchUsageError(`unknown option ${arg}\n\n${USAGE}`);
    else names.push(arg);
  }
  return { names, quick, profile, json, list, help };
}
