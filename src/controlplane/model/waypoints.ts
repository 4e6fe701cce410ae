// Which waypoint serves a service or a workload, as Istio binds them: istio.io/use-waypoint on the object or its namespace.
import type { PodSpec, Resource, ServiceSpec } from '../../api';
import { USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL } from '../../api/mesh-labels';
import { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL } from '../../api';

export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** Istio's legacy per-service-account waypoint (istioctl x waypoint apply --service-account). */
export const FOR_SERVICE_ACCOUNT_LABEL = 'istio.io/for-service-account';
export const WAYPOINT_HBONE_PORT = 15008;

export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

export interface WaypointModel {
  /** "namespace/name" of the Gateway. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly identity: string;
  /** ClusterIP of the waypoint's Service (named after the Gateway), once it exists. */
  readonly vip?: string;
  readonly for: WaypointFor;
  readonly forServiceAccount?: string;
}

export function waypointsFrom(objects: ReadonlyMap<string, Resource>, trustDomain: string): Map<string, WaypointModel> {
  const waypoints = new Map<string, WaypointModel>();
  for (const object of objects.values()) {
    if (object.kind !== 'Gateway' || (object.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== WAYPOINT_CLASS) continue;
    const namespace = object.metadata.namespace ?? 'default';
    const name = object.metadata.name;
    const service = objects.get(`Service/${namespace}/${name}`)?.spec as ServiceSpec | undefined;
    const declared = object.metadata.labels?.[WAYPOINT_FOR_LABEL] as WaypointFor | undefined;
    const forServiceAccount = object.metadata.labels?.[FOR_SERVICE_ACCOUNT_LABEL];
    waypoints.set(`${namespace}/${name}`, {
      key: `${namespace}/${name}`,
      name,
      namespace,
      // istiod runs a waypoint as a service account named after its Gateway.
      identity: `spiffe://${trustDomain}/ns/${namespace}/sa/${name}`,
      vip: service?.clusterIP && service.clusterIP !== 'None' ? service.clusterIP : undefined,
      for: declared ?? (forServiceAccount ? 'workload' : 'service'),
      forServiceAccount,
    });
  }
  return waypoints;
}

function boundName(object: Resource, namespaceObject: Resource | undefined): { name: string; namespace: string } | undefined {
  const own = object.metadata.labels?.[USE_WAYPOINT_LABEL];
  const source = own !== undefined ? object : namespaceObject;
  const name = own ?? namespaceObject?.metadata.labels?.[USE_WAYPOINT_LABEL];
  if (!name || name === 'none') return undefined;
  const namespace = source?.metadata.labels?.[USE_WAYPOINT_NAMESPACE_LABEL] ?? object.metadata.namespace ?? 'default';
  return { name, namespace };
}

function isWaypointItself(object: Resource): boolean {
  return object.metadata.labels?.[GATEWAY_NAME_LABEL] !== undefined;
}

function accepts(waypoint: WaypointModel | undefined, traffic: 'service' | 'workload'): waypoint is WaypointModel {
  return waypoint !== undefined && (waypoint.for === traffic || waypoint.for === 'all');
}

/** The waypoint for traffic addressed to a Service, if any. */
export function serviceWaypoint(service: Resource, namespaceObject: Resource | undefined, waypoints: ReadonlyMap<string, WaypointModel>, podsInNamespace: readonly Resource[]): WaypointModel | undefined {
  if (isWaypointItself(service)) return undefined;
  const bound = boundName(service, namespaceObject);
  if (bound) {
    const waypoint = waypoints.get(`${bound.namespace}/${bound.name}`);
    return accepts(waypoint, 'service') ? waypoint : undefined;
  }
  // A per-service-account waypoint also fronts services whose pods all run as that account.
  const selector = (service.spec as ServiceSpec).selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const selected = podsInNamespace.filter((pod) => Object.entries(selector).every(([k, v]) => pod.metadata.labels?.[k] === v));
  if (selected.length === 0) return undefined;
  for (const waypoint of waypoints.values()) {
    if (!waypoint.forServiceAccount || waypoint.namespace !== service.metadata.namespace) continue;
    if (selected.every((pod) => ((pod.spec as PodSpec).serviceAccountName ?? 'default') === waypoint.forServiceAccount)) return waypoint;
  }
  return undefined;
}

/** The waypoint for traffic addressed to a pod's own IP, if any. */
export function workloadWaypoint(pod: Resource, namespaceObject: Resource | undefined, waypoints: ReadonlyMap<string, WaypointModel>): WaypointModel | undefined {
  if (isWaypointItself(pod)) return undefined;
  const bound = boundName(pod, namespaceObject);
  if (bound) {
    const waypoint = waypoints.get(`${bound.namespace}/${bound.name}`);
    return accepts(waypoint, 'workload') ? waypoint : undefined;
  }
  const serviceAccount = (pod.spec as PodSpec).serviceAccountName ?? 'default';
  for (const waypoint of waypoints.values()) {
    if (waypoint.forServiceAccount === serviceAccount && waypoint.namespace === pod.metadata.namespace) return waypoint;
  }
  return undefined;
}
