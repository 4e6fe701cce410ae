// Decides, with no I/O, where an outbound connection captured from a pod goes: over HBONE, via a waypoint, or as plain TCP.
import type { PortMapping, ServiceState, WaypointAddress, WorkloadState } from '../state/model';
import { spiffeUri } from '../state/model';
import type { ZtunnelSnapshot } from '../state/snapshot';
import { eligibleEndpoints, type Placement } from './locality';

export const HBONE_PORT = 15008;

export interface OriginalDestination {
  readonly ip: string;
  readonly port: number;
}

export type OutboundPlan =
  | {
      readonly kind: 'hbone';
      /** Where the TCP connection goes: the destination pod's address on 15008. */
      readonly dialIp: string;
      readonly dialPort: number;
      /** CONNECT :authority: the pod address and target port the destination ztunnel delivers to. */
      readonly authority: string;
      /** SPIFFE ID the server must present (secure naming). */
      readonly expectedIdentity: string;
      readonly destination: WorkloadState;
      readonly service?: ServiceState;
    }
  | {
      readonly kind: 'waypoint';
      readonly dialIp: string;
      readonly dialPort: number;
      /** The original destination, which the waypoint routes on. */
      readonly authority: string;
      readonly waypoint: WaypointAddress;
      readonly service?: ServiceState;
      readonly destination?: WorkloadState;
    }
  | {
      readonly kind: 'passthrough';
      readonly ip: string;
      readonly port: number;
      /** Known but not in the mesh (no HBONE), or entirely unknown. */
      readonly destination?: WorkloadState;
      readonly service?: ServiceState;
    };

export class NoHealthyEndpoint extends Error {
  readonly code = 'NO_HEALTHY_ENDPOINT';
  constructor(readonly service: string, readonly port: number) {
    super(`service ${service} has no healthy endpoint for port ${port}`);
  }
}

export type EndpointPicker = (candidates: readonly WorkloadState[]) => WorkloadState;

export const randomEndpoint: EndpointPicker = (candidates) => candidates[Math.floor(Math.random() * candidates.length)];

function formatAuthority(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function targetPortFor(endpoint: WorkloadState, service: ServiceState, servicePort: PortMapping): number {
  const mapping = endpoint.services.get(service.key)?.find((port) => port.servicePort === servicePort.servicePort);
  return mapping?.targetPort || servicePort.targetPort || servicePort.servicePort;
}

function toWorkload(destination: WorkloadState, port: number, service?: ServiceState): OutboundPlan {
  const ip = destination.ips[0];
  if (destination.waypoint) {
    return { kind: 'waypoint', dialIp: destination.waypoint.ip, dialPort: destination.waypoint.port, authority: formatAuthority(ip, port), waypoint: destination.waypoint, destination, service };
  }
  if (destination.protocol !== 'HBONE') return { kind: 'passthrough', ip, port, destination, service };
  return { kind: 'hbone', dialIp: ip, dialPort: HBONE_PORT, authority: formatAuthority(ip, port), expectedIdentity: spiffeUri(destination.identity), destination, service };
}

function placementOf(workload: WorkloadState): Placement {
  return { node: workload.node, network: workload.network, cluster: workload.clusterId, ...workload.locality };
}

/**
 * Plans the connection `source` (the client pod's workload, when known) opened to `target` (its SO_ORIGINAL_DST), from
 * one snapshot.
 */
export function planOutbound(snapshot: ZtunnelSnapshot, target: OriginalDestination, pick: EndpointPicker = randomEndpoint, source?: WorkloadState): OutboundPlan {
  const service = snapshot.servicesByVip.get(target.ip);
  if (service) {
    const servicePort = service.ports.find((port) => port.servicePort === target.port);
    if (!servicePort) return { kind: 'passthrough', ip: target.ip, port: target.port, service };
    if (service.waypoint) {
      return { kind: 'waypoint', dialIp: service.waypoint.ip, dialPort: service.waypoint.port, authority: formatAuthority(target.ip, target.port), waypoint: service.waypoint, service };
    }
    const healthy = (snapshot.endpointsByService.get(service.key) ?? []).filter((endpoint) => endpoint.healthy && endpoint.ips.length > 0);
    const candidates = eligibleEndpoints(healthy, placementOf, source && placementOf(source), service.loadBalancing);
    if (candidates.length === 0) throw new NoHealthyEndpoint(service.key, target.port);
    const endpoint = pick(candidates);
    const plan = toWorkload(endpoint, targetPortFor(endpoint, service, servicePort), service);
    return plan;
  }
  const workload = snapshot.workloadsByIp.get(target.ip);
  if (workload) return toWorkload(workload, target.port);
  return { kind: 'passthrough', ip: target.ip, port: target.port };
}
