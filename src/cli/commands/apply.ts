// `ambit apply -f FILE|DIR` and `ambit delete -f FILE | KIND NAME`: validated, atomic writes to the local store.
import path from 'node:path';
import { describeObject, loadManifestPaths, lookupKind, resourceKey, type Resource } from '../../api';
import { flag, flagAll, parseArgs, UsageError } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore } from '../context';
import { CliError, printManifestErrors, withSourceDir } from '../output';

function loadOrFail(files: readonly string[]) {
  if (files.length === 0) throw new UsageError('give the manifests with -f FILE|DIR');
  const load = loadManifestPaths(files.map((file) => path.resolve(file)));
  if (load.errors.length > 0) {
    printManifestErrors(load.errors);
    throw new CliError(`nothing was applied: ${load.errors.length} problem(s) found`);
  }
  return load.resources;
}

export async function apply(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'filename', short: 'f' }]);
  const resources = loadOrFail(flagAll(args, 'filename'));
  const store = openStore(clusterContext(args));
  for (const result of store.apply(withSourceDir(resources))) process.stdout.write(`${result.description} ${result.outcome}\n`);
  return 0;
}

export async function remove(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'filename', short: 'f' }, { name: 'namespace', short: 'n' }]);
  const store = openStore(clusterContext(args));
  let keys: string[];
  if (flagAll(args, 'filename').length > 0) {
    keys = loadOrFail(flagAll(args, 'filename')).map(({ resource }) => resourceKey(resource));
  } else {
    const [kindName, ...names] = args.positionals;
    if (!kindName || names.length === 0) throw new UsageError('usage: ambit delete -f FILE | KIND NAME... [-n NAMESPACE]');
    const kind = lookupKind(kindName);
    if (!kind) throw new CliError(`unknown kind "${kindName}"`);
    const namespace = kind.namespaced ? flag(args, 'namespace') ?? 'default' : undefined;
    keys = names.map((name) => resourceKey({ apiVersion: '', kind: kind.kind, metadata: { name, namespace } }));
  }
  const before = store.read().objects;
  const removed = new Set(store.delete(keys));
  let missing = 0;
  for (const key of keys) {
    const object = before.get(key) as Resource | undefined;
    if (object && removed.has(key)) process.stdout.write(`${describeObject(object)} deleted\n`);
    else {
      missing++;
      process.stderr.write(`${key.replace(/\//, ' ')} not found\n`);
    }
  }
  return missing > 0 ? 1 : 0;
}
