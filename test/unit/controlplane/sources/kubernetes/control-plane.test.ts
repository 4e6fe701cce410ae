// The ControlPlane unchanged, fed by the Kubernetes source: a proxy over real gRPC/TLS gets the same minimal deltas
// from API-server changes as it does from the local store, and /ready waits for the informers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { NodeTokenAuthenticator } from '../../../../../src/controlplane/ca';
import { ControlPlane } from '../../../../../src/controlplane/server';
import { KubernetesSource, WATCHED_KINDS } from '../../../../../src/controlplane/sources/kubernetes';
import { policyTranslator } from '../../../../../src/controlplane/translate/policies';
import { KubeConnection } from '../../../../../src/kube/connection';
import { silentLogger } from '../../../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, decodeAddress, DeltaXdsClient, xdsType, type Address } from '../../../../../src/xds';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver';
import { namespace, pod, service } from './fixtures/twin-clusters';

t.test('a proxy connected to a control plane on the Kubernetes source gets minimal deltas from API changes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cp-kube-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  for (const object of [namespace('apps'), service('web', 'apps', '10.96.0.20', { app: 'web' }), pod('web-1', 'apps', 'node-1', '10.44.1.2', { app: 'web' }, 'web'), pod('web-2', 'apps', 'node-2', '10.44.2.2', { app: 'web' }, 'web')]) {
    fake.seed(object as unknown as Record<string, unknown>);
  }
  const held = fake.hold({ verb: 'list', resource: 'services' });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const stateDir = path.join(dir, 'cp');
  const controlPlane = new ControlPlane({
    source: new KubernetesSource({ connection, logger: silentLogger(), batchMs: 10 }),
    stateDir,
    listenHost: '127.0.0.1',
    listenPort: 0,
    trustDomain: 'cluster.local',
    policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }),
    logger: silentLogger(),
    debounceMs: 10,
  });
  let started = false;
  const starting = controlPlane.start().then(() => (started = true));
  t.teardown(() => controlPlane.stop());
  while (fake.calls({ verb: 'watch' }).length < WATCHED_KINDS.length - 1 || held.waiting() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  t.notOk(started, 'the control plane does not serve before every informer has listed');
  held.release();
  await starting;

  const token = await new NodeTokenAuthenticator(stateDir).tokenFor('node-1');
  const addresses = new Map<string, Address>();
  const updates: { upserts: string[]; removals: string[] }[] = [];
  const client = new DeltaXdsClient({
    address: `127.0.0.1:${controlPlane.boundPort}`,
    credentials: grpc.credentials.createSsl(fs.readFileSync(path.join(stateDir, 'root-cert.pem'))),
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
          for (const [name, value] of update.upserts) addresses.set(name, value);
          for (const name of update.removals) addresses.delete(name);
          updates.push({ upserts: [...update.upserts.keys()].sort(), removals: [...update.removals] });
        },
      }),
    ],
    backoff: { initialMs: 50, maxMs: 200 },
    logger: silentLogger(),
  });
  t.teardown(() => client.close());
  client.start();
  await client.synced(ADDRESS_TYPE_URL);
  t.same([...addresses.keys()].sort(), ['Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-2', 'apps/web.apps.svc.cluster.local']);

  const next = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while (updates.length < count) {
      if (Date.now() > deadline) throw new Error('no update');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return updates[count - 1];
  };
  const before = updates.length;
  fake.seed(namespace('apps', { 'istio.io/dataplane-mode': 'ambient' }) as unknown as Record<string, unknown>);
  t.same(await next(before + 1), { upserts: ['Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-2'], removals: [] }, 'enrolment re-sends exactly the namespace\'s workloads');
  t.equal(addresses.get('Kubernetes//Pod/apps/web-1')?.workload?.tunnelProtocol, 'HBONE');
  fake.unseed('v1', 'Pod', 'apps', 'web-2');
  t.same(await next(before + 2), { upserts: [], removals: ['Kubernetes//Pod/apps/web-2'] }, 'a deleted pod is one removal');
});
