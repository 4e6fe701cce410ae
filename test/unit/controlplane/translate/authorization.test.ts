// AuthorizationPolicy -> istio.security.Authorization, checked against istiod's ambient conversion rule by rule.
import t from 'tap';
import {
  convertAuthorizationPolicy,
  hasEffectiveRules,
  selectorPolicyKeysForWorkload,
  toAuthorizationAddress,
  toStringMatch,
} from '../../../../src/controlplane/translate/authorization';
import { ap, authorizationPolicy, authorizationPolicies } from './policy-helpers';

const v4 = (a: number, b: number, c: number, d: number, length: number) => ({ address: Uint8Array.from([a, b, c, d]), length });

t.test('scope and selector', async (t) => {
  const rows: [string, string, string, string | undefined][] = [
    ['istio-system', '  action: DENY', 'GLOBAL', undefined],
    ['app', '  action: DENY', 'NAMESPACE', undefined],
    ['app', '  selector:\n    matchLabels: {app: web}', 'WORKLOAD_SELECTOR', 'web'],
    ['istio-system', '  selector:\n    matchLabels: {app: web}', 'WORKLOAD_SELECTOR', 'web'],
  ];
  for (const [ns, spec, scope, app] of rows) {
    const out = convertAuthorizationPolicy(authorizationPolicy(ap(ns, 'p', spec)));
    t.equal(out.scope, scope, `${ns}: ${spec.trim()}`);
    t.equal(out.authorization?.scope, scope, 'the Authorization carries the same scope');
    t.same(out.selector, app === undefined ? undefined : { app }, 'selector labels');
    t.same(out.warnings, []);
  }
  const custom = convertAuthorizationPolicy(authorizationPolicy(ap('mesh', 'p', '  action: DENY')), { rootNamespace: 'mesh' });
  t.equal(custom.scope, 'GLOBAL', 'rootNamespace is configurable');
});

t.test('policies ztunnel does not enforce', async (t) => {
  const viaWaypoint = convertAuthorizationPolicy(
    authorizationPolicy(ap('app', 'wp', '  targetRefs:\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: waypoint\n  action: DENY')),
  );
  t.equal(viaWaypoint.authorization, undefined, 'targetRefs: waypoint only');
  t.match(viaWaypoint.reason, /targetRefs.*waypoint, not by ztunnel/);
  t.same(viaWaypoint.warnings, [], 'that is not a problem, so no warning');

  const single = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'wp', '  targetRef:\n    kind: Service\n    name: web')));
  t.equal(single.authorization, undefined, 'targetRef (singular) as well');

  for (const spec of ['  action: CUSTOM\n  provider:\n    name: ext-authz', '  action: AUDIT']) {
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', spec)));
    t.equal(out.authorization, undefined, spec.trim());
    t.equal(out.warnings.length, 1);
    t.match(out.warnings[0], /^AuthorizationPolicy app\/p: ztunnel does not support the (CUSTOM|AUDIT) action/);
  }
});

t.test('L4 fields map onto Match', async (t) => {
  const out = convertAuthorizationPolicy(
    authorizationPolicy(
      ap(
        'app',
        'p',
        `  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/a/sa/b", "*", "cluster.local/ns/a/*", "*/sa/b"]
        notPrincipals: ["cluster.local/ns/x/sa/y"]
        namespaces: ["a", "team-*"]
        notNamespaces: ["b"]
        serviceAccounts: ["own", "other/sa"]
        notServiceAccounts: ["bad/sa"]
        ipBlocks: ["10.0.0.0/8", "10.1.2.3"]
        notIpBlocks: ["10.9.0.0/16", "fd00::/8"]
    to:
    - operation:
        ports: ["8080", "9090"]
    - operation:
        notPorts: ["22"]`,
      ),
    ),
  );
  t.same(out.warnings, []);
  t.same(out.authorization, {
    name: 'p',
    namespace: 'app',
    scope: 'NAMESPACE',
    action: 'ALLOW',
    dryRun: false,
    rules: [
      {
        clauses: [
          { matches: [{ destinationPorts: [8080, 9090] }, { notDestinationPorts: [22] }] },
          {
            matches: [
              {
                sourceIps: [v4(10, 0, 0, 0, 8), v4(10, 1, 2, 3, 32)],
                notSourceIps: [v4(10, 9, 0, 0, 16), { address: Uint8Array.from([0xfd, ...new Array<number>(15).fill(0)]), length: 8 }],
                namespaces: [{ exact: 'a' }, { prefix: 'team-' }],
                notNamespaces: [{ exact: 'b' }],
                serviceAccounts: [
                  { namespace: 'app', serviceAccount: 'own' },
                  { namespace: 'other', serviceAccount: 'sa' },
                ],
                notServiceAccounts: [{ namespace: 'bad', serviceAccount: 'sa' }],
                principals: [{ exact: 'cluster.local/ns/a/sa/b' }, { presence: {} }, { prefix: 'cluster.local/ns/a/' }, { suffix: '/sa/b' }],
                notPrincipals: [{ exact: 'cluster.local/ns/x/sa/y' }],
              },
            ],
          },
        ],
      },
    ],
  });
});

t.test('when conditions become one clause each', async (t) => {
  const out = convertAuthorizationPolicy(
    authorizationPolicy(
      ap(
        'app',
        'p',
        `  rules:
  - when:
    - key: source.ip
      values: ["10.0.0.0/8"]
      notValues: ["10.0.0.1"]
    - key: source.namespace
      values: ["a"]
    - key: source.principal
      notValues: ["cluster.local/ns/a/sa/bad"]
    - key: destination.port
      values: ["80"]
    - key: destination.ip
      notValues: ["10.2.0.0/16"]`,
      ),
    ),
  );
  t.same(out.warnings, []);
  t.same(out.authorization?.rules, [
    {
      clauses: [
        { matches: [{ sourceIps: [v4(10, 0, 0, 0, 8)], notSourceIps: [v4(10, 0, 0, 1, 32)] }] },
        { matches: [{ namespaces: [{ exact: 'a' }] }] },
        { matches: [{ notPrincipals: [{ exact: 'cluster.local/ns/a/sa/bad' }] }] },
        { matches: [{ destinationPorts: [80] }] },
        { matches: [{ notDestinationIps: [v4(10, 2, 0, 0, 16)] }] },
      ],
    },
  ]);
});

t.test('ALLOW with L7 fields: rules with them are dropped', async (t) => {
  const mixed = convertAuthorizationPolicy(
    authorizationPolicy(
      ap(
        'app',
        'p',
        `  rules:
  - to:
    - operation:
        methods: ["GET"]
  - from:
    - source:
        namespaces: ["a"]
  - when:
    - key: request.headers[x-user]
      values: ["admin"]`,
      ),
    ),
  );
  t.same(mixed.authorization?.rules, [{ clauses: [{ matches: [{ namespaces: [{ exact: 'a' }] }] }] }], 'only the L4 rule is left');
  t.same(mixed.warnings, [
    'AuthorizationPolicy app/p: ztunnel does not support HTTP attributes (found: methods, request.headers[x-user]). ' +
      'In ambient mode you must use a waypoint proxy to enforce HTTP rules. ' +
      'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.',
  ]);

  const onlyL7 = convertAuthorizationPolicy(
    authorizationPolicy(
      ap(
        'app',
        'p',
        `  rules:
  - from:
    - source:
        namespaces: ["a"]
        requestPrincipals: ["*"]
    to:
    - operation:
        paths: ["/admin"]
        hosts: ["web"]`,
      ),
    ),
  );
  t.same(onlyL7.authorization?.rules, [], 'no rule left: an ALLOW that matches nothing (fail closed)');
  t.equal(onlyL7.authorization?.action, 'ALLOW');
  t.match(onlyL7.warnings[0], /found: hosts, paths, requestPrincipals\)/);
  t.match(onlyL7.warnings[0], /No rule is left, so this policy allows nothing/);

  for (const field of ['notHosts', 'notMethods', 'notPaths']) {
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', `  rules:\n  - to:\n    - operation:\n        ${field}: ["x"]`)));
    t.same(out.authorization?.rules, [], `${field} is L7`);
  }
  for (const field of ['remoteIpBlocks', 'notRemoteIpBlocks', 'notRequestPrincipals']) {
    const value = field.includes('Ip') ? '"10.0.0.0/8"' : '"x"';
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', `  rules:\n  - from:\n    - source:\n        ${field}: [${value}]`)));
    t.same(out.authorization?.rules, [], `${field} is L7`);
  }
  for (const key of ['remote.ip', 'source.serviceAccount', 'connection.sni', 'request.auth.principal']) {
    const value = key === 'remote.ip' ? '"10.0.0.0/8"' : '"x"';
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', `  rules:\n  - when:\n    - key: ${key}\n      values: [${value}]`)));
    t.same(out.authorization?.rules, [], `when ${key} needs a waypoint`);
  }
});

t.test('DENY with L7 fields: stripped, the L4 remainder enforced', async (t) => {
  const methodsOnly = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', `  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE"]`)));
  t.same(methodsOnly.authorization?.rules, [{ clauses: [{ matches: [{}] }] }], 'an empty Match: ztunnel skips it, so nothing is denied');
  t.equal(hasEffectiveRules(methodsOnly.authorization?.rules ?? []), false);
  t.same(methodsOnly.warnings, [
    'AuthorizationPolicy app/p: ztunnel does not support HTTP attributes (found: methods). ' +
      'In ambient mode you must use a waypoint proxy to enforce HTTP rules. ' +
      'After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel and will have no effect. ' +
      'Deploy a waypoint proxy and use a targetRef to enforce this policy.',
  ]);

  const mixed = convertAuthorizationPolicy(
    authorizationPolicy(ap('app', 'p', `  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE"]\n        ports: ["8080"]`)),
  );
  t.same(mixed.authorization?.rules, [{ clauses: [{ matches: [{ destinationPorts: [8080] }] }] }], 'the port stays: every connection to 8080 is denied');
  t.match(mixed.warnings[0], /DENY policy with HTTP attributes is enforced without the HTTP rules/);

  const l7When = convertAuthorizationPolicy(
    authorizationPolicy(
      ap('app', 'p', `  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["a"]\n    when:\n    - key: request.headers[x]\n      values: ["1"]`),
    ),
  );
  t.same(
    l7When.authorization?.rules,
    [{ clauses: [{ matches: [{ namespaces: [{ exact: 'a' }] }] }, { matches: [{}] }] }],
    'an L7 when becomes an empty-Match clause',
  );
  t.match(l7When.warnings[0], /will have no effect/, 'so the rule can never fire, and the warning says so');

  const twoRules = convertAuthorizationPolicy(
    authorizationPolicy(ap('app', 'p', `  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/x"]\n  - from:\n    - source:\n        namespaces: ["a"]`)),
  );
  t.match(twoRules.warnings[0], /enforced without the HTTP rules/, 'one live rule is enough to be effective');
});

t.test('empty rules', async (t) => {
  const rows: [string, unknown][] = [
    ['  {}', []],
    ['  rules: []', []],
    ['  rules:\n  - {}', [{ clauses: [] }]],
    ['  action: DENY', []],
    ['  action: DENY\n  rules:\n  - {}', [{ clauses: [] }]],
  ];
  for (const [spec, rules] of rows) {
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', spec)));
    t.same(out.authorization?.rules, rules, spec.trim());
    t.same(out.warnings, []);
  }
  t.equal(hasEffectiveRules([{ clauses: [] }]), true, 'a rule with no clauses matches everything');
  t.equal(hasEffectiveRules([]), false);
});

t.test('dry-run annotation', async (t) => {
  const rows: [string, boolean, number][] = [
    ['"true"', true, 0],
    ['"True"', true, 0],
    ['"1"', true, 0],
    ['"false"', false, 0],
    ['"yes"', false, 1],
  ];
  for (const [value, dryRun, warnings] of rows) {
    const out = convertAuthorizationPolicy(authorizationPolicy(ap('app', 'p', '  action: DENY', `    istio.io/dry-run: ${value}`)));
    t.equal(out.authorization?.dryRun, dryRun, value);
    t.equal(out.warnings.length, warnings);
  }
});

t.test('principals that can never match are flagged', async (t) => {
  const out = convertAuthorizationPolicy(
    authorizationPolicy(
      ap(
        'app',
        'p',
        `  rules:
  - from:
    - source:
        principals: ["spiffe://cluster.local/ns/a/sa/b", "cluster.local/ns/a/sa/c", "*/ns/a/sa/d"]
        notPrincipals: ["old.example/ns/a/sa/b"]
    when:
    - key: source.principal
      values: ["example.org/ns/a/sa/ok"]`,
      ),
    ),
    { trustDomain: 'example.org' },
  );
  t.equal(out.warnings.length, 3);
  t.match(out.warnings[0], /"spiffe:\/\/cluster.local\/ns\/a\/sa\/b" never matches.*write "cluster.local\/ns\/a\/sa\/b"/);
  t.match(out.warnings[1], /names trust domain "cluster.local", but workload identities are in "example.org"/);
  t.match(out.warnings[2], /notPrincipals value "old.example/);
  t.same(out.authorization?.rules?.[0]?.clauses?.[0]?.matches?.[0]?.principals?.[0], { exact: 'spiffe://cluster.local/ns/a/sa/b' }, 'the value is still sent as istiod would');
});

t.test('value helpers', async (t) => {
  t.same(toStringMatch('*'), { presence: {} });
  t.same(toStringMatch('*x*'), { suffix: 'x*' }, 'a leading * wins, as in istiod');
  t.same(toAuthorizationAddress('::ffff:10.0.0.1'), { address: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]), length: 128 });
  t.same(toAuthorizationAddress('2001:db8::/32'), { address: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(0)]), length: 32 });
  t.same(toAuthorizationAddress('1:2:3:4:5:6:7:8')?.address, Uint8Array.from([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
  t.same(toAuthorizationAddress('10.1.2.3/24'), v4(10, 1, 2, 3, 24), 'host bits are kept, as netip.ParsePrefix does');
  t.equal(toAuthorizationAddress('10.0.0.0/33'), undefined);
  t.equal(toAuthorizationAddress('bogus'), undefined);
});

t.test('selector policies a workload lists', async (t) => {
  const converted = authorizationPolicies(
    ap('app', 'web-only', '  selector:\n    matchLabels: {app: web}') +
      ap('app', 'web-v2', '  selector:\n    matchLabels: {app: web, version: v2}') +
      ap('istio-system', 'mesh-web', '  selector:\n    matchLabels: {app: web}') +
      ap('other', 'elsewhere', '  selector:\n    matchLabels: {app: web}') +
      ap('app', 'ns-wide', '  action: DENY') +
      ap('app', 'custom', '  selector:\n    matchLabels: {app: web}\n  action: AUDIT'),
  ).map((p) => convertAuthorizationPolicy(p));
  t.same(selectorPolicyKeysForWorkload(converted, { namespace: 'app', labels: { app: 'web', version: 'v1' } }), ['app/web-only', 'istio-system/mesh-web']);
  t.same(selectorPolicyKeysForWorkload(converted, { namespace: 'app', labels: { app: 'web', version: 'v2' } }), ['app/web-only', 'app/web-v2', 'istio-system/mesh-web']);
  t.same(selectorPolicyKeysForWorkload(converted, { namespace: 'app', labels: { app: 'db' } }), []);
});
