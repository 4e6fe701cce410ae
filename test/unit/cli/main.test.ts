// The `ambit` command end to end against a directory store only (no cluster running, no root needed): apply, get, label, delete, errors.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { runAmbit, uniqueClusterName, type CommandResult } from '../../helpers/cluster';
import { tempDir } from '../local/fixtures/helpers';

interface Cli {
  dir: string;
  ambit(command: string, ...args: string[]): Promise<CommandResult>;
  write(name: string, text: string): string;
  revision(): number;
}

function cli(t: Test): Cli {
  const dir = tempDir(t, 'ambit-cli-');
  const cluster = uniqueClusterName('tcli');
  return {
    dir,
    // Global flags go right after the command, so a test's own last word stays last (e.g. a trailing `-n`).
    ambit: (command, ...args) => runAmbit([command, '--cluster', cluster, '--state-dir', dir, ...args], { timeoutMs: 30_000 }),
    write: (name, text) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    },
    revision: () => (JSON.parse(fs.readFileSync(path.join(dir, cluster, 'store', 'objects.json'), 'utf8')) as { revision: number }).revision,
  };
}

const APP = `apiVersion: v1
kind: Namespace
metadata:
  name: x
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: x
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: main
        command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: x
spec:
  selector: { app: web }
  ports:
  - { name: http, port: 80 }
`;

const BROKEN = `apiVersion: v1
kind: Namespace
metadata:
  name: y
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: y
spec:
  selector:
    matchLabels: { app: broken }
  template:
    metadata:
      labels: { app: broken }
    spec:
      containers:
      - name: main
        comand: ["sleep", "1"]
`;

t.test('apply, re-apply, a refused apply, label and delete', async (t) => {
  const c = cli(t);
  const app = c.write('app.yaml', APP);

  const created = await c.ambit('apply', '-f', app);
  t.same(created, { code: 0, stdout: 'Namespace x created\nDeployment x/web created\nService x/web created\n', stderr: '' }, 'first apply');
  const again = await c.ambit('apply', '-f', app);
  t.same(again, { code: 0, stdout: 'Namespace x unchanged\nDeployment x/web unchanged\nService x/web unchanged\n', stderr: '' }, 're-apply');
  const revision = c.revision();

  const services = await c.ambit('get', 'services', '-n', 'x');
  t.equal(services.code, 0);
  t.match(services.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+PORT\(S\)\s+AGE\s+SELECTOR\nweb\s+ClusterIP\s+10\.96\.0\.10\s+80\/TCP\s+\d+s\s+app=web\n$/);

  const broken = c.write('broken.yaml', BROKEN);
  const refused = await c.ambit('apply', '-f', broken);
  t.equal(refused.code, 1);
  t.equal(refused.stdout, '');
  t.equal(
    refused.stderr,
    `${broken}:20: Deployment y/broken: spec.template.spec.containers[0]: unknown field "comand" (did you mean "command"?)\nambit: nothing was applied: 1 problem(s) found\n`,
  );
  t.equal(c.revision(), revision, 'the store was not written');
  const namespaces = await c.ambit('get', 'namespaces', '-o', 'name');
  t.same(namespaces, { code: 0, stdout: 'namespace/default\nnamespace/x\n', stderr: '' }, 'the valid Namespace in the refused file was not stored');

  const labeled = await c.ambit('label', 'namespace', 'x', 'istio.io/dataplane-mode=ambient');
  t.same(labeled, { code: 0, stdout: 'Namespace x labeled\n', stderr: '' });
  const shown = await c.ambit('get', 'namespace', 'x', '-o', 'json');
  t.equal(shown.code, 0);
  const ns = JSON.parse(shown.stdout) as { kind: string; metadata: { name: string; labels?: Record<string, string> } };
  t.equal(ns.kind, 'Namespace');
  t.same(ns.metadata.labels, { 'istio.io/dataplane-mode': 'ambient' });

  const unlabeled = await c.ambit('label', 'namespace', 'x', 'istio.io/dataplane-mode-');
  t.equal(unlabeled.code, 0);
  const after = JSON.parse((await c.ambit('get', 'namespace', 'x', '-o', 'json')).stdout) as { metadata: { labels?: Record<string, string> } };
  t.same(after.metadata.labels ?? {}, {}, 'the label is gone');

  const deleted = await c.ambit('delete', '-f', app);
  t.same(deleted, { code: 0, stdout: 'Namespace x deleted\nDeployment x/web deleted\nService x/web deleted\n', stderr: '' });
  t.same((await c.ambit('get', 'namespaces', '-o', 'name')).stdout, 'namespace/default\n');
});

t.test('get pods -A shows the namespace column; an empty list says so', async (t) => {
  const c = cli(t);
  const none = await c.ambit('get', 'pods', '-A');
  t.same(none, { code: 0, stdout: '', stderr: 'No resources found.\n' });
  const inDefault = await c.ambit('get', 'pods');
  t.same(inDefault, { code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });

  const pod = c.write('pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    command: ["sleep", "1"]\n');
  t.equal((await c.ambit('apply', '-f', pod)).stdout, 'Pod default/p created\n');
  const all = await c.ambit('get', 'pods', '-A');
  t.equal(all.code, 0);
  const [header, row, ...more] = all.stdout.trimEnd().split('\n');
  t.equal(header.split(/\s{3,}/).join('|'), 'NAMESPACE|NAME|READY|STATUS|RESTARTS|AGE|IP|NODE');
  t.match(row, /^default\s+p\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>$/);
  t.same(more, []);
  t.equal(header.indexOf(' NAME ') + 1, row.indexOf(' p ') + 1, 'columns are aligned');
  t.equal(header.indexOf(' NODE'), row.lastIndexOf(' <none>'), 'up to the last one');
  const wide = await c.ambit('get', 'pods', '-o', 'wide');
  t.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+SERVICE-ACCOUNT\n/);
});

t.test('errors: exit codes and one-line messages', async (t) => {
  const c = cli(t);
  const missingNs = c.write('missing-ns.yaml', APP.split('---\n').slice(1).join('---\n'));
  const rows: { name: string; args: string[]; code: number; stderr: string | RegExp; stdout?: string }[] = [
    { name: 'delete of a missing pod', args: ['delete', 'pod', 'nope', '-n', 'default'], code: 1, stderr: 'Pod default/nope not found\n' },
    { name: 'get of an unknown kind', args: ['get', 'flurb'], code: 1, stderr: 'ambit: unknown kind "flurb"\n' },
    { name: 'get of a missing object', args: ['get', 'namespace', 'nope'], code: 1, stderr: 'ambit: Namespace nope not found\n' },
    { name: 'label of a missing object', args: ['label', 'namespace', 'nope', 'a=b'], code: 1, stderr: 'ambit: Namespace nope not found\n' },
    {
      name: 'label with a bad value',
      args: ['label', 'namespace', 'default', 'a=b c'],
      code: 1,
      stderr: `ambit: invalid label value "b c" for a: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric\n`,
    },
    { name: 'label without a change', args: ['label', 'namespace', 'default'], code: 2, stderr: 'ambit: usage: ambit label KIND NAME key=value|key- ... [-n NAMESPACE]\n' },
    { name: 'apply without -f', args: ['apply'], code: 2, stderr: 'ambit: give the manifests with -f FILE|DIR\n' },
    { name: 'unknown flag', args: ['get', 'pods', '--bogus'], code: 2, stderr: 'ambit: unknown flag --bogus\n' },
    { name: 'flag without value', args: ['get', 'pods', '-n'], code: 2, stderr: 'ambit: flag -n needs a value\n' },
    { name: 'bad output format', args: ['get', 'pods', '-o', 'xml'], code: 2, stderr: 'ambit: unknown output format "xml": use wide, yaml, json or name\n' },
    {
      name: 'apply of a missing file',
      args: ['apply', '-f', path.join(c.dir, 'nope.yaml')],
      code: 1,
      stderr: /^ambit: .*nope\.yaml.*no such file or directory\n$/,
    },
    {
      name: 'apply into a namespace that does not exist',
      args: ['apply', '-f', missingNs],
      code: 1,
      stderr: `ambit: ${missingNs}:1: Deployment x/web: metadata.namespace: namespace "x" does not exist; create it first or include it in the same apply\n`,
    },
  ];
  // None of these writes to the store, so they may run side by side once it exists (concurrent first opens race to seed it).
  t.equal((await c.ambit('get', 'namespaces', '-o', 'name')).stdout, 'namespace/default\n');
  const results = await Promise.all(rows.map((row) => c.ambit(row.args[0], ...row.args.slice(1))));
  for (const [index, row] of rows.entries()) {
    const result = results[index];
    t.equal(result.code, row.code, `${row.name}: exit code`);
    if (typeof row.stderr === 'string') t.equal(result.stderr, row.stderr, `${row.name}: stderr`);
    else t.match(result.stderr, row.stderr, `${row.name}: stderr`);
    t.equal(result.stdout, row.stdout ?? '', `${row.name}: stdout`);
  }
});

t.test('commands, usage and cluster names', async (t) => {
  const unknown = await runAmbit(['flurb']);
  t.equal(unknown.code, 2);
  t.equal(unknown.stdout, '');
  t.match(unknown.stderr, /^ambit: unknown command "flurb"\n\nambit: an ambient-mode service mesh\n/);
  t.match(unknown.stderr, 'ambit apply -f FILE|DIR');

  const bare = await runAmbit([]);
  t.equal(bare.code, 2, 'no command is a usage error');
  t.match(bare.stdout, /^ambit: an ambient-mode service mesh\n/);
  const helps = ['help', '--help', '-h'];
  const helped = await Promise.all(helps.map((help) => runAmbit([help])));
  for (const [index, help] of helps.entries()) {
    const result = helped[index];
    t.equal(result.code, 0, `${help} exits 0`);
    t.equal(result.stdout, bare.stdout, `${help} prints the usage`);
  }

  const dir = tempDir(t, 'ambit-cli-');
  const bad = await runAmbit(['get', 'pods', '--cluster', 'Bad-Name', '--state-dir', dir]);
  t.equal(bad.code, 1);
  t.equal(
    bad.stderr,
    `ambit: invalid cluster name "Bad-Name": use 1-16 lowercase letters and digits, starting with a letter (no dashes, so one cluster's names never prefix another's)\n`,
  );
  t.same(fs.readdirSync(dir), [], 'nothing is created for an invalid cluster name');
});
