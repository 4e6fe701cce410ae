// The CA on Kubernetes, over real gRPC/TLS on 127.0.0.1: ztunnels authenticate with projected service-account tokens checked
// by TokenReview against the fake API server, and get certificates only for identities of pods on their own node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import t from 'tap';
import { CaStore, controlPlaneServerCredentials, createCertificateService, type CaRefusal, type IssuedEvent } from '../../../../src/controlplane/ca';
import { TokenReviewAuthenticator } from '../../../../src/controlplane/ca/token-review';
import { MeshIndex } from '../../../../src/controlplane/model/mesh-index';
import { KubernetesSource } from '../../../../src/controlplane/sources/kubernetes';
import { policyTranslator } from '../../../../src/controlplane/translate/policies';
import { KubeConnection } from '../../../../src/kube/connection';
import { certInfo, requestCertificate, spiffeIdFor, type SpiffeId } from '../../../../src/pki';
import { silentLogger } from '../../../../src/telemetry/logger';
import { FakeKubeApiServer, type KubeObject } from '../../../fakes/kube-apiserver';

const reviews = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');
const ratings = spiffeIdFor('cluster.local', 'bookinfo', 'ratings');

function podOn(namespace: string, name: string, node: string, serviceAccount: string, ip: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name.split('-')[0] } },
    spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: 'main', image: 'example/app:1' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

interface Cluster {
  readonly fake: FakeKubeApiServer;
  readonly address: string;
  readonly ca: CaStore;
  readonly pods: Record<string, KubeObject>;
  readonly refusals: CaRefusal[];
  readonly issued: IssuedEvent[];
  /** A ztunnel token bound to `pod` (default audience istio-ca). */
  token(pod: string, overrides?: { audiences?: string[]; serviceAccount?: string; namespace?: string; nodeName?: string }): string;
  ask(token: string | undefined, identity: SpiffeId): Promise<unknown>;
}

async function cluster(t: { teardown(fn: () => void | Promise<void>): void }, options: { useInformerCache?: boolean } = {}): Promise<Cluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-token-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  for (const name of ['istio-system', 'bookinfo']) fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const pods: Record<string, KubeObject> = {
    'ztunnel-a': fake.seed(podOn('istio-system', 'ztunnel-a', 'node-a', 'ztunnel', '10.0.0.11')),
    'ztunnel-b': fake.seed(podOn('istio-system', 'ztunnel-b', 'node-b', 'ztunnel', '10.0.0.12')),
    'reviews-1': fake.seed(podOn('bookinfo', 'reviews-1', 'node-a', 'reviews', '10.44.1.2')),
    'waypoint-1': fake.seed(podOn('bookinfo', 'waypoint-1', 'node-b', 'waypoint', '10.44.2.9')),
    'ratings-1': fake.seed(podOn('bookinfo', 'ratings-1', 'node-b', 'ratings', '10.44.2.2')),
  };
  // The control plane talks to the API server as its own service account, as it would in the cluster.
  const controlPlaneToken = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ambit-controlplane', audiences: ['https://kubernetes.default.svc'] });
  const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir, controlPlaneToken) });
  const source = new KubernetesSource({ connection, logger: silentLogger() });
  t.teardown(() => source.stop());
  const index = new MeshIndex({ trustDomain: 'cluster.local', policies: policyTranslator({ trustDomain: 'cluster.local', logger: silentLogger() }) });
  await source.start();
  index.apply(source.snapshot().objects, new Set(source.snapshot().objects.keys()));
  source.onChange((snapshot, changed) => index.apply(snapshot.objects, changed));

  const authenticator = new TokenReviewAuthenticator({
    connection,
    ...(options.useInformerCache === false ? {} : { lookupPod: (namespace: string, name: string) => source.snapshot().objects.get(`Pod/${namespace}/${name}`) }),
    trustDomain: 'cluster.local',
    logger: silentLogger(),
  });
  const ca = await CaStore.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  const refusals: CaRefusal[] = [];
  const issued: IssuedEvent[] = [];
  const service = createCertificateService({
    ca,
    authenticate: authenticator.authenticate,
    authorize: (node, identity) => index.nodeRunsIdentity(node, identity),
    logger: pino({ level: 'silent' }),
    onRefusal: (refusal) => refusals.push(refusal),
    onIssued: (event) => issued.push(event),
  });
  const server = new grpc.Server();
  server.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', controlPlaneServerCredentials(ca, { ipAddresses: ['127.0.0.1'] }), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  t.teardown(() => server.forceShutdown());
  const address = `127.0.0.1:${port}`;
  return {
    fake,
    address,
    ca,
    pods,
    refusals,
    issued,
    token: (pod, overrides = {}) =>
      fake.issueServiceAccountToken({
        namespace: overrides.namespace ?? 'istio-system',
        serviceAccount: overrides.serviceAccount ?? 'ztunnel',
        audiences: overrides.audiences ?? ['istio-ca'],
        podName: pod,
        podUid: pods[pod]?.metadata.uid,
        ...(overrides.nodeName === undefined ? {} : { nodeName: overrides.nodeName }),
      }),
    ask: (token, identity) => requestCertificate({ address, rootPems: ca.rootPems, ...(token === undefined ? {} : { token }), identity }).catch((error: unknown) => error),
  };
}

t.test('a token for the ztunnel on node A gets certificates for pods on node A only', async (t) => {
  const c = await cluster(t);
  const nodeA = c.token('ztunnel-a');
  const issued = await c.ask(nodeA, reviews);
  t.same(certInfo((issued as { certChainPems: string[] }).certChainPems[0]).uriSans, [reviews], 'reviews runs on node A');
  t.match(c.issued, [{ node: 'node-a', caller: 'istio-system/ztunnel (pod ztunnel-a)', identity: reviews }]);

  const refused = await c.ask(nodeA, ratings);
  t.match(refused, { code: 'CERTIFICATE_REQUEST_FAILED', grpcCode: grpc.status.PERMISSION_DENIED });
  t.match((refused as Error).message, `node node-a runs no pod with identity ${ratings}`);
  t.same(c.refusals.map((refusal) => [refusal.reason, refusal.node, refusal.identity]), [['not-on-node', 'node-a', ratings]]);

  const nodeB = await c.ask(c.token('ztunnel-b'), ratings);
  t.same(certInfo((nodeB as { certChainPems: string[] }).certChainPems[0]).uriSans, [ratings], 'the ztunnel on node B may have ratings');

  const reviewCalls = c.fake.calls({ resource: 'tokenreviews', verb: 'create' });
  t.equal(reviewCalls.length, 2, 'one TokenReview per token: the second request with token A was answered from the cache');
  t.ok(reviewCalls.every((call) => call.user === 'system:serviceaccount:istio-system:ambit-controlplane'), 'made as the control plane');
  t.equal(c.fake.calls({ resource: 'pods', verb: 'get' }).length, 0, 'the bound pods came from the informer cache');
});

t.test('callers other than a live ztunnel pod are refused as UNAUTHENTICATED, with the reason', async (t) => {
  const c = await cluster(t);
  const refusal = async (token: string | undefined) => {
    const error = (await c.ask(token, reviews)) as { grpcCode?: number; message: string };
    t.equal(error.grpcCode, grpc.status.UNAUTHENTICATED);
    return error.message.replace(/^.*caller not authenticated: /, '');
  };
  t.equal(await refusal(undefined), 'no "authorization: Bearer <token>" header');
  t.match(await refusal('not-a-real-token'), /^the token was rejected by the API server: \[invalid bearer token/);
  t.match(await refusal(c.token('ztunnel-a', { audiences: ['https://kubernetes.default.svc'] })), /token audiences \["https:\/\/kubernetes.default.svc"\] is invalid for the target audiences \["istio-ca"\]/);
  t.equal(await refusal(c.token('ztunnel-a', { nodeName: 'node-b' })), 'the token of pod istio-system/ztunnel-a names node node-b, but the pod runs on node-a');
  const stale = c.token('ztunnel-b');
  c.fake.unseed('v1', 'Pod', 'istio-system', 'ztunnel-b');
  t.match(await refusal(stale), /^the token was rejected by the API server: \[invalid bearer token, pod "ztunnel-b" not found/, 'a deleted pod\'s token is dead');
  t.equal(c.issued.length, 0);
  t.equal(c.refusals.filter((entry) => entry.reason === 'unauthenticated').length, 5);
});

t.test('without an informer cache the bound pod is read from the API', async (t) => {
  const c = await cluster(t, { useInformerCache: false });
  const issued = await c.ask(c.token('ztunnel-a'), reviews);
  t.ok('certChainPems' in (issued as object));
  t.match(c.fake.calls({ resource: 'pods', verb: 'get' }), [{ namespace: 'istio-system', name: 'ztunnel-a', user: 'system:serviceaccount:istio-system:ambit-controlplane' }]);
});

t.test('a waypoint\'s own token earns exactly its own identity, on any node, and nothing else', async (t) => {
  const c = await cluster(t);
  const waypoint = spiffeIdFor('cluster.local', 'bookinfo', 'waypoint');
  const token = c.token('waypoint-1', { namespace: 'bookinfo', serviceAccount: 'waypoint' });
  const issued = await c.ask(token, waypoint);
  t.same(certInfo((issued as { certChainPems: string[] }).certChainPems[0]).uriSans, [waypoint]);
  t.match(c.issued, [{ node: 'node-b', caller: 'bookinfo/waypoint (pod waypoint-1)', identity: waypoint }]);

  for (const other of [ratings, reviews]) {
    const refused = (await c.ask(token, other)) as { grpcCode?: number; message: string };
    t.equal(refused.grpcCode, grpc.status.PERMISSION_DENIED, `no certificate for ${other}, though ratings runs on the waypoint's node`);
    t.match(refused.message, `bookinfo/waypoint (pod waypoint-1) may obtain only its own identity ${waypoint}, not ${other}`);
  }
  t.same(
    c.refusals.map((refusal) => refusal.reason),
    ['not-own-identity', 'not-own-identity'],
  );

  const reviewsOwn = await c.ask(c.token('reviews-1', { namespace: 'bookinfo', serviceAccount: 'reviews' }), reviews);
  t.ok('certChainPems' in (reviewsOwn as object), 'any workload may speak for itself, as with Istio sidecars');
  const replaced = c.token('waypoint-1', { namespace: 'bookinfo', serviceAccount: 'waypoint' });
  c.fake.unseed('v1', 'Pod', 'bookinfo', 'waypoint-1');
  const dead = (await c.ask(replaced, waypoint)) as { grpcCode?: number };
  t.equal(dead.grpcCode, grpc.status.UNAUTHENTICATED, 'a deleted waypoint pod\'s token is dead');
});
