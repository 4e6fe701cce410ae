// Where ambit's Kubernetes files live: daemonset/, waypoint/ and cni/ beside package.json, in a checkout and in the image (/app).
import fs from 'node:fs';
import path from 'node:path';

/** A directory ambit ships is missing: the install is incomplete. */
export class AssetMissing extends Error {
  readonly code = 'ASSET_MISSING' as const;
  constructor(readonly dir: string) {
    super(`${dir} is missing; ambit's Kubernetes manifests and templates ship beside package.json (reinstall ambit)`);
    this.name = 'AssetMissing';
  }
}

let root: string | undefined;

/** The directory holding ambit's package.json (the checkout, or /app in the image). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new AssetMissing(path.join(__dirname, 'package.json'));
    dir = parent;
  }
  root = dir;
  return dir;
}

/** One shipped directory: 'daemonset', 'waypoint' or 'cni'. */
export function assetDir(name: 'daemonset' | 'waypoint' | 'cni'): string {
  const dir = path.join(packageRoot(), name);
  if (!fs.existsSync(dir)) throw new AssetMissing(dir);
  return dir;
}

/** ambit's version, from package.json: the default image tag. */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
