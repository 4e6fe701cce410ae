// The fake API server behaves as the real one does where clients can tell: list and watch with resourceVersion semantics,
// selectors (and the ADDED/DELETED a selector transition produces), bookmarks, 410 Gone, paging, conflicts, subresources.
import http from 'node:http';
import t from 'tap';
import { FakeKubeApiServer } from '../../fakes/kube-apiserver';
import { until as untilWithin } from '../../helpers/until';

interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion?: string; labels?: Record<string, string> } };
}

async function start(t: { teardown(fn: () => void | Promise<void>): void }): Promise<FakeKubeApiServer> {
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  return fake;
}

async function call(fake: FakeKubeApiServer, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${fake.adminToken}`, 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Opens a watch and collects its events until `count` arrived or the stream ended. */
function watch(fake: FakeKubeApiServer, path: string): { events: WatchEvent[]; ended: Promise<void>; close: () => void } {
  const events: WatchEvent[] = [];
  let request: http.ClientRequest;
  const ended = new Promise<void>((resolve) => {
    request = http.get(`${fake.url}${path}`, { headers: { authorization: `Bearer ${fake.adminToken}` } }, (response) => {
      let buffer = '';
      response.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)) as WatchEvent);
          buffer = buffer.slice(newline + 1);
        }
      });
      response.on('end', resolve);
      response.on('close', resolve);
    });
    request.on('error', () => resolve());
  });
  return { events, ended, close: () => request.destroy() };
}

function until(check: () => boolean): Promise<void> {
  return untilWithin('the fake API server', check, 5000, 5);
}

const pod = (name: string, labels: Record<string, string>, node = 'node-a') => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps', labels }, spec: { nodeName: node, containers: [{ name: 'c', image: 'i' }] } });

t.test('lists carry the current resourceVersion, filter by label and field selectors, and page', async (t) => {
  const fake = await start(t);
  fake.seed(pod('a', { app: 'web', tier: 'front' }));
  fake.seed(pod('b', { app: 'web' }, 'node-b'));
  fake.seed(pod('c', { app: 'db' }));
  const names = (body: Record<string, unknown>) => (body.items as { metadata: { name: string } }[]).map((item) => item.metadata.name);
  const all = await call(fake, 'GET', '/api/v1/namespaces/apps/pods');
  t.equal((all.body.metadata as { resourceVersion: string }).resourceVersion, String(fake.store.currentRevision));
  t.same(names(all.body), ['a', 'b', 'c']);
  t.notOk('kind' in (all.body.items as object[])[0], 'built-in list items carry no kind, as from the real server');
  t.same(names((await call(fake, 'GET', '/api/v1/pods?labelSelector=app%3Dweb,tier')).body), ['a']);
  t.same(names((await call(fake, 'GET', '/api/v1/pods?labelSelector=app%20in%20(web,db),!tier')).body), ['b', 'c']);
  t.same(names((await call(fake, 'GET', '/api/v1/pods?labelSelector=app!%3Dweb')).body), ['c']);
  t.same(names((await call(fake, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-b')).body), ['b']);
  t.match(await call(fake, 'GET', '/api/v1/pods?fieldSelector=spec.color%3Dred'), { status: 400, body: { reason: 'BadRequest', message: 'field label not supported: spec.color' } });
  const first = await call(fake, 'GET', '/api/v1/pods?limit=2');
  t.same(names(first.body), ['a', 'b']);
  const token = (first.body.metadata as { continue: string }).continue;
  fake.seed(pod('d', { app: 'web' }));
  const second = await call(fake, 'GET', `/api/v1/pods?limit=2&continue=${token}`);
  t.same(names(second.body), ['c'], 'the next page is from the same snapshot: d, created since, is not in it');
  fake.compact();
  t.match(await call(fake, 'GET', `/api/v1/pods?limit=2&continue=${token}`), { status: 410, body: { reason: 'Expired' } });
});

t.test('resourceVersion on list: Exact reads the past, a too large one times out, a compacted one is gone', async (t) => {
  const fake = await start(t);
  const before = fake.seed(pod('a', { app: 'web' })).metadata.resourceVersion;
  fake.seed(pod('a', { app: 'web', version: 'v2' }));
  fake.seed(pod('b', { app: 'web' }));
  const exact = await call(fake, 'GET', `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact`);
  t.same((exact.body.items as { metadata: { name: string; labels: Record<string, string> } }[]).map((item) => [item.metadata.name, item.metadata.labels]), [['a', { app: 'web' }]]);
  t.match(await call(fake, 'GET', `/api/v1/pods?resourceVersion=${fake.store.currentRevision + 5}`), { status: 504, body: { reason: 'Timeout' } });
  fake.compact();
  t.match(await call(fake, 'GET', `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact`), { status: 410, body: { reason: 'Expired' } });
});

t.test('a watch from a resourceVersion replays later events; selector transitions become ADDED and DELETED', async (t) => {
  const fake = await start(t);
  const from = fake.seed(pod('a', { app: 'web' })).metadata.resourceVersion;
  fake.seed(pod('a', { app: 'db' }));
  fake.seed(pod('b', { app: 'web' }));
  const w = watch(fake, `/api/v1/pods?watch=true&resourceVersion=${from}&labelSelector=app%3Dweb&allowWatchBookmarks=true`);
  await until(() => w.events.length === 2);
  t.same(w.events.map((event) => [event.type, event.object.metadata.name]), [['DELETED', 'a'], ['ADDED', 'b']], 'a left the selector, b joined');
  t.equal(w.events[0].object.kind, 'Pod', 'watch objects carry their kind');
  fake.seed(pod('a', { app: 'web' }));
  await until(() => w.events.length === 3);
  t.same(w.events.map((event) => event.type), ['DELETED', 'ADDED', 'ADDED']);
  fake.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'apps' }, spec: {} });
  t.equal(fake.sendBookmarks(), 1);
  await until(() => w.events.length === 4);
  t.same(w.events[3], { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'Pod', metadata: { resourceVersion: String(fake.store.currentRevision) } } }, 'a bookmark carries the global resourceVersion');
  fake.dropWatches();
  await w.ended;
});

t.test('a watch without a resourceVersion starts with the current state; one from a compacted version gets 410', async (t) => {
  const fake = await start(t);
  const from = fake.seed(pod('a', { app: 'web' })).metadata.resourceVersion;
  const fresh = watch(fake, '/api/v1/namespaces/apps/pods?watch=1');
  await until(() => fresh.events.length === 1);
  t.same(fresh.events.map((event) => [event.type, event.object.metadata.name]), [['ADDED', 'a']]);
  fresh.close();
  fake.seed(pod('b', {}));
  fake.compact();
  const stale = watch(fake, `/api/v1/pods?watch=true&resourceVersion=${from}`);
  await stale.ended;
  t.match(stale.events, [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }]);
  const open = watch(fake, `/api/v1/pods?watch=true&resourceVersion=${fake.store.currentRevision}`);
  await until(() => fake.openWatches === 1);
  t.equal(fake.expireWatches(), 1);
  await open.ended;
  t.match(open.events, [{ type: 'ERROR', object: { code: 410 } }], 'an open watch can be expired too');
});

t.test('writes: create defaults, optimistic concurrency, status subresource, apply, garbage collection', async (t) => {
  const fake = await start(t);
  t.match(await call(fake, 'POST', '/api/v1/namespaces/nowhere/pods', { ...pod('x', {}), metadata: { name: 'x' } }), { status: 404, body: { message: 'namespaces "nowhere" not found' } });
  t.match(await call(fake, 'POST', '/api/v1/namespaces/default/pods', pod('x', {})), { status: 400, body: { message: /does not match the namespace sent on the request/ } });
  const created = await call(fake, 'POST', '/api/v1/namespaces/apps/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { x: 1 } } });
  t.equal(created.status, 201);
  t.match(created.body, { metadata: { uid: /.+/, generation: 1, namespace: 'apps' }, spec: { type: 'ClusterIP', clusterIP: /^10\.96\./ } });
  t.notOk('status' in created.body, 'status is not set through the main resource');
  t.match(await call(fake, 'POST', '/api/v1/namespaces/apps/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: {} }), { status: 409, body: { reason: 'AlreadyExists' } });
  const version = (created.body.metadata as { resourceVersion: string }).resourceVersion;
  const updated = await call(fake, 'PUT', '/api/v1/namespaces/apps/services/web', { ...created.body, spec: { ports: [{ port: 81 }] } });
  t.match(updated.body, { metadata: { generation: 2 }, spec: { clusterIP: (created.body.spec as { clusterIP: string }).clusterIP } }, 'the ClusterIP survives an update that leaves it out');
  t.match(await call(fake, 'PUT', '/api/v1/namespaces/apps/services/web', { ...created.body, metadata: { ...(created.body.metadata as object), resourceVersion: version } }), { status: 409, body: { reason: 'Conflict' } });
  const status = await call(fake, 'PUT', '/api/v1/namespaces/apps/services/web/status', { ...updated.body, spec: { ports: [] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } });
  t.match(status.body, { spec: { ports: [{ port: 81 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }, '/status changes only status');

  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'apps', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: (created.body.metadata as { uid: string }).uid, controller: true }] }, spec: { replicas: 1 } };
  t.match(await call(fake, 'PATCH', '/apis/apps/v1/namespaces/apps/deployments/d?fieldManager=me', deployment, 'application/apply-patch+yaml'), { status: 201 });
  t.match(fake.calls({ resource: 'deployments', verb: 'patch' }), [{ alsoAuthorizes: ['create'] }], 'an apply that creates is also authorized as create');
  t.match(await call(fake, 'PATCH', '/apis/apps/v1/namespaces/apps/deployments/d?fieldManager=me', { ...deployment, spec: { replicas: 3 } }, 'application/apply-patch+yaml'), { status: 200, body: { spec: { replicas: 3 }, metadata: { generation: 2 } } });
  t.match(await call(fake, 'PATCH', '/apis/apps/v1/namespaces/apps/deployments/d', { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json'), { status: 200, body: { metadata: { labels: { a: 'b' } }, spec: { replicas: 3 } } });
  t.equal((await call(fake, 'DELETE', '/api/v1/namespaces/apps/services/web')).status, 200);
  t.notOk(fake.get('apps/v1', 'Deployment', 'apps', 'd'), 'the owned Deployment is garbage collected');
});

t.test('discovery, authentication and the request log', async (t) => {
  const fake = await start(t);
  t.match((await call(fake, 'GET', '/apis/security.istio.io/v1')).body, { kind: 'APIResourceList', resources: [{ name: 'authorizationpolicies', kind: 'AuthorizationPolicy', namespaced: true }] });
  fake.uninstallType('authorizationpolicies');
  t.match(await call(fake, 'GET', '/apis/security.istio.io/v1/authorizationpolicies'), { status: 404, body: { message: 'the server could not find the requested resource' } });
  const anonymous = await fetch(`${fake.url}/api/v1/pods`);
  t.equal(anonymous.status, 401);
  t.match(fake.requests.at(-1), { user: 'system:anonymous', verb: 'list', resource: 'pods', status: 401 });
  fake.inject({ verb: 'list', resource: 'pods' }, 503);
  t.equal((await call(fake, 'GET', '/api/v1/pods')).status, 503);
  t.equal((await call(fake, 'GET', '/api/v1/pods')).status, 200, 'an injected failure is used up');
});
