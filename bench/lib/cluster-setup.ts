// What the data-path benchmarks share: compiling their C load tool, and the addresses of the pods they measure between.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { TestCluster } from '../../test/helpers/cluster';

/**
 * Compiles `source` into `binary` with cc -O2. `fail` turns a problem into the benchmark's own error type, so its
 * message names the tool.
 */
export async function compileCTool(source: string, binary: string, extraFlags: readonly string[], fail: (message: string, stderr?: string) => Error): Promise<void> {
  if (!fs.existsSync(source)) throw fail(`load tool source not found at ${source}`);
  await new Promise<void>((resolve, reject) => {
    execFile('cc', ['-O2', '-Wall', ...extraFlags, '-o', binary, source], { timeout: 60_000 }, (error, _stdout, stderr) =>
      error ? reject(fail(`cc could not build ${source} (is gcc installed?)`, stderr || error.message)) : resolve(),
    );
  });
}

/** "namespace/pod" -> pod IP for every pod of `namespaces`; throws if one of `expected` has no address. */
export async function podIps(cluster: TestCluster, namespaces: readonly string[], expected: readonly { namespace: string; name: string }[]): Promise<Map<string, string>> {
  const ips = new Map<string, string>();
  for (const namespace of namespaces) {
    for (const pod of await cluster.pods(namespace)) ips.set(`${namespace}/${pod.name}`, pod.ip);
  }
  for (const pod of expected) {
    if (!ips.get(`${pod.namespace}/${pod.name}`)) throw new Error(`pod ${pod.namespace}/${pod.name} has no address; ambit get pods shows ${[...ips.keys()].join(', ')}`);
  }
  return ips;
}
