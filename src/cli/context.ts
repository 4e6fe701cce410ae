// Which local cluster a command talks to and where its state lives (--cluster/AMBIT_CLUSTER, --state-dir/AMBIT_HOME).
import path from 'node:path';
import { ClusterNames } from '../local/cluster-names';
import { DirectoryStore } from '../local/store/directory-store';
import { flag, type FlagSpec, type ParsedArgs } from './args';

export const GLOBAL_FLAGS: readonly FlagSpec[] = [{ name: 'cluster' }, { name: 'state-dir' }, { name: 'help', short: 'h', boolean: true }];

export const DEFAULT_STATE_DIR = '/var/lib/ambit';

export interface ClusterContext {
  readonly names: ClusterNames;
  /** This cluster's own directory: store/, logs/, up.pid. */
  readonly dir: string;
}

export function clusterContext(args: ParsedArgs): ClusterContext {
  const cluster = flag(args, 'cluster') ?? process.env.AMBIT_CLUSTER ?? 'ambit';
  const home = flag(args, 'state-dir') ?? process.env.AMBIT_HOME ?? DEFAULT_STATE_DIR;
  const names = new ClusterNames(cluster);
  return { names, dir: path.resolve(home, cluster) };
}

export function openStore(context: ClusterContext): DirectoryStore {
  return DirectoryStore.open(path.join(context.dir, 'store'));
}

export function pidFile(context: ClusterContext): string {
  return path.join(context.dir, 'up.pid');
}
