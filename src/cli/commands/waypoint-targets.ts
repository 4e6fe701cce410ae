// Where `ambit waypoint` keeps waypoint Gateways: the local cluster's store, or a Kubernetes cluster through the client library.
import { USE_WAYPOINT_LABEL } from '../../api/mesh-labels';
import type { LocatedResource } from '../../api/resource';
import { KubeConnection, type KubeConnectionOptions } from '../../kube/connection';
import { applyWaypoint, deleteWaypoints, isWaypointGateway, listWaypoints, summarizeWaypoint, type WaypointSummary } from '../../kube/waypoint';
import type { ParsedArgs } from '../args';
import { clusterContext, openStore } from '../context';

export interface AppliedWaypointOutcome {
  /** created/configured/unchanged locally; applied on a cluster (server-side apply does not say which). */
  readonly outcome: string;
  /** Set when the namespace was labelled: its labels afterwards. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

export interface WaypointTarget {
  apply(gateway: LocatedResource, enrollNamespace: boolean): Promise<AppliedWaypointOutcome>;
  /** Returns the names that existed and were deleted. */
  delete(namespace: string, names: readonly string[]): Promise<string[]>;
  /** Every namespace when undefined. */
  list(namespace: string | undefined): Promise<WaypointSummary[]>;
}

export function localWaypoints(args: ParsedArgs): WaypointTarget {
  const store = openStore(clusterContext(args));
  return {
    apply: async (gateway, enrollNamespace) => {
      const [result] = store.apply([gateway]);
      if (!enrollNamespace) return { outcome: result.outcome };
      const namespace = gateway.resource.metadata.namespace ?? 'default';
      let namespaceLabels: Record<string, string> = {};
      store.mutate((objects) => {
        const ns = objects.get(`Namespace/${namespace}`);
        if (!ns) return;
        ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [USE_WAYPOINT_LABEL]: gateway.resource.metadata.name };
        namespaceLabels = ns.metadata.labels;
      });
      return { outcome: result.outcome, namespaceLabels };
    },
    delete: async (namespace, names) => {
      const removed = new Set(store.delete(names.map((name) => `Gateway/${namespace}/${name}`)));
      return names.filter((name) => removed.has(`Gateway/${namespace}/${name}`));
    },
    list: async (namespace) => store.list('Gateway', namespace).filter(isWaypointGateway).map(summarizeWaypoint),
  };
}

export async function clusterWaypoints(options: KubeConnectionOptions): Promise<WaypointTarget> {
  const connection = await KubeConnection.open(options);
  return {
    apply: async (gateway, enrollNamespace) => {
      const applied = await applyWaypoint(connection, gateway.resource, { enrollNamespace });
      return { outcome: 'applied', ...(applied.namespaceLabels ? { namespaceLabels: applied.namespaceLabels } : {}) };
    },
    delete: (namespace, names) => deleteWaypoints(connection, namespace, names),
    list: (namespace) => listWaypoints(connection, namespace),
  };
}
