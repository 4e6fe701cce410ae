// Table tests of L7 authorization: Istio's value forms, each field, DENY before ALLOW, TCP semantics and dry runs.
import t from 'tap';
import { compilePolicySet, valuePattern, type AuthzAttributes } from '../../../../src/waypoint/filters/authz/config';
import { authorize } from '../../../../src/waypoint/filters/authz/filter';
import type { AuthorizationDoc, AuthorizationRuleDoc } from '../../../../src/waypoint/config/types';

const request = (over: Partial<AuthzAttributes> = {}): AuthzAttributes => ({
  http: true,
  method: 'GET',
  path: '/reviews/1',
  host: 'reviews.bookinfo:9080',
  header: (name) => ({ 'x-user': 'alice', 'x-role': 'admin' } as Record<string, string>)[name],
  sourceIp: '10.1.9.9',
  principal: 'cluster.local/ns/bookinfo/sa/productpage',
  namespace: 'bookinfo',
  serviceAccount: 'bookinfo/productpage',
  destinationIp: '10.96.0.10',
  destinationPort: 9080,
  ...over,
});

const policy = (action: AuthorizationDoc['action'], rules: AuthorizationRuleDoc[] | undefined, extra: Partial<AuthorizationDoc> = {}): AuthorizationDoc => ({
  name: `bookinfo/${action.toLowerCase()}`,
  namespace: 'bookinfo',
  action,
  dryRun: false,
  attachment: { kind: 'gateway' },
  ...(rules ? { rules } : {}),
  ...extra,
});

const allowed = (docs: AuthorizationDoc[], attributes = request()): boolean => authorize([compilePolicySet(docs)], attributes).allowed;

t.test('value forms', async (t) => {
  const rows: [string, string | undefined, boolean][] = [
    ['*', 'x', true],
    ['*', '', false],
    ['*', undefined, false],
    ['/admin*', '/admin/x', true],
    ['/admin*', '/x/admin', false],
    ['*.png', '/a/b.png', true],
    ['GET', 'GET', true],
    ['GET', 'get', false],
  ];
  for (const [pattern, value, expected] of rows) t.equal(valuePattern(pattern)(value), expected, `${pattern} vs ${JSON.stringify(value)}`);
});

t.test('single fields', async (t) => {
  const rows: [string, AuthorizationRuleDoc, Partial<AuthzAttributes>, boolean][] = [
    ['methods', { to: [{ methods: ['GET', 'HEAD'] }] }, {}, true],
    ['methods miss', { to: [{ methods: ['POST'] }] }, {}, false],
    ['notMethods', { to: [{ notMethods: ['DELETE'] }] }, { method: 'DELETE' }, false],
    ['paths prefix', { to: [{ paths: ['/reviews/*'] }] }, {}, true],
    ['notPaths', { to: [{ notPaths: ['/reviews/*'] }] }, {}, false],
    ['hosts without port', { to: [{ hosts: ['reviews.bookinfo'] }] }, {}, true],
    ['hosts case-insensitive', { to: [{ hosts: ['REVIEWS.bookinfo:9080'] }] }, {}, true],
    ['hosts wildcard', { to: [{ hosts: ['*.bookinfo'] }] }, {}, true],
    ['ports', { to: [{ ports: ['9080'] }] }, {}, true],
    ['ports miss', { to: [{ ports: ['80'] }] }, {}, false],
    ['principals', { from: [{ principals: ['cluster.local/ns/bookinfo/sa/productpage'] }] }, {}, true],
    ['principals prefix', { from: [{ principals: ['cluster.local/ns/bookinfo/*'] }] }, {}, true],
    ['principals miss', { from: [{ principals: ['cluster.local/ns/other/sa/x'] }] }, {}, false],
    ['notPrincipals', { from: [{ notPrincipals: ['*'] }] }, {}, false],
    ['no principal (plaintext)', { from: [{ principals: ['*'] }] }, { principal: undefined }, false],
    ['namespaces', { from: [{ namespaces: ['bookinfo'] }] }, {}, true],
    ['notNamespaces', { from: [{ notNamespaces: ['bookinfo'] }] }, {}, false],
    ['serviceAccounts', { from: [{ serviceAccounts: ['bookinfo/productpage'] }] }, {}, true],
    ['ipBlocks', { from: [{ ipBlocks: ['10.1.0.0/16'] }] }, {}, true],
    ['notIpBlocks', { from: [{ notIpBlocks: ['10.0.0.0/8'] }] }, {}, false],
    ['remoteIpBlocks', { from: [{ remoteIpBlocks: ['10.1.9.9'] }] }, {}, true],
    ['requestPrincipals never (no JWT)', { from: [{ requestPrincipals: ['*'] }] }, {}, false],
    ['when header', { when: [{ key: 'request.headers[x-user]', values: ['alice'] }] }, {}, true],
    ['when header notValues', { when: [{ key: 'request.headers[x-user]', notValues: ['alice'] }] }, {}, false],
    ['when source.ip', { when: [{ key: 'source.ip', values: ['10.1.9.0/24'] }] }, {}, true],
    ['when source.namespace', { when: [{ key: 'source.namespace', values: ['other'] }] }, {}, false],
    ['when source.principal', { when: [{ key: 'source.principal', values: ['*/sa/productpage'] }] }, {}, true],
    ['when destination.port', { when: [{ key: 'destination.port', values: ['9080'] }] }, {}, true],
    ['when destination.ip', { when: [{ key: 'destination.ip', values: ['10.96.0.0/16'] }] }, {}, true],
    ['when request.auth.claims (never)', { when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }, {}, false],
    ['several sources are ORed', { from: [{ namespaces: ['other'] }, { namespaces: ['bookinfo'] }] }, {}, true],
    ['fields in a source are ANDed', { from: [{ namespaces: ['bookinfo'], principals: ['x'] }] }, {}, false],
    ['from, to and when are ANDed', { from: [{ namespaces: ['bookinfo'] }], to: [{ methods: ['POST'] }] }, {}, false],
    ['an empty rule matches everything', {}, {}, true],
  ];
  for (const [name, rule, over, expected] of rows) t.equal(allowed([policy('ALLOW', [rule])], request(over)), expected, name);
});

t.test('policy combination', async (t) => {
  t.ok(allowed([]), 'no policies: allowed');
  t.notOk(allowed([policy('ALLOW', undefined)]), 'an ALLOW with no rules denies everything');
  t.ok(allowed([policy('DENY', undefined)]), 'a DENY with no rules does nothing');
  t.notOk(allowed([policy('ALLOW', [{}]), policy('DENY', [{ to: [{ methods: ['GET'] }] }])]), 'DENY wins over ALLOW');
  t.ok(allowed([policy('ALLOW', [{ to: [{ methods: ['POST'] }] }], { name: 'a/1' }), policy('ALLOW', [{ to: [{ methods: ['GET'] }] }], { name: 'a/2' })]), 'any ALLOW suffices');
  t.ok(allowed([policy('AUDIT', [{}])]), 'AUDIT never decides');
  const dry = authorize([compilePolicySet([policy('DENY', [{}], { dryRun: true })])], request());
  t.ok(dry.allowed, 'a dry-run DENY is not enforced');
  t.same(dry.dryRun, [{ policy: 'bookinfo/deny', action: 'DENY', matched: true }], 'but its verdict is reported');
  const decision = authorize([compilePolicySet([policy('DENY', [{}], { name: 'bookinfo/block' })])], request());
  t.match(decision, { allowed: false, policy: 'bookinfo/block' });
  const sets = [compilePolicySet([policy('ALLOW', [{ to: [{ methods: ['GET'] }] }])]), compilePolicySet([policy('DENY', [{ to: [{ paths: ['/reviews/*'] }] }], { name: 'svc/deny' })])];
  t.notOk(authorize(sets, request()).allowed, 'the gateway and service sets apply together');
});

t.test('TCP traffic: ALLOW rules with HTTP fields never match, DENY rules enforce their L4 part', async (t) => {
  const tcp = request({ http: false, method: undefined, path: undefined, host: undefined });
  t.notOk(allowed([policy('ALLOW', [{ to: [{ methods: ['GET'] }] }])], tcp), 'an HTTP-only ALLOW lets no TCP through');
  t.ok(allowed([policy('ALLOW', [{ to: [{ methods: ['GET'] }] }, { from: [{ namespaces: ['bookinfo'] }] }])], tcp), 'an L4 ALLOW rule still does');
  t.notOk(allowed([policy('DENY', [{ from: [{ namespaces: ['bookinfo'] }], to: [{ methods: ['GET'] }] }])], tcp), 'a DENY keeps its L4 part and so is broader');
  t.ok(allowed([policy('DENY', [{ from: [{ namespaces: ['other'] }], to: [{ methods: ['GET'] }] }])], tcp));
});
