// Loading the compiled addon: found from dist/ as from src/, and a clear error when it is missing or broken.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { defaultAddonPath, findPackageRoot, loadAddon } from '../../../src/native/addon';
import { NativeAddonBroken, NativeAddonMissing } from '../../../src/native';

const repoRoot = resolve(__dirname, '../../../..');

t.test('the package root is found from the compiled test directory', async (t) => {
  t.equal(findPackageRoot(__dirname), repoRoot);
  t.equal(defaultAddonPath(), join(repoRoot, 'native', 'build', 'Release', 'ambit_net.node'));
});

t.test('the built addon loads and has the four functions', async (t) => {
  const addon = loadAddon(defaultAddonPath());
  t.same(Object.keys(addon).sort(), ['connect', 'openListener', 'originalDst', 'setMark']);
});

t.test('a missing addon says how to build it', async (t) => {
  const path = join(tmpdir(), `tnat-${process.pid}-nothing-here`, 'ambit_net.node');
  const err = t.throws(() => loadAddon(path), NativeAddonMissing);
  t.match(err, { code: 'NATIVE_ADDON_MISSING', path });
  t.match((err as Error).message, /^ambit's native addon is not built: run npm install \(needs python3, make, g\+\+\)/);
});

t.test('a file that is not a loadable addon is NATIVE_ADDON_BROKEN', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tnat-addon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'ambit_net.node');
  writeFileSync(path, 'not an ELF object');
  const err = t.throws(() => loadAddon(path), NativeAddonBroken);
  t.match(err, { code: 'NATIVE_ADDON_BROKEN', path, message: /rebuild it with npm run build:native/ });
});
