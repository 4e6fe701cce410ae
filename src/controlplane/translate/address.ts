// Model -> istio.workload.Address, with Istio's conventions (default trust domain and service account omitted, ns/hostname keys).
import { ipToBytes, type AddressInput, type GatewayAddress, type ProtoInput } from '../../xds';
import { DEFAULT_TRUST_DOMAIN, type ServiceModel, type WaypointRef, type WorkloadModel } from '../model/types';

function gatewayAddress(waypoint: WaypointRef | undefined): ProtoInput<GatewayAddress> | undefined {
  return waypoint ? { address: { network: '', address: ipToBytes(waypoint.ip) }, hboneMtlsPort: waypoint.port } : undefined;
}

/** Resource name of a workload in the Address type: its uid. */
export function workloadResourceName(workload: WorkloadModel): string {
  return workload.uid;
}

/** Resource name of a service in the Address type: "namespace/hostname". */
export function serviceResourceName(service: ServiceModel): string {
  return `${service.namespace}/${service.hostname}`;
}

export function workloadAddress(workload: WorkloadModel): AddressInput {
  const services: Record<string, { ports: { servicePort: number; targetPort: number; appProtocol: ServiceModel['ports'][number]['appProtocol'] }[] }> = {};
  for (const [key, ports] of workload.services) services[key] = { ports: ports.map((port) => ({ ...port })) };
  return {
    workload: {
      uid: workload.uid,
      name: workload.name,
      namespace: workload.namespace,
      addresses: workload.ips.map(ipToBytes),
      hostname: workload.hostname ?? '',
      network: workload.network ?? '',
      tunnelProtocol: workload.ambient ? 'HBONE' : 'NONE',
      nativeTunnel: workload.nativeTunnel ?? false,
      trustDomain: workload.trustDomain === DEFAULT_TRUST_DOMAIN ? '' : workload.trustDomain,
      serviceAccount: workload.serviceAccount === 'default' ? '' : workload.serviceAccount,
      node: workload.node,
      canonicalName: workload.canonicalName,
      canonicalRevision: workload.canonicalRevision,
      workloadType: workload.workloadType,
      workloadName: workload.workloadName,
      services,
      authorizationPolicies: [...workload.selectorPolicies],
      status: workload.healthy ? 'HEALTHY' : 'UNHEALTHY',
      waypoint: gatewayAddress(workload.waypoint),
      applicationTunnel: workload.proxyProtocol ? { protocol: 'PROXY', port: 0 } : undefined,
      clusterId: 'Kubernetes',
      locality: workload.locality ? { ...workload.locality } : undefined,
      networkMode: workload.hostNetwork ? 'HOST_NETWORK' : 'STANDARD',
      capacity: workload.capacity,
    },
  };
}

export function serviceAddress(service: ServiceModel): AddressInput {
  return {
    service: {
      name: service.name,
      namespace: service.namespace,
      hostname: service.hostname,
      addresses: service.vips.map((vip) => ({ network: '', address: ipToBytes(vip) })),
      ports: service.ports.map((port) => ({ ...port })),
      subjectAltNames: [...(service.subjectAltNames ?? [])],
      waypoint: gatewayAddress(service.waypoint),
      loadBalancing: service.loadBalancing ? { routingPreference: [...service.loadBalancing.routingPreference], mode: service.loadBalancing.mode, healthPolicy: 'ONLY_HEALTHY' } : undefined,
    },
  };
}
