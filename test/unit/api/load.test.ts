import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestPathError, ValidationError, YamlSyntaxError } from '../../../src/api/errors';
import { loadManifestPaths, parseManifests, validateResource } from '../../../src/api/load';
import { describeObject, resourceKey } from '../../../src/api/resource';
import { textErrors } from './helpers';

const MULTI = `# bookinfo, abridged
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: reviews
  template:
    metadata:
      labels:
        app: reviews
    spec:
      containers:
      - name: reviews
        image: reviews
        comand: ["node"]
      - image: other
---

---
apiVersion: v1
kind: Service
metadata:
  namespace: bookinfo
spec:
  ports:
  - port: 9080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-reviews
  namespace: bookinfo
`;

t.test('errors in a multi-document file carry the line of the offending field', async (t) => {
  const { resources, errors } = parseManifests(MULTI, 'bookinfo.yaml');
  t.same(errors.map((e) => e.message), [
    'bookinfo.yaml:24: Deployment bookinfo/reviews-v1: spec.template.spec.containers[0]: unknown field "comand" (did you mean "command"?)',
    'bookinfo.yaml:25: Deployment bookinfo/reviews-v1: spec.template.spec.containers[1].name: required field is missing',
    'bookinfo.yaml:31: document 4: metadata.name: required field is missing',
  ]);
  t.same(resources.map((r) => [describeObject(r.resource), r.source]), [
    ['Namespace bookinfo', { file: 'bookinfo.yaml', line: 2 }],
    ['ServiceAccount bookinfo/bookinfo-reviews', { file: 'bookinfo.yaml', line: 37 }],
  ]);
  const e = errors[0] as ValidationError;
  t.equal(e.code, 'INVALID_RESOURCE');
  t.equal(e.file, 'bookinfo.yaml');
  t.equal(e.line, 24);
  t.equal(e.object, 'Deployment bookinfo/reviews-v1');
  t.equal(e.field, 'spec.template.spec.containers[0]');
  t.equal(e.reason, 'unknown field "comand" (did you mean "command"?)');
});

t.test('a ValidationError without a field leaves the field part out', async (t) => {
  t.equal(new ValidationError('a.yaml', 3, 'document 1', '', 'must be an object').message, 'a.yaml:3: document 1: must be an object');
  t.equal(new ValidationError('a.yaml', 3, 'Pod x/y', 'spec', 'bad').message, 'a.yaml:3: Pod x/y: spec: bad');
});

t.test('YAML syntax errors name the line and the parser message, and other documents still load', async (t) => {
  const text = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\nkey: [1, 2\nother: 3\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b, name: c}\n';
  const { resources, errors } = parseManifests(text, 'x.yaml');
  t.same(resources.map((r) => r.resource.metadata.name), ['a']);
  t.equal(errors.length, 2);
  t.type(errors[0], YamlSyntaxError);
  t.equal(errors[0].code, 'INVALID_YAML');
  t.match(errors[0].message, /^x\.yaml:7: invalid YAML: \S/);
  t.equal(errors[1].message, 'x.yaml:11: invalid YAML: Map keys must be unique');
  t.equal(new YamlSyntaxError('f.yaml', 2, 'first line\nsecond').message, 'f.yaml:2: invalid YAML: first line');
});

t.test('empty documents, comments-only documents and a trailing separator are skipped', async (t) => {
  const text = '---\n# nothing\n---\n\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n';
  const { resources, errors } = parseManifests(text, 'e.yaml');
  t.same(errors, []);
  t.same(resources.map((r) => r.source.line), [6]);
  t.same(parseManifests('', 'empty.yaml'), { resources: [], errors: [] });
});

t.test('a document that is not an object is named by its number', async (t) => {
  t.same(textErrors('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- a\n- b\n---\njust text\n'), [
    'm.yaml:5: document 2: must be an object with apiVersion, kind and metadata (got a list)',
    'm.yaml:8: document 3: must be an object with apiVersion, kind and metadata (got "just text")',
  ]);
});

t.test('JSON manifests load with lines, including tab indentation', async (t) => {
  const json = '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {"name": "p"},\n\t"spec": {\n\t\t"containers": [{"name": "c", "image": 5}]\n\t}\n}\n';
  t.same(textErrors(json), ['m.yaml:6: Pod default/p: spec.containers[0].image: must be a string (got 5)']);
  const ok = parseManifests('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}', 'n.json');
  t.same(ok.resources.map((r) => resourceKey(r.resource)), ['Namespace/n']);
});

t.test('kind: List is expanded, each item with its own line and name', async (t) => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: a
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: Bad
- kind: Pod
`;
  const { resources, errors } = parseManifests(text, 'l.yaml');
  t.same(resources.map((r) => [resourceKey(r.resource), r.source.line]), [['Namespace/a', 4]]);
  t.same(errors.map((e) => e.message), [
    'l.yaml:11: ServiceAccount default/Bad: metadata.name: "Bad" is not a valid DNS-1123 subdomain (lower case letters, digits, \'-\' and \'.\', starting and ending with a letter or digit, at most 253 characters)',
    'l.yaml:12: document 1 items[2]: apiVersion: required field is missing',
  ]);
});

t.test('problems within a document are reported in line order', async (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: 1\n  restartPolicy: Sometimes\nextra: 1\n';
  t.same(textErrors(text), [
    'm.yaml:8: Pod default/p: spec.containers[0].image: must be a string (got 1)',
    'm.yaml:9: Pod default/p: spec.restartPolicy: must be one of Always, OnFailure, Never (got "Sometimes")',
    'm.yaml:10: Pod default/p: unknown field "extra"',
  ]);
});

t.test('the same object twice is refused at the second copy', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n';
  const { resources, errors } = parseManifests(`${ns}---\n${ns}`, 'd.yaml');
  t.equal(resources.length, 1);
  t.same(errors.map((e) => e.message), ['d.yaml:6: Namespace a: defined more than once (first at d.yaml:1)']);
});

t.test('defaults: namespace for namespaced kinds, none for cluster-scoped ones, nulls dropped', async (t) => {
  const text = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  namespace: ignored\n  creationTimestamp:\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s\n';
  const { resources, errors } = parseManifests(text, 'n.yaml');
  t.same(errors, []);
  t.same(resources.map((r) => r.resource.metadata), [{ name: 'a' }, { name: 's', namespace: 'default' }]);
  t.same(resources.map((r) => resourceKey(r.resource)), ['Namespace/a', 'ServiceAccount/default/s']);
});

t.test('validateResource checks objects that came from code, at the given location', async (t) => {
  const bad = validateResource({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, spec: { containers: [] } }, { file: 'api', line: 0 });
  t.equal(bad.located, undefined);
  t.same(bad.errors.map((e) => e.message), ['api:0: Pod x/p: spec.containers: must have at least one container']);
  const nameless = validateResource({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [{ name: 'c' }] } }, { file: 'api', line: 0 });
  t.same(nameless.errors.map((e) => e.message), ['api:0: unnamed object: metadata.name: required field is missing']);
  const input = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } };
  const good = validateResource(input, { file: 'api', line: 0 });
  t.same(good.errors, []);
  t.same(good.located?.source, { file: 'api', line: 0 });
  t.equal(good.located?.resource.metadata.namespace, 'default');
  t.same(input.metadata, { name: 'p' }, 'the input is not modified');
});

t.test('loadManifestPaths reads files and directories recursively, sorted, skipping other files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-api-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(dir, '.hidden'));
  writeFileSync(join(dir, 'b.yaml'), ns('b'));
  writeFileSync(join(dir, 'a.yml'), ns('a'));
  writeFileSync(join(dir, 'sub', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c' } }));
  writeFileSync(join(dir, 'sub', 'deeper', 'd.YAML'), ns('d'));
  writeFileSync(join(dir, 'README.md'), '# not a manifest: [\n');
  writeFileSync(join(dir, '.hidden', 'e.yaml'), ns('e'));
  writeFileSync(join(dir, 'explicit.txt'), ns('f'));
  const { resources, errors } = loadManifestPaths([dir, join(dir, 'explicit.txt'), join(dir, 'a.yml')]);
  t.same(errors, []);
  t.same(resources.map((r) => r.resource.metadata.name), ['a', 'b', 'c', 'd', 'f']);
  t.same(resources.map((r) => r.source.file.slice(dir.length + 1)), ['a.yml', 'b.yaml', 'sub/c.json', 'sub/deeper/d.YAML', 'explicit.txt']);

  writeFileSync(join(dir, 'z.yaml'), ns('a'));
  const dup = loadManifestPaths([dir]);
  t.same(dup.errors.map((e) => e.message), [`${join(dir, 'z.yaml')}:1: Namespace a: defined more than once (first at ${join(dir, 'a.yml')}:1)`]);

  t.throws(() => loadManifestPaths([join(dir, 'missing.yaml')]), new ManifestPathError(join(dir, 'missing.yaml'), 'no such file or directory'));
  t.throws(() => loadManifestPaths([join(dir, 'missing.yaml')]), { code: 'MANIFEST_PATH', message: `${join(dir, 'missing.yaml')}: no such file or directory` });
});

t.test('validation mode decides whether cluster-only features are accepted', async (t) => {
  const svc = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n';
  t.same(textErrors(svc), ['m.yaml:6: Service default/s: spec.type: "NodePort" is not supported in local mode; use ClusterIP']);
  t.same(textErrors(svc, { mode: 'kubernetes' }), []);
});
