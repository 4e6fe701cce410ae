// DestinationRule -> the document's per-(port, subset) traffic policies, merged the way Istio merges them (pilot MergeTrafficPolicy).
import type { ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, OutlierDetection, PortTrafficPolicy, TrafficPolicy } from '../../../api';
import type { ConnectionPoolDoc, DestinationPolicyDoc, LoadBalancerDoc, OutlierDetectionDoc, TrafficPolicyDoc } from '../types';
import { durationMs } from './common';

/** The four per-cluster settings Istio merges field by field. */
interface PolicyFields {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
}

function fieldsOf(policy: PortTrafficPolicy | TrafficPolicy | undefined): PolicyFields {
  return { loadBalancer: policy?.loadBalancer, connectionPool: policy?.connectionPool, outlierDetection: policy?.outlierDetection };
}

/** Port-level settings do not inherit: when a port matches, its block replaces every field (Istio's documented rule). */
function forPort(policy: TrafficPolicy | undefined, port: number): PolicyFields | undefined {
  const level = policy?.portLevelSettings?.find((p) => p.port?.number === port);
  return level === undefined ? undefined : fieldsOf(level);
}

/** Istio's MergeTrafficPolicy: top-level (or its port-level block), then the subset's set fields, then the subset's port block. */
export function mergedFields(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): PolicyFields {
  let merged = forPort(top, port) ?? fieldsOf(top);
  if (subset !== undefined) {
    merged = {
      loadBalancer: subset.loadBalancer ?? merged.loadBalancer,
      connectionPool: subset.connectionPool ?? merged.connectionPool,
      outlierDetection: subset.outlierDetection ?? merged.outlierDetection,
    };
    merged = forPort(subset, port) ?? merged;
  }
  return merged;
}

function loadBalancerDoc(lb: LoadBalancerSettings | undefined, what: string, warnings: string[]): LoadBalancerDoc | undefined {
  if (lb === undefined) return undefined;
  const hash = lb.consistentHash;
  if (hash !== undefined) {
    const ringSize = hash.minimumRingSize ?? (hash.ringHash as { minimumRingSize?: number } | undefined)?.minimumRingSize;
    const ttlMs = durationMs(hash.httpCookie?.ttl, `${what} httpCookie.ttl`, warnings);
    const source = hash.httpHeaderName !== undefined
      ? { header: hash.httpHeaderName.toLowerCase() }
      : hash.httpCookie !== undefined
        ? { cookie: { name: hash.httpCookie.name, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(hash.httpCookie.path !== undefined ? { path: hash.httpCookie.path } : {}) } }
        : hash.useSourceIp
          ? { sourceIp: true as const }
          : hash.httpQueryParameterName !== undefined
            ? { queryParameter: hash.httpQueryParameterName }
            : undefined;
    if (source === undefined) return undefined;
    return { consistentHash: { ...source, ...(ringSize !== undefined && ringSize > 0 ? { minimumRingSize: ringSize } : {}) } };
  }
  switch (lb.simple) {
    case 'ROUND_ROBIN':
      return { simple: 'ROUND_ROBIN' };
    case 'LEAST_REQUEST':
    case 'LEAST_CONN':
      return { simple: 'LEAST_REQUEST' };
    case 'RANDOM':
      return { simple: 'RANDOM' };
    case 'PASSTHROUGH':
      warnings.push(`${what}: loadBalancer PASSTHROUGH is not supported at the waypoint; round robin is used.`);
      return { simple: 'ROUND_ROBIN' };
    default:
      return undefined;
  }
}

/** Istio copies only positive limits into Envoy; 0 means "the default" (unlimited). */
function connectionPoolDoc(pool: ConnectionPoolSettings | undefined, what: string, warnings: string[]): ConnectionPoolDoc | undefined {
  if (pool === undefined) return undefined;
  const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  const out: Record<string, number> = {};
  const put = (key: keyof ConnectionPoolDoc, value: number | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  put('maxConnections', positive(pool.tcp?.maxConnections));
  put('connectTimeoutMs', positive(durationMs(pool.tcp?.connectTimeout, `${what} tcp.connectTimeout`, warnings)));
  put('http1MaxPendingRequests', positive(pool.http?.http1MaxPendingRequests));
  put('http2MaxRequests', positive(pool.http?.http2MaxRequests));
  put('maxRequestsPerConnection', positive(pool.http?.maxRequestsPerConnection));
  put('maxRetries', positive(pool.http?.maxRetries));
  put('idleTimeoutMs', positive(durationMs(pool.http?.idleTimeout, `${what} http.idleTimeout`, warnings)));
  return Object.keys(out).length > 0 ? (out as ConnectionPoolDoc) : undefined;
}

/** Envoy's defaults where Istio leaves a field unset: 5 consecutive 5xx, 10 s interval, 30 s base ejection, 10% max. */
function outlierDoc(od: OutlierDetection | undefined, what: string, warnings: string[]): OutlierDetectionDoc | undefined {
  if (od === undefined) return undefined;
  return {
    consecutive5xxErrors: od.consecutive5xxErrors ?? od.consecutiveErrors ?? 5,
    consecutiveGatewayErrors: od.consecutiveGatewayErrors ?? 0,
    intervalMs: durationMs(od.interval, `${what} outlierDetection.interval`, warnings) ?? 10_000,
    baseEjectionTimeMs: durationMs(od.baseEjectionTime, `${what} outlierDetection.baseEjectionTime`, warnings) ?? 30_000,
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
    minHealthPercent: od.minHealthPercent ?? 0,
  };
}

function policyDoc(fields: PolicyFields, what: string, warnings: string[]): TrafficPolicyDoc {
  const loadBalancer = loadBalancerDoc(fields.loadBalancer, what, warnings);
  const connectionPool = connectionPoolDoc(fields.connectionPool, what, warnings);
  const outlierDetection = outlierDoc(fields.outlierDetection, what, warnings);
  return { ...(loadBalancer ? { loadBalancer } : {}), ...(connectionPool ? { connectionPool } : {}), ...(outlierDetection ? { outlierDetection } : {}) };
}

/**
 * The effective policies of one DestinationRule for a service with `ports`: one entry per (port) and per (port,
 * subset), already merged, so the waypoint never merges. Subsets from later rules for the same host are appended
 * (Istio merges same-host rules in a namespace; the first rule's top-level policy wins).
 */
export function destinationPolicy(rules: readonly DestinationRule[], ports: readonly number[]): { policy: DestinationPolicyDoc; warnings: string[] } {
  const warnings: string[] = [];
  const [first] = rules;
  const label = rules.map((r) => `DestinationRule ${r.metadata.namespace ?? 'default'}/${r.metadata.name}`).join(', ');
  const top = first?.spec?.trafficPolicy;
  const subsets: { name: string; labels: Record<string, string>; trafficPolicy?: TrafficPolicy }[] = [];
  for (const rule of rules) {
    for (const subset of rule.spec?.subsets ?? []) {
      if (subsets.some((s) => s.name === subset.name)) {
        warnings.push(`${label}: subset ${subset.name} is defined more than once; the first definition wins.`);
        continue;
      }
      subsets.push({ name: subset.name, labels: { ...(subset.labels ?? {}) }, ...(subset.trafficPolicy ? { trafficPolicy: subset.trafficPolicy } : {}) });
    }
  }
  const policies: DestinationPolicyDoc['policies'][number][] = [];
  for (const port of [...ports].sort((a, b) => a - b)) {
    policies.push({ port, policy: policyDoc(mergedFields(top, undefined, port), label, warnings) });
    for (const subset of subsets) {
      policies.push({ port, subset: subset.name, policy: policyDoc(mergedFields(top, subset.trafficPolicy, port), `${label} subset ${subset.name}`, warnings) });
    }
  }
  return { policy: { source: label, subsets: subsets.map(({ name, labels }) => ({ name, labels })), policies }, warnings };
}
