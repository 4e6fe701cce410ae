// Pure conversions from cluster objects to the model: a Pod to a WorkloadModel, a Service to a ServiceModel.
import type { PodSpec, Resource, ServiceSpec } from '../../api';
import { INBOUND_PROXY_PROTOCOL_ANNOTATION, isAmbientPod } from '../../api/mesh-labels';
import type { AppProtocol, LoadBalancingScope, WorkloadType } from '../../xds';
import { CLUSTER_ID, type LoadBalancingModel, type LocalityModel, type PortModel, type ServiceModel, type WaypointRef, type WorkloadModel } from './types';

interface PodStatusShape {
  podIP?: string;
  podIPs?: { ip: string }[];
  phase?: string;
  conditions?: { type: string; status: string }[];
}

export function selectorMatches(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels?.[key] === value);
}

function appProtocolOf(port: { name?: string; appProtocol?: string }): AppProtocol {
  const declared = (port.appProtocol ?? '').toLowerCase();
  const byName = (port.name ?? '').toLowerCase().split('-')[0];
  const value = declared || byName;
  if (value === 'http' || value === 'http1' || value === 'kubernetes.io/http') return 'HTTP11';
  if (value === 'http2' || value === 'kubernetes.io/h2c') return 'HTTP2';
  if (value === 'grpc' || value === 'grpc-web') return 'GRPC';
  if (value === 'tcp') return 'TCP';
  if (value === 'tls' || value === 'https') return 'TLS';
  return 'UNKNOWN';
}

export function serviceHostname(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** Istio's annotation, which wins over spec.trafficDistribution (and works on clusters that predate the field). */
export const TRAFFIC_DISTRIBUTION_ANNOTATION = 'networking.istio.io/traffic-distribution';
const CLOSE_SCOPES: readonly LoadBalancingScope[] = ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'];

/**
 * As istiod translates them: PreferClose (and its newer name PreferSameZone) fails over from the closest endpoints
 * outward; PreferSameNode adds the node; internalTrafficPolicy Local keeps traffic on the node or nowhere.
 */
export function loadBalancingOf(service: Resource<ServiceSpec>): LoadBalancingModel | undefined {
  const spec = service.spec as ServiceSpec & { trafficDistribution?: string; internalTrafficPolicy?: string };
  const distribution = service.metadata.annotations?.[TRAFFIC_DISTRIBUTION_ANNOTATION] ?? spec.trafficDistribution;
  if (distribution === 'PreferClose' || distribution === 'PreferSameZone') return { routingPreference: CLOSE_SCOPES, mode: 'FAILOVER' };
  if (distribution === 'PreferSameNode') return { routingPreference: [...CLOSE_SCOPES, 'NODE'], mode: 'FAILOVER' };
  if (spec.internalTrafficPolicy === 'Local') return { routingPreference: ['NODE'], mode: 'STRICT' };
  return undefined;
}

export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';

/** A workload's locality, from its node's topology labels as Istio reads them. */
export function localityOf(nodeLabels: Readonly<Record<string, string>> | undefined): LocalityModel | undefined {
  const region = nodeLabels?.[REGION_LABEL] ?? '';
  const zone = nodeLabels?.[ZONE_LABEL] ?? '';
  const subzone = nodeLabels?.[SUBZONE_LABEL] ?? '';
  return region || zone || subzone ? { region, zone, subzone } : undefined;
}

export function serviceModel(service: Resource<ServiceSpec>, waypoint?: WaypointRef): ServiceModel {
  const spec = service.spec as ServiceSpec;
  const loadBalancing = loadBalancingOf(service);
  const namespace = service.metadata.namespace ?? 'default';
  const vips = spec.clusterIP && spec.clusterIP !== 'None' ? [spec.clusterIP] : [];
  return {
    name: service.metadata.name,
    namespace,
    hostname: serviceHostname(service.metadata.name, namespace),
    vips,
    ports: (spec.ports ?? []).map((port) => ({
      servicePort: port.port,
      targetPort: typeof port.targetPort === 'number' ? port.targetPort : port.targetPort === undefined ? port.port : 0,
      appProtocol: appProtocolOf(port),
    })),
    selector: spec.selector,
    waypoint,
    ...(loadBalancing ? { loadBalancing } : {}),
  };
}

function resolvePorts(service: Resource<ServiceSpec>, pod: PodSpec): PortModel[] {
  const ports: PortModel[] = [];
  for (const port of (service.spec as ServiceSpec).ports ?? []) {
    let target: number | undefined;
    if (port.targetPort === undefined) target = port.port;
    else if (typeof port.targetPort === 'number') target = port.targetPort;
    else target = pod.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port.targetPort)?.containerPort;
    if (target !== undefined) ports.push({ servicePort: port.port, targetPort: target, appProtocol: appProtocolOf(port) });
  }
  return ports;
}

function owningWorkload(pod: Resource): { name: string; type: WorkloadType } {
  const owner = pod.metadata.ownerReferences?.find((ref) => ref.controller);
  if (owner?.kind === 'Deployment') return { name: owner.name, type: 'DEPLOYMENT' };
  if (owner?.kind === 'ReplicaSet') {
    const hash = pod.metadata.labels?.['pod-template-hash'];
    return { name: hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name, type: 'DEPLOYMENT' };
  }
  if (owner?.kind === 'Job') return { name: owner.name, type: 'JOB' };
  if (owner?.kind === 'CronJob') return { name: owner.name, type: 'CRONJOB' };
  return { name: pod.metadata.name, type: 'POD' };
}

export interface WorkloadContext {
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Labels of the Node the pod runs on, when the source has Node objects (Kubernetes). */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /** Services in the pod's namespace. */
  readonly services: readonly Resource<ServiceSpec>[];
  readonly selectorPolicies: readonly string[];
  readonly trustDomain: string;
  readonly waypoint?: WaypointRef;
}

/** A Pod's workload, or undefined while it has no address (not yet running). */
export function workloadModel(pod: Resource<PodSpec>, context: WorkloadContext): WorkloadModel | undefined {
  const status = (pod.status ?? {}) as PodStatusShape;
  const ips = status.podIPs?.map((entry) => entry.ip) ?? (status.podIP ? [status.podIP] : []);
  if (ips.length === 0) return undefined;
  const spec = pod.spec as PodSpec;
  const namespace = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels ?? {};
  const locality = localityOf(context.nodeLabels);
  const owner = owningWorkload(pod);
  const services = new Map<string, readonly PortModel[]>();
  for (const service of context.services) {
    if (selectorMatches((service.spec as ServiceSpec).selector, labels)) {
      services.set(`${namespace}/${serviceHostname(service.metadata.name, namespace)}`, resolvePorts(service, spec));
    }
  }
  return {
    uid: `${CLUSTER_ID}//Pod/${namespace}/${pod.metadata.name}`,
    name: pod.metadata.name,
    namespace,
    ips,
    serviceAccount: spec.serviceAccountName ?? spec.serviceAccount ?? 'default',
    node: spec.nodeName ?? '',
    labels,
    // A host-network pod shares the node's netns: nothing can be captured for it alone, so it stays out of HBONE.
    ambient: isAmbientPod(labels, context.namespaceLabels ?? {}, pod.metadata.annotations ?? {}, spec.hostNetwork === true),
    healthy: status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    trustDomain: context.trustDomain,
    canonicalName: labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels.app ?? owner.name,
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest',
    workloadName: owner.name,
    workloadType: owner.type,
    services,
    waypoint: context.waypoint,
    proxyProtocol: pod.metadata.annotations?.[INBOUND_PROXY_PROTOCOL_ANNOTATION] === 'v2',
    selectorPolicies: context.selectorPolicies,
    hostNetwork: spec.hostNetwork === true,
    ...(locality ? { locality } : {}),
  };
}
