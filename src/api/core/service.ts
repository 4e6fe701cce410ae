// The core v1 Service kind: a virtual IP and ports in front of the pods its selector picks.

import { dnsLabel, ipAddress } from '../formats';
import type { KindDefinition } from '../kind';
import { labelsSchema } from '../metadata';
import type { Resource } from '../resource';
import { bool, custom, enumOf, list, object, opaque, portNumber, required, str, type Cursor, type Schema } from '../schema';
import { protocol, targetPort, type Protocol } from './container';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: Protocol;
  appProtocol?: string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: ServiceType;
  /** An IP, "None" for a headless Service, or absent to have one allocated. */
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  selector?: Record<string, string>;
  externalName?: string;
  sessionAffinity?: 'None' | 'ClientIP';
  publishNotReadyAddresses?: boolean;
}

export type Service = Resource<ServiceSpec>;

const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

/** Local mode has no nodes reachable from outside and no load balancers, so only ClusterIP (and headless) exist there. */
const serviceType: Schema = custom((value, at) => {
  enumOf(SERVICE_TYPES).check(value, at);
  if (at.options.mode === 'local' && value !== 'ClusterIP' && SERVICE_TYPES.includes(value as ServiceType)) {
    at.fail(`${JSON.stringify(value)} is not supported in local mode; use ClusterIP`);
  }
});

const clusterIP = custom((value, at) => {
  if (value === 'None' || value === '') return;
  ipAddress().check(value, at);
});

const servicePort = object({
  name: dnsLabel(),
  port: required(portNumber()),
  targetPort: targetPort(),
  protocol: protocol(),
  appProtocol: str({ nonEmpty: true }),
  nodePort: portNumber(),
});

/** Ports need names once there is more than one; a Service that is not headless needs ports. */
function checkPorts(spec: ServiceSpec, at: Cursor): void {
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None' || spec.type === 'ExternalName';
  if (ports.length === 0 && !headless) at.at('ports').fail('must have at least one port (or set clusterIP: None for a headless Service)');
  if (ports.length > 1) {
    ports.forEach((p, i) => {
      if (p.name === undefined || p.name === '') at.at('ports').at(i).failMissing('name');
    });
  }
  if (spec.type === 'ExternalName' && (spec.externalName ?? '') === '') at.failMissing('externalName');
}

const serviceSpecSchema = object<ServiceSpec>(
  {
    type: serviceType,
    clusterIP,
    clusterIPs: list(clusterIP),
    ports: list(servicePort, { uniqueField: 'name' }),
    selector: labelsSchema(),
    externalName: str(),
    sessionAffinity: enumOf(['None', 'ClientIP']),
    sessionAffinityConfig: opaque(),
    publishNotReadyAddresses: bool(),
    ipFamilies: opaque(),
    ipFamilyPolicy: opaque(),
    internalTrafficPolicy: opaque(),
    externalTrafficPolicy: opaque(),
    trafficDistribution: opaque(),
  },
  { refine: checkPorts },
);

export const serviceKind: KindDefinition = {
  group: '',
  kind: 'Service',
  versions: ['v1'],
  namespaced: true,
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  nameFormat: 'dns-1035-label',
  fields: { spec: required(serviceSpecSchema) },
  applyDefaults: (r) => {
    const spec = (r as Service).spec as ServiceSpec;
    spec.type ??= 'ClusterIP';
    for (const p of spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  },
};
