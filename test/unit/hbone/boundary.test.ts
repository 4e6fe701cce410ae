// The data path's boundary: src/hbone imports only Node built-ins, its own modules and src/pki, never the control plane or the Kubernetes client.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

const root = path.resolve(__dirname, '../../../../src/hbone');

t.test('src/hbone imports nothing outside node:*, ./ and ../pki', async (t) => {
  const files = fs.readdirSync(root).filter((name) => name.endsWith('.ts'));
  t.ok(files.length >= 8, `found the hbone sources (${files.length} files)`);
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    const specifiers = [...source.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|require\(['"]([^'"]+)['"]\)/g)].map((match) => match[1] ?? match[2] ?? '');
    for (const specifier of specifiers) {
      const allowed = specifier.startsWith('node:') || specifier.startsWith('./') || specifier === '../pki';
      t.ok(allowed, `${file} imports ${specifier}`);
    }
    t.notMatch(source, /controlplane|@kubernetes\/client-node/, `${file} mentions neither the control plane nor the Kubernetes client`);
  }
});
