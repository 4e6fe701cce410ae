// The waypoint process: `node dist/src/waypoint/main.js --name N --namespace NS --identity spiffe://... --control-plane HOST:PORT --root-cert F --token-file F --pod-ip IP`.
import { flag, parseArgs } from '../cli/args';
import { createLogger, type Logger } from '../telemetry/logger';
import { createAccessLogger } from './telemetry/access-log';
import { Waypoint } from './waypoint';

/**
 * The per-request access log, on stderr like the process log but written in batches (BatchedLineWriter): one
 * synchronous write per request cost the waypoint a system call for every request. Lines stay whole and in order
 * among themselves, show up within a second, and are flushed when the process exits.
 */
function accessLogger(waypoint: string): Logger {
  return createAccessLogger(2, waypoint).logger;
}

const FLAGS = ['name', 'namespace', 'identity', 'control-plane', 'control-plane-name', 'root-cert', 'token-file', 'pod-ip', 'pod-name', 'trust-domain'];

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, FLAGS.map((name) => ({ name })));
  const required = (name: string): string => {
    const value = flag(args, name);
    if (!value) throw new Error(`missing --${name}`);
    return value;
  };
  const name = required('name');
  const namespace = required('namespace');
  const identity = flag(args, 'identity') ?? `spiffe://${flag(args, 'trust-domain') ?? 'cluster.local'}/ns/${namespace}/sa/${name}`;
  const logger = createLogger({ component: 'waypoint' }).child({ waypoint: `${namespace}/${name}` });
  const podName = flag(args, 'pod-name');
  const waypoint = new Waypoint({
    name,
    namespace,
    identity,
    podIp: required('pod-ip'),
    ...(podName ? { podName } : {}),
    controlPlaneAddress: required('control-plane'),
    controlPlaneName: flag(args, 'control-plane-name') ?? 'ambit-controlplane',
    rootCertFile: required('root-cert'),
    tokenFile: required('token-file'),
    logger,
    accessLog: accessLogger(`${namespace}/${name}`),
  });
  const stop = (): void => void waypoint.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await waypoint.start();
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`waypoint: ${error.message}\n`);
  process.exit(1);
});
