// `ambit label namespace|pod|... NAME key=value key-`: the way users enrol namespaces in the mesh.
import { describeObject, isLabelValue, isQualifiedName, lookupKind, resourceKey } from '../../api';
import { flag, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore } from '../context';
import { CliError } from '../output';

export type LabelChange = { key: string; value: string } | { key: string; remove: true };

export function parseLabelChange(text: string): LabelChange {
  if (text.endsWith('-') && !text.includes('=')) {
    const key = text.slice(0, -1);
    if (!isQualifiedName(key)) throw new CliError(`invalid label key "${key}"`);
    return { key, remove: true };
  }
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`expected key=value or key-, got "${text}"`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (!isQualifiedName(key)) throw new CliError(`invalid label key "${key}": use an optional DNS prefix and a name of letters, digits, '-', '_' or '.'`);
  if (!isLabelValue(value)) throw new CliError(`invalid label value "${value}" for ${key}: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`);
  return { key, value };
}

export async function label(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'namespace', short: 'n' }]);
  const [kindName, name, ...changesText] = args.positionals;
  if (!kindName || !name || changesText.length === 0) throw new UsageError('usage: ambit label KIND NAME key=value|key- ... [-n NAMESPACE]');
  const kind = lookupKind(kindName);
  if (!kind) throw new CliError(`unknown kind "${kindName}"`);
  const changes = changesText.map(parseLabelChange);
  const namespace = kind.namespaced ? flag(args, 'namespace') ?? 'default' : undefined;
  const key = resourceKey({ apiVersion: '', kind: kind.kind, metadata: { name, namespace } });
  const store = openStore(clusterContext(args));
  let description: string | undefined;
  store.mutate((objects) => {
    const object = objects.get(key);
    if (!object) return;
    const labels = { ...(object.metadata.labels ?? {}) };
    for (const change of changes) {
      if ('remove' in change) delete labels[change.key];
      else labels[change.key] = change.value;
    }
    object.metadata.labels = labels;
    description = describeObject(object);
  });
  if (!description) throw new CliError(`${kind.kind} ${namespace ? `${namespace}/` : ''}${name} not found`);
  process.stdout.write(`${description} labeled\n`);
  return 0;
}
