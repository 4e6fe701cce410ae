// `ambit debug VIEW [--node N]`: reads the control plane's debug endpoint (workloads, services, policies, clients, pushed).
import http from 'node:http';
import path from 'node:path';
import { flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS } from '../context';
import { CliError } from '../output';

const VIEWS = ['workloads', 'services', 'policies', 'clients', 'push_stats', 'pushed', 'resources'];

export function fetchDebugView(socketPath: string, view: string, query = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: `/debug/${view}${query}` }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new CliError(`control plane answered ${response.statusCode}: ${body.trim()}`))));
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(new CliError(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? `the control plane is not running (no ${socketPath}); is the cluster up?` : error.message)),
    );
  });
}

export async function debug(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'node' }]);
  const [view] = args.positionals;
  if (!view || !VIEWS.includes(view)) throw new UsageError(`usage: ambit debug ${VIEWS.join('|')} [--node NODE]`);
  const context = clusterContext(args);
  const node = flag(args, 'node');
  process.stdout.write(await fetchDebugView(path.join(context.dir, 'controlplane.sock'), view, node ? `?node=${encodeURIComponent(node)}` : ''));
  return 0;
}
