// The data path's boundary: nothing under src/waypoint imports the control plane or the Kubernetes client.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

const root = path.resolve(__dirname, '../../../../src/waypoint');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

t.test('src/waypoint imports neither src/controlplane nor @kubernetes/client-node', async (t) => {
  const files = sources(root);
  t.ok(files.length >= 30, `found the waypoint sources (${files.length} files)`);
  for (const file of files) {
    const source = fs.readFileSync(file, 'utf8');
    const specifiers = [...source.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|require\(['"]([^'"]+)['"]\)|import\(['"]([^'"]+)['"]\)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
    const name = path.relative(root, file);
    for (const specifier of specifiers) {
      t.notMatch(specifier, /controlplane|@kubernetes\/client-node/, `${name} imports ${specifier}`);
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier);
        t.notOk(target.includes(`${path.sep}controlplane`), `${name} reaches ${specifier}`);
      }
    }
  }
});
