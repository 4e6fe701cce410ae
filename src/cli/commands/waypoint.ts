// `ambit waypoint apply|delete|list`: waypoints as istioctl manages them, stored as Gateway API Gateways of class
// istio-waypoint — in the local cluster's store, or, with --kube/--kubeconfig/--context, in a Kubernetes cluster.
import { validateResource, WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, type Resource } from '../../api';
import { DATAPLANE_MODE_LABEL, USE_WAYPOINT_LABEL } from '../../api/mesh-labels';
import { FOR_SERVICE_ACCOUNT_LABEL } from '../../controlplane/model/waypoints';
import { booleanFlag, flag, parseArgs, UsageError, type ParsedArgs } from '../args';
import { GLOBAL_FLAGS } from '../context';
import { CliError, printManifestErrors, table } from '../output';
import { clusterWaypoints, localWaypoints, type WaypointTarget } from './waypoint-targets';

const FLAGS = [
  ...GLOBAL_FLAGS,
  { name: 'namespace', short: 'n' },
  { name: 'name' },
  { name: 'for' },
  { name: 'service-account' },
  { name: 'enroll-namespace', boolean: true },
  { name: 'all', boolean: true },
  { name: 'all-namespaces', short: 'A', boolean: true },
  { name: 'kube', boolean: true },
  { name: 'kubeconfig' },
  { name: 'context' },
];
const USAGE =
  'usage: ambit waypoint apply|delete|list [-n NS] [--name NAME] [--for service|workload|all|none] [--service-account SA] [--enroll-namespace] [--kube | --kubeconfig FILE | --context NAME]';

export function waypointGateway(options: { name: string; namespace: string; for?: string; serviceAccount?: string }): Resource {
  const labels: Record<string, string> = {};
  if (options.for) labels[WAYPOINT_FOR_LABEL] = options.for;
  if (options.serviceAccount) labels[FOR_SERVICE_ACCOUNT_LABEL] = options.serviceAccount;
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: options.name, namespace: options.namespace, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: { gatewayClassName: WAYPOINT_CLASS, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
}

/** Kubernetes only when asked for: a local user's command must never write to whatever cluster ~/.kube/config names. */
function target(args: ParsedArgs): Promise<WaypointTarget> {
  const kubeconfig = flag(args, 'kubeconfig');
  const context = flag(args, 'context');
  if (booleanFlag(args, 'kube') || kubeconfig !== undefined || context !== undefined) return clusterWaypoints({ kubeconfig, context });
  return Promise.resolve(localWaypoints(args));
}

async function apply(args: ParsedArgs): Promise<number> {
  const namespace = flag(args, 'namespace') ?? 'default';
  const serviceAccount = flag(args, 'service-account');
  const name = flag(args, 'name') ?? serviceAccount ?? 'waypoint';
  if (name === 'none') throw new CliError('"none" is reserved (it opts an object out of a namespace\'s waypoint); choose another --name');
  const forTraffic = flag(args, 'for');
  if (forTraffic && !['service', 'workload', 'all', 'none'].includes(forTraffic)) throw new UsageError(`--for must be service, workload, all or none, not "${forTraffic}"`);
  const validation = validateResource(waypointGateway({ name, namespace, for: forTraffic, serviceAccount }), { file: 'ambit waypoint apply', line: 0 });
  if (validation.errors.length > 0 || !validation.located) {
    printManifestErrors(validation.errors);
    throw new CliError('the waypoint was not applied');
  }
  const waypoints = await target(args);
  const applied = await waypoints.apply(validation.located, booleanFlag(args, 'enroll-namespace'));
  process.stdout.write(`waypoint ${namespace}/${name} ${applied.outcome}\n`);
  if (applied.namespaceLabels) {
    process.stdout.write(`namespace ${namespace} labeled with "${USE_WAYPOINT_LABEL}: ${name}"\n`);
    if (applied.namespaceLabels[DATAPLANE_MODE_LABEL] !== 'ambient') {
      process.stderr.write(`warning: namespace ${namespace} is not in the ambient mesh; label it ${DATAPLANE_MODE_LABEL}=ambient for the waypoint to see its traffic\n`);
    }
  }
  return 0;
}

async function remove(args: ParsedArgs): Promise<number> {
  const namespace = flag(args, 'namespace') ?? 'default';
  const waypoints = await target(args);
  const names = booleanFlag(args, 'all')
    ? (await waypoints.list(namespace)).map((waypoint) => waypoint.name)
    : args.positionals.length > 0
      ? args.positionals
      : [flag(args, 'name') ?? 'waypoint'];
  const removed = new Set(await waypoints.delete(namespace, names));
  let missing = 0;
  for (const name of names) {
    if (removed.has(name)) process.stdout.write(`waypoint ${namespace}/${name} deleted\n`);
    else {
      missing++;
      process.stderr.write(`waypoint ${namespace}/${name} not found\n`);
    }
  }
  return missing > 0 ? 1 : 0;
}

async function list(args: ParsedArgs): Promise<number> {
  const all = booleanFlag(args, 'all-namespaces');
  const namespace = all ? undefined : flag(args, 'namespace') ?? 'default';
  const waypoints = await (await target(args)).list(namespace);
  if (waypoints.length === 0) {
    process.stderr.write(`No waypoints found${namespace ? ` in namespace ${namespace}` : ''}.\n`);
    return 0;
  }
  const rows = waypoints.map((waypoint) => [...(all ? [waypoint.namespace] : []), waypoint.name, waypoint.waypointFor, waypoint.programmed, waypoint.address || '<pending>']);
  process.stdout.write(table([...(all ? ['NAMESPACE'] : []), 'NAME', 'TRAFFIC TYPE', 'PROGRAMMED', 'ADDRESS'], rows));
  return 0;
}

export async function waypoint(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const commands: Record<string, (args: ParsedArgs) => Promise<number>> = { apply, delete: remove, list };
  const command = sub === undefined ? undefined : commands[sub];
  if (!command) throw new UsageError(USAGE);
  return command(parseArgs(rest, FLAGS));
}
