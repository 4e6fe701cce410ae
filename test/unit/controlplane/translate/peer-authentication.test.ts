// PeerAuthentication -> ztunnel Authorizations and per-workload policy keys, following istiod's ambient conversion.
import t from 'tap';
import {
  convertPeerAuthentication,
  peerAuthenticationAuthorizations,
  peerAuthenticationPolicyKeysForWorkload,
  staticStrictAuthorization,
} from '../../../../src/controlplane/translate/peer-authentication';
import type { PeerAuthentication } from '../../../../src/api';
import { pa, peerAuthentications } from './policy-helpers';

const NO_PRINCIPAL = { matches: [{ notPrincipals: [{ presence: {} }] }] };
const STATIC = 'istio-system/istio_converted_static_strict';

const one = (yaml: string): PeerAuthentication => peerAuthentications(yaml)[0];
const mode = (m: string) => `  mtls:\n    mode: ${m}`;
const workload = (m: string | undefined, ports: Record<string, string>, labels = 'app: web'): string =>
  `  selector:\n    matchLabels: {${labels}}\n` +
  (m === undefined ? '' : `${mode(m)}\n`) +
  `  portLevelMtls:\n${Object.entries(ports)
    .map(([p, pm]) => `    ${p}:\n      mode: ${pm}`)
    .join('\n')}`;

t.test('the static STRICT policy', async (t) => {
  t.same(staticStrictAuthorization(), {
    name: 'istio_converted_static_strict',
    namespace: 'istio-system',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [NO_PRINCIPAL] }],
    dryRun: false,
  });
  t.equal(staticStrictAuthorization('mesh-root').namespace, 'mesh-root');
});

t.test('policies that need no Authorization of their own', async (t) => {
  const rows: [string, string][] = [
    ['namespace-wide STRICT', pa('app', 'p', mode('STRICT'))],
    ['mesh-wide STRICT', pa('istio-system', 'p', mode('STRICT'))],
    ['workload STRICT without ports', pa('app', 'p', `  selector:\n    matchLabels: {app: web}\n${mode('STRICT')}`)],
    ['workload STRICT, every port STRICT', pa('app', 'p', workload('STRICT', { 8080: 'STRICT' }))],
    ['workload PERMISSIVE, every port PERMISSIVE', pa('app', 'p', workload('PERMISSIVE', { 8080: 'PERMISSIVE' }))],
    ['workload UNSET, no parent, port PERMISSIVE', pa('app', 'p', workload(undefined, { 8080: 'PERMISSIVE' }))],
    ['root namespace with selector', pa('istio-system', 'p', workload('STRICT', { 8080: 'PERMISSIVE' }))],
  ];
  for (const [name, yaml] of rows) {
    const out = convertPeerAuthentication(one(yaml));
    t.equal(out.authorization, undefined, name);
    t.type(out.reason, 'string', `${name}: says why`);
  }
});

t.test('workload policies with port-level modes', async (t) => {
  const strictWithHole = convertPeerAuthentication(one(pa('app', 'web', workload('STRICT', { 9090: 'PERMISSIVE', 8080: 'DISABLE', 7070: 'STRICT' }))));
  t.same(
    strictWithHole.authorization,
    {
      name: 'converted_peer_authentication_web',
      namespace: 'app',
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      dryRun: false,
      rules: [{ clauses: [NO_PRINCIPAL, { matches: [{ notDestinationPorts: [8080] }] }, { matches: [{ notDestinationPorts: [9090] }] }] }],
    },
    'STRICT with exempt ports: deny plaintext unless the port is exempt',
  );
  t.same(strictWithHole.selector, { app: 'web' });
  t.match(strictWithHole.warnings[0], /DISABLE acts like PERMISSIVE/);

  const permissiveWithStrict = convertPeerAuthentication(one(pa('app', 'web', workload('PERMISSIVE', { 9000: 'STRICT', 8000: 'STRICT' }))));
  t.same(
    permissiveWithStrict.authorization?.rules,
    [
      { clauses: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [8000] }] }] },
      { clauses: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [9000] }] }] },
    ],
    'PERMISSIVE with STRICT ports: one deny rule per STRICT port',
  );

  const strictNs = one(pa('app', 'ns', mode('STRICT')));
  const permissiveNs = one(pa('app', 'ns', mode('PERMISSIVE')));
  const unsetNs = one(pa('app', 'ns', '  {}'));
  const strictMesh = one(pa('istio-system', 'mesh', mode('STRICT')));
  const unsetDisable = one(pa('app', 'web', workload(undefined, { 8080: 'DISABLE' })));
  t.same(
    convertPeerAuthentication(unsetDisable, { namespacePolicy: strictNs }).authorization?.rules,
    [{ clauses: [NO_PRINCIPAL, { matches: [{ notDestinationPorts: [8080] }] }] }],
    'UNSET under a STRICT namespace inherits STRICT, so the port is an exemption',
  );
  t.same(
    convertPeerAuthentication(unsetDisable, { namespacePolicy: unsetNs, meshPolicy: strictMesh }).authorization?.rules,
    [{ clauses: [NO_PRINCIPAL, { matches: [{ notDestinationPorts: [8080] }] }] }],
    'an UNSET namespace policy inherits the mesh mode',
  );
  t.equal(convertPeerAuthentication(unsetDisable, { namespacePolicy: permissiveNs, meshPolicy: strictMesh }).authorization, undefined, 'a PERMISSIVE namespace overrides a STRICT mesh');
  const unsetStrictPort = one(pa('app', 'web', workload(undefined, { 8080: 'STRICT' })));
  t.same(
    convertPeerAuthentication(unsetStrictPort, { namespacePolicy: permissiveNs }).authorization?.rules,
    [{ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [8080] }] }] }],
    'UNSET under PERMISSIVE with a STRICT port',
  );
  t.equal(convertPeerAuthentication(unsetStrictPort, { namespacePolicy: strictNs }).authorization, undefined, 'a STRICT port under an effective STRICT adds nothing');
});

t.test('policy keys a workload lists', async (t) => {
  const web = { namespace: 'app', labels: { app: 'web' } };
  const keys = (yaml: string, w = web) => peerAuthenticationPolicyKeysForWorkload(peerAuthentications(yaml), w);
  const rows: [string, string, string[]][] = [
    ['no PeerAuthentication', '', []],
    ['mesh STRICT', pa('istio-system', 'mesh', mode('STRICT')), [STATIC]],
    ['mesh STRICT, namespace PERMISSIVE', pa('istio-system', 'mesh', mode('STRICT')) + pa('app', 'ns', mode('PERMISSIVE')), []],
    ['mesh STRICT, namespace UNSET', pa('istio-system', 'mesh', mode('STRICT')) + pa('app', 'ns', '  {}'), [STATIC]],
    ['namespace STRICT', pa('app', 'ns', mode('STRICT')), [STATIC]],
    ['another namespace STRICT', pa('other', 'ns', mode('STRICT')), []],
    ['namespace PERMISSIVE, workload STRICT', pa('app', 'ns', mode('PERMISSIVE')) + pa('app', 'w', `  selector:\n    matchLabels: {app: web}\n${mode('STRICT')}`), [STATIC]],
    ['namespace STRICT, workload PERMISSIVE', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', `  selector:\n    matchLabels: {app: web}\n${mode('PERMISSIVE')}`), []],
    ['namespace STRICT, workload DISABLE', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', `  selector:\n    matchLabels: {app: web}\n${mode('DISABLE')}`), []],
    ['namespace STRICT, workload selects others', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', `  selector:\n    matchLabels: {app: db}\n${mode('PERMISSIVE')}`), [STATIC]],
    ['namespace STRICT, port DISABLE', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', workload(undefined, { 8080: 'DISABLE' })), ['app/converted_peer_authentication_w']],
    ['namespace STRICT, port PERMISSIVE', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', workload(undefined, { 8080: 'PERMISSIVE' })), ['app/converted_peer_authentication_w']],
    ['namespace STRICT, port STRICT', pa('app', 'ns', mode('STRICT')) + pa('app', 'w', workload(undefined, { 8080: 'STRICT' })), [STATIC]],
    ['namespace PERMISSIVE, port STRICT', pa('app', 'ns', mode('PERMISSIVE')) + pa('app', 'w', workload(undefined, { 8080: 'STRICT' })), ['app/converted_peer_authentication_w']],
    ['workload STRICT, port PERMISSIVE', pa('app', 'w', workload('STRICT', { 8080: 'PERMISSIVE' })), ['app/converted_peer_authentication_w']],
    ['workload PERMISSIVE, port STRICT', pa('app', 'w', workload('PERMISSIVE', { 8080: 'STRICT' })), ['app/converted_peer_authentication_w']],
    ['root-namespace selector is ignored', pa('istio-system', 'w', `  selector:\n    matchLabels: {app: web}\n${mode('STRICT')}`), []],
    [
      'the oldest namespace-wide policy wins',
      pa('app', 'newer', mode('PERMISSIVE'), '2024-06-01T00:00:00Z') + pa('app', 'older', mode('STRICT'), '2023-01-01T00:00:00Z'),
      [STATIC],
    ],
    [
      'the oldest workload policy wins',
      pa('app', 'newer', `  selector:\n    matchLabels: {app: web}\n${mode('STRICT')}`, '2024-06-01T00:00:00Z') +
        pa('app', 'older', `  selector:\n    matchLabels: {app: web}\n${mode('PERMISSIVE')}`, '2023-01-01T00:00:00Z'),
      [],
    ],
  ];
  for (const [name, yaml, expected] of rows) t.same(keys(yaml), expected, name);
  t.same(
    peerAuthenticationPolicyKeysForWorkload(peerAuthentications(pa('istio-system', 'mesh', mode('STRICT'))), { namespace: 'istio-system', labels: {} }),
    [STATIC],
    'workloads in the root namespace get the mesh mode',
  );
});

t.test('all derived Authorizations', async (t) => {
  t.same(peerAuthenticationAuthorizations([]), { authorizations: [], warnings: [] }, 'nothing pushed without PeerAuthentications');
  const all = peerAuthentications(
    pa('istio-system', 'mesh', mode('STRICT')) +
      pa('app', 'ns', mode('STRICT'), '2023-01-01T00:00:00Z') +
      pa('app', 'ns-late', mode('PERMISSIVE'), '2024-01-01T00:00:00Z') +
      pa('app', 'w', workload(undefined, { 8080: 'PERMISSIVE' })) +
      pa('app', 'plain', workload(undefined, { 8080: 'STRICT' })),
  );
  const out = peerAuthenticationAuthorizations(all);
  t.same(
    out.authorizations.map((a) => `${a.namespace}/${a.name}`),
    [STATIC, 'app/converted_peer_authentication_w'],
    'the static policy first; a STRICT port under STRICT needs nothing',
  );
  t.same(out.warnings, ['PeerAuthentication app/ns-late is ignored: PeerAuthentication app/ns is older and also applies to the whole namespace.']);
});
