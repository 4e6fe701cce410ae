// SPIFFE ID parsing: what a workload identity looks like and how bad ones are reported.
import t from 'tap';
import { InvalidSpiffeId, isSpiffeId, parseSpiffeId, parseSpiffeIdParts, spiffeIdFor } from '../../../src/pki';

t.test('a workload identity splits into trust domain, namespace and service account', async (t) => {
  t.same(parseSpiffeIdParts('spiffe://cluster.local/ns/bookinfo/sa/reviews'), {
    trustDomain: 'cluster.local',
    namespace: 'bookinfo',
    serviceAccount: 'reviews',
  });
  t.equal(parseSpiffeId('spiffe://example.com/ns/default/sa/default'), 'spiffe://example.com/ns/default/sa/default');
  t.equal(spiffeIdFor('cluster.local', 'istio-system', 'ztunnel'), 'spiffe://cluster.local/ns/istio-system/sa/ztunnel');
});

t.test('malformed identities are refused with INVALID_SPIFFE_ID and a reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['https://cluster.local/ns/a/sa/b', /does not start with spiffe:\/\//],
    ['spiffe://cluster.local', /trust domain or the path is missing/],
    ['spiffe:///ns/a/sa/b', /trust domain or the path is missing/],
    ['spiffe://Cluster.Local/ns/a/sa/b', /trust domain "Cluster.Local"/],
    ['spiffe://cluster.local/ns/a', /path is not \/ns\/<namespace>\/sa\/<service-account>/],
    ['spiffe://cluster.local/ns/a/sa/b/extra', /path is not/],
    ['spiffe://cluster.local/sa/b/ns/a', /path is not/],
    ['spiffe://cluster.local/ns//sa/b', /namespace "" is not a valid Kubernetes name/],
    ['spiffe://cluster.local/ns/a/sa/B_x', /service account "B_x"/],
  ];
  for (const [input, message] of cases) {
    const error = t.throws(() => parseSpiffeId(input), InvalidSpiffeId, input);
    t.equal((error as InvalidSpiffeId).code, 'INVALID_SPIFFE_ID');
    t.match((error as Error).message, message, input);
    t.equal(isSpiffeId(input), false);
  }
  t.throws(() => spiffeIdFor('cluster.local', 'Bad', 'sa'), InvalidSpiffeId);
});
