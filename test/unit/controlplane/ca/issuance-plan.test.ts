// planIssuance: which identity, key and lifetime a CreateCertificate request gets, decided without any I/O.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { planIssuance, type CaCaller } from '../../../../src/controlplane/ca';
import { createCsr, generateKeyPair, spiffeIdFor, type IstioCertificateRequest, type StructValue } from '../../../../src/pki';

const caller: CaCaller = { node: 'node-1', caller: 'node-token/node-1' };
const limits = { trustDomain: 'cluster.local', defaultTtlSeconds: 86_400, maxTtlSeconds: 172_800 };
const reviews = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');
const ratings = spiffeIdFor('cluster.local', 'bookinfo', 'ratings');
const key = generateKeyPair();

function request(csrIdentity: string, options: { impersonate?: StructValue; validity?: string | number } = {}): IstioCertificateRequest {
  const fields: Record<string, StructValue> = options.impersonate === undefined ? {} : { ImpersonatedIdentity: options.impersonate };
  return { csr: createCsr(key.privateKeyPem, csrIdentity as typeof reviews), validity_duration: options.validity ?? '0', metadata: { fields } };
}

t.test('the identity comes from ImpersonatedIdentity, else from the CSR', async (t) => {
  t.same(planIssuance(request(reviews, { impersonate: { stringValue: reviews, kind: 'stringValue' } }), caller, limits), {
    kind: 'issue',
    identity: reviews,
    publicKeyPem: key.publicKeyPem,
    ttlSeconds: 86_400,
  });
  t.same(planIssuance(request(reviews), caller, limits), { kind: 'issue', identity: reviews, publicKeyPem: key.publicKeyPem, ttlSeconds: 86_400 });
});

t.test('lifetime: requested when positive, default otherwise, never above the maximum', async (t) => {
  const cases: Array<[string | number, number]> = [
    ['3600', 3600],
    [7200, 7200],
    ['0', 86_400],
    ['-5', 86_400],
    ['not-a-number', 86_400],
    ['999999999', 172_800],
    ['172800', 172_800],
  ];
  for (const [validity, expected] of cases) {
    const plan = planIssuance(request(reviews, { validity }), caller, limits);
    t.equal(plan.kind === 'issue' ? plan.ttlSeconds : undefined, expected, `validity_duration ${validity}`);
  }
});

t.test('refusals carry the reason, the gRPC status and a message naming the identities', async (t) => {
  const refusal = planIssuance(request(reviews, { impersonate: { stringValue: ratings, kind: 'stringValue' } }), caller, limits);
  t.same(refusal, {
    kind: 'refuse',
    reason: 'identity-mismatch',
    status: grpc.status.PERMISSION_DENIED,
    message: `CSR identity ${reviews} does not match requested identity ${ratings}`,
    node: 'node-1',
    caller: 'node-token/node-1',
    identity: ratings,
  });

  const foreign = spiffeIdFor('other.domain', 'bookinfo', 'reviews');
  t.match(planIssuance(request(foreign), caller, limits), {
    reason: 'foreign-trust-domain',
    status: grpc.status.PERMISSION_DENIED,
    message: `identity ${foreign} is outside this mesh's trust domain cluster.local`,
  });

  t.match(planIssuance(request('spiffe://cluster.local/workload/x'), caller, limits), {
    reason: 'invalid-request',
    status: grpc.status.INVALID_ARGUMENT,
    message: /invalid SPIFFE ID "spiffe:\/\/cluster.local\/workload\/x"/,
  });

  t.match(planIssuance(request(reviews, { impersonate: { numberValue: 3, kind: 'numberValue' } }), caller, limits), {
    reason: 'invalid-request',
    message: 'metadata field ImpersonatedIdentity must be a string SPIFFE ID',
  });

  t.match(planIssuance({ csr: 'garbage', validity_duration: 0, metadata: null }, caller, limits), {
    reason: 'invalid-request',
    status: grpc.status.INVALID_ARGUMENT,
    message: 'invalid certificate signing request: no "CERTIFICATE REQUEST" PEM block found',
  });
});

t.test('a caller speaking for itself gets only its own identity', async (t) => {
  const self: CaCaller = { node: 'node-2', caller: 'bookinfo/reviews (pod reviews-1)', identity: reviews };
  t.match(planIssuance(request(reviews), self, limits), { kind: 'issue', identity: reviews });
  t.match(planIssuance(request(ratings), self, limits), {
    kind: 'refuse',
    reason: 'not-own-identity',
    status: grpc.status.PERMISSION_DENIED,
    message: `bookinfo/reviews (pod reviews-1) may obtain only its own identity ${reviews}, not ${ratings}`,
    identity: ratings,
  });
  t.match(planIssuance(request(ratings, { impersonate: { stringValue: ratings, kind: 'stringValue' } }), self, limits), { reason: 'not-own-identity' }, 'impersonation does not widen it');
});
