// `ambit ztunnel-config workloads|services|policies|certificates|pods|all [--node N] [-o json]`: what a node's ztunnel holds.
import http from 'node:http';
import { connectInNetns } from '../../native';
import { flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS } from '../context';
import { CliError, table } from '../output';

const VIEWS = ['workloads', 'services', 'policies', 'certificates', 'pods', 'all'] as const;
type View = (typeof VIEWS)[number];

interface ConfigDump {
  node: string;
  workloads: { name: string; namespace: string; ips: string[]; node: string; identity: string; protocol: string; status: string; waypoint: unknown }[];
  services: { name: string; vips: string[]; ports: { servicePort: number; targetPort: number }[]; endpoints: string[]; waypoint: unknown }[];
  policies: { name: string; scope: string; action: string; rules: unknown[] }[];
  certificates: { identity: string; state: string; serial?: string; notAfter?: string; lastError?: string }[];
  pods: { name: string; namespace: string; ips: string[]; state: string }[];
}

/** Reads the ztunnel admin endpoint, which listens on localhost inside the node's netns (as on a real node). */
export async function fetchConfigDump(nodeNetns: string): Promise<ConfigDump> {
  const socket = await connectInNetns({ netns: nodeNetns, host: '127.0.0.1', port: 15000, timeoutMs: 3000 }).catch((error: Error) => {
    throw new CliError(`cannot reach the ztunnel admin endpoint in ${nodeNetns}: ${error.message} (is the cluster up?)`);
  });
  return new Promise((resolve, reject) => {
    const request = http.get({ path: '/config_dump', createConnection: () => socket }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as ConfigDump);
        } catch (error) {
          reject(new CliError(`the ztunnel answered something that is not JSON: ${(error as Error).message}`));
        }
      });
    });
    request.on('error', (error) => reject(new CliError(error.message)));
  });
}

function render(view: Exclude<View, 'all'>, dump: ConfigDump): string {
  switch (view) {
    case 'workloads':
      return table(['NAMESPACE', 'NAME', 'IP', 'NODE', 'PROTOCOL', 'IDENTITY', 'STATUS'], dump.workloads.map((w) => [w.namespace, w.name, w.ips.join(','), w.node, w.protocol, w.identity, w.status]));
    case 'services':
      return table(['NAME', 'VIPS', 'PORTS', 'ENDPOINTS', 'WAYPOINT'], dump.services.map((s) => [s.name, s.vips.join(','), s.ports.map((p) => `${p.servicePort}->${p.targetPort || 'named'}`).join(','), String(s.endpoints.length), s.waypoint ? JSON.stringify(s.waypoint) : '-']));
    case 'policies':
      return table(['NAME', 'SCOPE', 'ACTION', 'RULES'], dump.policies.map((p) => [p.name, p.scope, p.action, String(p.rules.length)]));
    case 'certificates':
      return table(['IDENTITY', 'STATE', 'SERIAL', 'NOT AFTER', 'ERROR'], dump.certificates.map((c) => [c.identity, c.state, c.serial ?? '-', c.notAfter ?? '-', c.lastError ?? '']));
    case 'pods':
      return table(['NAMESPACE', 'NAME', 'IPS', 'STATE'], dump.pods.map((p) => [p.namespace, p.name, p.ips.join(','), p.state]));
  }
}

export async function ztunnelConfig(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'node' }, { name: 'output', short: 'o' }]);
  const view = args.positionals[0] as View | undefined;
  if (!view || !VIEWS.includes(view)) throw new UsageError(`usage: ambit ztunnel-config ${VIEWS.join('|')} [--node NODE] [-o json]`);
  const context = clusterContext(args);
  const node = flag(args, 'node') ?? 'node-1';
  const dump = await fetchConfigDump(context.names.nodeNetns(node));
  if (flag(args, 'output') === 'json') {
    process.stdout.write(JSON.stringify(view === 'all' ? dump : dump[view], null, 2) + '\n');
    return 0;
  }
  const views: Exclude<View, 'all'>[] = view === 'all' ? ['workloads', 'services', 'policies', 'certificates', 'pods'] : [view];
  process.stdout.write(views.map((v) => (views.length > 1 ? `${v.toUpperCase()} (ztunnel on ${dump.node})\n` : '') + render(v, dump)).join('\n'));
  return 0;
}
