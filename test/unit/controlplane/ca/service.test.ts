// The CA over real gRPC/TLS on 127.0.0.1: ztunnels get certificates only for identities of pods on their own node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import t from 'tap';
import {
  CaStore,
  NodeTokenAuthenticator,
  controlPlaneServerCredentials,
  createCertificateService,
  type CaRefusal,
  type CertificateService,
  type IssuedEvent,
} from '../../../../src/controlplane/ca';
import {
  CertificateRejected,
  CertificateRequestFailed,
  caServiceDefinition,
  certInfo,
  createCsr,
  generateKeyPair,
  requestCertificate,
  spiffeIdFor,
  verifyChain,
  type SpiffeId,
} from '../../../../src/pki';
import { makePluginCa, openssl } from './fixtures/openssl-ca';

const reviews = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');
const ratings = spiffeIdFor('cluster.local', 'bookinfo', 'ratings');
/** Which pods (by identity) each node runs. */
const podsByNode: Record<string, SpiffeId[]> = { 'node-1': [reviews], 'node-2': [ratings] };

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly node?: string;
  readonly identity?: string;
  readonly reason?: string;
}

interface RunningCa {
  readonly address: string;
  readonly store: CaStore;
  readonly service: CertificateService;
  readonly tokens: { readonly node1: string; readonly node2: string };
  readonly refusals: CaRefusal[];
  readonly issued: IssuedEvent[];
  readonly logs: LogLine[];
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-ca-service-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startCa(
  t: { teardown(fn: () => void | Promise<void>): void },
  options: { caDir?: string; maxTtlSeconds?: number; implementation?: (store: CaStore) => grpc.UntypedServiceImplementation } = {},
): Promise<RunningCa> {
  const stateDir = tempDir(t);
  const store = await CaStore.open(options.caDir ?? path.join(stateDir, 'ca'), { trustDomain: 'cluster.local' });
  const authenticator = new NodeTokenAuthenticator(stateDir);
  const tokens = { node1: await authenticator.tokenFor('node-1'), node2: await authenticator.tokenFor('node-2') };
  const refusals: CaRefusal[] = [];
  const issued: IssuedEvent[] = [];
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const service = createCertificateService({
    ca: store,
    authenticate: authenticator.authenticate,
    authorize: (node, identity) => podsByNode[node]?.includes(identity) ?? false,
    logger,
    ...(options.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: options.maxTtlSeconds }),
    onRefusal: (refusal) => refusals.push(refusal),
    onIssued: (event) => issued.push(event),
  });
  const server = new grpc.Server();
  server.addService(service.definition, options.implementation?.(store) ?? service.implementation);
  const credentials = controlPlaneServerCredentials(store, { ipAddresses: ['127.0.0.1'] });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  t.teardown(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, store, service, tokens, refusals, issued, logs };
}

/** A CreateCertificate call with a hand-made request, for what requestCertificate never sends. */
function rawCreateCertificate(ca: RunningCa, token: string, request: object): Promise<grpc.ServiceError | unknown> {
  const method = caServiceDefinition().CreateCertificate;
  if (method === undefined) throw new Error('no CreateCertificate');
  const credentials = grpc.credentials.createFromSecureContext(tls.createSecureContext({ ca: [...ca.store.rootPems] }));
  const client = new grpc.Client(ca.address, credentials);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, (error: grpc.ServiceError | null, value?: unknown) => {
      client.close();
      resolve(error ?? value);
    });
  });
}

function refusalLogs(ca: RunningCa): LogLine[] {
  return ca.logs.filter((line) => line.level === 40);
}

t.test('the ztunnel of node-1 gets a certificate for a pod on node-1', async (t) => {
  const ca = await startCa(t);
  const issued = await requestCertificate({ address: ca.address, rootPems: ca.store.rootPems, token: ca.tokens.node1, identity: reviews, ttlSeconds: 3600 });
  t.equal(issued.certChainPems.length, 2, '[leaf, root]');
  const [leaf = '', root = ''] = issued.certChainPems;
  t.equal(root, ca.store.rootPem);
  const info = certInfo(leaf);
  t.same(info.uriSans, [reviews]);
  t.equal(info.notAfter.getTime() - info.notBefore.getTime(), (3600 + 300) * 1000, 'requested TTL plus 5 minutes of back-dating');
  t.equal(issued.notAfter.getTime(), info.notAfter.getTime());
  t.same(verifyChain(leaf, [root], ca.store.rootPems), { ok: true });
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'root.pem'), root);
  fs.writeFileSync(path.join(dir, 'leaf.pem'), leaf);
  t.equal(openssl(['verify', '-CAfile', 'root.pem', 'leaf.pem'], { cwd: dir }).trim(), 'leaf.pem: OK');
  t.equal(ca.service.counters.issued, 1);
  t.same(ca.issued.map((event) => [event.node, event.identity, event.ttlSeconds, event.serial]), [['node-1', reviews, 3600, info.serial]]);
  t.same(ca.refusals, []);
  t.same(refusalLogs(ca), []);
  t.match(ca.logs, [{ level: 30, msg: 'issued workload certificate', node: 'node-1', identity: reviews }]);
});

t.test('the requested TTL is capped at the maximum and defaults to 24h', async (t) => {
  const ca = await startCa(t, { maxTtlSeconds: 2 * 86_400 });
  const span = async (ttlSeconds: number): Promise<number> => {
    const { certChainPems } = await requestCertificate({ address: ca.address, rootPems: ca.store.rootPems, token: ca.tokens.node1, identity: reviews, ttlSeconds });
    const info = certInfo(certChainPems[0] ?? '');
    return (info.notAfter.getTime() - info.notBefore.getTime()) / 1000 - 300;
  };
  t.equal(await span(10 * 86_400), 2 * 86_400, 'capped');
  t.equal(await span(0), 86_400, 'default');
  t.equal(await span(600), 600, 'honoured');
});

t.test('Istio-style requests without ImpersonatedIdentity use the CSR SAN; the server name can be the DNS SAN', async (t) => {
  const ca = await startCa(t);
  const issued = await requestCertificate({
    address: ca.address,
    rootPems: ca.store.rootPems,
    token: ca.tokens.node2,
    identity: ratings,
    impersonate: false,
    serverName: 'ambit-controlplane',
  });
  t.same(certInfo(issued.certChainPems[0] ?? '').uriSans, [ratings]);
});

t.test('a CSR for a pod on another node is refused with PERMISSION_DENIED, logged and counted once', async (t) => {
  const ca = await startCa(t);
  const error = await requestCertificate({ address: ca.address, rootPems: ca.store.rootPems, token: ca.tokens.node1, identity: ratings }).catch((e: unknown) => e);
  t.type(error, CertificateRequestFailed);
  t.match(error, {
    code: 'CERTIFICATE_REQUEST_FAILED',
    grpcCode: grpc.status.PERMISSION_DENIED,
    message: `certificate request for ${ratings} failed: PERMISSION_DENIED: node node-1 runs no pod with identity ${ratings}`,
  });
  t.same(ca.refusals.map((refusal) => [refusal.reason, refusal.node, refusal.identity]), [['not-on-node', 'node-1', ratings]]);
  t.equal(ca.service.counters.refused['not-on-node'], 1);
  t.equal(ca.service.counters.issued, 0);
  t.match(refusalLogs(ca), [{ node: 'node-1', identity: ratings, reason: 'not-on-node', msg: `node node-1 runs no pod with identity ${ratings}` }]);
  t.equal(refusalLogs(ca).length, 1);
});

t.test('a CSR whose SAN differs from ImpersonatedIdentity is refused', async (t) => {
  const ca = await startCa(t);
  const key = generateKeyPair();
  const result = await rawCreateCertificate(ca, ca.tokens.node1, {
    csr: createCsr(key.privateKeyPem, ratings),
    validity_duration: 3600,
    metadata: { fields: { ImpersonatedIdentity: { stringValue: reviews } } },
  });
  t.match(result, { code: grpc.status.PERMISSION_DENIED, details: `CSR identity ${ratings} does not match requested identity ${reviews}` });
  t.same(ca.refusals.map((refusal) => refusal.reason), ['identity-mismatch']);
  t.equal(refusalLogs(ca).length, 1);
});

t.test('a caller without a token or with a wrong token is refused with UNAUTHENTICATED', async (t) => {
  const ca = await startCa(t);
  const base = { address: ca.address, rootPems: ca.store.rootPems, identity: reviews };
  await t.rejects(requestCertificate(base), {
    grpcCode: grpc.status.UNAUTHENTICATED,
    message: `certificate request for ${reviews} failed: UNAUTHENTICATED: caller not authenticated: no "authorization: Bearer <token>" header`,
  });
  await t.rejects(requestCertificate({ ...base, token: 'f'.repeat(64) }), {
    grpcCode: grpc.status.UNAUTHENTICATED,
    message: `certificate request for ${reviews} failed: UNAUTHENTICATED: caller not authenticated: the bearer token is not any node's token`,
  });
  t.equal(ca.service.counters.refused.unauthenticated, 2);
  t.equal(refusalLogs(ca).length, 2);
  t.equal(ca.service.counters.issued, 0);
});

t.test('with a plug-in CA the chain includes the intermediate', async (t) => {
  const caDir = tempDir(t);
  makePluginCa(caDir);
  const ca = await startCa(t, { caDir });
  const issued = await requestCertificate({ address: ca.address, rootPems: ca.store.rootPems, token: ca.tokens.node1, identity: reviews, ttlSeconds: 3600 });
  t.equal(issued.certChainPems.length, 3, '[leaf, intermediate, root]');
  const [leaf = '', intermediate = '', root = ''] = issued.certChainPems;
  t.equal(certInfo(intermediate).subject, 'O=cluster.local, CN=Intermediate CA');
  t.equal(certInfo(root).subject, 'O=Example Corp, CN=Example Root CA');
  t.same(certInfo(leaf).uriSans, [reviews]);
  fs.writeFileSync(path.join(caDir, 'leaf.pem'), leaf);
  fs.writeFileSync(path.join(caDir, 'intermediate.pem'), intermediate);
  t.equal(openssl(['verify', '-CAfile', 'root-cert.pem', '-untrusted', 'intermediate.pem', 'leaf.pem'], { cwd: caDir }).trim(), 'leaf.pem: OK');
});

t.test('the client refuses a certificate for another identity and a CA it does not trust', async (t) => {
  const rogue = await startCa(t, {
    implementation: (store) => ({
      CreateCertificate: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        callback(null, { cert_chain: store.issue({ publicKeyPem: generateKeyPair().publicKeyPem, sans: { uris: [ratings] }, ttlSeconds: 60 }) });
      },
    }),
  });
  await t.rejects(
    requestCertificate({ address: rogue.address, rootPems: rogue.store.rootPems, token: rogue.tokens.node1, identity: reviews }),
    new CertificateRejected(`the CA issued a certificate for [${ratings}] instead of ${reviews}`),
  );
  const wrongKey = await startCa(t, {
    implementation: (store) => ({
      CreateCertificate: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        callback(null, { cert_chain: store.issue({ publicKeyPem: generateKeyPair().publicKeyPem, sans: { uris: [reviews] }, ttlSeconds: 60 }) });
      },
    }),
  });
  await t.rejects(
    requestCertificate({ address: wrongKey.address, rootPems: wrongKey.store.rootPems, token: wrongKey.tokens.node1, identity: reviews }),
    new CertificateRejected(`the certificate issued for ${reviews} is not for the key in our CSR`),
  );
  const ca = await startCa(t);
  const stranger = await startCa(t);
  await t.rejects(
    requestCertificate({ address: ca.address, rootPems: stranger.store.rootPems, token: ca.tokens.node1, identity: reviews }),
    { code: 'CERTIFICATE_REQUEST_FAILED', grpcCode: grpc.status.UNAVAILABLE },
  );
  t.equal(ca.service.counters.issued, 0, 'nothing was signed over the untrusted connection');
});
