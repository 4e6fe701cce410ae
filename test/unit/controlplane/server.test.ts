// The control plane end to end in-process: store in, delta xDS and certificates out, over real gRPC/TLS on loopback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { parseManifests, type Resource } from '../../../src/api';
import { NodeTokenAuthenticator } from '../../../src/controlplane/ca';
import { ControlPlane } from '../../../src/controlplane/server';
import { policyTranslator } from '../../../src/controlplane/translate/policies';
import { LocalStoreSource } from '../../../src/controlplane/sources/local-store-source';
import { DirectoryStore } from '../../../src/local/store/directory-store';
import { requestCertificate, type SpiffeId } from '../../../src/pki';
import { silentLogger } from '../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, decodeAddress, decodeAuthorization, DeltaXdsClient, xdsType, type Address, type Authorization } from '../../../src/xds';

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: { name: apps }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: apps }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;

function podObject(name: string, node: string, ip: string, labels: Record<string, string> = { app: 'web' }): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels },
    spec: { nodeName: node, serviceAccountName: name.startsWith('web') ? 'web' : 'client', containers: [{ name: 'main', command: ['sleep', '1'] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

interface Recorded {
  addresses: Map<string, Address>;
  authorizations: Map<string, Authorization>;
  updates: { typeUrl: string; upserts: string[]; removals: string[] }[];
}

t.test('control plane pushes minimal deltas and signs only node-local identities', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cp-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = DirectoryStore.open(path.join(dir, 'store'));
  const load = parseManifests(MANIFESTS, 'cp.yaml');
  t.same(load.errors, []);
  store.apply(load.resources);
  store.mutate((objects) => {
    for (const pod of [podObject('web-1', 'node-1', '10.44.1.2'), podObject('web-2', 'node-2', '10.44.2.2'), podObject('client-1', 'node-1', '10.44.1.3', { app: 'client' })]) {
      objects.set(`Pod/apps/${pod.metadata.name}`, pod);
    }
  });
  const stateDir = path.join(dir, 'cp');
  let port = 0;
  const startControlPlane = async () => {
    const controlPlane = new ControlPlane({
      source: new LocalStoreSource(store.dir, 30),
      stateDir,
      listenHost: '127.0.0.1',
      listenPort: port,
      trustDomain: 'cluster.local',
      policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }),
      logger: silentLogger(),
      debounceMs: 20,
    });
    await controlPlane.start();
    port = controlPlane.boundPort;
    return controlPlane;
  };
  let controlPlane = await startControlPlane();
  t.teardown(() => controlPlane.stop());
  const root = fs.readFileSync(path.join(stateDir, 'root-cert.pem'), 'utf8');
  const tokens = new NodeTokenAuthenticator(stateDir);
  const token = await tokens.tokenFor('node-1');

  const recorded: Recorded = { addresses: new Map(), authorizations: new Map(), updates: [] };
  let rejectNext: string | undefined;
  const client = new DeltaXdsClient({
    address: `127.0.0.1:${port}`,
    credentials: grpc.credentials.createSsl(Buffer.from(root)),
    channelOptions: { 'grpc.ssl_target_name_override': 'ambit-controlplane', 'grpc.default_authority': 'ambit-controlplane' },
    node: { id: 'ztunnel~10.99.0.11~ztunnel-node-1.istio-system~istio-system.svc.cluster.local' },
    metadataForCall: () => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return metadata;
    },
    types: [
      xdsType<Address>({
        typeUrl: ADDRESS_TYPE_URL,
        decode: decodeAddress,
        apply: (update) => {
          if (rejectNext && update.upserts.has(rejectNext)) throw new Error(`refusing ${rejectNext}`);
          for (const [name, value] of update.upserts) recorded.addresses.set(name, value);
          for (const name of update.removals) recorded.addresses.delete(name);
          recorded.updates.push({ typeUrl: ADDRESS_TYPE_URL, upserts: [...update.upserts.keys()].sort(), removals: [...update.removals] });
        },
      }),
      xdsType<Authorization>({
        typeUrl: AUTHORIZATION_TYPE_URL,
        decode: decodeAuthorization,
        apply: (update) => {
          for (const [name, value] of update.upserts) recorded.authorizations.set(name, value);
          for (const name of update.removals) recorded.authorizations.delete(name);
          recorded.updates.push({ typeUrl: AUTHORIZATION_TYPE_URL, upserts: [...update.upserts.keys()].sort(), removals: [...update.removals] });
        },
      }),
    ],
    backoff: { initialMs: 50, maxMs: 200 },
    logger: silentLogger(),
  });
  t.teardown(() => client.close());
  client.start();
  await client.synced(ADDRESS_TYPE_URL);
  await client.synced(AUTHORIZATION_TYPE_URL);

  const nextAddressUpdate = async (after: number) => {
    const deadline = Date.now() + 10_000;
    while (recorded.updates.filter((u) => u.typeUrl === ADDRESS_TYPE_URL).length <= after) {
      if (Date.now() > deadline) throw new Error('no address update arrived');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return recorded.updates.filter((u) => u.typeUrl === ADDRESS_TYPE_URL)[after];
  };
  const addressUpdates = () => recorded.updates.filter((u) => u.typeUrl === ADDRESS_TYPE_URL).length;

  t.test('initial state: every workload and service', async (t) => {
    t.same([...recorded.addresses.keys()].sort(), ['Kubernetes//Pod/apps/client-1', 'Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-2', 'apps/web.apps.svc.cluster.local']);
    const web1 = recorded.addresses.get('Kubernetes//Pod/apps/web-1')?.workload;
    t.equal(web1?.tunnelProtocol, 'NONE', 'not enrolled yet');
    t.equal(web1?.serviceAccount, 'web');
    t.equal(web1?.node, 'node-1');
    t.same(Object.keys(web1?.services ?? {}), ['apps/web.apps.svc.cluster.local']);
    t.same(web1?.services['apps/web.apps.svc.cluster.local'].ports, [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }]);
    t.equal(recorded.addresses.get('apps/web.apps.svc.cluster.local')?.service?.hostname, 'web.apps.svc.cluster.local');
  });

  t.test('labelling the namespace ambient re-sends exactly its workloads', async (t) => {
    const before = addressUpdates();
    store.mutate((objects) => {
      const ns = objects.get('Namespace/apps') as Resource;
      ns.metadata.labels = { 'istio.io/dataplane-mode': 'ambient' };
    });
    const update = await nextAddressUpdate(before);
    t.same(update.upserts, ['Kubernetes//Pod/apps/client-1', 'Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-2']);
    t.same(update.removals, []);
    t.equal(recorded.addresses.get('Kubernetes//Pod/apps/web-1')?.workload?.tunnelProtocol, 'HBONE');
  });

  t.test('a pod label change sends that workload and nothing else', async (t) => {
    const before = addressUpdates();
    store.mutate((objects) => {
      const pod = objects.get('Pod/apps/client-1') as Resource;
      pod.metadata.labels = { app: 'client', version: 'v2' };
    });
    const update = await nextAddressUpdate(before);
    t.same(update, { typeUrl: ADDRESS_TYPE_URL, upserts: ['Kubernetes//Pod/apps/client-1'], removals: [] });
    t.equal(recorded.addresses.get('Kubernetes//Pod/apps/client-1')?.workload?.canonicalRevision, 'v2');
  });

  t.test('deleting a pod sends only its removal', async (t) => {
    const before = addressUpdates();
    store.delete(['Pod/apps/web-2']);
    const update = await nextAddressUpdate(before);
    t.same(update, { typeUrl: ADDRESS_TYPE_URL, upserts: [], removals: ['Kubernetes//Pod/apps/web-2'] });
  });

  t.test('a policy edit sends only that authorization', async (t) => {
    const policy = (principal: string) => parseManifests(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-one, namespace: apps }\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source: { principals: ["${principal}"] }\n`, 'p.yaml').resources;
    store.apply(policy('cluster.local/ns/apps/sa/a'));
    await t.resolves(waitUntil(() => recorded.authorizations.has('apps/deny-one')));
    const before = recorded.updates.length;
    store.apply(policy('cluster.local/ns/apps/sa/b'));
    await waitUntil(() => decodedPrincipal(recorded.authorizations.get('apps/deny-one')) === 'cluster.local/ns/apps/sa/b');
    const since = recorded.updates.slice(before);
    t.same(since, [{ typeUrl: AUTHORIZATION_TYPE_URL, upserts: ['apps/deny-one'], removals: [] }], 'no address update, one authorization');
  });

  t.test('a NACKed update leaves the proxy on its last good config, and the control plane records it', async (t) => {
    const good = recorded.addresses.get('Kubernetes//Pod/apps/web-1');
    rejectNext = 'Kubernetes//Pod/apps/web-1';
    store.mutate((objects) => {
      const pod = objects.get('Pod/apps/web-1') as Resource;
      pod.metadata.labels = { app: 'web', version: 'bad' };
    });
    await waitUntil(async () => JSON.parse(await debugClients(controlPlane)).some((c: { types: { lastNack?: { message: string } }[] }) => c.types.some((type) => type.lastNack?.message.includes('refusing'))));
    t.same(recorded.addresses.get('Kubernetes//Pod/apps/web-1'), good, 'state unchanged');
    rejectNext = undefined;
  });

  t.test('after a control-plane restart the proxy gets only what changed while it was away', async (t) => {
    await controlPlane.stop();
    store.mutate((objects) => {
      objects.set('Pod/apps/web-3', podObject('web-3', 'node-2', '10.44.2.3'));
    });
    const before = recorded.updates.length;
    controlPlane = await startControlPlane();
    await waitUntil(() => recorded.addresses.has('Kubernetes//Pod/apps/web-3'));
    const since = recorded.updates.slice(before).filter((u) => u.upserts.length + u.removals.length > 0);
    const names = since.flatMap((u) => u.upserts).sort();
    // web-1 still carries the label its NACK refused, so it is resent; everything ACKed before stays put.
    t.same(names, ['Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-3']);
  });

  t.test('certificates: node-local identity signed, other node and bad token refused', async (t) => {
    const address = `127.0.0.1:${port}`;
    const serverName = 'ambit-controlplane';
    const issued = await requestCertificate({ address, rootPems: [root], token, identity: 'spiffe://cluster.local/ns/apps/sa/web' as SpiffeId, serverName });
    t.ok(issued.certChainPems.length >= 2, 'leaf and root');
    await t.rejects(requestCertificate({ address, rootPems: [root], token: await tokens.tokenFor('node-3'), identity: 'spiffe://cluster.local/ns/apps/sa/web' as SpiffeId, serverName }), { code: 'CERTIFICATE_REQUEST_FAILED', grpcStatusName: 'PERMISSION_DENIED' });
    await t.rejects(requestCertificate({ address, rootPems: [root], token: 'f'.repeat(64), identity: 'spiffe://cluster.local/ns/apps/sa/web' as SpiffeId, serverName }), { code: 'CERTIFICATE_REQUEST_FAILED', grpcStatusName: 'UNAUTHENTICATED' });
    // client-1 runs on node-1 only; node-2's ztunnel may not have its identity.
    await t.rejects(requestCertificate({ address, rootPems: [root], token: await tokens.tokenFor('node-2'), identity: 'spiffe://cluster.local/ns/apps/sa/client' as SpiffeId, serverName }), { code: 'CERTIFICATE_REQUEST_FAILED', grpcStatusName: 'PERMISSION_DENIED' });
  });
});

function decodedPrincipal(authorization: Authorization | undefined): string | undefined {
  return authorization?.rules[0]?.clauses[0]?.matches[0]?.principals[0]?.exact;
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function debugClients(controlPlane: ControlPlane): Promise<string> {
  return JSON.stringify((controlPlane as unknown as { xds: { clients(): unknown } }).xds.clients());
}
