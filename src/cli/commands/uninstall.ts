// `ambit uninstall [--purge] [--kubeconfig FILE] [--context NAME]`: removes what `ambit install` applied (the namespace stays).
import { KubeConnection } from '../../kube/connection';
import { uninstallManifests } from '../../kube/install';
import { booleanFlag, flag, parseArgs, UsageError } from '../args';
import { KUBE_FLAGS, printStep } from './install';

export async function uninstall(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...KUBE_FLAGS, { name: 'purge', boolean: true }]);
  if (args.positionals.length > 0) throw new UsageError('usage: ambit uninstall [--purge] [--kubeconfig FILE] [--context NAME]');
  const connection = await KubeConnection.open({ kubeconfig: flag(args, 'kubeconfig'), context: flag(args, 'context') });
  const report = await uninstallManifests(connection, { purgeCa: booleanFlag(args, 'purge'), onStep: printStep });
  for (const warning of report.warnings) process.stderr.write(`ambit: note: ${warning}\n`);
  process.stdout.write(`ambit removed from ${connection.server}\n`);
  return 0;
}
