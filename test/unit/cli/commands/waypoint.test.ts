// `ambit waypoint apply|delete|list` on both targets: a local cluster's store, and a Kubernetes cluster (the fake API
// server through the real client library) chosen by --kubeconfig — the same Gateway, output and exit codes either way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { waypoint } from '../../../../src/cli/commands/waypoint';
import { DirectoryStore } from '../../../../src/local/store/directory-store';
import { FakeKubeApiServer } from '../../../fakes/kube-apiserver';
import { runCli, type CliRun } from '../../../helpers/cli-output';

function run(argv: string[]): Promise<CliRun> {
  return runCli(waypoint, argv);
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-waypoint-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('on a Kubernetes cluster (--kubeconfig): apply, enrol, list, delete', async (t) => {
  const dir = tempDir(t);
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
  const kube = ['--kubeconfig', fake.writeKubeconfig(dir)];

  const applied = await run(['apply', '-n', 'bookinfo', '--enroll-namespace', ...kube]);
  t.same(applied, { code: 0, stdout: 'waypoint bookinfo/waypoint applied\nnamespace bookinfo labeled with "istio.io/use-waypoint: waypoint"\n', stderr: '' });
  const gateway = fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'bookinfo', 'waypoint');
  t.match(gateway, { spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } });
  t.match(gateway?.metadata.managedFields, [{ manager: 'ambit', operation: 'Apply' }], 'server-side applied as istioctl does');
  t.match(fake.get('v1', 'Namespace', undefined, 'bookinfo')?.metadata.labels, { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' });

  const plain = await run(['apply', '-n', 'plain', '--service-account', 'reviews', '--enroll-namespace', ...kube]);
  t.equal(plain.code, 0);
  t.match(plain.stderr, 'warning: namespace plain is not in the ambient mesh', 'warns when the namespace is not ambient');
  t.same(fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'plain', 'reviews')?.metadata.labels, { 'istio.io/for-service-account': 'reviews' });

  // The control plane reports status; list shows it.
  fake.seed({
    ...gateway,
    status: {
      addresses: [{ type: 'IPAddress', value: '10.96.7.7' }],
      conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: '', lastTransitionTime: '2026-11-22T00:00:00Z' }],
    },
  });
  const listed = await run(['list', '-A', ...kube]);
  t.equal(listed.code, 0);
  t.match(listed.stdout, /^NAMESPACE\s+NAME\s+TRAFFIC TYPE\s+PROGRAMMED\s+ADDRESS\n/);
  t.match(listed.stdout, /bookinfo\s+waypoint\s+service\s+True\s+10\.96\.7\.7\n/);
  t.match(listed.stdout, /plain\s+reviews\s+service-account reviews\s+Unknown\s+<pending>\n/);

  const deleted = await run(['delete', '-n', 'bookinfo', 'waypoint', 'ghost', ...kube]);
  t.same(deleted, { code: 1, stdout: 'waypoint bookinfo/waypoint deleted\n', stderr: 'waypoint bookinfo/ghost not found\n' });
  t.equal(fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'bookinfo', 'waypoint'), undefined);
  t.same(await run(['delete', '-n', 'plain', '--all', ...kube]), { code: 0, stdout: 'waypoint plain/reviews deleted\n', stderr: '' });
  t.same(await run(['list', '-n', 'plain', ...kube]), { code: 0, stdout: '', stderr: 'No waypoints found in namespace plain.\n' });
  t.same(
    fake.calls({ resource: 'gateways' }).map((call) => call.verb),
    ['patch', 'patch', 'list', 'delete', 'delete', 'list', 'delete', 'list'],
    'only Gateway calls a user with istioctl-like rights can make',
  );
});

t.test('a kubeconfig that cannot be used is an error naming it; nothing is written locally', async (t) => {
  const dir = tempDir(t);
  await t.rejects(run(['apply', '-n', 'bookinfo', '--kubeconfig', path.join(dir, 'missing'), '--state-dir', dir]), { code: 'KUBECONFIG_INVALID', message: /cannot load the kubeconfig .*missing/ });
  t.same(fs.readdirSync(dir), [], 'no local store was created');
});

t.test('without Kubernetes flags the local cluster\'s store is the target', async (t) => {
  const dir = tempDir(t);
  const local = ['--state-dir', dir, '--cluster', 'wpcli'];
  const store = DirectoryStore.open(path.join(dir, 'wpcli', 'store'));
  store.mutate((objects) => objects.set('Namespace/bookinfo', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } } }));

  t.same(await run(['apply', '-n', 'bookinfo', '--enroll-namespace', ...local]), {
    code: 0,
    stdout: 'waypoint bookinfo/waypoint created\nnamespace bookinfo labeled with "istio.io/use-waypoint: waypoint"\n',
    stderr: '',
  });
  t.same((await run(['apply', '-n', 'bookinfo', ...local])).stdout, 'waypoint bookinfo/waypoint unchanged\n');
  t.match(store.get('Gateway', 'bookinfo', 'waypoint'), { spec: { gatewayClassName: 'istio-waypoint' } });
  t.equal(store.get('Namespace', undefined, 'bookinfo')?.metadata.labels?.['istio.io/use-waypoint'], 'waypoint');
  t.match((await run(['list', '-n', 'bookinfo', ...local])).stdout, /waypoint\s+service\s+Unknown\s+<pending>/);
  t.same(await run(['delete', '-n', 'bookinfo', '--all', ...local]), { code: 0, stdout: 'waypoint bookinfo/waypoint deleted\n', stderr: '' });
  t.equal(store.get('Gateway', 'bookinfo', 'waypoint'), undefined);
});

t.test('usage and reserved names', async (t) => {
  await t.rejects(run(['frobnicate']), { message: /^usage: ambit waypoint apply\|delete\|list/ });
  await t.rejects(run(['apply', '--name', 'none', '--kube']), { message: /"none" is reserved/ });
  await t.rejects(run(['apply', '--for', 'everything', '--kube']), { message: '--for must be service, workload, all or none, not "everything"' });
});
