// Who may read a waypoint's config over xDS: a node agent any, a waypoint authenticated as itself only its own Gateway's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { parseManifests } from '../../../src/api';
import { UnauthenticatedCaller, type CaCaller } from '../../../src/controlplane/ca';
import { ControlPlane } from '../../../src/controlplane/server';
import { LocalStoreSource } from '../../../src/controlplane/sources/local-store-source';
import { policyTranslator } from '../../../src/controlplane/translate/policies';
import { buildWaypointConfig } from '../../../src/controlplane/translate/waypoint';
import { DirectoryStore } from '../../../src/local/store/directory-store';
import { spiffeIdFor } from '../../../src/pki';
import { silentLogger } from '../../../src/telemetry/logger';
import { decodeWaypointConfig, DeltaXdsClient, WAYPOINT_TYPE_URL, xdsType } from '../../../src/xds';

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: { name: apps }
---
` + ['east', 'west']
  .map(
    (name) => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: apps }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
`,
  )
  .join('---\n');

const CALLERS: Record<string, CaCaller> = {
  'node-agent': { node: 'node-1', caller: 'istio-system/ztunnel (pod ztunnel-1)' },
  'east-waypoint': { node: 'node-2', caller: 'apps/east (pod east-1)', identity: spiffeIdFor('cluster.local', 'apps', 'east') },
};

t.test('a waypoint authenticated as itself reads only its own Gateway\'s config', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-wp-access-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = DirectoryStore.open(path.join(dir, 'store'));
  const load = parseManifests(MANIFESTS, 'gateways.yaml');
  t.same(load.errors, []);
  store.apply(load.resources);
  const stateDir = path.join(dir, 'cp');
  const controlPlane = new ControlPlane({
    source: new LocalStoreSource(store.dir, 30),
    stateDir,
    listenHost: '127.0.0.1',
    listenPort: 0,
    trustDomain: 'cluster.local',
    policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }),
    waypointConfig: buildWaypointConfig,
    logger: silentLogger(),
    debounceMs: 10,
    authenticate: async (metadata) => {
      const caller = CALLERS[String(metadata.get('authorization')[0] ?? '').replace(/^Bearer /, '')];
      if (!caller) throw new UnauthenticatedCaller('unknown test token');
      return caller;
    },
  });
  await controlPlane.start();
  t.teardown(() => controlPlane.stop());
  const root = fs.readFileSync(path.join(stateDir, 'root-cert.pem'));

  const configsSeen = async (token: string, waypoint: string): Promise<string[]> => {
    const names: string[] = [];
    const client = new DeltaXdsClient({
      address: `127.0.0.1:${controlPlane.boundPort}`,
      credentials: grpc.credentials.createSsl(root),
      channelOptions: { 'grpc.ssl_target_name_override': 'ambit-controlplane', 'grpc.default_authority': 'ambit-controlplane' },
      node: { id: `waypoint~10.44.2.9~${waypoint}-1.apps~apps.svc.cluster.local`, metadata: { WAYPOINT_NAME: waypoint, WAYPOINT_NAMESPACE: 'apps' } },
      metadataForCall: () => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token}`);
        return metadata;
      },
      types: [xdsType({ typeUrl: WAYPOINT_TYPE_URL, decode: decodeWaypointConfig, apply: (update) => names.push(...update.upserts.keys()) })],
      backoff: { initialMs: 50, maxMs: 200 },
      logger: silentLogger(),
    });
    client.start();
    try {
      await client.synced(WAYPOINT_TYPE_URL);
    } finally {
      client.close();
    }
    return names;
  };

  t.same(await configsSeen('east-waypoint', 'east'), ['apps/east'], 'its own config');
  t.same(await configsSeen('east-waypoint', 'west'), [], 'claiming to be another waypoint yields nothing');
  t.same(await configsSeen('node-agent', 'west'), ['apps/west'], 'a node agent (local mode\'s waypoints use the node token) may read any');
});
