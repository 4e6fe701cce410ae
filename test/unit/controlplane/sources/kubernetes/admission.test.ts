// Objects from the API server that ambit cannot use (Istio's CRDs validate loosely) are refused with the object and
// field at fault, and their last valid version stays in force — checked alone, through the real informers, and with a
// real control plane whose proxy keeps the last pushed policy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import type { Resource } from '../../../../../src/api';
import { KubernetesSource } from '../../../../../src/controlplane/sources/kubernetes';
import { admissionProblems } from '../../../../../src/controlplane/sources/kubernetes/admission';
import { MeshIndex } from '../../../../../src/controlplane/model/mesh-index';
import { policyTranslator } from '../../../../../src/controlplane/translate/policies';
import { KubeConnection } from '../../../../../src/kube/connection';
import { silentLogger } from '../../../../../src/telemetry/logger';
import { AUTHORIZATION_TYPE_URL, decodeAuthorization } from '../../../../../src/xds';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver';
import { until } from '../../../../helpers/until';

function policy(spec: unknown, name = 'p'): Resource {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: 'apps' }, spec } as Resource;
}

t.test('what is refused, and what is not', async (t) => {
  t.same(admissionProblems(policy({ rules: [{ from: 'y' }] })), ['spec.rules[0].from: must be a list (got "y")']);
  t.match(admissionProblems(policy({ rules: [{ when: [{ key: 'source.ip', values: 5 }] }] })), [/^spec\.rules\[0\]\.when\[0\]\.values: /]);
  t.match(admissionProblems({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 's', namespace: 'apps' }, spec: { hosts: 'x' } } as Resource), [/^spec\.hosts: /]);
  t.equal(admissionProblems(policy({ rules: [{ from: [{ source: { principals: ['cluster.local/ns/a/sa/b'] } }] }] })), undefined, 'a valid policy');
  t.equal(admissionProblems(policy({ action: 'ALLOW', futureField: { x: 1 } })), undefined, 'a field from a newer Istio is tolerated: the API server accepted it');
  t.equal(admissionProblems({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'apps' }, spec: 'whatever' } as Resource), undefined, 'core objects are the API server\'s to validate');
});

t.test('through the informers: an invalid update keeps the last valid version; a fix replaces it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-admission-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  const valid = { rules: [{ from: [{ source: { principals: ['cluster.local/ns/apps/sa/good'] } }] }] };
  fake.seed(policy(valid) as unknown as Record<string, unknown>);
  fake.seed(policy({ selector: 'not-an-object' }, 'born-bad') as unknown as Record<string, unknown>);
  const logs: { msg: string; object?: string; kept?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const source = new KubernetesSource({ connection, logger, batchMs: 10, admit: admissionProblems });
  t.teardown(() => source.stop());
  await source.start();
  const index = new MeshIndex({ trustDomain: 'cluster.local', policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }) });
  index.apply(source.snapshot().objects, new Set(source.snapshot().objects.keys()));
  source.onChange((snapshot, changed) => index.apply(snapshot.objects, changed));
  const principals = () => {
    const entry = index.resources(AUTHORIZATION_TYPE_URL).get('apps/p');
    return entry ? JSON.stringify(decodeAuthorization(entry.resource).rules) : 'absent';
  };
  t.equal(source.snapshot().objects.has('AuthorizationPolicy/apps/born-bad'), false, 'an object invalid from the start stays absent');
  t.match(logs, [{ object: 'AuthorizationPolicy apps/born-bad', kept: 'nothing (it stays absent)', msg: /^ignoring invalid AuthorizationPolicy apps\/born-bad: spec\.selector: / }]);
  t.match(principals(), /ns\/apps\/sa\/good/);

  fake.seed(policy({ rules: [{ from: 'broken' }] }) as unknown as Record<string, unknown>);
  await until('the refusal', () => logs.some((line) => line.object === 'AuthorizationPolicy apps/p'));
  t.match(logs.find((line) => line.object === 'AuthorizationPolicy apps/p'), { kept: 'its last valid version', msg: 'ignoring invalid AuthorizationPolicy apps/p: spec.rules[0].from: must be a list (got "broken")' });
  t.match(principals(), /ns\/apps\/sa\/good/, 'the last valid version stays in force');
  t.same(source.refusedKeys(), ['AuthorizationPolicy/apps/born-bad', 'AuthorizationPolicy/apps/p']);

  fake.seed(policy({ rules: [{ from: [{ source: { principals: ['cluster.local/ns/apps/sa/fixed'] } }] }] }) as unknown as Record<string, unknown>);
  await until('the fix', () => principals().includes('sa/fixed'));
  t.same(source.refusedKeys(), ['AuthorizationPolicy/apps/born-bad'], 'a valid version clears the refusal');
});
