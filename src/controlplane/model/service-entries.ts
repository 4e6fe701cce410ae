// Pure conversions of a networking.istio.io ServiceEntry to the model, as istiod's ambient index makes them: one service per host, one workload per inline endpoint.
import type { Resource, ServiceEntrySpec, ServiceEntryPort, WorkloadEntrySpec } from '../../api';
import { isIpAddress, serviceEntrySpecVips } from '../../api';
import type { AppProtocol } from '../../xds';
import { CLUSTER_ID, type LoadBalancingModel, type LocalityModel, type PortModel, type ServiceModel, type WaypointRef, type WorkloadModel } from './types';
import { TRAFFIC_DISTRIBUTION_ANNOTATION, selectorMatches } from './workloads';

/** Istio's label saying a workload terminates HBONE itself (value is a comma-separated list; "http" means HBONE). */
export const TUNNEL_LABEL = 'networking.istio.io/tunnel';
/** Istio's annotation that marks a workload as captured by ambient (istiod reads it from the ServiceEntry). */
export const AMBIENT_REDIRECTION_ANNOTATION = 'ambient.istio.io/redirection';

export type ServiceEntry = Resource<ServiceEntrySpec>;

/** istiod's translation of the traffic-distribution annotation on a ServiceEntry (PreferClose only). */
const PREFER_CLOSE: LoadBalancingModel = { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE'], mode: 'FAILOVER' };

function specOf(entry: ServiceEntry): ServiceEntrySpec {
  return (entry.spec ?? { hosts: [] }) as ServiceEntrySpec;
}

function namespaceOf(entry: ServiceEntry): string {
  return entry.metadata.namespace ?? 'default';
}

/** Istio's port protocol names mapped to ztunnel's app protocols (istiod itself leaves them UNKNOWN; ambit's Services carry them). */
export function serviceEntryAppProtocol(protocol: string | undefined): AppProtocol {
  switch ((protocol ?? '').toUpperCase()) {
    case 'HTTP':
      return 'HTTP11';
    case 'HTTP2':
      return 'HTTP2';
    case 'GRPC':
    case 'GRPC-WEB':
      return 'GRPC';
    case 'TCP':
    case 'MONGO':
    case 'MYSQL':
    case 'REDIS':
      return 'TCP';
    case 'TLS':
    case 'HTTPS':
      return 'TLS';
    default:
      return 'UNKNOWN';
  }
}

function servicePort(port: ServiceEntryPort): PortModel {
  return { servicePort: port.number, targetPort: port.targetPort || port.number, appProtocol: serviceEntryAppProtocol(port.protocol) };
}

/** The entry's single-address VIPs (src/api: plain IPs and /32 or /128 CIDRs). */
export function serviceEntryVips(entry: ServiceEntry): string[] {
  return serviceEntrySpecVips(specOf(entry));
}

/** "namespace/hostname" keys of the entry's services, the names ztunnels look them up by. */
export function serviceEntryServiceKeys(entry: ServiceEntry): string[] {
  return specOf(entry).hosts.map((host) => `${namespaceOf(entry)}/${host}`);
}

/** One service per host, all sharing the entry's name, VIPs, ports and waypoint (as istiod builds them). */
export function serviceEntryServices(entry: ServiceEntry, waypoint?: WaypointRef): ServiceModel[] {
  const spec = specOf(entry);
  const namespace = namespaceOf(entry);
  const vips = serviceEntryVips(entry);
  const ports = (spec.ports ?? []).map(servicePort);
  const preferClose = entry.metadata.annotations?.[TRAFFIC_DISTRIBUTION_ANNOTATION]?.toLowerCase() === 'preferclose';
  return spec.hosts.map((host) => ({
    name: entry.metadata.name,
    namespace,
    hostname: host,
    vips,
    ports,
    waypoint,
    origin: 'ServiceEntry' as const,
    ...(spec.subjectAltNames?.length ? { subjectAltNames: spec.subjectAltNames } : {}),
    ...(preferClose ? { loadBalancing: PREFER_CLOSE } : {}),
  }));
}

/** The entry's ports for one workload: an endpoint's `ports` map (keyed by port name) overrides the target port. */
function portsFor(entry: ServiceEntry, endpointPorts: Readonly<Record<string, number>> | undefined): PortModel[] {
  return (specOf(entry).ports ?? []).map((port) => {
    const model = servicePort(port);
    const override = endpointPorts?.[port.name];
    return override ? { ...model, targetPort: override } : model;
  });
}

/** The services map entries a pod gains when the entry's workloadSelector selects it (same namespace only). */
export function serviceEntryServicesForPod(entry: ServiceEntry, podNamespace: string, podLabels: Readonly<Record<string, string>>): Map<string, readonly PortModel[]> {
  const selected = new Map<string, readonly PortModel[]>();
  if (namespaceOf(entry) !== podNamespace || !selectorMatches(specOf(entry).workloadSelector?.labels, podLabels)) return selected;
  const ports = portsFor(entry, undefined);
  for (const key of serviceEntryServiceKeys(entry)) selected.set(key, ports);
  return selected;
}

/** Istio's uid for an inline endpoint: "<cluster>/networking.istio.io/ServiceEntry/<ns>/<name>/<address>". */
export function serviceEntryEndpointUid(namespace: string, name: string, address: string): string {
  return `${CLUSTER_ID}/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`;
}

export interface ServiceEntryWorkloadContext {
  readonly trustDomain: string;
  /** Selector-scoped authorizations that apply, matched (as istiod does) against the entry's own labels. */
  readonly selectorPolicies: readonly string[];
  /** The waypoint for traffic to one endpoint's address, bound by the endpoint's labels or the namespace. */
  readonly waypointFor: (endpoint: WorkloadEntrySpec) => WaypointRef | undefined;
}

function localityOf(locality: string | undefined): LocalityModel | undefined {
  if (!locality) return undefined;
  const [region = '', zone = '', subzone = ''] = locality.split('/');
  return { region, zone, subzone };
}

function tunnelsHttp(labels: Readonly<Record<string, string>> | undefined): boolean {
  return (labels?.[TUNNEL_LABEL] ?? '').split(',').some((value) => value.trim() === 'http');
}

/**
 * Workloads for the entry's inline endpoints; with DNS resolution and neither endpoints nor a selector, one workload
 * per host that ztunnel resolves by name. Tunnel protocol follows istiod: HBONE when the entry is annotated
 * ambient.istio.io/redirection=enabled or labelled networking.istio.io/tunnel=http (ambit also honours that label on an
 * endpoint, as istiod does on a WorkloadEntry); otherwise plain TCP.
 */
export function serviceEntryWorkloads(entry: ServiceEntry, context: ServiceEntryWorkloadContext): WorkloadModel[] {
  const spec = specOf(entry);
  const namespace = namespaceOf(entry);
  const implicit = (spec.endpoints ?? []).length === 0 && (spec.resolution === 'DNS' || spec.resolution === 'DNS_ROUND_ROBIN') && spec.workloadSelector === undefined;
  const endpoints: WorkloadEntrySpec[] = implicit ? spec.hosts.map((host) => ({ address: host })) : (spec.endpoints ?? []);
  const labels = entry.metadata.labels ?? {};
  const redirected = entry.metadata.annotations?.[AMBIENT_REDIRECTION_ANNOTATION] === 'enabled';
  const workloads: WorkloadModel[] = [];
  const seen = new Set<string>();
  endpoints.forEach((endpoint, i) => {
    const address = endpoint.address;
    if (!address || address.startsWith('unix://') || seen.has(address)) return;
    seen.add(address);
    const hosts = implicit ? [spec.hosts[i]] : spec.hosts;
    const ports = portsFor(entry, implicit ? undefined : endpoint.ports);
    const services = new Map<string, readonly PortModel[]>(hosts.map((host) => [`${namespace}/${host}`, ports]));
    const native = tunnelsHttp(labels) || (!implicit && tunnelsHttp(endpoint.labels));
    const locality = localityOf(endpoint.locality);
    const waypoint = implicit ? undefined : context.waypointFor(endpoint);
    const ip = isIpAddress(address);
    workloads.push({
      uid: serviceEntryEndpointUid(namespace, entry.metadata.name, address),
      name: entry.metadata.name,
      namespace,
      ips: ip ? [address] : [],
      ...(ip ? {} : { hostname: address }),
      serviceAccount: endpoint.serviceAccount ?? 'default',
      node: '',
      labels: { ...labels, ...(endpoint.labels ?? {}) },
      ambient: redirected || native,
      ...(native ? { nativeTunnel: true } : {}),
      healthy: true,
      trustDomain: context.trustDomain,
      canonicalName: labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels.app ?? entry.metadata.name,
      canonicalRevision: labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest',
      workloadName: entry.metadata.name,
      // istiod presents entry endpoints as pods (it has no better workload type for them).
      workloadType: 'POD',
      services,
      ...(waypoint ? { waypoint } : {}),
      proxyProtocol: false,
      selectorPolicies: context.selectorPolicies,
      hostNetwork: false,
      ...(endpoint.network ? { network: endpoint.network } : {}),
      ...(endpoint.weight ? { capacity: endpoint.weight } : {}),
      ...(locality ? { locality } : {}),
    });
  });
  return workloads;
}
