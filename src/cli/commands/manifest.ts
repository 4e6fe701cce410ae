// `ambit manifest generate [--image IMAGE] [-o yaml|json]`: the Kubernetes manifests for an install, with one image everywhere.
import { defaultImage, manifestYaml, renderManifests } from '../../kube/manifests';
import { flag, parseArgs, UsageError } from '../args';

const USAGE = 'usage: ambit manifest generate [--image IMAGE] [-o yaml|json]';

export async function manifest(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, [{ name: 'image' }, { name: 'output', short: 'o' }, { name: 'help', short: 'h', boolean: true }]);
  const [sub, ...extra] = args.positionals;
  if (sub !== 'generate' || extra.length > 0) throw new UsageError(USAGE);
  const output = flag(args, 'output') ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw new UsageError(`unknown output format "${output}": use yaml or json`);
  const image = flag(args, 'image') ?? defaultImage();
  const objects = renderManifests({ image });
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects.map(({ object }) => object) }, null, 2)}\n`);
  } else {
    process.stdout.write(manifestYaml(objects, image));
  }
  return 0;
}
