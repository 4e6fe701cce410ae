// gateway.networking.k8s.io Gateway: in ambit, chiefly the waypoint declaration (class istio-waypoint, one HBONE listener on 15008).

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { list, object, opaque, portNumber, required, str, type Cursor } from '../schema';
import { gatewayHostname, sectionName } from './common';

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  /** Accepted and not interpreted. */
  tls?: unknown;
  allowedRoutes?: unknown;
}

export interface GatewaySpec {
  gatewayClassName: string;
  listeners: Listener[];
  /** Accepted and not interpreted. */
  addresses?: unknown[];
  infrastructure?: unknown;
}

export type Gateway = Resource<GatewaySpec>;

export const WAYPOINT_CLASS = 'istio-waypoint';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
export const WAYPOINT_FOR_VALUES = ['service', 'workload', 'all', 'none'] as const;
export const HBONE_PORT = 15008;

const listener = object({
  name: required(sectionName()),
  hostname: gatewayHostname(),
  port: required(portNumber()),
  protocol: required(str({ nonEmpty: true })),
  tls: opaque(),
  allowedRoutes: opaque(),
});

const gatewaySpecSchema = object({
  gatewayClassName: required(str({ nonEmpty: true })),
  listeners: required(list(listener, { minItems: 1, uniqueField: 'name' })),
  addresses: list(opaque()),
  infrastructure: opaque(),
});

/** A waypoint is recognised by its class; istiod (and ambit) expect exactly the HBONE listener there. */
function checkWaypoint(r: Resource, at: Cursor): void {
  const labels = r.metadata.labels ?? {};
  const waypointFor = labels[WAYPOINT_FOR_LABEL];
  if (waypointFor !== undefined && !(WAYPOINT_FOR_VALUES as readonly string[]).includes(waypointFor)) {
    at.at('metadata').at('labels').at(WAYPOINT_FOR_LABEL).fail(`must be one of ${WAYPOINT_FOR_VALUES.join(', ')} (got ${JSON.stringify(waypointFor)})`);
  }
  const spec = r.spec as GatewaySpec;
  if (spec.gatewayClassName !== WAYPOINT_CLASS) return;
  const lat = at.at('spec').at('listeners');
  if (spec.listeners.length !== 1) {
    lat.fail(`a waypoint (gatewayClassName ${WAYPOINT_CLASS}) must have exactly one listener, {port: ${HBONE_PORT}, protocol: HBONE} (got ${spec.listeners.length})`);
    return;
  }
  const [only] = spec.listeners;
  if (only.port !== HBONE_PORT) lat.at(0).at('port').fail(`must be ${HBONE_PORT} for a waypoint (gatewayClassName ${WAYPOINT_CLASS}) (got ${only.port})`);
  if (only.protocol !== 'HBONE') lat.at(0).at('protocol').fail(`must be HBONE for a waypoint (gatewayClassName ${WAYPOINT_CLASS}) (got ${JSON.stringify(only.protocol)})`);
}

export const gatewayKind: KindDefinition = {
  group: 'gateway.networking.k8s.io',
  kind: 'Gateway',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  plural: 'gateways',
  singular: 'gateway',
  shortNames: ['gtw'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(gatewaySpecSchema) },
  refine: checkWaypoint,
};
