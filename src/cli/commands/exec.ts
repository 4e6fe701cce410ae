// `ambit exec POD|deploy/NAME -n NS -- CMD...` runs a command inside a pod's netns; `ambit logs` prints a container's output.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PodSpec, Resource } from '../../api';
import { netnsExists } from '../../local/netns';
import { containerEnv } from '../../local/pod-runner';
import type { PodStatus } from '../../local/pod-status';
import { booleanFlag, flag, parseArgs, UsageError, type ParsedArgs } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore, type ClusterContext } from '../context';
import { CliError } from '../output';

/** Finds a pod by name, or the first ready pod of `deploy/NAME` / `deployment/NAME`, as kubectl does. */
function findPod(context: ClusterContext, args: ParsedArgs, target: string): Resource<PodSpec> {
  const namespace = flag(args, 'namespace') ?? 'default';
  const store = openStore(context);
  const pods = store.list('Pod', namespace) as Resource<PodSpec>[];
  const slash = target.indexOf('/');
  if (slash > 0 && ['deploy', 'deployment', 'deployments'].includes(target.slice(0, slash))) {
    const deployment = target.slice(slash + 1);
    const owned = pods
      .filter((pod) => pod.metadata.ownerReferences?.some((ref) => ref.kind === 'Deployment' && ref.name === deployment))
      .sort((a, b) => Number(!!(b.status as PodStatus | undefined)?.podIP) - Number(!!(a.status as PodStatus | undefined)?.podIP));
    if (owned.length === 0) throw new CliError(`deployment ${namespace}/${deployment} has no pods`);
    return owned[0];
  }
  const name = target.startsWith('pod/') ? target.slice(4) : target;
  const pod = pods.find((candidate) => candidate.metadata.name === name);
  if (!pod) throw new CliError(`pod ${namespace}/${name} not found (ambit get pods -n ${namespace} lists them)`);
  return pod;
}

export async function exec(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'namespace', short: 'n' }, { name: 'container', short: 'c' }, { name: 'stdin', short: 'i', boolean: true }, { name: 'tty', short: 't', boolean: true }]);
  const [target] = args.positionals;
  if (!target || args.rest.length === 0) throw new UsageError('usage: ambit exec POD|deploy/NAME [-n NAMESPACE] [-c CONTAINER] -- COMMAND [ARGS...]');
  const context = clusterContext(args);
  const pod = findPod(context, args, target);
  const status = pod.status as PodStatus | undefined;
  const netns = context.names.podNetns(pod.metadata.namespace ?? 'default', pod.metadata.name);
  if (!status?.podIP || !netnsExists(netns)) throw new CliError(`pod ${pod.metadata.namespace}/${pod.metadata.name} is not running (is the cluster up? ambit up)`);
  const containerName = flag(args, 'container');
  const spec = pod.spec as PodSpec;
  const container = containerName ? spec.containers.find((candidate) => candidate.name === containerName) : spec.containers[0];
  if (!container) throw new CliError(`pod ${pod.metadata.name} has no container ${containerName}`);
  const env = { ...containerEnv(pod, container, status.podIP, { nodeName: spec.nodeName ?? '', hostIp: status.hostIP ?? '', logDir: '', probeIntervalMs: 0 }), TERM: process.env.TERM ?? 'dumb' };
  const interactive = booleanFlag(args, 'stdin');
  const child = spawn('ip', ['netns', 'exec', netns, ...args.rest], { stdio: [interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'], env });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 1)));
  });
}

export async function logs(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'namespace', short: 'n' }, { name: 'container', short: 'c' }]);
  const [target] = args.positionals;
  if (!target) throw new UsageError('usage: ambit logs POD|deploy/NAME [-n NAMESPACE] [-c CONTAINER]');
  const context = clusterContext(args);
  const pod = findPod(context, args, target);
  const container = flag(args, 'container') ?? (pod.spec as PodSpec).containers[0].name;
  const file = path.join(context.dir, 'logs', `${pod.metadata.namespace}_${pod.metadata.name}_${container}.log`);
  if (!fs.existsSync(file)) throw new CliError(`no logs for ${pod.metadata.name}/${container} yet`);
  process.stdout.write(fs.readFileSync(file));
  return 0;
}
