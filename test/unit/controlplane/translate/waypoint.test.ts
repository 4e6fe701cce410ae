// Table and story tests of buildWaypointConfig: VirtualService and HTTPRoute routes, merged DestinationRules, attached policies, endpoints and determinism.
import t from 'tap';
import { parseManifests, resourceKey, type PodSpec, type Resource, type ServiceEntry, type ServiceSpec } from '../../../../src/api';
import { buildWaypointConfig, type WaypointConfigInput } from '../../../../src/controlplane/translate/waypoint';
import { serviceModel, workloadModel } from '../../../../src/controlplane/model/workloads';
import { serviceEntryServices } from '../../../../src/controlplane/model/service-entries';
import type { WorkloadModel } from '../../../../src/controlplane/model/types';
import { parseWaypointConfig } from '../../../../src/waypoint/config/validate';
import { compileRoutingTable } from '../../../../src/waypoint/routing/table';

function load(yaml: string): Resource[] {
  const { resources, errors } = parseManifests(yaml, 'world.yaml');
  if (errors.length > 0) throw new Error(`test YAML is invalid: ${errors.map((e) => e.message).join('; ')}`);
  return resources.map((r) => r.resource);
}

const WORLD = `
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: bookinfo }
spec:
  clusterIP: 10.96.0.10
  selector: { app: reviews }
  ports: [{ name: http, port: 9080, targetPort: http-alt }]
---
apiVersion: v1
kind: Service
metadata: { name: ratings, namespace: bookinfo }
spec:
  clusterIP: 10.96.0.11
  selector: { app: ratings }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: v1
kind: Service
metadata: { name: mirror, namespace: bookinfo }
spec:
  clusterIP: 10.96.0.12
  selector: { app: mirror }
  ports: [{ name: http, port: 8000 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: bookinfo }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
`;

function pod(name: string, ip: string, labels: Record<string, string>, port = 9080, ready = true): string {
  return `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: bookinfo
  labels: ${JSON.stringify(labels)}
spec:
  serviceAccountName: ${labels.app}
  containers: [{ name: app, image: x, ports: [{ name: http-alt, containerPort: ${port} }] }]
status:
  podIP: ${ip}
  conditions: [{ type: Ready, status: "${ready ? 'True' : 'False'}" }]
---`;
}

const PODS = [
  pod('reviews-v1-a', '10.1.0.1', { app: 'reviews', version: 'v1' }, 9081),
  pod('reviews-v2-b', '10.1.0.2', { app: 'reviews', version: 'v2' }, 9082, false),
  pod('ratings-v1-c', '10.1.0.3', { app: 'ratings', version: 'v1' }),
  pod('mirror-d', '10.1.0.4', { app: 'mirror' }),
  pod('productpage-e', '10.1.0.5', { app: 'productpage' }),
].join('\n');

function input(extraYaml: string, order: 'forward' | 'reverse' = 'forward'): WaypointConfigInput {
  const resources = load(`${WORLD}\n---\n${PODS}\n${extraYaml}`);
  const services = resources.filter((r) => r.kind === 'Service') as Resource<ServiceSpec>[];
  const workloads = resources
    .filter((r) => r.kind === 'Pod')
    .map((p) => workloadModel(p as Resource<PodSpec>, { services, selectorPolicies: [], trustDomain: 'cluster.local' }))
    .filter((w): w is WorkloadModel => w !== undefined);
  const entries = resources.map((r) => [resourceKey(r), r] as const);
  if (order === 'reverse') entries.reverse();
  return {
    gateway: resources.find((r) => r.kind === 'Gateway')!,
    identity: 'spiffe://cluster.local/ns/bookinfo/sa/waypoint',
    services: services.filter((s) => s.metadata.name !== 'mirror').map((s) => serviceModel(s)),
    workloads,
    objects: new Map(entries),
    trustDomain: 'cluster.local',
  };
}

const REVIEWS = 'reviews.bookinfo.svc.cluster.local';

const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: bookinfo, creationTimestamp: "2024-01-01T00:00:00Z" }
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
    fault: { delay: { fixedDelay: 2s, percentage: { value: 10 } }, abort: { httpStatus: 500 } }
  - name: split
    route:
    - { destination: { host: reviews, subset: v1 }, weight: 90 }
    - { destination: { host: reviews, subset: v2 }, weight: 10 }
    timeout: 1s
    retries: { attempts: 3, perTryTimeout: 200ms, retryOn: "5xx,503,unavailable" }
    mirror: { host: mirror, port: { number: 8000 } }
    mirrorPercentage: { value: 25 }
    headers: { request: { set: { x-b: "2", x-a: "1" } }, response: { remove: [x-internal] } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: bookinfo }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: LEAST_REQUEST }
    connectionPool: { tcp: { maxConnections: 10 }, http: { http1MaxPendingRequests: 0, http2MaxRequests: 5 } }
  subsets:
  - name: v1
    labels: { version: v1 }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      outlierDetection: { consecutive5xxErrors: 2, baseEjectionTime: 1s }
      portLevelSettings:
      - port: { number: 9080 }
        loadBalancer: { consistentHash: { httpHeaderName: X-User } }
`;

t.test('a VirtualService becomes ordered routes with every feature normalized', async (t) => {
  const { config, warnings } = buildWaypointConfig(input(VS));
  t.same(warnings, []);
  const reviews = config.services.find((s) => s.hostname === REVIEWS)!;
  t.same(reviews.routes.map((r) => r.name), ['jason', 'split']);
  const [jason, split] = reviews.routes;
  t.same(jason.matches, [{ headers: [{ name: 'end-user', match: { exact: 'jason' } }] }]);
  t.same(jason.destinations, [{ host: REVIEWS, subset: 'v2', weight: 100 }], 'a lone destination gets weight 100');
  t.same(jason.fault, { delay: { fixedDelayMs: 2000, percentage: 10 }, abort: { httpStatus: 500, percentage: 100 } });
  t.same(jason.retries, { attempts: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retriableStatusCodes: [503] }, 'no retries block: Istio\'s default policy');
  t.same(split, {
    name: 'split',
    source: 'VirtualService bookinfo/reviews',
    gatewaySemantics: false,
    matches: [],
    destinations: [{ host: REVIEWS, subset: 'v1', weight: 90 }, { host: REVIEWS, subset: 'v2', weight: 10 }],
    headers: { request: { set: [['x-a', '1'], ['x-b', '2']] }, response: { remove: ['x-internal'] } },
    timeoutMs: 1000,
    retries: { attempts: 3, perTryTimeoutMs: 200, retryOn: ['5xx', 'unavailable', 'retriable-status-codes'], retriableStatusCodes: [503] },
    mirrors: [{ host: 'mirror.bookinfo.svc.cluster.local', port: 8000, percentage: 25 }],
  });
  t.same(config.backends.map((b) => b.hostname), ['mirror.bookinfo.svc.cluster.local'], 'the mirror host travels as a backend with its endpoints');
  t.same(config.backends[0].endpoints.map((e) => e.ip), ['10.1.0.4']);
});

t.test('a DestinationRule is merged per port and subset as Istio merges it', async (t) => {
  const { config } = buildWaypointConfig(input(VS));
  const policy = config.services.find((s) => s.hostname === REVIEWS)!.destinationPolicy!;
  t.same(policy.subsets, [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }]);
  const top = { loadBalancer: { simple: 'LEAST_REQUEST' }, connectionPool: { maxConnections: 10, http2MaxRequests: 5 } };
  t.same(policy.policies, [
    { port: 9080, policy: top },
    { port: 9080, subset: 'v1', policy: top },
    { port: 9080, subset: 'v2', policy: { loadBalancer: { consistentHash: { header: 'x-user' } } } },
  ], 'the subset\'s port-level block replaces every field (port-level settings do not inherit)');
});

t.test('subset-level fields override top-level ones field by field', async (t) => {
  const dr = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: bookinfo }
spec:
  host: ratings.bookinfo.svc.cluster.local
  trafficPolicy:
    loadBalancer: { simple: RANDOM }
    outlierDetection: { consecutive5xxErrors: 7 }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
`;
  const { config } = buildWaypointConfig(input(dr));
  const policy = config.services.find((s) => s.name === 'ratings')!.destinationPolicy!;
  const outlier = { consecutive5xxErrors: 7, consecutiveGatewayErrors: 0, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 10, minHealthPercent: 0 };
  t.same(policy.policies, [
    { port: 9080, policy: { loadBalancer: { simple: 'RANDOM' }, outlierDetection: outlier } },
    { port: 9080, subset: 'v1', policy: { loadBalancer: { simple: 'ROUND_ROBIN' }, outlierDetection: outlier } },
  ]);
});

t.test('a route that cannot work is dropped with a warning and the rest still applies', async (t) => {
  const vs = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings, namespace: bookinfo }
spec:
  hosts: [ratings]
  http:
  - name: ghost-subset
    match: [{ uri: { prefix: /v9 } }]
    route: [{ destination: { host: ratings, subset: v9 } }]
  - name: ghost-host
    match: [{ uri: { prefix: /gone } }]
    route: [{ destination: { host: nowhere } }]
  - name: other-gateway
    match: [{ gateways: [istio-ingress/gw] }]
    route: [{ destination: { host: ratings } }]
  - name: fine
    route: [{ destination: { host: ratings } }]
`;
  const { config, warnings } = buildWaypointConfig(input(vs));
  t.same(config.services.find((s) => s.name === 'ratings')!.routes.map((r) => r.name), ['fine']);
  t.equal(warnings.length, 3);
  t.match(warnings[0], /VirtualService bookinfo\/ratings http\[0\] \(ghost-subset\): subset v9 of ratings.bookinfo.svc.cluster.local is not defined/);
  t.match(warnings[1], /http\[1\] \(ghost-host\): destination host nowhere.bookinfo.svc.cluster.local is not a known service/);
  t.match(warnings[2], /http\[2\] \(other-gateway\): every match names gateways other than "mesh"/);
  const broken = input(vs);
  const object = broken.objects.get('VirtualService/bookinfo/ratings')!;
  (object.spec as { http: { match?: unknown[] }[] }).http[3].match = [{ uri: { regex: '(?!x)' } }];
  const regex = buildWaypointConfig(broken);
  t.match(regex.warnings.at(-1), /http\[3\] \(fine\): invalid regular expression/, 'a regex RE2 refuses drops the route too');
});

t.test('HTTPRoutes attached to a service: Gateway API precedence, filters, weights; a VirtualService for the same host is ignored', async (t) => {
  const routes = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews-b, namespace: bookinfo, creationTimestamp: "2024-02-01T00:00:00Z" }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: 9080 }]
  rules:
  - backendRefs: [{ name: reviews, port: 9080, weight: 3 }, { name: ratings, port: 9080, weight: 1 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews-a, namespace: bookinfo, creationTimestamp: "2024-01-01T00:00:00Z" }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews }]
  rules:
  - matches: [{ path: { type: Exact, value: /exact } }]
    backendRefs: [{ name: reviews, port: 9080 }]
  - matches: [{ path: { type: PathPrefix, value: /api } }]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: X-Env, value: prod }], remove: [x-debug] }
    - type: URLRewrite
      urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } }
    - type: RequestMirror
      requestMirror: { backendRef: { name: mirror, port: 8000 }, percent: 5 }
    backendRefs: [{ name: reviews, port: 9080 }]
    timeouts: { request: 2s, backendRequest: 500ms }
  - matches: [{ path: { type: PathPrefix, value: /old } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /new }, statusCode: 301 } }]
  - matches: [{ path: { type: PathPrefix, value: /nothing } }]
`;
  const { config, warnings } = buildWaypointConfig(input(`${VS}\n---\n${routes}`));
  t.match(warnings, [/Service bookinfo\/reviews has both HTTPRoutes and VirtualServices \(bookinfo\/reviews\); .* uses the HTTPRoutes only/]);
  const list = config.services.find((s) => s.hostname === REVIEWS)!.routes;
  t.same(list.map((r) => r.matches[0]), [
    { uri: { exact: '/exact' } },
    { uri: { pathPrefix: '/nothing' } },
    { uri: { pathPrefix: '/api' } },
    { uri: { pathPrefix: '/old' } },
    { port: 9080 },
  ], 'exact first, then longer prefixes, then the catch-all');
  const api = list[2];
  t.equal(api.gatewaySemantics, true);
  t.same(api.headers, { request: { set: [['x-env', 'prod']], remove: ['x-debug'] } });
  t.same(api.rewrite, { prefix: '/' });
  t.same(api.mirrors, [{ host: 'mirror.bookinfo.svc.cluster.local', port: 8000, percentage: 5 }]);
  t.equal(api.timeoutMs, 2000);
  t.equal(api.retries?.perTryTimeoutMs, 500, 'backendRequest becomes the per-try timeout');
  t.same(list[1].directResponse, { status: 500 }, 'a rule without backends answers 500');
  t.same(list[3].redirect, { path: '/new', status: 301 });
  t.same(list[4].destinations, [{ host: REVIEWS, port: 9080, weight: 3 }, { host: 'ratings.bookinfo.svc.cluster.local', port: 9080, weight: 1 }]);
});

t.test('AuthorizationPolicies attach by targetRefs to the Gateway, a served Service, the waypoint class, or a selector naming the waypoint pods', async (t) => {
  const policies = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: on-gateway, namespace: bookinfo }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: waypoint }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: on-reviews, namespace: bookinfo, annotations: { istio.io/dry-run: "true" } }
spec:
  targetRefs: [{ kind: Service, group: "", name: reviews }, { kind: Service, group: "", name: mirror }]
  rules: [{ from: [{ source: { serviceAccounts: [productpage], principals: ["cluster.local/ns/bookinfo/sa/productpage"] } }], to: [{ operation: { methods: [GET] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: all-waypoints, namespace: istio-system }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint }]
  action: AUDIT
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: waypoint-pods, namespace: bookinfo }
spec:
  selector: { matchLabels: { gateway.networking.k8s.io/gateway-name: waypoint } }
  rules: [{ from: [{ source: { namespaces: [bookinfo] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: app-pods, namespace: bookinfo }
spec:
  selector: { matchLabels: { app: reviews } }
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: external, namespace: bookinfo }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: waypoint }]
  action: CUSTOM
  provider: { name: ext-authz }
  rules: [{}]
`;
  const { config, warnings } = buildWaypointConfig(input(policies));
  t.same(
    config.policies.map((p) => [p.name, p.action, p.attachment.kind, p.dryRun]),
    [
      ['bookinfo/on-gateway', 'DENY', 'gateway', false],
      ['bookinfo/on-reviews', 'ALLOW', 'service', true],
      ['bookinfo/waypoint-pods', 'ALLOW', 'termination', false],
      ['istio-system/all-waypoints', 'AUDIT', 'gateway', false],
    ],
    'the selector policy on app pods stays with ztunnel, and a Service the waypoint does not serve attaches nothing',
  );
  const onReviews = config.policies[1];
  t.same(onReviews.attachment, { kind: 'service', hostname: REVIEWS });
  t.same(onReviews.rules?.[0].from?.[0].serviceAccounts, ['bookinfo/productpage'], 'a bare service account is qualified with the policy namespace');
  t.match(warnings, [/AuthorizationPolicy bookinfo\/external: action CUSTOM .* not supported/]);
});

t.test('endpoints, direct workloads and callers come from the model', async (t) => {
  const base = input('');
  const direct = base.workloads.filter((w) => w.name === 'ratings-v1-c');
  const { config } = buildWaypointConfig({ ...base, directWorkloads: direct });
  const reviews = config.services.find((s) => s.hostname === REVIEWS)!;
  t.same(reviews.ports, [{ port: 9080, targetPort: 0, appProtocol: 'HTTP11' }], 'a named targetPort');
  t.same(reviews.endpoints, [
    { workload: 'Kubernetes//Pod/bookinfo/reviews-v1-a', ip: '10.1.0.1', ports: { '9080': 9081 } },
    { workload: 'Kubernetes//Pod/bookinfo/reviews-v2-b', ip: '10.1.0.2', ports: { '9080': 9082 } },
  ], 'resolved per workload');
  t.equal(config.workloads.find((w) => w.name === 'reviews-v2-b')?.healthy, false, 'a pod that is not Ready is unhealthy');
  t.same(config.directWorkloads, ['Kubernetes//Pod/bookinfo/ratings-v1-c']);
  t.same(config.workloads.map((w) => w.name), ['mirror-d', 'productpage-e', 'ratings-v1-c', 'reviews-v1-a', 'reviews-v2-b'], 'every workload, sorted by uid, including callers');
  t.equal(config.waypoint.identity, 'spiffe://cluster.local/ns/bookinfo/sa/waypoint');
});

t.test('the output is deterministic and a valid document the waypoint compiles', async (t) => {
  const forward = buildWaypointConfig(input(VS, 'forward'));
  const reverse = buildWaypointConfig(input(VS, 'reverse'));
  t.equal(JSON.stringify(forward.config), JSON.stringify(reverse.config), 'object order does not matter');
  const doc = parseWaypointConfig(JSON.stringify(forward.config));
  t.same(doc, forward.config, 'it validates and reads back unchanged');
  const table = compileRoutingTable(doc, 1);
  t.ok(table.target('10.96.0.10', 9080));
  const v2 = table.cluster(REVIEWS, 9080, 'v2');
  t.same(v2?.endpoints.map((e) => e.key), ['10.1.0.2:9082'], 'subset endpoints by labels, with the per-workload target port');
});

t.test('an AuthorizationPolicy targeting a served ServiceEntry attaches to each of its hosts; a same-named Service does not catch it', async (t) => {
  const entry = load(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: bookinfo, labels: { istio.io/use-waypoint: waypoint } }
spec:
  hosts: [api.example.test, api-backup.example.test]
  addresses: [10.96.9.9]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.1.9.9 }]
`)[0] as ServiceEntry;
  const base = input(`---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: on-entry, namespace: bookinfo }
spec:
  targetRefs: [{ group: networking.istio.io, kind: ServiceEntry, name: reviews }]
  action: DENY
  rules: [{ to: [{ operation: { methods: [DELETE] } }] }]
`);
  const { config } = buildWaypointConfig({ ...base, services: [...base.services, ...serviceEntryServices(entry)] });
  t.same(
    config.policies.filter((p) => p.name === 'bookinfo/on-entry').map((p) => p.attachment),
    [
      { kind: 'service', hostname: 'api-backup.example.test' },
      { kind: 'service', hostname: 'api.example.test' },
    ],
    'both hosts (served services are sorted by hostname), and not the Kubernetes Service reviews that shares the name',
  );
});
