// What the ztunnel knows about the mesh, converted from xDS at the edge: workloads, services and their endpoints.
import type { AppProtocol, LoadBalancingMode, LoadBalancingScope } from '../../xds';

export interface Identity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
  readonly appProtocol: AppProtocol;
}

/** Where a waypoint accepts HBONE for the workloads or services it serves. */
export interface WaypointAddress {
  readonly ip: string;
  readonly port: number;
}

export interface WorkloadState {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly ips: readonly string[];
  readonly identity: Identity;
  /** HBONE: enrolled in the mesh; NONE: reached with plain TCP. */
  readonly protocol: 'HBONE' | 'NONE';
  readonly node: string;
  readonly healthy: boolean;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadName: string;
  /** "namespace/hostname" -> ports, for each service that selects this workload. */
  readonly services: ReadonlyMap<string, readonly PortMapping[]>;
  readonly authorizationPolicies: readonly string[];
  readonly waypoint?: WaypointAddress;
  /** Deliver inbound with a PROXY v2 header (to this port, 0 = the original one) instead of a spoofed source. */
  readonly proxyProtocolPort?: number;
  readonly network: string;
  readonly clusterId: string;
  /** Region/zone/subzone; '' where unknown. */
  readonly locality: { readonly region: string; readonly zone: string; readonly subzone: string };
}

export interface ServiceState {
  /** "namespace/hostname", the xDS resource name. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly string[];
  readonly ports: readonly PortMapping[];
  readonly waypoint?: WaypointAddress;
  /** How clients pick among endpoints (trafficDistribution and friends); undefined means every healthy one qualifies. */
  readonly loadBalancing?: { readonly routingPreference: readonly LoadBalancingScope[]; readonly mode: LoadBalancingMode };
}

export function spiffeUri(identity: Identity): string {
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}
