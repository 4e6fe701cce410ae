// Builds a synthetic ambient mesh (namespaces, pods, services, service accounts, AuthorizationPolicies) as
// validated objects, shaped like a real cluster: Deployment-style pods with app/version labels and ReplicaSet
// owners, ClusterIP services selecting ~10 pods, and a mix of ALLOW/DENY policies.
import { resourceKey, validateResource, type Resource } from '../../src/api';

export interface MeshSize {
  readonly namespaces: number;
  readonly nodes: number;
  readonly pods: number;
  readonly services: number;
  readonly policies: number;
  /** Proxies (one per node, node-1..node-N) connected to the control plane. */
  readonly clients: number;
  /** Edits of each kind (policy principal, pod label). */
  readonly edits: number;
}

export const FULL_SIZE: MeshSize = { namespaces: 50, nodes: 100, pods: 10_000, services: 1_000, policies: 1_000, clients: 100, edits: 20 };
export const QUICK_SIZE: MeshSize = { namespaces: 5, nodes: 10, pods: 1_000, services: 100, policies: 100, clients: 10, edits: 5 };

export const TRUST_DOMAIN = 'cluster.local';

export interface MeshFixture {
  /** Every object, validated and defaulted as `ambit apply` would store it. */
  readonly objects: readonly Resource[];
  /** Keys of policies whose first rule names principals (the policy edits change one of them). */
  readonly editablePolicies: readonly string[];
  /** Keys of pods spread over namespaces and nodes (the label edits change their `version`). */
  readonly editablePods: readonly string[];
}

export class InvalidFixtureObject extends Error {
  readonly code = 'INVALID_FIXTURE_OBJECT' as const;
  constructor(key: string, problems: readonly string[]) {
    super(`the benchmark built an object the API would refuse, ${key}: ${problems.join('; ')}`);
    this.name = 'InvalidFixtureObject';
  }
}

function validated(value: Resource): Resource {
  const result = validateResource(value, { file: 'bench/controlplane/mesh-fixture', line: 0 });
  if (!result.located) throw new InvalidFixtureObject(resourceKey(value), result.errors.map((error) => error.message));
  return result.located.resource;
}

/** Deterministic lowercase base-36 string of `length` characters (stands in for ReplicaSet and pod hashes). */
function hashOf(seed: string, length: number): string {
  let h = 2166136261;
  let out = '';
  while (out.length < length) {
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
    h = Math.imul(h ^ out.length, 16777619) >>> 0;
    out += (h % 36).toString(36);
  }
  return out;
}

function namespaceName(index: number): string {
  return `bench-${String(index + 1).padStart(2, '0')}`;
}

function principal(namespace: string, serviceAccount: string): string {
  return `${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

function versionOf(replica: number, replicas: number): string {
  if (replica < Math.ceil(replicas / 2)) return 'v1';
  return replica < Math.ceil(replicas * 0.8) ? 'v2' : 'v3';
}

/** The pod address: 10.<244+k>.<node>.<n>, unique while a node runs fewer than 2,750 pods. */
function podIp(nodeIndex: number, podOnNode: number): string {
  return `10.${244 + Math.floor(podOnNode / 250)}.${nodeIndex}.${(podOnNode % 250) + 2}`;
}

function serviceIp(index: number): string {
  return `10.96.${Math.floor(index / 250) + 1}.${(index % 250) + 2}`;
}

function podObject(namespace: string, app: string, version: string, replica: number, node: number, ip: string): Resource {
  const templateHash = hashOf(`${namespace}/${app}/${version}`, 10);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-${version}-${templateHash}-${hashOf(`${namespace}/${app}/${version}/${replica}`, 5)}`,
      namespace,
      labels: { app, version, 'pod-template-hash': templateHash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${version}-${templateHash}`, uid: `rs-${namespace}-${app}-${version}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: `node-${node + 1}`,
      serviceAccountName: app,
      containers: [{ name: 'app', image: `registry.local/${app}:${version}`, ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }] }],
    },
    status: { phase: 'Running', hostIP: `10.99.0.${node + 11}`, podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function serviceObject(namespace: string, app: string, index: number): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, namespace, labels: { app } },
    spec: {
      type: 'ClusterIP',
      clusterIP: serviceIp(index),
      selector: { app },
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'grpc', port: 9090, targetPort: 'grpc' },
      ],
    },
  };
}

/** Five shapes in rotation: selector ALLOW by principal+port, DENY by principal, namespace-wide ALLOW, DENY with ipBlocks, ALLOW with a condition. */
function policyObject(namespace: string, otherNamespace: string, index: number, apps: readonly string[]): Resource {
  const app = apps[index % apps.length];
  const other = apps[(index + 1) % apps.length];
  const shape = index % 5;
  const metadata = { name: `policy-${String(index).padStart(3, '0')}-${['allow-callers', 'deny-peer', 'allow-namespaces', 'deny-ranges', 'allow-v1'][shape]}`, namespace };
  const spec = (() => {
    switch (shape) {
      case 0:
        return { selector: { matchLabels: { app } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: [principal(namespace, other), principal(otherNamespace, app)] } }], to: [{ operation: { ports: ['8080'] } }] }] };
      case 1:
        return { selector: { matchLabels: { app } }, action: 'DENY', rules: [{ from: [{ source: { principals: [principal(otherNamespace, other)] } }], to: [{ operation: { ports: ['9090'] } }] }] };
      case 2:
        return { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [namespace, otherNamespace] } }] }] };
      case 3:
        return { selector: { matchLabels: { app } }, action: 'DENY', rules: [{ from: [{ source: { principals: [principal(otherNamespace, app)], ipBlocks: ['10.250.0.0/16'] } }], to: [{ operation: { notPorts: ['15021'] } }] }] };
      default:
        return {
          selector: { matchLabels: { app, version: 'v1' } },
          action: 'ALLOW',
          rules: [{ from: [{ source: { principals: [principal(namespace, other)] } }], to: [{ operation: { ports: ['8080', '9090'] } }], when: [{ key: 'source.namespace', values: [namespace] }] }],
        };
    }
  })();
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata, spec };
}

function spread(count: number, total: number): number[] {
  const chosen: number[] = [];
  for (let i = 0; i < count && total > 0; i++) chosen.push(Math.floor(((i + 0.5) * total) / count));
  return chosen;
}

export function buildMesh(size: MeshSize): MeshFixture {
  const objects: Resource[] = [];
  const podKeys: string[] = [];
  const policyKeys: string[] = [];
  const appsPerNamespace = Math.ceil(size.services / size.namespaces);
  const podsPerService = Math.ceil(size.pods / size.services);
  const policiesPerNamespace = Math.ceil(size.policies / size.namespaces);
  const podsOnNode = new Array<number>(size.nodes).fill(0);
  let pods = 0;
  let services = 0;
  let policies = 0;
  for (let n = 0; n < size.namespaces; n++) {
    const namespace = namespaceName(n);
    const otherNamespace = namespaceName((n + 1) % size.namespaces);
    objects.push(validated({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'istio.io/dataplane-mode': 'ambient', team: `team-${n % 7}` } } }));
    const apps: string[] = [];
    for (let a = 0; a < appsPerNamespace && services < size.services; a++, services++) {
      const app = `app-${String(a).padStart(2, '0')}`;
      apps.push(app);
      objects.push(validated({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: app, namespace } }));
      objects.push(validated(serviceObject(namespace, app, services)));
      for (let r = 0; r < podsPerService && pods < size.pods; r++, pods++) {
        const node = pods % size.nodes;
        const pod = validated(podObject(namespace, app, versionOf(r, podsPerService), r, node, podIp(node, podsOnNode[node]++)));
        objects.push(pod);
        podKeys.push(resourceKey(pod));
      }
    }
    for (let p = 0; p < policiesPerNamespace && policies < size.policies && apps.length > 0; p++, policies++) {
      const policy = validated(policyObject(namespace, otherNamespace, p, apps));
      objects.push(policy);
      if (p % 5 !== 2) policyKeys.push(resourceKey(policy));
    }
  }
  return {
    objects,
    editablePolicies: spread(size.edits, policyKeys.length).map((i) => policyKeys[i]),
    editablePods: spread(size.edits, podKeys.length).map((i) => podKeys[i]),
  };
}

/** Counts by kind, for the report's note on sizes. */
export function countKinds(objects: readonly Resource[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const object of objects) counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
  return counts;
}
