// `ambit get KIND [NAME] [-n NS|-A] [-o wide|yaml|json]`: what the store holds, with pod status as the runtime reports it.
import { lookupKind, type PodSpec, type Resource, type ServiceSpec } from '../../api';
import type { PodStatus } from '../../local/pod-status';
import { booleanFlag, flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore } from '../context';
import { age, CliError, printObjects, table } from '../output';

function podRow(pod: Resource, wide: boolean): string[] {
  const status = (pod.status ?? {}) as PodStatus;
  const containers = status.containerStatuses ?? [];
  const total = (pod.spec as PodSpec).containers.length;
  const ready = containers.filter((container) => container.ready).length;
  const restarts = containers.reduce((sum, container) => sum + container.restartCount, 0);
  const waiting = containers.find((container) => container.state.waiting && container.state.waiting.reason !== 'ContainerCreating')?.state.waiting?.reason;
  const phase = waiting && waiting.length < 30 ? waiting : status.reason ?? status.phase ?? 'Pending';
  const row = [pod.metadata.name, `${ready}/${total}`, phase, String(restarts), age(pod.metadata.creationTimestamp), status.podIP ?? '<none>', (pod.spec as PodSpec).nodeName ?? '<none>'];
  if (wide) row.push(String((pod.spec as PodSpec).serviceAccountName ?? 'default'));
  return row;
}

function serviceRow(service: Resource): string[] {
  const spec = service.spec as ServiceSpec;
  const ports = (spec.ports ?? []).map((port) => `${port.port}/${port.protocol ?? 'TCP'}`).join(',');
  const selector = Object.entries(spec.selector ?? {}).map(([key, value]) => `${key}=${value}`).join(',');
  return [service.metadata.name, spec.type ?? 'ClusterIP', spec.clusterIP ?? '<none>', ports || '<none>', age(service.metadata.creationTimestamp), selector || '<none>'];
}

export async function get(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'namespace', short: 'n' }, { name: 'all-namespaces', short: 'A', boolean: true }, { name: 'output', short: 'o' }]);
  const [kindName, name] = args.positionals;
  if (!kindName) throw new UsageError('usage: ambit get KIND [NAME] [-n NAMESPACE | -A] [-o wide|yaml|json]');
  const kind = lookupKind(kindName);
  if (!kind) throw new CliError(`unknown kind "${kindName}"`);
  const all = booleanFlag(args, 'all-namespaces');
  const namespace = kind.namespaced && !all ? flag(args, 'namespace') ?? 'default' : undefined;
  const output = flag(args, 'output');
  if (output && !['wide', 'yaml', 'json', 'name'].includes(output)) throw new UsageError(`unknown output format "${output}": use wide, yaml, json or name`);
  const store = openStore(clusterContext(args));
  const objects = store
    .list(kind.kind, namespace)
    .filter((object) => name === undefined || object.metadata.name === name)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  if (name !== undefined && objects.length === 0) throw new CliError(`${kind.kind} ${namespace ? `${namespace}/` : ''}${name} not found`);
  if (output === 'yaml' || output === 'json') {
    process.stdout.write(printObjects(objects, output));
    return 0;
  }
  if (output === 'name') {
    for (const object of objects) process.stdout.write(`${kind.singular}/${object.metadata.name}\n`);
    return 0;
  }
  if (objects.length === 0) {
    process.stderr.write(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.\n`);
    return 0;
  }
  const wide = output === 'wide';
  let header: string[];
  let rows: string[][];
  if (kind.kind === 'Pod') {
    header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', ...(wide ? ['SERVICE-ACCOUNT'] : [])];
    rows = objects.map((pod) => podRow(pod, wide));
  } else if (kind.kind === 'Service') {
    header = ['NAME', 'TYPE', 'CLUSTER-IP', 'PORT(S)', 'AGE', 'SELECTOR'];
    rows = objects.map(serviceRow);
  } else {
    header = ['NAME', 'AGE'];
    rows = objects.map((object) => [object.metadata.name, age(object.metadata.creationTimestamp)]);
  }
  if (all) {
    header = ['NAMESPACE', ...header];
    rows = rows.map((row, index) => [objects[index].metadata.namespace ?? '', ...row]);
  }
  process.stdout.write(table(header, rows));
  return 0;
}
