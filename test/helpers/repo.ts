// Paths tests need: the checkout root, the ambit launcher and fixture files (which stay as source, beside the compiled tests).
import fs from 'node:fs';
import path from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRoot();
export const AMBIT_BIN = path.join(REPO_ROOT, 'bin', 'ambit');

export function fixture(...parts: string[]): string {
  return path.join(REPO_ROOT, 'test', 'fixtures', ...parts);
}
