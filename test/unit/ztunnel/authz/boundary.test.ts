// The data path decides from xDS types only: src/ztunnel/authz must not import the control plane or the k8s client.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = path.resolve(__dirname, '../../../../../src/ztunnel/authz');

t.test('imports stay on the data-path side', async (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  t.ok(files.length >= 5, `found the sources in ${dir}`);
  for (const f of files) {
    const imports = [...readFileSync(path.join(dir, f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    const bad = imports.filter((i) => i.includes('controlplane') || i.startsWith('@kubernetes/') || i.includes('/api'));
    t.same(bad, [], `${f} imports only xds and its own folder`);
  }
});
