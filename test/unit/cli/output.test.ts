// CLI output helpers: aligned tables, kubectl-style ages, yaml/json views, and the source-dir annotation apply adds.
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import type { Resource } from '../../../src/api';
import { age, printObjects, table, withSourceDir } from '../../../src/cli/output';
import { SOURCE_DIR_ANNOTATION } from '../../../src/local/deployment-controller';

t.test('table pads every column but the last to its widest cell, three spaces apart', async (t) => {
  t.equal(
    table(['NAME', 'READY', 'STATUS'], [
      ['productpage-v1-abc', '1/1', 'Running'],
      ['db', '0/1', 'CrashLoopBackOff'],
    ]),
    'NAME                 READY   STATUS\nproductpage-v1-abc   1/1     Running\ndb                   0/1     CrashLoopBackOff\n',
  );
  t.equal(table(['NAME', 'AGE'], []), 'NAME   AGE\n', 'a header alone');
  t.equal(table(['A', 'B'], [['x']]), 'A   B\nx\n', 'a short row has no trailing padding for missing cells');
});

t.test('age reads like kubectl', async (t) => {
  const now = Date.parse('2024-05-01T12:00:00.000Z');
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  const rows: [string | undefined, string][] = [
    [undefined, '<unknown>'],
    [ago(0), '0s'],
    [ago(59), '59s'],
    [ago(119), '119s'],
    [ago(120), '2m'],
    [ago(7199), '119m'],
    [ago(7200), '2h'],
    [ago(172799), '47h'],
    [ago(172800), '2d'],
    [ago(86400 * 30), '30d'],
    [new Date(now + 60_000).toISOString(), '0s'],
  ];
  for (const [timestamp, want] of rows) t.equal(age(timestamp, now), want, String(timestamp));
});

t.test('printObjects: one object as itself, several as a List; yaml documents separated', async (t) => {
  const a: Resource = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } };
  const b: Resource = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } };
  t.same(JSON.parse(printObjects([a], 'json')), a);
  t.same(JSON.parse(printObjects([a, b], 'json')), { apiVersion: 'v1', kind: 'List', items: [a, b] });
  t.same(JSON.parse(printObjects([], 'json')), { apiVersion: 'v1', kind: 'List', items: [] });
  const yaml = printObjects([a, b], 'yaml');
  t.same(yaml.split('---\n').map((doc) => parse(doc) as unknown), [a, b]);
});

t.test('withSourceDir annotates Pods and Deployments with their manifest directory', async (t) => {
  const pod: Resource = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { keep: 'me' } } };
  const deployment: Resource = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } };
  const ns: Resource = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } };
  const out = withSourceDir([
    { resource: pod, source: { file: 'manifests/app.yaml', line: 1 } },
    { resource: deployment, source: { file: '/srv/x/d.yaml', line: 3 } },
    { resource: ns, source: { file: '/srv/x/d.yaml', line: 9 } },
    { resource: pod, source: { file: '', line: 0 } },
  ]);
  t.same(out[0].resource.metadata.annotations, { keep: 'me', [SOURCE_DIR_ANNOTATION]: path.resolve('manifests') });
  t.same(out[1].resource.metadata.annotations, { [SOURCE_DIR_ANNOTATION]: '/srv/x' });
  t.equal(out[2].resource, ns, 'other kinds pass through untouched');
  t.equal(out[3].resource, pod, 'objects not read from a file pass through');
  t.same(pod.metadata.annotations, { keep: 'me' }, 'the input is not modified');
  t.same(out[1].source, { file: '/srv/x/d.yaml', line: 3 });
});
