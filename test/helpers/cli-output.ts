// Runs an ambit CLI command in-process with stdout and stderr captured; assert only afterwards, so TAP output is not swallowed.

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(command: (argv: readonly string[]) => Promise<number>, argv: readonly string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const [writeOut, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as unknown as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(chunk) > 0) as unknown as typeof process.stderr.write;
  try {
    return { code: await command(argv), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}
