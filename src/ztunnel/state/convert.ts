// Converts decoded istio.workload.Address messages into the ztunnel's model, rejecting what it cannot use (the update is NACKed).
import { ipFromBytes, type Address, type GatewayAddress, type Service, type Workload } from '../../xds';
import type { PortMapping, ServiceState, WaypointAddress, WorkloadState } from './model';

export class InvalidAddressResource extends Error {
  readonly code = 'INVALID_ADDRESS_RESOURCE';
  constructor(readonly resourceName: string, reason: string) {
    super(`resource ${resourceName}: ${reason}`);
  }
}

function ip(bytes: Uint8Array, resourceName: string): string {
  const text = ipFromBytes(bytes);
  if (text === undefined) throw new InvalidAddressResource(resourceName, `an address has ${bytes.length} bytes; expected 4 (IPv4) or 16 (IPv6)`);
  return text;
}

function waypointOf(gateway: GatewayAddress | undefined, resourceName: string): WaypointAddress | undefined {
  if (!gateway?.address) return undefined;
  return { ip: ip(gateway.address.address, resourceName), port: gateway.hboneMtlsPort || 15008 };
}

function ports(list: readonly { servicePort: number; targetPort: number; appProtocol: PortMapping['appProtocol'] }[]): PortMapping[] {
  return list.map((port) => ({ servicePort: port.servicePort, targetPort: port.targetPort, appProtocol: port.appProtocol }));
}

export function workloadState(name: string, workload: Workload): WorkloadState {
  if (!workload.uid) throw new InvalidAddressResource(name, 'workload has no uid');
  const services = new Map<string, readonly PortMapping[]>();
  for (const [key, list] of Object.entries(workload.services)) services.set(key, ports(list.ports));
  return {
    uid: workload.uid,
    name: workload.name,
    namespace: workload.namespace,
    ips: workload.addresses.map((bytes) => ip(bytes, name)),
    identity: { trustDomain: workload.trustDomain || 'cluster.local', namespace: workload.namespace, serviceAccount: workload.serviceAccount || 'default' },
    protocol: workload.tunnelProtocol === 'HBONE' ? 'HBONE' : 'NONE',
    node: workload.node,
    healthy: workload.status !== 'UNHEALTHY',
    canonicalName: workload.canonicalName,
    canonicalRevision: workload.canonicalRevision,
    workloadName: workload.workloadName,
    services,
    authorizationPolicies: [...workload.authorizationPolicies],
    waypoint: waypointOf(workload.waypoint, name),
    proxyProtocolPort: workload.applicationTunnel?.protocol === 'PROXY' ? workload.applicationTunnel.port : undefined,
    network: workload.network,
    clusterId: workload.clusterId,
    locality: { region: workload.locality?.region ?? '', zone: workload.locality?.zone ?? '', subzone: workload.locality?.subzone ?? '' },
  };
}

export function serviceState(name: string, service: Service): ServiceState {
  if (!service.hostname) throw new InvalidAddressResource(name, 'service has no hostname');
  return {
    key: `${service.namespace}/${service.hostname}`,
    name: service.name,
    namespace: service.namespace,
    hostname: service.hostname,
    vips: service.addresses.map((address) => ip(address.address, name)),
    ports: ports(service.ports),
    waypoint: waypointOf(service.waypoint, name),
    ...(service.loadBalancing && service.loadBalancing.routingPreference.length > 0
      ? { loadBalancing: { routingPreference: [...service.loadBalancing.routingPreference], mode: service.loadBalancing.mode } }
      : {}),
  };
}

export type AddressState = { kind: 'workload'; workload: WorkloadState } | { kind: 'service'; service: ServiceState };

export function addressState(name: string, address: Address): AddressState {
  if (address.workload) return { kind: 'workload', workload: workloadState(name, address.workload) };
  if (address.service) return { kind: 'service', service: serviceState(name, address.service) };
  throw new InvalidAddressResource(name, 'Address has neither workload nor service');
}
