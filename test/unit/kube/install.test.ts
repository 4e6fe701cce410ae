// `ambit install` / `ambit uninstall` through the real client library against the fake API server: manifests applied
// server-side, the CA bootstrapped once (and usable by the control plane), CRDs checked, and everything removed again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { install } from '../../../src/cli/commands/install';
import { uninstall } from '../../../src/cli/commands/uninstall';
import { CaStore } from '../../../src/controlplane/ca';
import { KubeConnection } from '../../../src/kube/connection';
import { installManifests, uninstallManifests } from '../../../src/kube/install';
import { imagesOf, renderManifests } from '../../../src/kube/manifests';
import { FakeKubeApiServer, type FakeKubeApiServerOptions, type KubeObject } from '../../fakes/kube-apiserver';
import type { Resource } from '../../../src/api';
import { runCli } from '../../helpers/cli-output';

const IMAGE = 'ghcr.io/ambit-mesh/ambit:1.2.3';

async function cluster(t: { teardown(fn: () => void | Promise<void>): void }, options: FakeKubeApiServerOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-install-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start(options);
  t.teardown(() => fake.close());
  const kubeconfig = fake.writeKubeconfig(dir);
  const connection = await KubeConnection.open({ kubeconfig });
  return { dir, fake, kubeconfig, connection };
}

const run = runCli;

const manifestObjects = renderManifests({ image: IMAGE }).map(({ object }) => object);

t.test('install applies every manifest server-side with one image, and makes the CA once', async (t) => {
  const c = await cluster(t);
  const report = await installManifests(c.connection, { image: IMAGE });
  t.same(report.warnings, [], 'Istio and Gateway API CRDs are served');
  for (const object of manifestObjects) {
    const stored = c.fake.get(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    t.ok(stored, `${object.kind} ${object.metadata.name} exists`);
    if (object.kind !== 'Namespace') t.match(stored?.metadata.managedFields, [{ manager: 'ambit-install', operation: 'Apply' }], `${object.kind} ${object.metadata.name} is server-side applied`);
    t.same(imagesOf(stored as unknown as Resource), imagesOf(object));
  }
  t.same(report.steps.slice(0, 3), [
    { what: 'Namespace istio-system', outcome: 'applied' },
    { what: 'Secret istio-system/cacerts', outcome: 'created' },
    { what: 'ConfigMap istio-system/ambit-ca-root-cert', outcome: 'applied' },
  ]);

  const secret = c.fake.get('v1', 'Secret', 'istio-system', 'cacerts') as KubeObject & { data: Record<string, string> };
  t.same(Object.keys(secret.data).sort(), ['root-cert.pem', 'root-key.pem']);
  t.equal(secret.metadata.labels?.['app.kubernetes.io/managed-by'], 'ambit');
  const root = Buffer.from(secret.data['root-cert.pem'], 'base64').toString('utf8');
  const configMap = c.fake.get('v1', 'ConfigMap', 'istio-system', 'ambit-ca-root-cert') as KubeObject & { data: Record<string, string> };
  t.equal(configMap.data['root-cert.pem'], root, 'ztunnels trust the root in the Secret');
  // The control plane mounts cacerts as files and opens it read-only.
  const caDir = path.join(c.dir, 'cacerts');
  fs.mkdirSync(caDir);
  for (const [key, value] of Object.entries(secret.data)) fs.writeFileSync(path.join(caDir, key), Buffer.from(value, 'base64'), { mode: 0o440 });
  fs.chmodSync(caDir, 0o555);
  const ca = await CaStore.open(caDir, { trustDomain: 'cluster.local' });
  t.equal(ca.mode, 'self-signed');
  t.equal(ca.generated, false, 'opened, not generated: the mount is read-only');
  t.equal(ca.rootPem.trim(), root.trim());

  const again = await installManifests(c.connection, { image: IMAGE });
  t.same(again.steps[1], { what: 'Secret istio-system/cacerts', outcome: 'existing' }, 'a second install keeps the CA');
  t.equal(Buffer.from((c.fake.get('v1', 'Secret', 'istio-system', 'cacerts') as KubeObject & { data: Record<string, string> }).data['root-cert.pem'], 'base64').toString('utf8'), root);
  t.equal(c.fake.calls({ verb: 'create', resource: 'secrets' }).length, 1);
});

t.test('an operator\'s own cacerts (Istio plug-in layout) is used as is and never deleted', async (t) => {
  const c = await cluster(t);
  c.fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
  const pem = '-----BEGIN CERTIFICATE-----\nb3BlcmF0b3I=\n-----END CERTIFICATE-----\n';
  c.fake.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, data: { 'root-cert.pem': Buffer.from(pem).toString('base64'), 'ca-cert.pem': 'eA==', 'ca-key.pem': 'eA==', 'cert-chain.pem': 'eA==' } });
  const report = await installManifests(c.connection, { image: IMAGE });
  t.same(report.steps[1], { what: 'Secret istio-system/cacerts', outcome: 'existing' });
  t.equal((c.fake.get('v1', 'ConfigMap', 'istio-system', 'ambit-ca-root-cert') as KubeObject & { data: Record<string, string> }).data['root-cert.pem'], pem);
  await uninstallManifests(c.connection, { purgeCa: true });
  t.ok(c.fake.get('v1', 'Secret', 'istio-system', 'cacerts'), 'kept even with --purge');
});

t.test('missing CRDs are reported, not installed, and do not stop the install', async (t) => {
  const c = await cluster(t, { withoutTypes: ['gateways', 'httproutes'] });
  const report = await installManifests(c.connection, { image: IMAGE });
  t.same(report.warnings, [
    'the cluster does not serve Gateway (gateway.networking.k8s.io/v1), HTTPRoute (gateway.networking.k8s.io/v1): install Istio\'s CRDs and the Gateway API CRDs (docs/kubernetes.md); until then the control plane treats them as empty',
  ]);
  t.ok(c.fake.get('apps/v1', 'DaemonSet', 'istio-system', 'ztunnel'));
});

t.test('a dry run writes nothing', async (t) => {
  const c = await cluster(t);
  const report = await installManifests(c.connection, { image: IMAGE, dryRun: true });
  t.equal(report.steps.length, manifestObjects.length);
  t.ok(report.steps.every((step) => step.outcome === 'would apply'));
  t.same(c.fake.calls().filter((call) => !['get', 'list'].includes(call.verb)), [], 'only reads');
});

t.test('uninstall removes what install applied, keeps the namespace and (without --purge) the CA', async (t) => {
  const c = await cluster(t);
  await installManifests(c.connection, { image: IMAGE });
  c.fake.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'ambit-controlplane', namespace: 'istio-system' }, spec: { holderIdentity: 'cp-0' } });
  const report = await uninstallManifests(c.connection);
  for (const object of manifestObjects) {
    const stored = c.fake.get(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    if (object.kind === 'Namespace') t.ok(stored, 'istio-system stays (Istio may live there)');
    else t.notOk(stored, `${object.kind} ${object.metadata.name} removed`);
  }
  t.notOk(c.fake.get('coordination.k8s.io/v1', 'Lease', 'istio-system', 'ambit-controlplane'), 'the leader Lease removed');
  t.notOk(c.fake.get('v1', 'ConfigMap', 'istio-system', 'ambit-ca-root-cert'));
  t.ok(c.fake.get('v1', 'Secret', 'istio-system', 'cacerts'), 'the CA kept');
  t.match(report.warnings, [/cacerts \(the mesh CA\) is kept/]);
  const again = await uninstallManifests(c.connection, { purgeCa: true });
  t.ok(again.steps.filter((step) => step.what !== 'Namespace istio-system' && step.what !== 'Secret istio-system/cacerts').every((step) => step.outcome === 'absent'), 'a second uninstall finds nothing else');
  t.notOk(c.fake.get('v1', 'Secret', 'istio-system', 'cacerts'), '--purge deletes the CA ambit made');
});

t.test('the install and uninstall commands talk to the kubeconfig\'s cluster and print each step', async (t) => {
  const c = await cluster(t);
  const installed = await run(install, ['--kubeconfig', c.kubeconfig, '--image', IMAGE]);
  t.equal(installed.code, 0);
  t.match(installed.stdout, /^Namespace istio-system applied\nSecret istio-system\/cacerts created\n/);
  t.match(installed.stdout, /DaemonSet istio-system\/ztunnel applied\n/);
  t.match(installed.stdout, new RegExp(`ambit installed on ${c.fake.url}\\n$`));
  t.equal(installed.stderr, '');
  t.equal((c.fake.get('apps/v1', 'DaemonSet', 'istio-system', 'ambit-cni') as unknown as Resource & { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0].image, IMAGE);
  const removed = await run(uninstall, ['--kubeconfig', c.kubeconfig]);
  t.equal(removed.code, 0);
  t.match(removed.stdout, /DaemonSet istio-system\/ztunnel deleted\n/);
  t.match(removed.stderr, /ambit: note: Secret istio-system\/cacerts \(the mesh CA\) is kept/);
  await t.rejects(run(install, ['--kubeconfig', path.join(c.dir, 'no-such-file')]), { code: 'KUBECONFIG_INVALID', message: /cannot load the kubeconfig .*no-such-file/ });
  await t.rejects(run(install, ['--kubeconfig', c.kubeconfig, '--context', 'elsewhere']), { code: 'KUBECONFIG_INVALID', message: 'the kubeconfig has no context "elsewhere"' });
});
