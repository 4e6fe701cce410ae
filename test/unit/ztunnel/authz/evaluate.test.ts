// ztunnel's L4 authorization semantics, table by table: match fields, nesting, empty structures, and the
// DENY -> no ALLOW -> ALLOW -> deny order across gathered policies.
import t from 'tap';
import { authorize, NO_ALLOW_MATCHED, PolicyDeniedError, PolicySnapshot, type DryRunResult } from '../../../../src/ztunnel/authz';
import type { Match } from '../../../../src/xds';
import { cidr, conn, exact, identity, match, plaintext, policy, prefix, presence, suffix } from './helpers';

/** Whether a one-match ALLOW policy (applying to namespace "app") lets `c` through. */
function allowedBy(m: Match, c = conn()): boolean {
  const snap = PolicySnapshot.from([policy('app/p', 'ALLOW', [[[m]]])]);
  return authorize(snap, c).allowed;
}

t.test('each Match field, positive and negative, against mTLS and plaintext peers', async (t) => {
  const tls = conn();
  const tlsOther = conn({ sourceIdentity: identity('other', 'bot', 'td-alt'), sourceIp: '10.9.0.1', destinationIp: '10.0.2.2', destinationPort: 9090 });
  const plain = plaintext();
  const rows: [string, Match, boolean, boolean, boolean][] = [
    // name, match, tls, tlsOther, plaintext
    ['namespaces', match({ namespaces: [exact('client')] }), true, false, false],
    ['notNamespaces', match({ notNamespaces: [exact('client')] }), false, true, true],
    ['principals exact', match({ principals: [exact('cluster.local/ns/client/sa/sleep')] }), true, false, false],
    ['notPrincipals exact', match({ notPrincipals: [exact('cluster.local/ns/client/sa/sleep')] }), false, true, true],
    ['principals presence (any identity)', match({ principals: [presence()] }), true, true, false],
    ['notPrincipals presence (plaintext only)', match({ notPrincipals: [presence()] }), false, false, true],
    ['principals prefix', match({ principals: [prefix('cluster.local/ns/client/')] }), true, false, false],
    ['principals suffix', match({ principals: [suffix('/sa/bot')] }), false, true, false],
    ['principals with spiffe:// never match', match({ principals: [exact('spiffe://cluster.local/ns/client/sa/sleep')] }), false, false, false],
    ['serviceAccounts', match({ serviceAccounts: [{ namespace: 'client', serviceAccount: 'sleep' }] }), true, false, false],
    ['notServiceAccounts', match({ notServiceAccounts: [{ namespace: 'client', serviceAccount: 'sleep' }] }), false, true, true],
    ['sourceIps /32', match({ sourceIps: [cidr('10.0.0.5/32')] }), true, false, true],
    ['sourceIps /8', match({ sourceIps: [cidr('10.0.0.0/8')] }), true, true, true],
    ['notSourceIps', match({ notSourceIps: [cidr('10.0.0.0/24')] }), false, true, false],
    ['destinationIps', match({ destinationIps: [cidr('10.0.1.0/24')] }), true, false, true],
    ['notDestinationIps', match({ notDestinationIps: [cidr('10.0.1.1')] }), false, true, false],
    ['destinationPorts', match({ destinationPorts: [8080] }), true, false, true],
    ['notDestinationPorts', match({ notDestinationPorts: [8080] }), false, true, false],
    ['values within a field are OR-ed', match({ destinationPorts: [1, 9090] }), false, true, false],
    ['fields are AND-ed', match({ destinationPorts: [8080], namespaces: [exact('other')] }), false, false, false],
    ['positive and negative of one field', match({ sourceIps: [cidr('10.0.0.0/8')], notSourceIps: [cidr('10.9.0.0/16')] }), true, false, true],
    ['an empty Match matches nothing', match({}), false, false, false],
  ];
  for (const [name, m, a, b, c] of rows) {
    t.same([allowedBy(m, tls), allowedBy(m, tlsOther), allowedBy(m, plain)], [a, b, c], name);
  }
});

t.test('namespace matching sees "" for plaintext peers, as ztunnel does', async (t) => {
  t.equal(allowedBy(match({ namespaces: [exact('')] }), plaintext()), true, 'exact "" matches plaintext');
  t.equal(allowedBy(match({ namespaces: [presence()] }), plaintext()), false, 'presence needs a namespace');
  t.equal(allowedBy(match({ namespaces: [prefix('cl')] }), conn()), true, 'prefix');
  t.equal(allowedBy(match({ namespaces: [suffix('ent')] }), conn()), true, 'suffix');
});

t.test('IPv6 and IPv4-mapped addresses', async (t) => {
  const v6 = conn({ sourceIp: 'fd00:10::7', destinationIp: 'fd00:20::1' });
  t.equal(allowedBy(match({ sourceIps: [cidr('fd00:10::/32')] }), v6), true, 'IPv6 CIDR');
  t.equal(allowedBy(match({ sourceIps: [cidr('fd00:11::/32')] }), v6), false, 'other IPv6 CIDR');
  t.equal(allowedBy(match({ sourceIps: [cidr('10.0.0.0/8')] }), v6), false, 'an IPv4 CIDR never holds an IPv6 peer');
  t.equal(allowedBy(match({ destinationIps: [cidr('fd00:20::1')] }), v6), true, 'IPv6 /128');
  const mapped = conn({ sourceIp: '::ffff:10.0.0.5' });
  t.equal(allowedBy(match({ sourceIps: [cidr('10.0.0.0/8')] }), mapped), true, 'a dual-stack socket peer is judged as IPv4');
  t.equal(allowedBy(match({ sourceIps: [cidr('::/0')] }), mapped), false, 'and therefore not by an IPv6 range');
  t.equal(allowedBy(match({ sourceIps: [cidr('0.0.0.0/0')] }), conn()), true, '/0 holds every IPv4 address');
});

t.test('values ztunnel drops while converting', async (t) => {
  const bad = match({ sourceIps: [{ address: Uint8Array.from([1, 2, 3]), length: 24 }] });
  t.equal(allowedBy(bad), false, 'a 3-byte address is dropped, leaving an empty (match-nothing) Match');
  const tooLong = match({ sourceIps: [{ address: Uint8Array.from([10, 0, 0, 0]), length: 33 }], destinationPorts: [8080] });
  t.equal(allowedBy(tooLong), true, 'a /33 is dropped, the remaining port field still decides');
  t.equal(allowedBy(match({ principals: [{}] })), false, 'a StringMatch with nothing set is dropped');
  t.equal(allowedBy(match({ destinationPorts: [8080 + 65536] })), true, 'ports are truncated to 16 bits like ztunnel');
});

t.test('nesting: rules OR, clauses AND, matches OR; the empty cases', async (t) => {
  const nsA = match({ namespaces: [exact('a')] });
  const nsB = match({ namespaces: [exact('b')] });
  const port80 = match({ destinationPorts: [80] });
  const fromA = conn({ sourceIdentity: identity('a', 'x'), destinationPort: 80 });
  const fromB = conn({ sourceIdentity: identity('b', 'x'), destinationPort: 80 });
  const fromBWrongPort = conn({ sourceIdentity: identity('b', 'x'), destinationPort: 81 });
  const fromC = conn({ sourceIdentity: identity('c', 'x'), destinationPort: 80 });
  const decide = (rules: Match[][][], c = fromA): boolean => authorize(PolicySnapshot.from([policy('app/p', 'ALLOW', rules)]), c).allowed;

  const nested: Match[][][] = [[[nsA, nsB], [port80]]];
  t.same([decide(nested, fromA), decide(nested, fromB), decide(nested, fromBWrongPort), decide(nested, fromC)], [true, true, false, false], 'one rule: (a OR b) AND port 80');
  const multi: Match[][][] = [[[nsA]], [[nsB]]];
  t.same([decide(multi, fromA), decide(multi, fromB), decide(multi, fromC)], [true, true, false], 'two rules are OR-ed');

  t.equal(decide([]), false, 'a policy with no rules matches nothing');
  t.equal(decide([[]]), true, 'a rule with no clauses matches everything');
  t.equal(decide([[[]]]), true, 'a clause with no matches matches everything');
  t.equal(decide([[[match({})]]]), false, 'a clause holding only an empty Match matches nothing');
  t.equal(decide([[[match({}), nsA]]]), true, 'an empty Match is skipped, the next one may still match');
  t.equal(decide([[[match({})]], [[nsA]]]), true, 'a dead rule does not stop a live one');
});

t.test('decision order across policies', async (t) => {
  const denyBot = policy('app/deny-bot', 'DENY', [[[match({ principals: [exact('cluster.local/ns/client/sa/bot')] })]]]);
  const allowClient = policy('app/allow-client', 'ALLOW', [[[match({ namespaces: [exact('client')] })]]]);
  const sleep = conn();
  const bot = conn({ sourceIdentity: identity('client', 'bot') });
  const other = conn({ sourceIdentity: identity('other', 'x') });

  t.same(authorize(PolicySnapshot.empty(), sleep), { allowed: true }, 'no policies: allow');
  const denyOnly = PolicySnapshot.from([denyBot]);
  t.same(authorize(denyOnly, bot), { allowed: false, policy: 'app/deny-bot', reason: 'denied by DENY policy app/deny-bot' }, 'a DENY match names the policy');
  t.same(authorize(denyOnly, sleep), { allowed: true }, 'no ALLOW policies: anything not denied is allowed');
  const both = PolicySnapshot.from([denyBot, allowClient]);
  t.equal(authorize(both, bot).allowed, false, 'DENY wins over a matching ALLOW');
  t.same(authorize(both, sleep), { allowed: true }, 'a matching ALLOW allows');
  t.same(authorize(both, other), { allowed: false, reason: NO_ALLOW_MATCHED }, 'ALLOW policies exist but none matched');

  const dead = PolicySnapshot.from([policy('app/allow-nothing', 'ALLOW', [])]);
  t.equal(authorize(dead, sleep).allowed, false, 'an ALLOW with no rules denies everything when it is the only ALLOW');
  const deadPlus = PolicySnapshot.from([policy('app/allow-nothing', 'ALLOW', []), allowClient]);
  t.equal(authorize(deadPlus, sleep).allowed, true, 'but another ALLOW can still match');
  const denyNothing = PolicySnapshot.from([policy('app/deny-nothing', 'DENY', [])]);
  t.equal(authorize(denyNothing, sleep).allowed, true, 'a DENY with no rules is a no-op');
});

t.test('which policies apply: scope, namespace and the workload list', async (t) => {
  const denyAll = (key: string, scope: 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR') => policy(key, 'DENY', [[]], { scope });
  const snap = PolicySnapshot.from([
    denyAll('istio-system/global', 'GLOBAL'),
    denyAll('app/ns-wide', 'NAMESPACE'),
    denyAll('app/selected', 'WORKLOAD_SELECTOR'),
    denyAll('other/ns-wide', 'NAMESPACE'),
  ]);
  const onlyGlobal = PolicySnapshot.from([denyAll('istio-system/global', 'GLOBAL')]);
  t.equal(authorize(onlyGlobal, conn({ namespace: 'anywhere' })).allowed, false, 'GLOBAL applies in every namespace');
  const nsOnly = PolicySnapshot.from([denyAll('app/ns-wide', 'NAMESPACE')]);
  t.equal(authorize(nsOnly, conn({ namespace: 'app' })).allowed, false, 'NAMESPACE applies in its namespace');
  t.equal(authorize(nsOnly, conn({ namespace: 'other' })).allowed, true, 'and nowhere else');
  const selOnly = PolicySnapshot.from([denyAll('app/selected', 'WORKLOAD_SELECTOR')]);
  t.equal(authorize(selOnly, conn()).allowed, true, 'WORKLOAD_SELECTOR applies only to workloads that list it');
  t.equal(authorize(selOnly, conn({ policies: ['app/selected'] })).allowed, false, 'listed: applies');
  t.same(authorize(snap, conn({ namespace: 'app', policies: ['app/selected'] })), {
    allowed: false,
    policy: 'app/ns-wide',
    reason: 'denied by DENY policy app/ns-wide',
  }, 'namespace policies are checked first, then global, then listed ones');

  const unknown: string[] = [];
  t.equal(authorize(PolicySnapshot.empty(), conn({ policies: ['app/missing'] }), { onUnknownPolicy: (k) => unknown.push(k) }).allowed, true, 'an unknown listed key is skipped');
  t.same(unknown, ['app/missing'], 'and reported');
});

t.test('dry-run policies are reported, never enforced', async (t) => {
  const snap = PolicySnapshot.from([
    policy('app/dry-deny', 'DENY', [[]], { dryRun: true }),
    policy('app/dry-allow', 'ALLOW', [[[match({ namespaces: [exact('nobody')] })]]], { dryRun: true }),
  ]);
  const seen: DryRunResult[] = [];
  t.same(authorize(snap, conn(), { onDryRun: (r) => seen.push(r) }), { allowed: true }, 'neither the DENY nor the unmatched ALLOW takes effect');
  t.same(
    seen.sort((a, b) => a.policy.localeCompare(b.policy)),
    [
      { policy: 'app/dry-allow', action: 'ALLOW', matched: false },
      { policy: 'app/dry-deny', action: 'DENY', matched: true },
    ],
    'each dry-run policy reports what it would have done',
  );
  t.equal(authorize(snap, conn()).allowed, true, 'works without a callback');

  const withEnforced = snap.withChanges([policy('app/deny-all', 'DENY', [[]]), policy('app/listed-dry', 'ALLOW', [[]], { scope: 'WORKLOAD_SELECTOR', dryRun: true })]);
  const later: string[] = [];
  const decision = authorize(withEnforced, conn({ policies: ['app/listed-dry'] }), { onDryRun: (r) => later.push(r.policy) });
  t.equal(decision.allowed, false, 'an enforced DENY still denies');
  t.same(later.sort(), ['app/dry-allow', 'app/dry-deny', 'app/listed-dry'], 'and every applicable dry-run policy is still reported');
});

t.test('PolicyDeniedError names the peer and the policy', async (t) => {
  const snap = PolicySnapshot.from([policy('app/deny-all', 'DENY', [[]])]);
  const c = conn();
  const decision = authorize(snap, c);
  if (decision.allowed) throw new Error('expected a denial');
  const err = new PolicyDeniedError(c, decision);
  t.equal(err.code, 'POLICY_DENIED');
  t.equal(err.policy, 'app/deny-all');
  t.match(err.message, /10\.0\.0\.5 \(spiffe:\/\/cluster\.local\/ns\/client\/sa\/sleep\) to 10\.0\.1\.1:8080 .*denied by DENY policy app\/deny-all/);
  const plain = plaintext();
  const d2 = authorize(snap, plain);
  if (d2.allowed) throw new Error('expected a denial');
  t.match(new PolicyDeniedError(plain, d2).message, /\(plaintext\)/);
});
