// Finds a local cluster's ztunnel processes (one per node netns) and reads, from a ztunnel's metrics, how many
// mutual-TLS connections it accepted for a workload: proof that a measured path really went through the mesh.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { cleanEnv } from '../../test/helpers/cluster';

/** ztunnel's Prometheus port (src/ztunnel/admin.ts METRICS_PORT), served on the node address. */
const METRICS_PORT = 15020;

export class ZtunnelNotFound extends Error {
  readonly code = 'L4_ZTUNNEL_NOT_FOUND' as const;
  constructor(readonly netns: string, found: number) {
    super(`expected one ztunnel (a process running ztunnel/main.js) in netns ${netns}, found ${found}; is the cluster up and its ztunnel not crash-looping?`);
  }
}

export interface ZtunnelProcess {
  readonly node: string;
  readonly netns: string;
  readonly pid: number;
  /** The node's underlay address, where the ztunnel serves metrics. */
  readonly nodeIp: string;
}

function capture(command: string, args: readonly string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim()}`)) : resolve(stdout),
    );
  });
}

function commandLine(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // the process ended between listing and reading
  }
}

export async function findZtunnel(node: string, netns: string): Promise<ZtunnelProcess> {
  const pids = (await capture('ip', ['netns', 'pids', netns])).split(/\s+/).filter(Boolean).map(Number);
  const found = pids
    .map((pid) => ({ pid, argv: commandLine(pid) }))
    .filter(({ argv }) => argv.some((arg) => arg.endsWith('ztunnel/main.js')));
  if (found.length !== 1) throw new ZtunnelNotFound(netns, found.length);
  const { pid, argv } = found[0];
  const nodeIp = argv[argv.indexOf('--node-ip') + 1];
  if (!nodeIp || argv.indexOf('--node-ip') < 0) throw new Error(`ztunnel ${pid} in ${netns} has no --node-ip argument`);
  return { node, netns, pid, nodeIp };
}

/** True while the process is the same ztunnel that was found (a restart would give the node a new pid). */
export function stillRunning(ztunnel: ZtunnelProcess): boolean {
  return commandLine(ztunnel.pid).some((arg) => arg.endsWith('ztunnel/main.js'));
}

/**
 * Connections the ztunnel accepted as HBONE destination for `workload` in `namespace` with mutual TLS
 * (istio_tcp_connections_opened_total, reporter="destination", connection_security_policy="mutual_tls").
 */
export async function inboundMtlsConnections(ztunnel: ZtunnelProcess, namespace: string, workload: string): Promise<number> {
  const text = await capture('ip', ['netns', 'exec', ztunnel.netns, 'curl', '-sf', '-m', '10', `http://${ztunnel.nodeIp}:${METRICS_PORT}/metrics`]);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_tcp_connections_opened_total{')) continue;
    const labels = line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1);
    if (!labels.includes('reporter="destination"')) continue;
    if (!labels.includes(`destination_workload="${workload}"`) || !labels.includes(`destination_workload_namespace="${namespace}"`)) continue;
    if (!labels.includes('connection_security_policy="mutual_tls"')) continue;
    total += Number(line.slice(line.lastIndexOf('}') + 1).trim()) || 0;
  }
  return total;
}
