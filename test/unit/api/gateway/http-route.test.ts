import t from 'tap';
import { validateResource } from '../../../../src/api/validate';
import { objectErrors, withFields, type Obj } from '../helpers';

const R = 't.yaml:0: HTTPRoute bookinfo/reviews';
const RULE = `${R}: spec.rules[0]`;

function base(): Obj {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [{
        matches: [{ path: { type: 'PathPrefix', value: '/reviews' }, headers: [{ name: 'end-user', value: 'jason' }], method: 'GET' }],
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: 'a' }], remove: ['x-debug'] } }],
        backendRefs: [{ name: 'reviews-v1', port: 9080, weight: 90 }, { name: 'reviews-v2', port: 9080, weight: 10 }],
        timeouts: { request: '10s', backendRequest: '2s' },
      }],
    },
  };
}

t.test('valid routes, and the CRD defaults filled in', async (t) => {
  t.same(objectErrors(base()), []);
  t.same(objectErrors(withFields(base(), { apiVersion: 'gateway.networking.k8s.io/v1beta1' })), []);
  t.same(objectErrors(withFields(base(), {
    'spec.parentRefs': [{ name: 'waypoint' }, { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress', namespace: 'istio-system', sectionName: 'http' }],
    'spec.hostnames': ['reviews.example.com', '*.example.com'],
    'spec.rules[0].filters': [
      { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow', port: 9080 }, percent: 10 } },
      { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow2', port: 9080 }, fraction: { numerator: 1, denominator: 3 } } },
      { type: 'URLRewrite', urlRewrite: { hostname: 'internal', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } } },
      { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'x-served-by', value: 'ambit' }] } },
    ],
    'spec.rules[1]': { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301, path: { type: 'ReplaceFullPath', replaceFullPath: '/' } } }] },
    'spec.rules[2]': { matches: [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+' }, queryParams: [{ type: 'RegularExpression', name: 'q', value: '.*' }] }], backendRefs: [{ kind: 'ServiceEntry', group: 'networking.istio.io', name: 'ext' }] },
  })), []);
  const { located } = validateResource(withFields(base(), { 'spec.parentRefs': [{ name: 'waypoint' }], 'spec.rules': [{ backendRefs: [{ name: 'r', port: 80 }] }] }), { file: 'f', line: 0 });
  t.same(located?.resource.spec, {
    parentRefs: [{ name: 'waypoint', group: 'gateway.networking.k8s.io', kind: 'Gateway' }],
    rules: [{ backendRefs: [{ name: 'r', port: 80, group: '', kind: 'Service', weight: 1 }], matches: [{ path: { type: 'PathPrefix', value: '/' } }] }],
  });
  const noRules = validateResource(withFields(base(), { 'spec.rules': undefined }), { file: 'f', line: 0 });
  t.same((noRules.located?.resource.spec as { rules: unknown }).rules, [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }]);
});

t.test('http route rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['parent name required', { 'spec.parentRefs[0].name': undefined }, [`${R}: spec.parentRefs[0].name: required field is missing`]],
    ['Service parent needs the core group', { 'spec.parentRefs[0].group': undefined }, [
      `${R}: spec.parentRefs[0].group: must be "" (the core group) for kind Service; an omitted group means gateway.networking.k8s.io`,
    ]],
    ['parent kind', { 'spec.parentRefs[0]': { group: 'apps', kind: 'Deployment', name: 'x' } }, [
      `${R}: spec.parentRefs[0]: unsupported parent apps/Deployment (supported: gateway.networking.k8s.io/Gateway, Service with group "")`,
    ]],
    ['parent port', { 'spec.parentRefs[0].port': 0 }, [`${R}: spec.parentRefs[0].port: must be between 1 and 65535 (got 0)`]],
    ['hostnames', { 'spec.hostnames': ['Reviews.example.com'] }, [
      `${R}: spec.hostnames[0]: "Reviews.example.com" is not a valid hostname (lower case DNS name, optionally with a "*." prefix; no IP address or port)`,
    ]],
    ['hostname with port', { 'spec.hostnames': ['a.com:80'] }, [
      `${R}: spec.hostnames[0]: "a.com:80" is not a valid hostname (lower case DNS name, optionally with a "*." prefix; no IP address or port)`,
    ]],
    ['path type', { 'spec.rules[0].matches[0].path.type': 'Prefix' }, [`${RULE}.matches[0].path.type: must be one of Exact, PathPrefix, RegularExpression (got "Prefix")`]],
    ['path starts with /', { 'spec.rules[0].matches[0].path.value': 'reviews' }, [`${RULE}.matches[0].path.value: must start with "/" (got "reviews")`]],
    ['path regex compiles', { 'spec.rules[0].matches[0].path': { type: 'RegularExpression', value: '/a[' } }, [
      `${RULE}.matches[0].path.value: invalid regular expression "/a[": Unterminated character class`,
    ]],
    ['header match name', { 'spec.rules[0].matches[0].headers[0].name': undefined }, [`${RULE}.matches[0].headers[0].name: required field is missing`]],
    ['header match names unique, any case', { 'spec.rules[0].matches[0].headers[1]': { name: 'End-User', value: 'x' } }, [
      `${RULE}.matches[0].headers[1].name: duplicate name "End-User" (also used by [0])`,
    ]],
    ['header match type', { 'spec.rules[0].matches[0].headers[0].type': 'Prefix' }, [`${RULE}.matches[0].headers[0].type: must be one of Exact, RegularExpression (got "Prefix")`]],
    ['method', { 'spec.rules[0].matches[0].method': 'get' }, [`${RULE}.matches[0].method: must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH (got "get")`]],
    ['filter type', { 'spec.rules[0].filters[0].type': 'HeaderModifier' }, [
      `${RULE}.filters[0].type: must be one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, RequestRedirect, URLRewrite, ExtensionRef (got "HeaderModifier")`,
    ]],
    ['filter config must match type', { 'spec.rules[0].filters[0].type': 'ResponseHeaderModifier' }, [
      `${RULE}.filters[0].requestHeaderModifier: must not be set when type is ResponseHeaderModifier`,
      `${RULE}.filters[0].responseHeaderModifier: required field is missing`,
    ]],
    ['filter type only once', { 'spec.rules[0].filters[1]': { type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['a'] } } }, [
      `${RULE}.filters[1].type: RequestHeaderModifier may appear only once (also at [0])`,
    ]],
    ['ExtensionRef unsupported', { 'spec.rules[0].filters': [{ type: 'ExtensionRef', extensionRef: { group: 'x', kind: 'y', name: 'z' } }] }, [
      `${RULE}.filters[0].extensionRef: ExtensionRef filters are not supported`,
    ]],
    ['redirect and rewrite', { 'spec.rules[0].filters': [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }, { type: 'URLRewrite', urlRewrite: { hostname: 'a' } }] }, [
      `${RULE}.filters[1]: RequestRedirect and URLRewrite cannot be used together`,
    ]],
    ['redirect status', { 'spec.rules[0].filters': [{ type: 'RequestRedirect', requestRedirect: { statusCode: 304 } }] }, [
      `${RULE}.filters[0].requestRedirect.statusCode: must be one of 301, 302, 303, 307, 308 (got 304)`,
    ]],
    ['redirect scheme', { 'spec.rules[0].filters': [{ type: 'RequestRedirect', requestRedirect: { scheme: 'ftp' } }] }, [
      `${RULE}.filters[0].requestRedirect.scheme: must be one of http, https (got "ftp")`,
    ]],
    ['path modifier value', { 'spec.rules[0].filters': [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replacePrefixMatch: '/x' } } }] }, [
      `${RULE}.filters[0].urlRewrite.path.replaceFullPath: required field is missing`,
      `${RULE}.filters[0].urlRewrite.path.replacePrefixMatch: must not be set when type is ReplaceFullPath`,
    ]],
    ['ReplacePrefixMatch needs PathPrefix matches', {
      'spec.rules[0].matches[0].path': { type: 'Exact', value: '/reviews' },
      'spec.rules[0].filters': [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
    }, [`${RULE}.matches[0].path.type: must be PathPrefix when a filter uses ReplacePrefixMatch`]],
    ['mirror backendRef required', { 'spec.rules[0].filters': [{ type: 'RequestMirror', requestMirror: {} }] }, [`${RULE}.filters[0].requestMirror.backendRef: required field is missing`]],
    ['mirror percent range', { 'spec.rules[0].filters': [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 's', port: 1 }, percent: 200 } }] }, [
      `${RULE}.filters[0].requestMirror.percent: must be between 0 and 100 (got 200)`,
    ]],
    ['mirror fraction', { 'spec.rules[0].filters': [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 's', port: 1 }, fraction: { numerator: 5, denominator: 4 } } }] }, [
      `${RULE}.filters[0].requestMirror.fraction.numerator: must not be greater than denominator`,
    ]],
    ['header filter names', { 'spec.rules[0].filters[0].requestHeaderModifier.set[0].name': 'x route' }, [
      `${RULE}.filters[0].requestHeaderModifier.set[0].name: "x route" is not a valid HTTP header name`,
    ]],
    ['backend name required', { 'spec.rules[0].backendRefs[0].name': undefined }, [`${RULE}.backendRefs[0].name: required field is missing`]],
    ['Service backend needs a port', { 'spec.rules[0].backendRefs[0].port': undefined }, [`${RULE}.backendRefs[0].port: required field is missing`]],
    ['backend kind', { 'spec.rules[0].backendRefs[0].kind': 'Pod' }, [
      `${RULE}.backendRefs[0]: unsupported backend Pod (supported: Service, networking.istio.io/ServiceEntry, networking.istio.io/Hostname)`,
    ]],
    ['backend weight', { 'spec.rules[0].backendRefs[0].weight': -1 }, [`${RULE}.backendRefs[0].weight: must be between 0 and 1000000 (got -1)`]],
    ['timeout format', { 'spec.rules[0].timeouts.request': '1.5s' }, [`${RULE}.timeouts.request: "1.5s" is not a valid duration (e.g. "10s", "500ms", "1h30m")`]],
    ['backendRequest within request', { 'spec.rules[0].timeouts.backendRequest': '1m' }, [`${RULE}.timeouts.backendRequest: must not be longer than timeouts.request (1m > 10s)`]],
    ['request timeout 0 means none', { 'spec.rules[0].timeouts': { request: '0s', backendRequest: '1m' } }, []],
    ['unknown rule field', { 'spec.rules[0].backendRef': [] }, [`${RULE}: unknown field "backendRef" (did you mean "backendRefs"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});
