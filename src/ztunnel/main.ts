// The ztunnel process: `node dist/src/ztunnel/main.js --node N --node-ip IP --control-plane HOST:PORT --root-cert F --token-file F --enrollment-socket S`.
import { flag, parseArgs } from '../cli/args';
import { createLogger } from '../telemetry/logger';
import { Ztunnel } from './ztunnel';

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['node', 'node-ip', 'control-plane', 'control-plane-name', 'root-cert', 'token-file', 'enrollment-socket', 'trust-domain'].map((name) => ({ name })));
  const required = (name: string): string => {
    const value = flag(args, name);
    if (!value) throw new Error(`missing --${name}`);
    return value;
  };
  const node = required('node');
  const logger = createLogger({ component: 'ztunnel' }).child({ node });
  const ztunnel = new Ztunnel({
    node,
    nodeIp: required('node-ip'),
    controlPlaneAddress: required('control-plane'),
    controlPlaneName: flag(args, 'control-plane-name') ?? 'ambit-controlplane',
    rootCertFile: required('root-cert'),
    tokenFile: required('token-file'),
    enrollmentSocket: required('enrollment-socket'),
    trustDomain: flag(args, 'trust-domain') ?? 'cluster.local',
    logger,
    accessLog: logger.child({ target: 'access' }),
  });
  const stop = () => void ztunnel.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await ztunnel.start();
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`ztunnel: ${error.message}\n`);
  process.exit(1);
});
