// The routing table: a validated config document compiled once per push into immutable indexes, routes with their filter configs, and clusters.
import type { AppProtocolDoc, ServiceDoc, ServicePortDoc, TrafficPolicyDoc, WaypointConfigDoc, WorkloadDoc } from '../config/types';
import { WaypointConfigInvalid } from '../errors';
import { compilePolicySet, EMPTY_POLICY_SET, type CompiledPolicySet } from '../filters/authz/config';
import { compileFault, type FaultConfig } from '../filters/fault/config';
import { compileMirrors, type MirrorTarget } from '../filters/mirror/config';
import { compileImmediateAnswer, type ImmediateAnswerConfig } from '../filters/redirect/config';
import { compileRetry, type RetryConfig } from '../filters/retry/config';
import { compileHeaderRules, compileRewrite, type HeaderRules, type RewriteConfig } from '../filters/rewrite/config';
import { compileTimeout, type TimeoutConfig } from '../filters/timeout/config';
import { compileMatch, type CompiledMatch } from './match';

export interface CompiledDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  readonly weight: number;
  readonly headers?: HeaderRules;
}

/** One route with every filter's per-push config built. */
export interface CompiledRoute {
  readonly name: string;
  readonly source: string;
  readonly gatewaySemantics: boolean;
  /** Empty: matches every request. */
  readonly matches: readonly CompiledMatch[];
  readonly destinations: readonly CompiledDestination[];
  readonly totalWeight: number;
  readonly answer?: ImmediateAnswerConfig;
  readonly rewrite?: RewriteConfig;
  readonly headers?: HeaderRules;
  readonly timeout?: TimeoutConfig;
  readonly retry?: RetryConfig;
  readonly fault?: FaultConfig;
  readonly mirrors: readonly MirrorTarget[];
}

export interface ServiceEntry {
  readonly doc: ServiceDoc;
  readonly served: boolean;
  readonly ports: ReadonlyMap<number, ServicePortDoc>;
  readonly routes: readonly CompiledRoute[];
  /** Policies attached to this service by targetRefs. */
  readonly policies: CompiledPolicySet;
}

export interface EndpointSpec {
  /** "ip:port": identifies the endpoint in pools, load balancers and outlier detection. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly identity: string;
  readonly healthy: boolean;
  readonly workload: WorkloadDoc;
}

/** Envoy's cluster: one service port, optionally narrowed to a subset, with the policy that applies to it. */
export interface ClusterSpec {
  /** "outbound|<port>|<subset>|<host>", Envoy's cluster naming. */
  readonly key: string;
  readonly service: ServiceEntry;
  readonly port: number;
  readonly subset?: string;
  readonly appProtocol: AppProtocolDoc;
  readonly endpoints: readonly EndpointSpec[];
  readonly policy: TrafficPolicyDoc;
}

export type Target =
  | { readonly kind: 'service'; readonly service: ServiceEntry; readonly port: ServicePortDoc }
  | { readonly kind: 'workload'; readonly workload: WorkloadDoc; readonly port: number };

export interface RoutingTable {
  /** Increases with every applied push. */
  readonly generation: number;
  readonly doc: WaypointConfigDoc;
  readonly services: ReadonlyMap<string, ServiceEntry>;
  readonly clusters: ReadonlyMap<string, ClusterSpec>;
  readonly workloadsByIp: ReadonlyMap<string, WorkloadDoc>;
  /** Policies targeting the waypoint's Gateway: every request through it. */
  readonly gatewayPolicies: CompiledPolicySet;
  /** Selector policies naming the waypoint's pods: checked once per tunnel at HBONE termination. */
  readonly terminationPolicies: CompiledPolicySet;
  /** Where a tunnel's :authority leads, or undefined when this waypoint does not serve it. */
  target(ip: string, port: number): Target | undefined;
  cluster(host: string, port: number, subset: string | undefined): ClusterSpec | undefined;
}

export function clusterKey(host: string, port: number, subset: string | undefined): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

function compileRoute(doc: ServiceDoc['routes'][number], where: string): CompiledRoute {
  try {
    const destinations = (doc.destinations ?? []).map((d) => ({
      host: d.host,
      ...(d.subset !== undefined ? { subset: d.subset } : {}),
      ...(d.port !== undefined ? { port: d.port } : {}),
      weight: d.weight,
      ...(d.headers ? { headers: compileHeaderRules(d.headers) } : {}),
    }));
    const answer = compileImmediateAnswer(doc);
    const rewrite = compileRewrite(doc.rewrite, doc.gatewaySemantics);
    const headers = compileHeaderRules(doc.headers);
    const timeout = compileTimeout(doc.timeoutMs);
    const retry = compileRetry(doc.retries);
    const fault = compileFault(doc.fault);
    return {
      name: doc.name,
      source: doc.source,
      gatewaySemantics: doc.gatewaySemantics,
      matches: doc.matches.map(compileMatch),
      destinations,
      totalWeight: destinations.reduce((sum, d) => sum + d.weight, 0),
      ...(answer ? { answer } : {}),
      ...(rewrite ? { rewrite } : {}),
      ...(headers ? { headers } : {}),
      ...(timeout ? { timeout } : {}),
      ...(retry ? { retry } : {}),
      ...(fault ? { fault } : {}),
      mirrors: compileMirrors(doc.mirrors),
    };
  } catch (error) {
    if (error instanceof WaypointConfigInvalid) throw new WaypointConfigInvalid(`${where}: ${error.message.replace(/^invalid waypoint config: /, '')}`);
    throw new WaypointConfigInvalid(`${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function endpointSpecs(service: ServiceDoc, port: ServicePortDoc, labels: Readonly<Record<string, string>> | undefined, workloads: ReadonlyMap<string, WorkloadDoc>): EndpointSpec[] {
  const out: EndpointSpec[] = [];
  for (const endpoint of service.endpoints) {
    const workload = workloads.get(endpoint.workload);
    if (workload === undefined) continue;
    if (labels !== undefined && !Object.entries(labels).every(([k, v]) => workload.labels[k] === v)) continue;
    const targetPort = endpoint.ports[String(port.port)] ?? (port.targetPort || undefined);
    if (targetPort === undefined) continue;
    out.push({ key: `${endpoint.ip}:${targetPort}`, ip: endpoint.ip, port: targetPort, identity: workload.identity, healthy: workload.healthy, workload });
  }
  return out;
}

/** Compiles a validated document. Throws WaypointConfigInvalid (a NACK) for anything validation could not see, such as a regex RE2 refuses. */
export function compileRoutingTable(doc: WaypointConfigDoc, generation: number): RoutingTable {
  const workloadsByUid = new Map(doc.workloads.map((w) => [w.uid, w]));
  const workloadsByIp = new Map<string, WorkloadDoc>();
  for (const w of doc.workloads) for (const ip of w.ips) workloadsByIp.set(ip, w);
  const direct = new Map<string, WorkloadDoc>();
  for (const uid of doc.directWorkloads) {
    const w = workloadsByUid.get(uid);
    if (w) for (const ip of w.ips) direct.set(ip, w);
  }

  const servicePolicies = new Map<string, typeof doc.policies[number][]>();
  for (const p of doc.policies) {
    if (p.attachment.kind !== 'service') continue;
    const list = servicePolicies.get(p.attachment.hostname) ?? [];
    list.push(p);
    servicePolicies.set(p.attachment.hostname, list);
  }

  const services = new Map<string, ServiceEntry>();
  // Targets are built here once, not per request.
  const byVip = new Map<string, Target>();
  const clusters = new Map<string, ClusterSpec>();
  const addService = (service: ServiceDoc, served: boolean, index: number): void => {
    const entry: ServiceEntry = {
      doc: service,
      served,
      ports: new Map(service.ports.map((p) => [p.port, p])),
      routes: service.routes.map((r, i) => compileRoute(r, `${served ? 'services' : 'backends'}[${index}] (${service.hostname}) routes[${i}]`)),
      policies: compilePolicySet(servicePolicies.get(service.hostname) ?? []),
    };
    services.set(service.hostname, entry);
    if (served) for (const vip of service.vips) for (const port of service.ports) byVip.set(`${vip}:${port.port}`, { kind: 'service', service: entry, port });
    const policyFor = (port: number, subset: string | undefined): TrafficPolicyDoc =>
      service.destinationPolicy?.policies.find((p) => p.port === port && p.subset === subset)?.policy ?? {};
    for (const port of service.ports) {
      const add = (subset: string | undefined, labels: Readonly<Record<string, string>> | undefined): void => {
        const key = clusterKey(service.hostname, port.port, subset);
        clusters.set(key, {
          key,
          service: entry,
          port: port.port,
          ...(subset !== undefined ? { subset } : {}),
          appProtocol: port.appProtocol,
          endpoints: endpointSpecs(service, port, labels, workloadsByUid),
          policy: policyFor(port.port, subset),
        });
      };
      add(undefined, undefined);
      for (const subset of service.destinationPolicy?.subsets ?? []) add(subset.name, subset.labels);
    }
  };
  doc.services.forEach((s, i) => addService(s, true, i));
  doc.backends.forEach((s, i) => addService(s, false, i));

  const table: RoutingTable = {
    generation,
    doc,
    services,
    clusters,
    workloadsByIp,
    gatewayPolicies: compilePolicySet(doc.policies.filter((p) => p.attachment.kind === 'gateway')),
    terminationPolicies: compilePolicySet(doc.policies.filter((p) => p.attachment.kind === 'termination')),
    target(ip, port) {
      const vip = byVip.get(`${ip}:${port}`);
      if (vip) return vip;
      const workload = direct.get(ip);
      return workload ? { kind: 'workload', workload, port } : undefined;
    },
    cluster(host, port, subset) {
      return clusters.get(clusterKey(host, port, subset));
    },
  };
  return Object.freeze(table);
}

/** An empty table: serves nothing, so every tunnel is refused until the first push. */
export function emptyRoutingTable(): RoutingTable {
  return compileRoutingTable(
    { version: 1, waypoint: { name: '', namespace: '', identity: '', trustDomain: '' }, services: [], backends: [], directWorkloads: [], workloads: [], policies: [] },
    0,
  );
}

export { EMPTY_POLICY_SET };
