// The control-plane process: `node dist/src/controlplane/main.js --store DIR --state-dir DIR --listen HOST:PORT [...]`.
import path from 'node:path';
import { parseArgs, flag } from '../cli/args';
import { createLogger } from '../telemetry/logger';
import { policyTranslator } from './translate/policies';
import { ControlPlane } from './server';
import { LocalStoreSource } from './sources/local-store-source';

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, [{ name: 'store' }, { name: 'state-dir' }, { name: 'listen' }, { name: 'debug-socket' }, { name: 'debug-port' }, { name: 'trust-domain' }]);
  const store = flag(args, 'store');
  const stateDir = flag(args, 'state-dir');
  if (!store || !stateDir) throw new Error('usage: controlplane --store DIR --state-dir DIR [--listen HOST:PORT] [--debug-socket PATH] [--debug-port N]');
  const [host, port] = (flag(args, 'listen') ?? '0.0.0.0:15012').split(':');
  const logger = createLogger({ component: 'controlplane' });
  const trustDomain = flag(args, 'trust-domain') ?? 'cluster.local';
  const controlPlane = new ControlPlane({
    source: new LocalStoreSource(path.resolve(store)),
    stateDir: path.resolve(stateDir),
    listenHost: host,
    listenPort: Number(port),
    trustDomain,
    policies: policyTranslator({ trustDomain, logger }),
    logger,
    debugSocket: flag(args, 'debug-socket'),
    debugPort: flag(args, 'debug-port') === undefined ? undefined : Number(flag(args, 'debug-port')),
  });
  const stop = () => void controlPlane.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await controlPlane.start();
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`controlplane: ${error.message}\n`);
  process.exit(1);
});
