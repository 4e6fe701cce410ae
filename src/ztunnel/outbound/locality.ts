// Which of a service's endpoints a client may use under the service's load-balancing preference (Service.load_balancing):
// endpoints are ranked by how many of the preferred scopes, in order, they share with the client.
import type { LoadBalancingMode, LoadBalancingScope } from '../../xds';

export interface Placement {
  readonly node: string;
  readonly network: string;
  readonly cluster: string;
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

export interface LoadBalancingPreference {
  readonly routingPreference: readonly LoadBalancingScope[];
  readonly mode: LoadBalancingMode;
}

/**
 * Region, zone and subzone are nested (zone "a" in two regions is two zones), so each must match together with the
 * scopes above it; node, cluster and network stand alone.
 */
function sameScope(scope: LoadBalancingScope, client: Placement, endpoint: Placement): boolean {
  switch (scope) {
    case 'NETWORK':
      return client.network === endpoint.network;
    case 'CLUSTER':
      return client.cluster === endpoint.cluster;
    case 'NODE':
      return client.node !== '' && client.node === endpoint.node;
    case 'REGION':
      return client.region === endpoint.region;
    case 'ZONE':
      return client.region === endpoint.region && client.zone === endpoint.zone;
    case 'SUBZONE':
      return client.region === endpoint.region && client.zone === endpoint.zone && client.subzone === endpoint.subzone;
    default:
      return true;
  }
}

/** How many of the preferred scopes, from the first, the endpoint shares with the client. */
export function localityRank(preference: readonly LoadBalancingScope[], client: Placement, endpoint: Placement): number {
  let rank = 0;
  for (const scope of preference) {
    if (!sameScope(scope, client, endpoint)) break;
    rank += 1;
  }
  return rank;
}

/**
 * The endpoints to choose among. STRICT: only those matching every preferred scope (possibly none). FAILOVER: those
 * of the best rank present, so traffic stays as close as it can and moves out only when nothing closer is healthy.
 * No preference, PASSTHROUGH, or an unknown client: all of them.
 */
export function eligibleEndpoints<T>(candidates: readonly T[], placementOf: (endpoint: T) => Placement, client: Placement | undefined, preference: LoadBalancingPreference | undefined): readonly T[] {
  if (!client || !preference || preference.routingPreference.length === 0) return candidates;
  if (preference.mode !== 'STRICT' && preference.mode !== 'FAILOVER') return candidates;
  const ranked = candidates.map((endpoint) => ({ endpoint, rank: localityRank(preference.routingPreference, client, placementOf(endpoint)) }));
  const wanted = preference.mode === 'STRICT' ? preference.routingPreference.length : Math.max(0, ...ranked.map((entry) => entry.rank));
  return ranked.filter((entry) => entry.rank === wanted).map((entry) => entry.endpoint);
}
