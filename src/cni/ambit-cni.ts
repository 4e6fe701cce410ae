#!/usr/bin/env node
// The ambit-cni executable: reads the CNI config from stdin, runs the plugin, prints its result and exits 0 or 1.
import { CNI_ERROR, runPlugin } from './plugin';

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** Entry point; bin/ambit-cni calls this. Resolves with the exit status it also sets on process.exitCode. */
export async function main(): Promise<number> {
  let stdin: string;
  try {
    stdin = process.stdin.isTTY ? '' : await readStdin();
  } catch (err) {
    const details = err instanceof Error ? err.message : String(err);
    process.stdout.write(`${JSON.stringify({ cniVersion: '1.0.0', code: CNI_ERROR.IO_FAILURE, msg: 'cannot read the network configuration from stdin', details })}\n`);
    process.exitCode = 1;
    return 1;
  }
  const output = await runPlugin(process.env, stdin);
  if (output.stderr) process.stderr.write(output.stderr);
  process.stdout.write(output.stdout);
  process.exitCode = output.exitCode;
  return output.exitCode;
}

if (require.main === module) void main();
