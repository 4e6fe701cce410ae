// End to end without a network: Istio policy YAML -> control-plane conversion -> protobuf bytes -> ztunnel snapshot
// -> per-connection decision. Both halves must agree for these stories to hold.
import t from 'tap';
import { parseManifests, type AuthorizationPolicy, type PeerAuthentication } from '../../../../src/api';
import { convertAuthorizationPolicy, selectorPolicyKeysForWorkload } from '../../../../src/controlplane/translate/authorization';
import { peerAuthenticationAuthorizations, peerAuthenticationPolicyKeysForWorkload } from '../../../../src/controlplane/translate/peer-authentication';
import { addressFromAny, addressToAny, authorizationFromAny, authorizationToAny } from '../../../../src/xds';
import { authorize, PolicySnapshot, type AuthzDecision, type SourceIdentity } from '../../../../src/ztunnel/authz';
import { ap, pa } from './policy-helpers';

interface Server {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
}

interface Client {
  readonly ip: string;
  /** Undefined: plaintext (a workload outside the mesh). */
  readonly id?: SourceIdentity;
}

const client = (namespace: string, serviceAccount: string, ip: string): Client => ({ ip, id: { trustDomain: 'cluster.local', namespace, serviceAccount } });
const outsider = (ip: string): Client => ({ ip });

const WEB: Server = { namespace: 'app', labels: { app: 'web' }, ip: '10.0.1.10' };
const DB: Server = { namespace: 'app', labels: { app: 'db' }, ip: '10.0.1.20' };
const SLEEP = client('app', 'sleep', '10.0.2.1');
const CURL = client('app', 'curl', '10.0.2.2');
const FOREIGN = client('other', 'default', '10.5.0.9');
const PLAIN = outsider('10.0.2.7');

/** Everything a control plane and a ztunnel would do with this YAML, wire included. */
function mesh(yaml: string) {
  const { resources, errors } = parseManifests(yaml, 'mesh.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('; '));
  const aps = resources.map((r) => r.resource).filter((r): r is AuthorizationPolicy => r.kind === 'AuthorizationPolicy');
  const pas = resources.map((r) => r.resource).filter((r): r is PeerAuthentication => r.kind === 'PeerAuthentication');
  const converted = aps.map((p) => convertAuthorizationPolicy(p));
  const fromPeerAuth = peerAuthenticationAuthorizations(pas);
  const warnings = [...converted.flatMap((c) => c.warnings), ...fromPeerAuth.warnings];
  const pushed = [...converted.flatMap((c) => (c.authorization === undefined ? [] : [c.authorization])), ...fromPeerAuth.authorizations];
  const snapshot = PolicySnapshot.from(pushed.map((a) => authorizationFromAny(authorizationToAny(a))));

  function policiesOf(server: Server): string[] {
    const keys = [...selectorPolicyKeysForWorkload(converted, server), ...peerAuthenticationPolicyKeysForWorkload(pas, server)];
    // The list reaches ztunnel inside the Workload resource, so send it through the wire as well.
    const address = addressFromAny(addressToAny({ workload: { uid: `Kubernetes//Pod/${server.namespace}/x`, namespace: server.namespace, authorizationPolicies: keys } }));
    return address.workload?.authorizationPolicies ?? [];
  }

  function decide(from: Client, to: Server, port = 8080): AuthzDecision {
    return authorize(snapshot, {
      sourceIp: from.ip,
      sourceIdentity: from.id,
      destinationIp: to.ip,
      destinationPort: port,
      destinationWorkload: { namespace: to.namespace, authorizationPolicies: policiesOf(to) },
    });
  }
  const allowed = (from: Client, to: Server, port = 8080): boolean => decide(from, to, port).allowed;
  return { decide, allowed, warnings, snapshot, policiesOf };
}


t.test('a DENY by principal blocks one client and not another', async (t) => {
  const m = mesh(ap('app', 'deny-curl', `  selector:\n    matchLabels: {app: web}\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/app/sa/curl"]`));
  t.same(m.decide(CURL, WEB), { allowed: false, policy: 'app/deny-curl', reason: 'denied by DENY policy app/deny-curl' });
  t.equal(m.allowed(SLEEP, WEB), true, 'another identity');
  t.equal(m.allowed(PLAIN, WEB), true, 'plaintext has no principal to deny');
  t.equal(m.allowed(CURL, DB), true, 'the selector picks web only');
});

t.test('adding an ALLOW denies everyone it does not name', async (t) => {
  const before = mesh(ap('app', 'deny-curl', `  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/app/sa/curl"]`));
  t.equal(before.allowed(FOREIGN, WEB), true, 'no ALLOW: everything not denied passes');
  const after = mesh(
    ap('app', 'deny-curl', `  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/app/sa/curl"]`) +
      ap('app', 'allow-sleep', `  selector:\n    matchLabels: {app: web}\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/app/sa/sleep"]`),
  );
  t.equal(after.allowed(SLEEP, WEB), true, 'named');
  t.same(after.decide(FOREIGN, WEB), { allowed: false, reason: 'allow policies exist but none matched' }, 'not named');
  t.equal(after.allowed(PLAIN, WEB), false, 'plaintext is not named either');
  t.equal(after.allowed(CURL, WEB), false, 'DENY still wins');
  t.equal(after.allowed(FOREIGN, DB), true, 'db has no ALLOW policy');
});

t.test('namespace-wide versus selector scope, and root-namespace GLOBAL', async (t) => {
  const nsWide = mesh(ap('app', 'only-app', `  rules:\n  - from:\n    - source:\n        namespaces: ["app"]`));
  t.equal(nsWide.allowed(FOREIGN, WEB), false, 'applies to web');
  t.equal(nsWide.allowed(FOREIGN, DB), false, 'and to db');
  t.equal(nsWide.allowed(SLEEP, DB), true);
  t.same(nsWide.policiesOf(WEB), [], 'namespace policies are not listed on workloads');
  const elsewhere: Server = { namespace: 'other', labels: {}, ip: '10.5.0.1' };
  t.equal(nsWide.allowed(SLEEP, elsewhere), true, 'but not to another namespace');

  const global = mesh(ap('istio-system', 'no-foreign', `  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["other"]`));
  t.equal(global.snapshot.global().length, 1, 'pushed as GLOBAL');
  t.equal(global.allowed(FOREIGN, WEB), false, 'applies in app');
  t.equal(global.allowed(FOREIGN, elsewhere), false, 'and in every other namespace');
  t.equal(global.allowed(SLEEP, WEB), true);

  const rootSelector = mesh(ap('istio-system', 'web-deny', `  selector:\n    matchLabels: {app: web}\n  action: DENY\n  rules:\n  - {}`));
  t.same(rootSelector.policiesOf(WEB), ['istio-system/web-deny'], 'a root-namespace selector applies across namespaces');
  t.equal(rootSelector.allowed(SLEEP, WEB), false);
  t.equal(rootSelector.allowed(SLEEP, DB), true);
});

t.test('not* fields, ipBlocks and ports', async (t) => {
  const cases: [string, string, [Client, number, boolean][]][] = [
    ['notPrincipals', `        notPrincipals: ["cluster.local/ns/app/sa/sleep"]`, [[SLEEP, 8080, false], [CURL, 8080, true], [PLAIN, 8080, true]]],
    ['notNamespaces', `        notNamespaces: ["app"]`, [[SLEEP, 8080, false], [FOREIGN, 8080, true], [PLAIN, 8080, true]]],
    ['ipBlocks', `        ipBlocks: ["10.0.2.0/30"]`, [[SLEEP, 8080, true], [CURL, 8080, true], [PLAIN, 8080, false], [FOREIGN, 8080, false]]],
    ['notIpBlocks', `        notIpBlocks: ["10.0.0.0/16"]`, [[SLEEP, 8080, false], [FOREIGN, 8080, true]]],
  ];
  for (const [name, source, expectations] of cases) {
    const m = mesh(ap('app', 'p', `  selector:\n    matchLabels: {app: web}\n  rules:\n  - from:\n    - source:\n${source}`));
    for (const [from, port, allowed] of expectations) t.equal(m.allowed(from, WEB, port), allowed, `${name}: ${from.id?.serviceAccount ?? 'plaintext'} ${from.ip}`);
  }
  const ports = mesh(ap('app', 'p', `  rules:\n  - to:\n    - operation:\n        ports: ["8080"]`) + ap('app', 'q', `  action: DENY\n  rules:\n  - to:\n    - operation:\n        notPorts: ["8080", "9090"]`));
  t.equal(ports.allowed(SLEEP, WEB, 8080), true, 'ports: allowed port');
  t.equal(ports.allowed(SLEEP, WEB, 9090), false, 'ports: not in the ALLOW');
  t.same(ports.decide(SLEEP, WEB, 7070), { allowed: false, policy: 'app/q', reason: 'denied by DENY policy app/q' }, 'notPorts: denied outright');
});

t.test('when conditions ztunnel can evaluate', async (t) => {
  const when = (key: string, values: string) => mesh(ap('app', 'p', `  rules:\n  - when:\n    - key: ${key}\n      ${values}`));
  t.equal(when('source.ip', 'values: ["10.0.2.1"]').allowed(SLEEP, WEB), true);
  t.equal(when('source.ip', 'values: ["10.0.2.1"]').allowed(CURL, WEB), false);
  t.equal(when('source.namespace', 'values: ["other"]').allowed(FOREIGN, WEB), true);
  t.equal(when('source.namespace', 'values: ["other"]').allowed(SLEEP, WEB), false);
  t.equal(when('source.principal', 'notValues: ["cluster.local/ns/app/sa/curl"]').allowed(SLEEP, WEB), true);
  t.equal(when('source.principal', 'notValues: ["cluster.local/ns/app/sa/curl"]').allowed(CURL, WEB), false);
  t.equal(when('destination.port', 'values: ["9090"]').allowed(SLEEP, WEB, 9090), true);
  t.equal(when('destination.port', 'values: ["9090"]').allowed(SLEEP, WEB, 8080), false);
  t.equal(when('destination.ip', 'values: ["10.0.1.0/28"]').allowed(SLEEP, WEB), true);
  t.equal(when('destination.ip', 'values: ["10.0.1.0/28"]').allowed(SLEEP, DB), false);
});

t.test('an ALLOW with only L7 rules fails closed', async (t) => {
  const m = mesh(ap('app', 'get-only', `  selector:\n    matchLabels: {app: web}\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]`));
  t.equal(m.allowed(SLEEP, WEB), false, 'nothing is allowed to web');
  t.equal(m.allowed(SLEEP, DB), true, 'db is not selected');
  t.equal(m.warnings.length, 1);
  t.match(m.warnings[0], /found: methods.*No rule is left/);
});

t.test('a DENY with methods only is a no-op and warns', async (t) => {
  const m = mesh(ap('app', 'no-delete', `  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE"]`));
  t.equal(m.allowed(SLEEP, WEB), true);
  t.equal(m.allowed(PLAIN, WEB), true);
  t.equal(m.warnings.length, 1);
  t.match(m.warnings[0], /will have no effect/);
});

t.test('PeerAuthentication modes', async (t) => {
  const strict = mesh(pa('app', 'default', `  mtls:\n    mode: STRICT`));
  t.same(strict.decide(PLAIN, WEB), {
    allowed: false,
    policy: 'istio-system/istio_converted_static_strict',
    reason: 'denied by DENY policy istio-system/istio_converted_static_strict',
  }, 'STRICT denies plaintext');
  t.equal(strict.allowed(SLEEP, WEB), true, 'and allows mTLS');

  const permissive = mesh(pa('app', 'default', `  mtls:\n    mode: PERMISSIVE`));
  t.equal(permissive.allowed(PLAIN, WEB), true, 'PERMISSIVE allows plaintext');
  t.equal(permissive.allowed(SLEEP, WEB), true, 'and mTLS');

  const meshStrict = mesh(pa('istio-system', 'default', `  mtls:\n    mode: STRICT`));
  t.equal(meshStrict.allowed(PLAIN, DB), false, 'mesh-wide STRICT');

  const hole = mesh(
    pa('app', 'default', `  mtls:\n    mode: STRICT`) +
      pa('app', 'web-metrics', `  selector:\n    matchLabels: {app: web}\n  portLevelMtls:\n    9100:\n      mode: DISABLE`),
  );
  t.equal(hole.allowed(PLAIN, WEB, 9100), true, 'port-level DISABLE under a STRICT namespace: plaintext on that port');
  t.equal(hole.allowed(PLAIN, WEB, 8080), false, 'but not on other ports');
  t.equal(hole.allowed(SLEEP, WEB, 8080), true, 'mTLS everywhere');
  t.equal(hole.allowed(PLAIN, DB, 9100), false, 'and only for the selected workload');

  const override = mesh(
    pa('app', 'default', `  mtls:\n    mode: PERMISSIVE`) + pa('app', 'web-strict', `  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: STRICT`),
  );
  t.equal(override.allowed(PLAIN, WEB), false, 'a workload STRICT overrides a namespace PERMISSIVE');
  t.equal(override.allowed(PLAIN, DB), true, 'other workloads stay PERMISSIVE');

  const strictPort = mesh(pa('app', 'web-db-port', `  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: PERMISSIVE\n  portLevelMtls:\n    5432:\n      mode: STRICT`));
  t.equal(strictPort.allowed(PLAIN, WEB, 5432), false, 'a STRICT port under PERMISSIVE');
  t.equal(strictPort.allowed(PLAIN, WEB, 8080), true);
});

t.test('PeerAuthentication and AuthorizationPolicy together', async (t) => {
  const m = mesh(
    pa('app', 'default', `  mtls:\n    mode: STRICT`) + ap('app', 'allow-all-from-ip', `  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.2.0/24"]`),
  );
  t.equal(m.allowed(PLAIN, WEB), false, 'an ALLOW cannot reopen what STRICT denies: DENY is checked first');
  t.equal(m.allowed(SLEEP, WEB), true);
});
