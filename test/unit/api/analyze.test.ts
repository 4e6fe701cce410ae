import t from 'tap';
import { analyze, formatFinding } from '../../../src/api/analyze';
import { parseManifests } from '../../../src/api/load';
import { hostCovers } from '../../../src/api/mesh-index';
import type { LocatedResource } from '../../../src/api/resource';
import { fieldLine } from '../../../src/api/source-lines';
import { validateResource } from '../../../src/api/validate';

const CLUSTER = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec:
  selector: {app: ratings}
  ports:
  - {name: http, port: 9080}
  - {name: admin, port: 9901}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: reviews}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ratings-1, namespace: bookinfo, labels: {app: ratings, version: v1}}
spec: {containers: [{name: ratings}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: bookinfo}
spec:
  hosts: ["*.example.com"]
  resolution: NONE
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`;

function load(config: string): LocatedResource[] {
  const { resources, errors } = parseManifests(`${CLUSTER}---\n${config}`, 'mesh.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return resources;
}

/** Line numbers below count from the start of the config part. */
const OFFSET = CLUSTER.split('\n').length;

function findings(config: string): string[] {
  return analyze(load(config)).map((f) => formatFinding({ ...f, line: f.line - OFFSET }));
}

t.test('a consistent configuration has no findings', async (t) => {
  t.same(findings(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.bookinfo.svc.cluster.local, subset: v1}
  - route:
    - destination: {host: ratings, port: {number: 9080}}
    mirror: {host: api.example.com}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-wide, namespace: istio-system}
spec:
  selector: {matchLabels: {app: ratings}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: waypoint, namespace: bookinfo}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
  - backendRefs: [{name: reviews, port: 9080}, {kind: Hostname, group: networking.istio.io, name: x.example.com}]
`), []);
});

t.test('virtual service destinations: unknown host, unknown subset, port selection', async (t) => {
  t.same(findings(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
  - route:
    - destination: {host: ratings, subset: v1}
  - route:
    - destination: {host: ratings, port: {number: 8080}}
    mirrors:
    - destination: {host: details}
  - route:
    - destination: {host: reviews.bookinfo}
`), [
    'mesh.yaml:6: warning: DestinationRule bookinfo/reviews: spec.subsets[1].labels: subset "v2" (version=v2) matches no workload of Service bookinfo/reviews',
    'mesh.yaml:15: error: VirtualService bookinfo/reviews: spec.http[0].route[0].destination.subset: subset "v3" is not defined by any DestinationRule for host reviews.bookinfo.svc.cluster.local (DestinationRule bookinfo/reviews defines v1, v2)',
    'mesh.yaml:17: error: VirtualService bookinfo/reviews: spec.http[1].route[0].destination.subset: subset "v1" is not defined by any DestinationRule for host ratings.bookinfo.svc.cluster.local',
    'mesh.yaml:17: error: VirtualService bookinfo/reviews: spec.http[1].route[0].destination: Service bookinfo/ratings has 2 ports (9080, 9901); set port.number',
    'mesh.yaml:19: warning: VirtualService bookinfo/reviews: spec.http[2].route[0].destination.port.number: Service bookinfo/ratings has no port 8080 (ports: 9080, 9901)',
    'mesh.yaml:21: error: VirtualService bookinfo/reviews: spec.http[2].mirrors[0].destination.host: host "details" is not a known Service or ServiceEntry (looked for details.bookinfo.svc.cluster.local)',
    'mesh.yaml:23: error: VirtualService bookinfo/reviews: spec.http[3].route[0].destination.host: host "reviews.bookinfo" is not a known Service or ServiceEntry',
  ]);
});

t.test('policies whose selector matches no workload', async (t) => {
  const result = findings(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: typo, namespace: bookinfo}
spec:
  selector:
    matchLabels: {app: reveiws}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: other}
spec:
  selector:
    matchLabels: {app: reviews}
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: root, namespace: istio-system}
spec:
  selector:
    matchLabels: {app: nothing}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: targets, namespace: bookinfo}
spec:
  targetRefs:
  - {kind: Service, group: "", name: reviews}
  - {kind: Service, group: "", name: detials}
`);
  t.same(result, [
    'mesh.yaml:5: warning: AuthorizationPolicy bookinfo/typo: spec.selector: selector app=reveiws matches no Pod or Deployment in namespace bookinfo',
    'mesh.yaml:12: warning: PeerAuthentication other/strict: spec.selector: selector app=reviews matches no Pod or Deployment in namespace other',
    'mesh.yaml:20: warning: AuthorizationPolicy istio-system/root: spec.selector: selector app=nothing matches no Pod or Deployment in any namespace',
    'mesh.yaml:29: warning: AuthorizationPolicy bookinfo/targets: spec.targetRefs[1].name: Service bookinfo/detials does not exist, so this policy applies to nothing',
  ]);
});

t.test('HTTPRoute parents and backends that do not exist', async (t) => {
  t.same(findings(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: bookinfo}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews}
  - {name: ingress}
  rules:
  - backendRefs:
    - {name: reviews, port: 80}
    - {name: reviews-v9, port: 9080}
    - {name: elsewhere, namespace: other, port: 9080}
    - {kind: Hostname, group: networking.istio.io, name: api.other.org}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: shadow, port: 9080}
`), [
    'mesh.yaml:7: warning: HTTPRoute bookinfo/r: spec.parentRefs[1].name: Gateway bookinfo/ingress does not exist, so this route is not attached',
    'mesh.yaml:10: warning: HTTPRoute bookinfo/r: spec.rules[0].backendRefs[0].port: Service bookinfo/reviews has no port 80 (ports: 9080)',
    'mesh.yaml:11: error: HTTPRoute bookinfo/r: spec.rules[0].backendRefs[1].name: Service bookinfo/reviews-v9 does not exist',
    'mesh.yaml:12: error: HTTPRoute bookinfo/r: spec.rules[0].backendRefs[2].name: Service other/elsewhere does not exist',
    'mesh.yaml:13: error: HTTPRoute bookinfo/r: spec.rules[0].backendRefs[3].name: host "api.other.org" is not a known Service or ServiceEntry',
    'mesh.yaml:17: error: HTTPRoute bookinfo/r: spec.rules[0].filters[0].requestMirror.backendRef.name: Service bookinfo/shadow does not exist',
  ]);
});

t.test('findings carry every field separately', async (t) => {
  const [f] = analyze(load('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: bookinfo}\nspec:\n  selector: {matchLabels: {app: none}}\n'));
  t.same(f, {
    code: 'NO_MATCHING_WORKLOADS',
    severity: 'warning',
    file: 'mesh.yaml',
    line: OFFSET + 5,
    object: 'AuthorizationPolicy bookinfo/p',
    field: 'spec.selector',
    message: 'selector app=none matches no Pod or Deployment in namespace bookinfo',
  });
  t.equal(formatFinding({ ...f, field: '' }), `mesh.yaml:${OFFSET + 5}: warning: AuthorizationPolicy bookinfo/p: selector app=none matches no Pod or Deployment in namespace bookinfo`);
});

t.test('resources that did not come from YAML are reported at their own line', async (t) => {
  const { located } = validateResource(
    { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'ns' }, spec: { selector: { matchLabels: { a: 'b' } } } },
    { file: 'store/ns/p.yaml', line: 0 },
  );
  if (located === undefined) throw new Error('expected a valid policy');
  t.equal(fieldLine(located, ['spec', 'selector']), 0);
  t.same(analyze([located]).map(formatFinding), ['store/ns/p.yaml:0: warning: AuthorizationPolicy ns/p: spec.selector: selector a=b matches no Pod or Deployment in namespace ns']);
});

t.test('domain suffix and root namespace are options', async (t) => {
  const resources = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.bookinfo.svc.corp.local}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: mesh-root}
spec:
  selector: {matchLabels: {app: ratings}}
`);
  t.same(analyze(resources, { domainSuffix: 'corp.local', rootNamespace: 'mesh-root' }), []);
  t.same(analyze(resources).map((f) => f.code), ['UNKNOWN_HOST', 'NO_MATCHING_WORKLOADS']);
});

t.test('wildcard hosts cover names below them only', async (t) => {
  t.ok(hostCovers('*.example.com', 'api.example.com'));
  t.ok(hostCovers('*.example.com', 'a.b.example.com'));
  t.notOk(hostCovers('*.example.com', 'example.com'));
  t.ok(hostCovers('*', 'anything'));
  t.ok(hostCovers('API.example.com', 'api.EXAMPLE.com'));
  t.notOk(hostCovers('api.example.com', 'web.example.com'));
});
