// `ambit waypoint apply|delete|list`: waypoints as istioctl manages them, stored as Gateway API Gateways of class istio-waypoint.
import { resourceKey, validateResource, WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, type Resource } from '../../api';
import { DATAPLANE_MODE_LABEL, USE_WAYPOINT_LABEL } from '../../api/mesh-labels';
import { FOR_SERVICE_ACCOUNT_LABEL } from '../../controlplane/model/waypoints';
import { booleanFlag, flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore } from '../context';
import { CliError, printManifestErrors, table } from '../output';

const FLAGS = [...GLOBAL_FLAGS, { name: 'namespace', short: 'n' }, { name: 'name' }, { name: 'for' }, { name: 'service-account' }, { name: 'enroll-namespace', boolean: true }, { name: 'all', boolean: true }];
const USAGE = 'usage: ambit waypoint apply|delete|list [-n NS] [--name NAME] [--for service|workload|all|none] [--service-account SA] [--enroll-namespace]';

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

async function apply(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
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
  const store = openStore(clusterContext(args));
  const [result] = store.apply([validation.located]);
  process.stdout.write(`waypoint ${namespace}/${name} ${result.outcome}\n`);
  if (booleanFlag(args, 'enroll-namespace')) {
    let ambient = true;
    store.mutate((objects) => {
      const ns = objects.get(`Namespace/${namespace}`);
      if (!ns) return;
      ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [USE_WAYPOINT_LABEL]: name };
      ambient = ns.metadata.labels[DATAPLANE_MODE_LABEL] === 'ambient';
    });
    process.stdout.write(`namespace ${namespace} labeled with "${USE_WAYPOINT_LABEL}: ${name}"\n`);
    if (!ambient) process.stderr.write(`warning: namespace ${namespace} is not in the ambient mesh; label it ${DATAPLANE_MODE_LABEL}=ambient for the waypoint to see its traffic\n`);
  }
  return 0;
}

async function remove(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const namespace = flag(args, 'namespace') ?? 'default';
  const store = openStore(clusterContext(args));
  const names = booleanFlag(args, 'all')
    ? store.list('Gateway', namespace).filter((gateway) => (gateway.spec as { gatewayClassName?: string }).gatewayClassName === WAYPOINT_CLASS).map((gateway) => gateway.metadata.name)
    : args.positionals.length > 0 ? args.positionals : [flag(args, 'name') ?? 'waypoint'];
  const removed = new Set(store.delete(names.map((name) => resourceKey({ apiVersion: '', kind: 'Gateway', metadata: { name, namespace } }))));
  let missing = 0;
  for (const name of names) {
    if (removed.has(`Gateway/${namespace}/${name}`)) process.stdout.write(`waypoint ${namespace}/${name} deleted\n`);
    else {
      missing++;
      process.stderr.write(`waypoint ${namespace}/${name} not found\n`);
    }
  }
  return missing > 0 ? 1 : 0;
}

interface GatewayStatus {
  addresses?: { value: string }[];
  conditions?: { type: string; status: string }[];
}

async function list(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...FLAGS, { name: 'all-namespaces', short: 'A', boolean: true }]);
  const all = booleanFlag(args, 'all-namespaces');
  const namespace = all ? undefined : flag(args, 'namespace') ?? 'default';
  const gateways = openStore(clusterContext(args))
    .list('Gateway', namespace)
    .filter((gateway) => (gateway.spec as { gatewayClassName?: string }).gatewayClassName === WAYPOINT_CLASS);
  if (gateways.length === 0) {
    process.stderr.write(`No waypoints found${namespace ? ` in namespace ${namespace}` : ''}.\n`);
    return 0;
  }
  const rows = gateways.map((gateway) => {
    const status = (gateway.status ?? {}) as GatewayStatus;
    const programmed = status.conditions?.find((condition) => condition.type === 'Programmed')?.status ?? 'Unknown';
    return [
      ...(all ? [gateway.metadata.namespace ?? ''] : []),
      gateway.metadata.name,
      gateway.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? (gateway.metadata.labels?.[FOR_SERVICE_ACCOUNT_LABEL] ? `service-account ${gateway.metadata.labels[FOR_SERVICE_ACCOUNT_LABEL]}` : 'service'),
      programmed,
      status.addresses?.map((address) => address.value).join(',') || '<pending>',
    ];
  });
  process.stdout.write(table([...(all ? ['NAMESPACE'] : []), 'NAME', 'TRAFFIC TYPE', 'PROGRAMMED', 'ADDRESS'], rows));
  return 0;
}

export async function waypoint(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'apply') return apply(rest);
  if (sub === 'delete') return remove(rest);
  if (sub === 'list') return list(rest);
  throw new UsageError(USAGE);
}
