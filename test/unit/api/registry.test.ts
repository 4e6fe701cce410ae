import t from 'tap';
import { allKinds, kindInfo, lookupKind } from '../../../src/api/registry';
import { objectErrors, textErrors } from './helpers';

t.test('kubectl-style names resolve to kinds', async (t) => {
  const rows: [string, string | undefined][] = [
    ['pods', 'Pod'], ['pod', 'Pod'], ['po', 'Pod'], ['Pod', 'Pod'], ['PODS', 'Pod'],
    ['services', 'Service'], ['svc', 'Service'], ['deployments', 'Deployment'], ['deploy', 'Deployment'],
    ['namespaces', 'Namespace'], ['ns', 'Namespace'], ['serviceaccounts', 'ServiceAccount'], ['sa', 'ServiceAccount'],
    ['deployments.apps', 'Deployment'], ['pods.apps', undefined], ['widgets', undefined],
    ['authorizationpolicies', 'AuthorizationPolicy'], ['ap', 'AuthorizationPolicy'], ['authorizationpolicy', 'AuthorizationPolicy'],
    ['peerauthentications', 'PeerAuthentication'], ['pa', 'PeerAuthentication'],
    ['virtualservices', 'VirtualService'], ['vs', 'VirtualService'], ['destinationrules', 'DestinationRule'], ['dr', 'DestinationRule'],
    ['serviceentries', 'ServiceEntry'], ['se', 'ServiceEntry'], ['gateways', 'Gateway'], ['gtw', 'Gateway'],
    ['gateways.gateway.networking.k8s.io', 'Gateway'], ['gateways.networking.istio.io', undefined],
    ['httproutes', 'HTTPRoute'], ['httproute', 'HTTPRoute'], ['HTTPRoute', 'HTTPRoute'],
  ];
  for (const [name, kind] of rows) t.equal(lookupKind(name)?.kind, kind, name);
});

t.test('kindInfo finds a kind at exactly its apiVersion', async (t) => {
  t.match(kindInfo('apps/v1', 'Deployment'), { group: 'apps', kind: 'Deployment', namespaced: true, plural: 'deployments', apiVersions: ['apps/v1'] });
  t.match(kindInfo('v1', 'Namespace'), { group: '', namespaced: false, shortNames: ['ns'] });
  t.equal(kindInfo('v1', 'Deployment'), undefined);
  t.equal(kindInfo('apps/v1', 'deployment'), undefined, 'kinds are case-sensitive');
  t.ok(allKinds().every((k) => k.apiVersions.length === k.versions.length));
  const served: [string, string[]][] = [
    ['AuthorizationPolicy', ['security.istio.io/v1', 'security.istio.io/v1beta1']],
    ['PeerAuthentication', ['security.istio.io/v1', 'security.istio.io/v1beta1']],
    ['VirtualService', ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']],
    ['DestinationRule', ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']],
    ['ServiceEntry', ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']],
    ['Gateway', ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']],
    ['HTTPRoute', ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']],
  ];
  for (const [kind, versions] of served) {
    for (const v of versions) t.equal(kindInfo(v, kind)?.namespaced, true, `${v} ${kind}`);
  }
  t.equal(kindInfo('networking.istio.io/v1alpha3', 'AuthorizationPolicy'), undefined);
});

t.test('unknown apiVersion or kind is an error listing what is supported', async (t) => {
  const kinds = allKinds().map((k) => k.kind).join(', ');
  t.same(objectErrors({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }), [
    `t.yaml:0: Deploymnet x: kind: unknown kind "Deploymnet" (did you mean "Deployment"?); supported kinds: ${kinds}`,
  ]);
  t.same(objectErrors({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), [`t.yaml:0: ConfigMap x: kind: unknown kind "ConfigMap"; supported kinds: ${kinds}`]);
  t.same(objectErrors({ apiVersion: 'networking.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'x' } }), [
    't.yaml:0: AuthorizationPolicy default/x: apiVersion: unsupported apiVersion "networking.istio.io/v1" for kind AuthorizationPolicy (supported: security.istio.io/v1, security.istio.io/v1beta1)',
  ]);
  t.same(objectErrors({ apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'x' } }), [
    't.yaml:0: Deployment default/x: apiVersion: unsupported apiVersion "v1" for kind Deployment (supported: apps/v1)',
  ]);
  t.same(objectErrors({ kind: 'Pod', metadata: { name: 'x' } }), ['t.yaml:0: Pod default/x: apiVersion: required field is missing']);
  t.same(objectErrors({ apiVersion: 'v1', metadata: { name: 'x' } }), ['t.yaml:0: unnamed object: kind: required field is missing']);
  t.same(objectErrors({ apiVersion: 1, kind: 'Pod', metadata: { name: 'x' } }), ['t.yaml:0: Pod default/x: apiVersion: must be a string (got 1)']);
  t.same(objectErrors({ apiVersion: 'v1', kind: ['Pod'], metadata: { name: 'x' } }), ['t.yaml:0: unnamed object: kind: must be a string (got a list)']);
});

t.test('an apiVersion error points at the apiVersion line', async (t) => {
  t.same(textErrors('kind: Namespace\napiVersion: v2\nmetadata:\n  name: a\n'), [
    'm.yaml:2: Namespace a: apiVersion: unsupported apiVersion "v2" for kind Namespace (supported: v1)',
  ]);
});
