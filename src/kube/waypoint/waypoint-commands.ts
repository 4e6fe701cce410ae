// `ambit waypoint apply|delete|list` against a cluster: the Gateway istioctl would write, applied, deleted or listed through the client library.
import { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, type Resource } from '../../api';
import { USE_WAYPOINT_LABEL } from '../../api/mesh-labels';
import { FOR_SERVICE_ACCOUNT_LABEL } from '../../controlplane/model/waypoints';
import { apiError, statusOf } from '../api-errors';
import type { KubeConnection } from '../connection';
import { applyObject } from '../server-side-apply';
import type { GatewayStatus } from './waypoint-status';

/** Field manager for what the CLI writes (istioctl uses "istioctl"). */
export const CLI_FIELD_MANAGER = 'ambit';

export interface AppliedWaypoint {
  readonly gateway: Resource;
  /** With enrollNamespace: the namespace's labels after labelling (to warn when it is not ambient). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

/**
 * Applies a waypoint Gateway (as `ambit waypoint apply` builds it) server-side; with enrollNamespace, also labels its
 * namespace istio.io/use-waypoint=<name>, as `istioctl waypoint apply --enroll-namespace` does.
 */
export async function applyWaypoint(connection: KubeConnection, gateway: Resource, options: { readonly enrollNamespace?: boolean } = {}): Promise<AppliedWaypoint> {
  if ((gateway.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== WAYPOINT_CLASS) throw new TypeError(`a waypoint Gateway has gatewayClassName ${WAYPOINT_CLASS}`);
  const applied = await applyObject(connection, gateway, CLI_FIELD_MANAGER);
  if (!options.enrollNamespace) return { gateway: applied };
  const namespace = applied.metadata.namespace ?? 'default';
  try {
    const labelled = await connection.core().patchNamespace(
      { name: namespace, body: { metadata: { labels: { [USE_WAYPOINT_LABEL]: applied.metadata.name } } } },
      connection.lib.setHeaderOptions('Content-Type', connection.lib.PatchStrategy.MergePatch),
    );
    return { gateway: applied, namespaceLabels: labelled.metadata?.labels ?? {} };
  } catch (error) {
    throw apiError(`label namespace ${namespace} ${USE_WAYPOINT_LABEL}=${applied.metadata.name}`, error);
  }
}

/** Deletes waypoint Gateways by name; returns the names that existed. Their Deployments go by garbage collection. */
export async function deleteWaypoints(connection: KubeConnection, namespace: string, names: readonly string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await connection.custom().deleteNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'gateways', name });
      deleted.push(name);
    } catch (error) {
      if (statusOf(error) !== 404) throw apiError(`delete Gateway ${namespace}/${name}`, error);
    }
  }
  return deleted;
}

export interface WaypointSummary {
  readonly namespace: string;
  readonly name: string;
  /** service, workload, all, none, or "service-account SA" for Istio's legacy per-account waypoint. */
  readonly waypointFor: string;
  /** The Programmed condition's status and reason, e.g. "True" / "Programmed"; Unknown until the control plane reports. */
  readonly programmed: string;
  readonly reason: string;
  readonly address: string;
}

export function isWaypointGateway(gateway: Resource): boolean {
  return (gateway.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS;
}

/** What `ambit waypoint list` shows of a waypoint Gateway, wherever it is stored. */
export function summarizeWaypoint(gateway: Resource): WaypointSummary {
  const labels = gateway.metadata.labels;
  const status = gateway.status as GatewayStatus | undefined;
  const programmed = status?.conditions?.find((condition) => condition.type === 'Programmed');
  return {
    namespace: gateway.metadata.namespace ?? 'default',
    name: gateway.metadata.name,
    waypointFor: labels?.[WAYPOINT_FOR_LABEL] ?? (labels?.[FOR_SERVICE_ACCOUNT_LABEL] ? `service-account ${labels[FOR_SERVICE_ACCOUNT_LABEL]}` : 'service'),
    programmed: programmed?.status ?? 'Unknown',
    reason: programmed?.reason ?? '',
    address: status?.addresses?.map((address) => address.value).join(',') ?? '',
  };
}

/** Waypoint Gateways in `namespace`, or in every namespace when undefined. */
export async function listWaypoints(connection: KubeConnection, namespace?: string): Promise<WaypointSummary[]> {
  const request = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' };
  let list: { items?: Resource[] };
  try {
    list = (namespace === undefined ? await connection.custom().listClusterCustomObject(request) : await connection.custom().listNamespacedCustomObject({ ...request, namespace })) as { items?: Resource[] };
  } catch (error) {
    throw apiError(`list Gateways${namespace === undefined ? '' : ` in ${namespace}`}`, error);
  }
  return (list.items ?? [])
    .filter(isWaypointGateway)
    .map(summarizeWaypoint)
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}
