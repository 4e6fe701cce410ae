import t from 'tap';
import { objectErrors, textErrors, withFields } from '../helpers';

function ns(name: unknown): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function sa(metadata: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reviews', namespace: 'bookinfo', ...metadata } };
}

const SA = 't.yaml:0: ServiceAccount bookinfo/reviews';

t.test('metadata rules shared by every kind', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['metadata required', { apiVersion: 'v1', kind: 'ServiceAccount' }, ['t.yaml:0: unnamed object: metadata: required field is missing']],
    ['name required', sa({ name: undefined }), ['t.yaml:0: unnamed object: metadata.name: required field is missing']],
    ['namespace is a DNS label', sa({ namespace: 'Book.Info' }), [
      `t.yaml:0: ServiceAccount Book.Info/reviews: metadata.namespace: "Book.Info" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['label key', sa({ labels: { 'bad key': 'x' } }), [
      `${SA}: metadata.labels["bad key"]: "bad key" is not a valid label key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
    ]],
    ['label value type', sa({ labels: { version: 1 } }), [`${SA}: metadata.labels.version: must be a string (got 1)`]],
    ['annotation key', sa({ annotations: { '-x': 'y' } }), [
      `${SA}: metadata.annotations["-x"]: "-x" is not a valid annotation key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
    ]],
    ['annotation value type', sa({ annotations: { a: true } }), [`${SA}: metadata.annotations.a: must be a string (got true)`]],
    ['annotations size', sa({ annotations: { big: 'x'.repeat(300 * 1024) } }), [
      `${SA}: metadata.annotations: annotations total 307203 bytes, more than the 262144 Kubernetes allows`,
    ]],
    ['unknown metadata field', sa({ lables: {} }), [`${SA}: metadata: unknown field "lables" (did you mean "labels"?)`]],
    ['ownerReferences', sa({ ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p' }] }), [`${SA}: metadata.ownerReferences[0].uid: required field is missing`]],
    ['generation', sa({ generation: -1 }), [`${SA}: metadata.generation: must be at least 0 (got -1)`]],
    ['namespace name is a DNS label', ns('a.b'), [
      `t.yaml:0: Namespace a.b: metadata.name: "a.b" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['namespace name type', ns(7), ['t.yaml:0: unnamed object: metadata.name: must be a string (got 7)']],
  ];
  for (const [name, value, want] of rows) t.same(objectErrors(value), want, name);
});

t.test('server-written metadata from kubectl get -o yaml is tolerated', async (t) => {
  t.same(objectErrors(sa({
    uid: 'abc', resourceVersion: '12', generation: 1, creationTimestamp: '2024-01-01T00:00:00Z', managedFields: [{ manager: 'kubectl' }],
    finalizers: ['x'], ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u', controller: true }],
  })), []);
  t.same(objectErrors(withFields(sa({}), { status: { anything: 1 } })), [], 'status is accepted as-is');
  t.same(objectErrors(withFields(sa({}), { automountServiceAccountToken: false, imagePullSecrets: [{ name: 'r' }] })), []);
});

t.test('a label error in YAML points at the label key line', async (t) => {
  const text = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels:\n    istio.io/dataplane-mode: ambient\n    "app name": x\n';
  t.same(textErrors(text), [
    `m.yaml:7: Namespace bookinfo: metadata.labels["app name"]: "app name" is not a valid label key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
  ]);
});
