// `ambit install [--image IMAGE] [--kubeconfig FILE] [--context NAME] [--dry-run]`: applies the manifests to the current cluster.
import { KubeConnection } from '../../kube/connection';
import { installManifests, type InstallStep } from '../../kube/install';
import { booleanFlag, flag, parseArgs, UsageError } from '../args';

export const KUBE_FLAGS = [{ name: 'kubeconfig' }, { name: 'context' }, { name: 'help', short: 'h', boolean: true }] as const;

export function printStep(step: InstallStep): void {
  process.stdout.write(`${step.what} ${step.outcome}\n`);
}

export async function install(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...KUBE_FLAGS, { name: 'image' }, { name: 'trust-domain' }, { name: 'dry-run', boolean: true }]);
  if (args.positionals.length > 0) throw new UsageError('usage: ambit install [--image IMAGE] [--trust-domain DOMAIN] [--kubeconfig FILE] [--context NAME] [--dry-run]');
  const connection = await KubeConnection.open({ kubeconfig: flag(args, 'kubeconfig'), context: flag(args, 'context') });
  const report = await installManifests(connection, {
    image: flag(args, 'image'),
    trustDomain: flag(args, 'trust-domain'),
    dryRun: booleanFlag(args, 'dry-run'),
    onStep: printStep,
  });
  for (const warning of report.warnings) process.stderr.write(`ambit: warning: ${warning}\n`);
  process.stdout.write(booleanFlag(args, 'dry-run') ? `dry run against ${connection.server}: nothing written\n` : `ambit installed on ${connection.server}\n`);
  return 0;
}
