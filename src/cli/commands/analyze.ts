// `ambit analyze [-f FILE|DIR]`: validation errors and cross-object problems, without applying anything.
import path from 'node:path';
import { analyze as analyzeResources, formatFinding, loadManifestPaths, resourceKey, type LocatedResource } from '../../api';
import { flagAll, parseArgs } from '../args';
import { clusterContext, GLOBAL_FLAGS, openStore } from '../context';

export async function analyze(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [...GLOBAL_FLAGS, { name: 'filename', short: 'f' }]);
  const files = flagAll(args, 'filename');
  const load = files.length > 0 ? loadManifestPaths(files.map((file) => path.resolve(file))) : { resources: [], errors: [] };
  for (const error of load.errors) process.stdout.write(`${error.message}\n`);
  // Stored objects give references in the files something to resolve against; the files win where both define one.
  const given = new Set(load.resources.map(({ resource }) => resourceKey(resource)));
  const stored: LocatedResource[] = [...openStore(clusterContext(args)).read().objects.values()]
    .filter((resource) => !given.has(resourceKey(resource)))
    .map((resource) => ({ resource, source: { file: 'stored', line: 0 } }));
  const findings = analyzeResources([...load.resources, ...stored]).filter((finding) => files.length === 0 || finding.file !== 'stored');
  for (const finding of findings) process.stdout.write(`${formatFinding(finding)}\n`);
  const errors = load.errors.length + findings.filter((finding) => finding.severity === 'error').length;
  const warnings = findings.length - findings.filter((finding) => finding.severity === 'error').length;
  process.stdout.write(errors + warnings === 0 ? 'no problems found\n' : `${errors} error(s), ${warnings} warning(s)\n`);
  return errors > 0 ? 1 : 0;
}
