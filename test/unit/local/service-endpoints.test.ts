// What kube-proxy and DNS get from stored objects: ready, selected, same-namespace backends per Service port, and service names.
import t from 'tap';
import { resourceKey, type PodSpec, type Resource } from '../../../src/api';
import { resolveTargetPort, serviceNames, servicePortRules } from '../../../src/local/service-endpoints';

interface PodOptions {
  namespace?: string;
  labels?: Record<string, string>;
  ip?: string;
  ready?: boolean;
  ports?: { name?: string; containerPort: number }[];
}

function pod(name: string, options: PodOptions = {}): Resource<PodSpec> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'apps', labels: options.labels ?? { app: 'web' } },
    spec: { containers: [{ name: 'main', command: ['x'], ports: options.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      podIP: options.ip,
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

function svc(name: string, spec: Record<string, unknown>, namespace = 'apps'): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { clusterIP: '10.96.0.10', ...spec } };
}

function objectsOf(...objects: Resource[]): Map<string, Resource> {
  return new Map(objects.map((object) => [resourceKey(object), object]));
}

t.test('only Ready pods of the same namespace matching every selector label are backends', async (t) => {
  const objects = objectsOf(
    svc('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] }),
    pod('ready-1', { ip: '10.44.1.2' }),
    pod('ready-2', { ip: '10.44.2.2', labels: { app: 'web', extra: 'yes' } }),
    pod('not-ready', { ip: '10.44.1.3', ready: false }),
    pod('no-status-ip', {}),
    pod('other-namespace', { ip: '10.44.1.4', namespace: 'other' }),
    pod('other-app', { ip: '10.44.1.5', labels: { app: 'db' } }),
  );
  t.same(servicePortRules(objects), [
    {
      name: 'apps/web:http',
      clusterIp: '10.96.0.10',
      port: 80,
      protocol: 'TCP',
      backends: [
        { ip: '10.44.1.2', port: 8080 },
        { ip: '10.44.2.2', port: 8080 },
      ],
    },
  ]);
});

t.test('a pod without a status is not ready', async (t) => {
  const bare = pod('bare', { ip: '10.44.1.2' });
  delete bare.status;
  const objects = objectsOf(svc('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }), bare);
  t.same(servicePortRules(objects)[0].backends, []);
});

t.test('a selector needs every one of its labels', async (t) => {
  const objects = objectsOf(
    svc('web', { selector: { app: 'web', tier: 'front' }, ports: [{ port: 80 }] }),
    pod('both', { ip: '10.44.1.2', labels: { app: 'web', tier: 'front' } }),
    pod('one', { ip: '10.44.1.3', labels: { app: 'web' } }),
  );
  t.same(servicePortRules(objects)[0].backends, [{ ip: '10.44.1.2', port: 80 }], 'no targetPort means the service port');
});

t.test('named targetPorts resolve per pod; a pod without that port is skipped', async (t) => {
  const objects = objectsOf(
    svc('web', {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'UDP' },
      ],
    }),
    pod('a', { ip: '10.44.1.2', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 15020 }] }),
    pod('b', { ip: '10.44.1.3', ports: [{ name: 'http', containerPort: 9000 }] }),
  );
  t.same(servicePortRules(objects), [
    { name: 'apps/web:http', clusterIp: '10.96.0.10', port: 80, protocol: 'TCP', backends: [{ ip: '10.44.1.2', port: 8080 }, { ip: '10.44.1.3', port: 9000 }] },
    { name: 'apps/web:metrics', clusterIp: '10.96.0.10', port: 9090, protocol: 'UDP', backends: [{ ip: '10.44.1.2', port: 15020 }] },
  ]);
});

t.test('resolveTargetPort', async (t) => {
  const spec: PodSpec = {
    containers: [
      { name: 'a', ports: [{ containerPort: 1000 }] },
      { name: 'b', ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }] },
    ],
  };
  t.equal(resolveTargetPort(undefined, 80, spec), 80);
  t.equal(resolveTargetPort(8443, 80, spec), 8443);
  t.equal(resolveTargetPort('grpc', 80, spec), 9090, 'found in a later container');
  t.equal(resolveTargetPort('nope', 80, spec), undefined);
  t.equal(resolveTargetPort('http', 80, { containers: [{ name: 'x' }] }), undefined, 'a container without ports');
});

t.test('no selector, an empty selector, headless and IP-less services give no backends or no rules', async (t) => {
  const ready = pod('a', { ip: '10.44.1.2' });
  const rows: { name: string; service: Resource; rules: number }[] = [
    { name: 'no selector', service: svc('s', { ports: [{ port: 80 }] }), rules: 1 },
    { name: 'empty selector', service: svc('s', { selector: {}, ports: [{ port: 80 }] }), rules: 1 },
    { name: 'headless', service: svc('s', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] }), rules: 0 },
    { name: 'no ClusterIP yet', service: svc('s', { clusterIP: undefined, selector: { app: 'web' }, ports: [{ port: 80 }] }), rules: 0 },
    { name: 'no ports', service: svc('s', { selector: { app: 'web' } }), rules: 0 },
  ];
  for (const row of rows) {
    const rules = servicePortRules(objectsOf(row.service, ready));
    t.equal(rules.length, row.rules, `${row.name}: rules`);
    for (const rule of rules) t.same(rule.backends, [], `${row.name}: no backends`);
  }
});

t.test('rule names use the port name, or the number when unnamed', async (t) => {
  const rules = servicePortRules(objectsOf(svc('web', { selector: { app: 'web' }, ports: [{ port: 8080 }, { name: 'admin', port: 9000 }] })));
  t.same(rules.map((r) => r.name), ['apps/web:8080', 'apps/web:admin']);
});

t.test('serviceNames lists services with a ClusterIP', async (t) => {
  const objects = objectsOf(
    svc('web', { ports: [{ port: 80 }] }),
    svc('db', { clusterIP: '10.96.0.20' }, 'other'),
    svc('headless', { clusterIP: 'None' }),
    svc('pending', { clusterIP: undefined }),
    pod('a', { ip: '10.44.1.2' }),
  );
  t.same(serviceNames(objects), [
    { namespace: 'apps', name: 'web', clusterIp: '10.96.0.10' },
    { namespace: 'other', name: 'db', clusterIp: '10.96.0.20' },
  ]);
});
