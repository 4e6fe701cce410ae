// The control-plane process: `node dist/src/controlplane/main.js --store DIR --state-dir DIR --listen HOST:PORT [...]`
// (local mode), or `--source kubernetes [--kubeconfig FILE] --state-dir DIR` in a cluster.
import path from 'node:path';
import { parseArgs, flag } from '../cli/args';
import { kubernetesControlPlane } from '../kube/control-plane-wiring';
import { createLogger } from '../telemetry/logger';
import { policyTranslator } from './translate/policies';
import { buildWaypointConfig } from './translate/waypoint';
import { ControlPlane } from './server';
import { LocalStoreSource } from './sources/local-store-source';

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, [{ name: 'store' }, { name: 'state-dir' }, { name: 'listen' }, { name: 'debug-socket' }, { name: 'debug-port' }, { name: 'trust-domain' }, { name: 'source' }, { name: 'kubeconfig' }]);
  const sourceKind = flag(args, 'source') ?? 'local';
  const store = flag(args, 'store');
  const stateDir = flag(args, 'state-dir');
  if (sourceKind !== 'local' && sourceKind !== 'kubernetes') throw new Error(`--source must be local or kubernetes, not ${JSON.stringify(sourceKind)}`);
  if ((sourceKind === 'local' && !store) || !stateDir) {
    throw new Error('usage: controlplane --store DIR --state-dir DIR [--listen HOST:PORT] [--debug-socket PATH] [--debug-port N] | controlplane --source kubernetes [--kubeconfig FILE] --state-dir DIR [...]');
  }
  const [host, port] = (flag(args, 'listen') ?? '0.0.0.0:15012').split(':');
  const logger = createLogger({ component: 'controlplane' });
  const trustDomain = flag(args, 'trust-domain') ?? 'cluster.local';
  const kube = sourceKind === 'kubernetes' ? await kubernetesControlPlane({ kubeconfig: flag(args, 'kubeconfig'), trustDomain, logger }) : undefined;
  const controlPlane = new ControlPlane({
    source: kube?.source ?? new LocalStoreSource(path.resolve(store ?? '')),
    stateDir: path.resolve(stateDir),
    listenHost: host,
    listenPort: Number(port),
    trustDomain,
    policies: policyTranslator({ trustDomain, logger }),
    waypointConfig: buildWaypointConfig,
    logger,
    debugSocket: flag(args, 'debug-socket'),
    debugPort: flag(args, 'debug-port') === undefined ? undefined : Number(flag(args, 'debug-port')),
    authenticate: kube?.authenticate,
  });
  const stop = () => void (kube?.stop() ?? Promise.resolve()).then(() => controlPlane.stop()).then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await controlPlane.start();
  // Leader election and waypoint writes begin once this replica serves a synced view.
  kube?.start();
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`controlplane: ${error.message}\n`);
  process.exit(1);
});
