// DeltaXdsServer over real gRPC/TLS on 127.0.0.1, driven by a raw ADS stream so the assertions are about the
// exact resources, removals and nonces on the wire.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_TYPE_URL,
  decodeAddress,
  encodeAddress,
  encodeAuthorization,
  encodeWaypointConfig,
} from '../../../../src/xds';
import type { DeltaDiscoveryResponse } from '../../../../src/xds';
import { DeltaXdsServer } from '../../../../src/controlplane/push';
import {
  MemoryCatalog,
  RawAdsStream,
  bearer,
  captureLogger,
  makeTlsMaterial,
  sleep,
  startXdsServer,
  waitFor,
} from './fixtures/xds-harness';

const NODE = { id: 'ztunnel~10.0.0.2~ztunnel-abc.istio-system~istio-system.svc.cluster.local', metadata: { NAME: 'ztunnel-abc' } };

function workload(uid: string, ip: number): Uint8Array {
  return encodeAddress({ workload: { uid, name: uid, namespace: 'default', addresses: [new Uint8Array([10, 0, 0, ip])], tunnelProtocol: 'HBONE' } });
}

function names(response: DeltaDiscoveryResponse): string[] {
  return response.resources.map((r) => r.name);
}

function versions(response: DeltaDiscoveryResponse): Record<string, string> {
  return Object.fromEntries(response.resources.map((r) => [r.name, r.version]));
}

t.test('initial state arrives in full, then each change arrives as the minimal delta', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1), ['default/10.0.0.1']);
  catalog.set(ADDRESS_TYPE_URL, 'w2', 'v1', workload('w2', 2));
  catalog.set(ADDRESS_TYPE_URL, 'default/svc.default.svc.cluster.local', 'v1', encodeAddress({ service: { name: 'svc', namespace: 'default' } }));
  const server = await startXdsServer(t, { catalog, tls });
  const ads = new RawAdsStream(t, server.address, tls);

  ads.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  const initial = await ads.next();
  t.equal(initial.typeUrl, ADDRESS_TYPE_URL);
  t.same(names(initial), ['default/svc.default.svc.cluster.local', 'w1', 'w2'], 'every resource, sorted by name');
  t.same(initial.removedResources, []);
  t.not(initial.nonce, '', 'responses carry a nonce');
  const w1 = initial.resources.find((r) => r.name === 'w1');
  t.same(w1?.aliases, ['default/10.0.0.1'], 'aliases travel with the resource');
  t.equal(w1?.resource?.typeUrl, ADDRESS_TYPE_URL, 'Any carries the resource type URL');
  t.equal(decodeAddress(w1?.resource?.value ?? new Uint8Array()).workload?.uid, 'w1', 'resource bytes are the catalog bytes');
  ads.ack(initial);
  await waitFor(() => Object.keys(server.xds.clients()[0]?.types[0]?.acked ?? {}).length === 3, 'ACK recorded');
  const debug = server.xds.clients()[0];
  t.equal(debug?.nodeId, NODE.id, 'debug view names the node');
  t.same(debug?.types[0]?.acked, { 'default/svc.default.svc.cluster.local': 'v1', w1: 'v1', w2: 'v1' });
  t.equal(debug?.types[0]?.wildcard, true, 'empty first subscribe = wildcard');
  t.equal(catalog.seenClients[0]?.caller.identity, 'spiffe://cluster.local/ns/istio-system/sa/ztunnel', 'catalog sees the authenticated caller');
  t.same(catalog.seenClients[0]?.metadata, { NAME: 'ztunnel-abc' }, 'catalog sees the node metadata');

  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v2', workload('w1', 11));
  const changed = await ads.next();
  t.same(names(changed), ['w1'], 'a changed resource is sent alone');
  t.same(versions(changed), { w1: 'v2' });
  t.same(changed.removedResources, []);
  t.not(changed.nonce, initial.nonce, 'a fresh nonce per response');
  ads.ack(changed);

  catalog.delete(ADDRESS_TYPE_URL, 'w2');
  const removed = await ads.next();
  t.same(names(removed), [], 'a removal sends no resources');
  t.same(removed.removedResources, ['w2'], 'and lists the removed name');
  ads.ack(removed);

  catalog.set(ADDRESS_TYPE_URL, 'w3', 'v1', workload('w3', 3));
  const added = await ads.next();
  t.same(names(added), ['w3'], 'an addition is sent alone');
  t.same(added.removedResources, []);
  ads.ack(added);

  await waitFor(() => server.xds.clients()[0]?.types[0]?.pendingNonce === undefined, 'last ACK recorded');
  t.same(server.xds.clients()[0]?.types[0]?.acked, { 'default/svc.default.svc.cluster.local': 'v1', w1: 'v2', w3: 'v1' }, 'acked versions follow the deltas');
  const stats = server.xds.stats()[ADDRESS_TYPE_URL];
  t.equal(stats?.pushes, 4, 'four pushes counted');
  t.equal(stats?.resources, 5, 'resources counted');
  t.equal(stats?.removals, 1, 'removals counted');
  t.ok((stats?.bytes ?? 0) > 0, 'bytes counted');
});

t.test('explicit subscriptions get only their names; "*" is a wildcard; unknown names are reported removed', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(AUTHORIZATION_TYPE_URL, 'default/p1', 'v1', encodeAuthorization({ name: 'p1', namespace: 'default' }));
  catalog.set(AUTHORIZATION_TYPE_URL, 'default/p2', 'v1', encodeAuthorization({ name: 'p2', namespace: 'default' }));
  const server = await startXdsServer(t, { catalog, tls });

  const wildcard = new RawAdsStream(t, server.address, tls);
  wildcard.send({ node: { id: 'wild' }, typeUrl: AUTHORIZATION_TYPE_URL, resourceNamesSubscribe: ['*'] });
  const all = await wildcard.next();
  t.same(names(all), ['default/p1', 'default/p2'], '"*" subscribes everything');
  wildcard.ack(all);

  const explicit = new RawAdsStream(t, server.address, tls);
  explicit.send({ node: { id: 'explicit' }, typeUrl: AUTHORIZATION_TYPE_URL, resourceNamesSubscribe: ['default/p1', 'default/missing'] });
  const some = await explicit.next();
  t.same(names(some), ['default/p1'], 'only the subscribed, existing name');
  t.same(some.removedResources, ['default/missing'], 'a subscribed name that does not exist is reported removed');
  explicit.ack(some);

  catalog.set(AUTHORIZATION_TYPE_URL, 'default/p2', 'v2', encodeAuthorization({ name: 'p2', namespace: 'default', action: 'DENY' }));
  const p2ForWildcard = await wildcard.next();
  t.same(names(p2ForWildcard), ['default/p2'], 'the wildcard client gets p2');
  wildcard.ack(p2ForWildcard);

  explicit.send({ typeUrl: AUTHORIZATION_TYPE_URL, resourceNamesSubscribe: ['default/p2'], resourceNamesUnsubscribe: ['default/p1'] });
  const subscribed = await explicit.next();
  t.same(names(subscribed), ['default/p2'], 'the explicit client gets p2 only once it subscribes');
  t.same(subscribed.removedResources, [], 'an unsubscribed name is not reported removed');
  explicit.ack(subscribed);

  catalog.set(AUTHORIZATION_TYPE_URL, 'default/p1', 'v2', encodeAuthorization({ name: 'p1', namespace: 'default' }));
  const p1ForWildcard = await wildcard.next();
  t.same(names(p1ForWildcard), ['default/p1']);
  await sleep(100);
  t.equal(explicit.pendingCount(), 0, 'the explicit client no longer hears about p1');
  const explicitDebug = server.xds.clients().find((c) => c.nodeId === 'explicit');
  t.same(explicitDebug?.types[0]?.names, ['default/missing', 'default/p2'], 'debug view lists explicit names');
  t.equal(explicitDebug?.types[0]?.wildcard, false);
});

t.test('one response in flight per type: changes wait for the ACK and are coalesced', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  catalog.set(WAYPOINT_TYPE_URL, 'default/waypoint', 'v1', encodeWaypointConfig({ name: 'waypoint', namespace: 'default', json: '{}' }));
  const server = await startXdsServer(t, { catalog, tls });
  const ads = new RawAdsStream(t, server.address, tls);

  ads.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  const first = await ads.next();
  t.same(names(first), ['w1']);
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v2', workload('w1', 2));
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v3', workload('w1', 3));
  server.xds.flush();

  ads.send({ typeUrl: WAYPOINT_TYPE_URL });
  const waypoint = await ads.next();
  t.equal(waypoint.typeUrl, WAYPOINT_TYPE_URL, 'another type is not blocked by the un-ACKed Address response');
  t.same(names(waypoint), ['default/waypoint']);
  await sleep(100);
  t.equal(ads.pendingCount(), 0, 'no second Address response before the ACK');

  ads.ack(first);
  const next = await ads.next();
  t.equal(next.typeUrl, ADDRESS_TYPE_URL);
  t.same(versions(next), { w1: 'v3' }, 'after the ACK, one response with the latest version');
});

t.test('a reconnecting client gets only what changed, and removals for what disappeared', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'same', 'v1', workload('same', 1));
  catalog.set(ADDRESS_TYPE_URL, 'changed', 'v2', workload('changed', 2));
  catalog.set(ADDRESS_TYPE_URL, 'new', 'v1', workload('new', 3));
  const server = await startXdsServer(t, { catalog, tls });
  const ads = new RawAdsStream(t, server.address, tls);

  ads.send({
    node: NODE,
    typeUrl: ADDRESS_TYPE_URL,
    initialResourceVersions: { same: 'v1', changed: 'v1', gone: 'v1' },
  });
  const response = await ads.next();
  t.same(names(response), ['changed', 'new'], 'only resources whose version differs or that the client lacks');
  t.same(versions(response), { changed: 'v2', new: 'v1' });
  t.same(response.removedResources, ['gone'], 'names the client holds that no longer exist');

  const upToDate = new RawAdsStream(t, server.address, tls);
  upToDate.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL, initialResourceVersions: { same: 'v1', changed: 'v2', new: 'v1' } });
  const empty = await upToDate.next();
  t.same(names(empty), [], 'an up-to-date client still gets a (empty) response, so it knows it is synced');
  t.same(empty.removedResources, []);
});

t.test('a NACK is logged and recorded with its reason; the same versions are not resent', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  const { logger, lines } = captureLogger();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  const server = await startXdsServer(t, { catalog, tls, logger });
  const ads = new RawAdsStream(t, server.address, tls);
  ads.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  ads.ack(await ads.next());

  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v2', workload('w1', 2));
  const bad = await ads.next();
  ads.send({ typeUrl: ADDRESS_TYPE_URL, responseNonce: bad.nonce, errorDetail: { code: 3, message: 'w1: address 10.0.0.2 is not in any pod CIDR' } });
  await waitFor(() => server.xds.clients()[0]?.types[0]?.lastNack !== undefined, 'NACK recorded');

  const record = server.xds.clients()[0]?.types[0]?.lastNack;
  t.equal(record?.message, 'w1: address 10.0.0.2 is not in any pod CIDR', 'debug view keeps the reason');
  t.equal(record?.nonce, bad.nonce);
  t.same(record?.rejectedVersions, { w1: 'v2' });
  t.same(server.xds.clients()[0]?.types[0]?.acked, { w1: 'v1' }, 'the ACKed version stays the old one');
  t.equal(server.xds.stats()[ADDRESS_TYPE_URL]?.nacks, 1, 'NACK counted');
  const logged = lines.find((l) => l.msg?.toString().includes('NACK'));
  t.equal(logged?.nodeId, NODE.id, 'log line names the node');
  t.equal(logged?.reason, 'w1: address 10.0.0.2 is not in any pod CIDR', 'log line carries the reason');

  server.xds.flush();
  await sleep(100);
  t.equal(ads.pendingCount(), 0, 'the rejected versions are not pushed again');

  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v3', workload('w1', 3));
  const fixed = await ads.next();
  t.same(versions(fixed), { w1: 'v3' }, 'the next change is pushed');
  ads.ack(fixed);
  await waitFor(() => server.xds.clients()[0]?.types[0]?.acked.w1 === 'v3', 'ACK of the fix');
});

t.test('metrics hooks see pushes and NACKs', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  const server = await startXdsServer(t, { catalog, tls });
  const pushes: Array<{ typeUrl: string; bytes: number }> = [];
  const nackMessages: string[] = [];
  const hooked = new DeltaXdsServer({
    catalog,
    authenticate: async () => ({ identity: 'x' }),
    logger: captureLogger().logger,
    debounceMs: 5,
    metrics: { onPush: (e) => pushes.push({ typeUrl: e.typeUrl, bytes: e.bytes }), onNack: (e) => nackMessages.push(e.message) },
  });
  const grpcServer = new grpc.Server();
  hooked.addTo(grpcServer);
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false), (e, p) => (e ? reject(e) : resolve(p))),
  );
  t.teardown(() => {
    hooked.close();
    grpcServer.forceShutdown();
  });
  const ads = new RawAdsStream(t, `127.0.0.1:${port}`, tls);
  ads.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  const response = await ads.next();
  ads.send({ typeUrl: ADDRESS_TYPE_URL, responseNonce: response.nonce, errorDetail: { code: 3, message: 'nope' } });
  await waitFor(() => nackMessages.length === 1, 'onNack');
  t.equal(pushes.length, 1);
  t.equal(pushes[0]?.typeUrl, ADDRESS_TYPE_URL);
  t.ok((pushes[0]?.bytes ?? 0) > 0);
  t.same(nackMessages, ['nope']);
  t.equal(server.xds.stats()[ADDRESS_TYPE_URL], undefined, 'stats are per server instance');
});

t.test('an unauthenticated stream is refused with UNAUTHENTICATED', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  const server = await startXdsServer(t, { catalog, tls });

  const anonymous = new RawAdsStream(t, server.address, tls, new grpc.Metadata());
  anonymous.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  const status = await anonymous.status;
  t.equal(status.code, grpc.status.UNAUTHENTICATED);
  t.match(status.details, /missing or invalid bearer token/, 'the reason reaches the client');
  t.same(anonymous.received, [], 'no resources were sent');

  const wrong = new RawAdsStream(t, server.address, tls, bearer('Bearer stolen'));
  wrong.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  t.equal((await wrong.status).code, grpc.status.UNAUTHENTICATED);
  t.same(server.xds.clients(), [], 'refused streams do not appear in the debug view');
});

t.test('a first request without node.id is refused with INVALID_ARGUMENT', async (t) => {
  const tls = makeTlsMaterial(t);
  const server = await startXdsServer(t, { catalog: new MemoryCatalog(), tls });
  const ads = new RawAdsStream(t, server.address, tls);
  ads.send({ typeUrl: ADDRESS_TYPE_URL });
  const status = await ads.status;
  t.equal(status.code, grpc.status.INVALID_ARGUMENT);
  t.match(status.details, /node\.id/);
});

t.test('closing the server ends streams with UNAVAILABLE and drops them from the debug view', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  const server = await startXdsServer(t, { catalog, tls });
  const ads = new RawAdsStream(t, server.address, tls);
  ads.send({ node: NODE, typeUrl: ADDRESS_TYPE_URL });
  await ads.next();
  t.equal(server.xds.clients().length, 1);
  server.xds.close();
  t.equal((await ads.status).code, grpc.status.UNAVAILABLE);
  t.same(server.xds.clients(), []);
});
