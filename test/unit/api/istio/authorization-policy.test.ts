import t from 'tap';
import { validateResource } from '../../../../src/api/validate';
import { objectErrors, textErrors, withFields, type Obj } from '../helpers';

const A = 't.yaml:0: AuthorizationPolicy bookinfo/reviews';

function base(): Obj {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: {
      selector: { matchLabels: { app: 'reviews' } },
      action: 'ALLOW',
      rules: [{
        from: [{ source: { principals: ['cluster.local/ns/bookinfo/sa/productpage'], ipBlocks: ['10.0.0.0/8'] } }],
        to: [{ operation: { methods: ['GET'], ports: ['9080'], paths: ['/reviews/*'] } }],
        when: [{ key: 'request.headers[x-user]', values: ['jason'] }],
      }],
    },
  };
}

t.test('valid policies in both API versions', async (t) => {
  t.same(objectErrors(base()), []);
  t.same(objectErrors(withFields(base(), { apiVersion: 'security.istio.io/v1beta1' })), []);
  t.same(objectErrors(withFields(base(), { 'spec.rules': [] })), [], 'ALLOW with no rules denies everything and is legal');
  t.same(objectErrors(withFields(base(), { spec: {} })), [], 'an empty spec (allow-nothing) is legal');
  t.same(objectErrors(withFields(base(), { spec: undefined })), [], 'so is no spec at all');
  t.same(objectErrors(withFields(base(), { 'spec.selector': undefined, 'spec.targetRefs': [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }] })), []);
  t.same(objectErrors(withFields(base(), { 'spec.selector': undefined, 'spec.targetRef': { kind: 'Service', group: '', name: 'reviews', namespace: 'bookinfo' } })), []);
  t.same(objectErrors(withFields(base(), { 'spec.action': 'CUSTOM', 'spec.provider': { name: 'ext-authz' } })), []);
  const { located } = validateResource(base(), { file: 'f', line: 0 });
  t.equal(located?.resource.kind, 'AuthorizationPolicy');
});

t.test('condition keys Istio knows are accepted', async (t) => {
  const keys = [
    'request.headers[User-Agent]', 'source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'source.serviceAccount',
    'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'request.auth.claims[iss]', 'request.auth.claims[nested][key]',
    'destination.ip', 'destination.port', 'connection.sni', 'experimental.envoy.filters.network.mysql_proxy[db.table]',
  ];
  const values: Record<string, string> = { 'source.ip': '10.1.2.3', 'remote.ip': '10.0.0.0/16', 'destination.ip': 'fd00::1', 'destination.port': '8080' };
  for (const key of keys) t.same(objectErrors(withFields(base(), { 'spec.rules[0].when': [{ key, values: [values[key] ?? 'x'] }] })), [], key);
});

t.test('authorization policy rules', async (t) => {
  const keyList = 'request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[<name>], destination.ip, destination.port, connection.sni, experimental.*';
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['action enum', { 'spec.action': 'REJECT' }, [`${A}: spec.action: must be one of ALLOW, DENY, AUDIT, CUSTOM (got "REJECT")`]],
    ['CUSTOM needs a provider', { 'spec.action': 'CUSTOM' }, [`${A}: spec.provider: required field is missing`]],
    ['provider needs a name', { 'spec.action': 'CUSTOM', 'spec.provider': {} }, [`${A}: spec.provider.name: required field is missing`]],
    ['provider only with CUSTOM', { 'spec.provider': { name: 'x' } }, [`${A}: spec.provider: is only allowed with action CUSTOM (action is ALLOW)`]],
    ['selector and targetRefs are exclusive', { 'spec.targetRefs': [{ kind: 'Service', group: '', name: 'reviews' }] }, [
      `${A}: spec: only one of selector, targetRef, targetRefs may be set (found selector, targetRefs)`,
    ]],
    ['targetRef and targetRefs are exclusive', { 'spec.selector': undefined, 'spec.targetRef': { kind: 'Service', name: 'a' }, 'spec.targetRefs': [{ kind: 'Service', name: 'b' }] }, [
      `${A}: spec: only one of selector, targetRef, targetRefs may be set (found targetRef, targetRefs)`,
    ]],
    ['target kind', { 'spec.selector': undefined, 'spec.targetRefs': [{ kind: 'Deployment', group: 'apps', name: 'x' }] }, [
      `${A}: spec.targetRefs[0]: unsupported target apps/Deployment (supported: Service, networking.istio.io/ServiceEntry, gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass)`,
    ]],
    ['Gateway needs its group', { 'spec.selector': undefined, 'spec.targetRefs': [{ kind: 'Gateway', name: 'waypoint' }] }, [
      `${A}: spec.targetRefs[0]: unsupported target Gateway (supported: Service, networking.istio.io/ServiceEntry, gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass)`,
    ]],
    ['target name required', { 'spec.selector': undefined, 'spec.targetRef': { kind: 'Service' } }, [`${A}: spec.targetRef.name: required field is missing`]],
    ['no cross-namespace target', { 'spec.selector': undefined, 'spec.targetRefs': [{ kind: 'Service', name: 'a', namespace: 'other' }] }, [
      `${A}: spec.targetRefs[0].namespace: cross-namespace references are not supported (the policy is in namespace bookinfo)`,
    ]],
    ['ipBlocks are IPs or CIDRs', { 'spec.rules[0].from[0].source.ipBlocks': ['10.0.0.0/33'] }, [
      `${A}: spec.rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a valid IP address or CIDR`,
    ]],
    ['notRemoteIpBlocks too', { 'spec.rules[0].from[0].source.notRemoteIpBlocks': ['example.com'] }, [
      `${A}: spec.rules[0].from[0].source.notRemoteIpBlocks[0]: "example.com" is not a valid IP address or CIDR`,
    ]],
    ['ports are numeric strings', { 'spec.rules[0].to[0].operation.ports': ['http'] }, [`${A}: spec.rules[0].to[0].operation.ports[0]: "http" is not a port number (1-65535)`]],
    ['ports in range', { 'spec.rules[0].to[0].operation.notPorts': ['70000'] }, [`${A}: spec.rules[0].to[0].operation.notPorts[0]: "70000" is not a port number (1-65535)`]],
    ['a bare number port says how to quote it', { 'spec.rules[0].to[0].operation.ports': [8080] }, [`${A}: spec.rules[0].to[0].operation.ports[0]: must be a string (write "8080")`]],
    ['empty values are refused', { 'spec.rules[0].from[0].source.principals': [''] }, [`${A}: spec.rules[0].from[0].source.principals[0]: must not be empty`]],
    ['source required', { 'spec.rules[0].from': [{}] }, [`${A}: spec.rules[0].from[0].source: required field is missing`]],
    ['source not empty', { 'spec.rules[0].from': [{ source: {} }] }, [`${A}: spec.rules[0].from[0].source: source must not be empty`]],
    ['operation not empty', { 'spec.rules[0].to': [{ operation: {} }] }, [`${A}: spec.rules[0].to[0].operation: operation must not be empty`]],
    ['from not an empty list', { 'spec.rules[0].from': [] }, [`${A}: spec.rules[0].from: must not be empty`]],
    ['unknown source field', { 'spec.rules[0].from[0].source.principal': ['x'] }, [`${A}: spec.rules[0].from[0].source: unknown field "principal" (did you mean "principals"?)`]],
    ['unknown condition key', { 'spec.rules[0].when[0].key': 'source.port' }, [
      `${A}: spec.rules[0].when[0].key: unknown condition key "source.port"; supported: ${keyList}`,
    ]],
    ['misspelt condition key', { 'spec.rules[0].when[0].key': 'source.namespce' }, [
      `${A}: spec.rules[0].when[0].key: unknown condition key "source.namespce" (did you mean "source.namespace"?); supported: ${keyList}`,
    ]],
    ['condition key needs a header name', { 'spec.rules[0].when[0].key': 'request.headers' }, [
      `${A}: spec.rules[0].when[0].key: unknown condition key "request.headers"; supported: ${keyList}`,
    ]],
    ['condition needs values', { 'spec.rules[0].when[0]': { key: 'source.namespace' } }, [`${A}: spec.rules[0].when[0]: values or notValues must be set for source.namespace`]],
    ['condition key required', { 'spec.rules[0].when[0]': { values: ['a'] } }, [`${A}: spec.rules[0].when[0].key: required field is missing`]],
    ['IP condition values', { 'spec.rules[0].when[0]': { key: 'source.ip', notValues: ['not-an-ip'] } }, [
      `${A}: spec.rules[0].when[0].notValues[0]: "not-an-ip" is not a valid IP address or CIDR (required by source.ip)`,
    ]],
    ['port condition values', { 'spec.rules[0].when[0]': { key: 'destination.port', values: ['0'] } }, [`${A}: spec.rules[0].when[0].values[0]: "0" is not a port number (1-65535)`]],
    ['selector labels', { 'spec.selector.matchLabels': { app: 'a b' } }, [
      `${A}: spec.selector.matchLabels.app: "a b" is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, or empty)`,
    ]],
    ['unknown spec field', { 'spec.selectr': {} }, [`${A}: spec: unknown field "selectr" (did you mean "selector"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});

t.test('a bad condition key is reported on its line', async (t) => {
  const text = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-bad
  namespace: bookinfo
spec:
  action: DENY
  rules:
  - when:
    - key: source.ip
      values: ["10.0.0.1"]
    - key: request.header[x]
      values: ["a"]
`;
  const errors = textErrors(text);
  t.equal(errors.length, 1);
  t.match(errors[0], /^m\.yaml:12: AuthorizationPolicy bookinfo\/deny-bad: spec\.rules\[0\]\.when\[1\]\.key: unknown condition key "request\.header\[x\]"; supported: /);
});
