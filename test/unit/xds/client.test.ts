// DeltaXdsClient against the real DeltaXdsServer over gRPC/TLS on 127.0.0.1: sync, deltas, reconnect with
// initial_resource_versions, NACK on a failing apply, debounced bursts, refused authentication.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  DeltaXdsClient,
  XdsClientClosedError,
  decodeAddress,
  decodeAuthorization,
  encodeAddress,
  encodeAuthorization,
  xdsType,
  type Address,
  type Authorization,
  type XdsUpdate,
} from '../../../src/xds';
import {
  GOOD_TOKEN,
  MemoryCatalog,
  bearer,
  captureLogger,
  clientCredentials,
  makeTlsMaterial,
  startXdsServer,
  waitFor,
  type TestLike,
  type TlsMaterial,
} from '../controlplane/push/fixtures/xds-harness';
import type { XdsTypeDebug } from '../../../src/controlplane/push';

function addressDebug(server: { xds: { clients(): ReadonlyArray<{ types: ReadonlyArray<XdsTypeDebug> }> } }): XdsTypeDebug | undefined {
  return server.xds.clients()[0]?.types.find((type) => type.typeUrl === ADDRESS_TYPE_URL);
}

const NODE_ID = 'ztunnel~10.0.0.2~ztunnel-abc.istio-system~istio-system.svc.cluster.local';

function workload(uid: string, ip: number, serviceAccount = 'default'): Uint8Array {
  return encodeAddress({ workload: { uid, name: uid, namespace: 'default', serviceAccount, addresses: [new Uint8Array([10, 0, 0, ip])] } });
}

/** A proxy-side store: validates the whole update first, then applies it, so a throw leaves it untouched. */
class AddressStore {
  readonly byName = new Map<string, Address>();
  readonly updates: Array<{ upserts: string[]; removals: string[] }> = [];

  apply(update: XdsUpdate<Address>): void {
    for (const [name, address] of update.upserts) {
      if (address.workload?.serviceAccount === 'forbidden') throw new Error(`workload ${name}: service account "forbidden" is not allowed`);
    }
    for (const [name, address] of update.upserts) this.byName.set(name, address);
    for (const name of update.removals) this.byName.delete(name);
    this.updates.push({ upserts: [...update.upserts.keys()].sort(), removals: [...update.removals].sort() });
  }

  uids(): string[] {
    return [...this.byName.values()].map((a) => a.workload?.uid ?? a.service?.hostname ?? '?').sort();
  }
}

interface ClientSetup {
  readonly client: DeltaXdsClient;
  readonly addresses: AddressStore;
  readonly policies: Map<string, Authorization>;
  metadataCalls: number;
}

function makeClient(t: TestLike, address: string, tls: TlsMaterial, token = GOOD_TOKEN, logger = pino({ level: 'silent' })): ClientSetup {
  const addresses = new AddressStore();
  const policies = new Map<string, Authorization>();
  const setup: ClientSetup = {
    addresses,
    policies,
    metadataCalls: 0,
    client: new DeltaXdsClient({
      address,
      credentials: clientCredentials(tls),
      node: { id: NODE_ID, metadata: { NAME: 'ztunnel-abc', NAMESPACE: 'istio-system' } },
      metadataForCall: () => {
        setup.metadataCalls += 1;
        return bearer(token);
      },
      types: [
        xdsType<Address>({ typeUrl: ADDRESS_TYPE_URL, decode: decodeAddress, apply: (update) => addresses.apply(update) }),
        xdsType<Authorization>({
          typeUrl: AUTHORIZATION_TYPE_URL,
          decode: decodeAuthorization,
          apply: (update) => {
            for (const [name, policy] of update.upserts) policies.set(name, policy);
            for (const name of update.removals) policies.delete(name);
          },
        }),
      ],
      backoff: { initialMs: 20, maxMs: 100 },
      logger,
    }),
  };
  t.teardown(() => setup.client.close());
  return setup;
}

t.test('syncs the initial state and applies each change, removal and addition; ACKed versions follow', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  catalog.set(ADDRESS_TYPE_URL, 'w2', 'v1', workload('w2', 2));
  catalog.set(AUTHORIZATION_TYPE_URL, 'default/deny-all', 'v1', encodeAuthorization({ name: 'deny-all', namespace: 'default', action: 'DENY' }));
  const server = await startXdsServer(t, { catalog, tls });
  const { client, addresses, policies } = makeClient(t, server.address, tls);
  const syncedEvents: string[] = [];
  client.on('synced', (typeUrl) => syncedEvents.push(typeUrl));
  client.start();

  await client.synced(ADDRESS_TYPE_URL);
  await client.synced(AUTHORIZATION_TYPE_URL);
  t.same(addresses.uids(), ['w1', 'w2'], 'initial workloads applied');
  t.equal(policies.get('default/deny-all')?.action, 'DENY', 'initial policy applied');
  t.same(syncedEvents.sort(), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL].sort(), 'synced emitted once per type');
  t.same(addresses.updates, [{ upserts: ['w1', 'w2'], removals: [] }], 'one update for the initial state');

  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v2', workload('w1', 11));
  await waitFor(() => addresses.updates.length === 2, 'change applied');
  t.same(addresses.updates[1], { upserts: ['w1'], removals: [] }, 'only the changed workload');
  t.same([...(addresses.byName.get('w1')?.workload?.addresses[0] ?? [])], [10, 0, 0, 11]);

  catalog.delete(ADDRESS_TYPE_URL, 'w2');
  await waitFor(() => addresses.updates.length === 3, 'removal applied');
  t.same(addresses.updates[2], { upserts: [], removals: ['w2'] });

  catalog.set(ADDRESS_TYPE_URL, 'w3', 'v1', workload('w3', 3));
  await waitFor(() => addresses.updates.length === 4, 'addition applied');
  t.same(addresses.updates[3], { upserts: ['w3'], removals: [] });
  t.same(addresses.uids(), ['w1', 'w3']);

  t.same(Object.fromEntries(client.ackedVersions(ADDRESS_TYPE_URL)), { w1: 'v2', w3: 'v1' }, 'client remembers ACKed versions');
  await waitFor(() => server.xds.clients()[0]?.types.every((type) => type.pendingNonce === undefined) === true, 'server saw the ACKs');
  const debug = server.xds.clients()[0];
  t.equal(debug?.nodeId, NODE_ID);
  t.same(debug?.types.map((type) => type.typeUrl), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL].sort());
  t.same(debug?.types.find((type) => type.typeUrl === ADDRESS_TYPE_URL)?.acked, { w1: 'v2', w3: 'v1' }, 'server agrees');
});

t.test('after a reconnect only what changed while disconnected arrives, with removals', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'same', 'v1', workload('same', 1));
  catalog.set(ADDRESS_TYPE_URL, 'changed', 'v1', workload('changed', 2));
  catalog.set(ADDRESS_TYPE_URL, 'gone', 'v1', workload('gone', 3));
  const first = await startXdsServer(t, { catalog, tls });
  const setup = makeClient(t, first.address, tls);
  const { client, addresses } = setup;
  const disconnects: grpc.status[] = [];
  client.on('disconnected', (_err, code) => disconnects.push(code));
  client.start();
  await client.synced(ADDRESS_TYPE_URL);
  t.same(addresses.uids(), ['changed', 'gone', 'same']);
  await waitFor(() => addressDebug(first)?.pendingNonce === undefined, 'initial ACK reached the server');

  first.stop();
  await waitFor(() => disconnects.length >= 1, 'client noticed the disconnect');
  catalog.set(ADDRESS_TYPE_URL, 'changed', 'v2', workload('changed', 22));
  catalog.delete(ADDRESS_TYPE_URL, 'gone');
  catalog.set(ADDRESS_TYPE_URL, 'new', 'v1', workload('new', 4));
  const updatesBefore = addresses.updates.length;
  const second = await startXdsServer(t, { catalog, tls, port: first.port });

  await waitFor(() => addresses.updates.length > updatesBefore, 'update after reconnect');
  t.same(addresses.updates[updatesBefore], { upserts: ['changed', 'new'], removals: ['gone'] }, 'the minimal delta: changed + new, gone removed');
  t.same(addresses.uids(), ['changed', 'new', 'same']);
  t.same([...(addresses.byName.get('changed')?.workload?.addresses[0] ?? [])], [10, 0, 0, 22]);
  t.ok(setup.metadataCalls >= 2, 'call metadata is rebuilt for the new stream');
  await waitFor(() => addressDebug(second)?.pendingNonce === undefined, 'ACK after reconnect');
  t.same(addressDebug(second)?.acked, { changed: 'v2', new: 'v1', same: 'v1' }, 'new server knows what the client holds');
  t.same(Object.fromEntries(client.ackedVersions(ADDRESS_TYPE_URL)), { changed: 'v2', new: 'v1', same: 'v1' });
});

t.test('a NACK leaves the applied state unchanged; the server records why; a later good change applies', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  const serverLog = captureLogger();
  const clientLog = captureLogger();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  const server = await startXdsServer(t, { catalog, tls, logger: serverLog.logger });
  const { client, addresses } = makeClient(t, server.address, tls, GOOD_TOKEN, clientLog.logger);
  const nacks: string[] = [];
  client.on('nack', (_typeUrl, message) => nacks.push(message));
  client.start();
  await client.synced(ADDRESS_TYPE_URL);

  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v2', workload('w1', 2));
  catalog.set(ADDRESS_TYPE_URL, 'w2', 'v1', workload('w2', 5, 'forbidden'));
  await waitFor(() => nacks.length === 1, 'NACK sent');
  t.match(nacks[0], /workload w2: service account "forbidden" is not allowed/);
  t.same(addresses.uids(), ['w1'], 'nothing of the rejected response was applied');
  t.same([...(addresses.byName.get('w1')?.workload?.addresses[0] ?? [])], [10, 0, 0, 1], 'w1 keeps its old address');
  t.same(Object.fromEntries(client.ackedVersions(ADDRESS_TYPE_URL)), { w1: 'v1' }, 'the client remembers only ACKed versions');

  await waitFor(() => addressDebug(server)?.lastNack !== undefined, 'server recorded the NACK');
  const record = addressDebug(server)?.lastNack;
  t.match(record?.message, /service account "forbidden"/, 'server keeps the reason');
  t.equal(record?.code, 3, 'error_detail.code INVALID_ARGUMENT');
  t.equal(server.xds.stats()[ADDRESS_TYPE_URL]?.nacks, 1);
  t.ok(
    serverLog.lines.some((l) => l.nodeId === NODE_ID && String(l.reason).includes('forbidden') && String(l.msg).includes('NACK')),
    'server log names the node and the reason',
  );
  t.ok(clientLog.lines.some((l) => String(l.reason).includes('forbidden')), 'client log says why it rejected');

  catalog.set(ADDRESS_TYPE_URL, 'w2', 'v2', workload('w2', 5, 'reviews'));
  await waitFor(() => addresses.byName.has('w2'), 'good change applied');
  t.same(addresses.updates.at(-1), { upserts: ['w2'], removals: [] }, 'only the changed resource is pushed after the NACK');
  t.same(addresses.uids(), ['w1', 'w2']);
  t.same([...(addresses.byName.get('w1')?.workload?.addresses[0] ?? [])], [10, 0, 0, 1], 'w1 v2 stays unapplied until it changes again');
  t.same(Object.fromEntries(client.ackedVersions(ADDRESS_TYPE_URL)), { w1: 'v1', w2: 'v2' });
});

t.test('a burst of 50 changes produces few responses and ends in the right state', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w0', 'v0', workload('w0', 1));
  // the production defaults: 100 ms quiet period, 1 s max delay
  const server = await startXdsServer(t, { catalog, tls, debounceMs: 100, maxDelayMs: 1000 });
  const { client, addresses } = makeClient(t, server.address, tls);
  client.start();
  await client.synced(ADDRESS_TYPE_URL);
  const pushesBefore = server.xds.stats()[ADDRESS_TYPE_URL]?.pushes ?? 0;

  for (let i = 1; i <= 50; i++) {
    catalog.set(ADDRESS_TYPE_URL, `w${i % 10}`, `v${i}`, workload(`w${i % 10}`, (i % 200) + 1));
    if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  catalog.delete(ADDRESS_TYPE_URL, 'w0');
  await waitFor(() => client.ackedVersions(ADDRESS_TYPE_URL).get('w9') === 'v49' && !addresses.byName.has('w0'), 'final state');
  const pushes = (server.xds.stats()[ADDRESS_TYPE_URL]?.pushes ?? 0) - pushesBefore;
  t.ok(pushes >= 1 && pushes <= 3, `51 changes were coalesced into ${pushes} response(s)`);
  t.same(addresses.uids(), ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8', 'w9']);
  t.same(
    Object.fromEntries(client.ackedVersions(ADDRESS_TYPE_URL)),
    { w1: 'v41', w2: 'v42', w3: 'v43', w4: 'v44', w5: 'v45', w6: 'v46', w7: 'v47', w8: 'v48', w9: 'v49' },
    'every workload at its last version',
  );
});

t.test('a refused stream reports UNAUTHENTICATED, keeps retrying without crashing, and close() ends it', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  catalog.set(ADDRESS_TYPE_URL, 'w1', 'v1', workload('w1', 1));
  const server = await startXdsServer(t, { catalog, tls });
  const { client, addresses } = makeClient(t, server.address, tls, 'Bearer wrong');
  const codes: grpc.status[] = [];
  client.on('disconnected', (_err, code) => codes.push(code));
  client.start();
  const synced = client.synced(ADDRESS_TYPE_URL);
  await waitFor(() => codes.length >= 2, 'two refused attempts');
  t.ok(codes.every((code) => code === grpc.status.UNAUTHENTICATED), 'every attempt is refused with UNAUTHENTICATED');
  t.same(addresses.uids(), [], 'nothing applied');
  client.close();
  await t.rejects(synced, XdsClientClosedError, 'synced() rejects once the client is closed');
  await t.rejects(client.synced('type.googleapis.com/unknown.Type'), /no handler registered/);
});

t.test('an unreachable control plane only produces retries', async (t) => {
  const tls = makeTlsMaterial(t);
  const catalog = new MemoryCatalog();
  const server = await startXdsServer(t, { catalog, tls });
  const address = server.address;
  server.stop();
  const { client } = makeClient(t, address, tls);
  const codes: grpc.status[] = [];
  client.on('disconnected', (_err, code) => codes.push(code));
  client.start();
  await waitFor(() => codes.length >= 3, 'three failed attempts');
  t.ok(codes.every((code) => code === grpc.status.UNAVAILABLE), 'attempts fail with UNAVAILABLE');
  client.close();
  const settled = codes.length;
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.equal(codes.length, settled, 'no more attempts after close()');
});
