// `ambit up`: build a local cluster, load --config into its store, keep it running, and remove it all on Ctrl-C / SIGTERM.
import fs from 'node:fs';
import path from 'node:path';
import { loadManifestPaths } from '../../api';
import { checkLocalClusterSupport } from '../../local/preflight';
import { LocalRuntime } from '../../local/runtime';
import { createLogger } from '../../telemetry/logger';
import { booleanFlag, flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS, pidFile } from '../context';
import { CliError, printManifestErrors, withSourceDir } from '../output';

export const UP_USAGE = 'ambit up [--config DIR] [--nodes N] [--cluster NAME] [--exit-on-eof]';

function runningPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function up(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'config', short: 'f' }, { name: 'nodes' }, { name: 'exit-on-eof', boolean: true }]);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}; usage: ${UP_USAGE}`);
  const context = clusterContext(args);
  const nodes = Number(flag(args, 'nodes') ?? '2');
  const config = flag(args, 'config');

  // Validate everything before touching the machine: a typo in the config must not leave half a cluster behind.
  const load = config ? loadManifestPaths([path.resolve(config)]) : { resources: [], errors: [] };
  if (load.errors.length > 0) {
    printManifestErrors(load.errors);
    throw new CliError(`not starting: ${load.errors.length} problem(s) in ${config}`);
  }
  await checkLocalClusterSupport();
  fs.mkdirSync(context.dir, { recursive: true, mode: 0o700 });
  const existing = runningPid(pidFile(context));
  if (existing) throw new CliError(`cluster ${context.names.cluster} is already up (pid ${existing}); run ambit down first`);
  fs.writeFileSync(pidFile(context), String(process.pid));

  const logger = createLogger({ component: 'local-runtime', destination: fs.createWriteStream(path.join(context.dir, 'runtime.log'), { flags: 'a' }) });
  const runtime = new LocalRuntime({ cluster: context.names.cluster, stateDir: context.dir, nodes, logger });
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    if (!stopping) {
      process.stdout.write(`\n${why}: stopping cluster ${context.names.cluster} and removing its namespaces, links and rules...\n`);
      stopping = runtime.stop().then(() => {
        fs.rmSync(pidFile(context), { force: true });
        process.stdout.write('cluster removed\n');
      });
    }
    return stopping;
  };
  // Whoever reads our output may go away (a closed terminal, a test that died): that must not stop the teardown.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  // Signals and the store watch do not keep Node's event loop alive on their own; the cluster must run until stopped.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const done = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal).then(resolve));
    if (booleanFlag(args, 'exit-on-eof')) {
      // Tests run `ambit up` as a child: if the test dies, its stdin closes and the cluster goes with it.
      process.stdin.on('end', () => void stop('stdin closed').then(resolve));
      process.stdin.resume();
    }
  });

  try {
    process.stdout.write(`starting cluster ${context.names.cluster} with ${nodes} node(s) (state in ${context.dir})\n`);
    await runtime.start();
    if (load.resources.length > 0) {
      const results = runtime.store.apply(withSourceDir(load.resources));
      process.stdout.write(`applied ${results.length} object(s) from ${config}\n`);
    }
  } catch (error) {
    await stop('start failed');
    throw error;
  }
  let announced = false;
  runtime.onReadinessChange(({ pods, ready }) => {
    if (!announced && pods > 0 && ready === pods) {
      announced = true;
      process.stdout.write(`ready: ${ready}/${pods} pods running on ${runtime.nodeNames().join(', ')}\n`);
      const tour = config ? path.join(path.resolve(config), 'TOUR.txt') : undefined;
      if (tour && fs.existsSync(tour)) process.stdout.write(fs.readFileSync(tour, 'utf8').replaceAll('--cluster ambit', `--cluster ${context.names.cluster}`));
    }
  });
  if (load.resources.length === 0) process.stdout.write(`ready: cluster ${context.names.cluster} is up with no workloads; add some with ambit apply -f FILE\n`);
  await done;
  clearInterval(keepAlive);
  process.stdin.destroy();
  return 0;
}
