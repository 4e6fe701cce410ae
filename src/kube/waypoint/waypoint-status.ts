// The status a waypoint Gateway should report (Accepted, Programmed, its address), decided from the reconcile outcome alone.

export interface GatewayCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface GatewayAddress {
  type: 'IPAddress' | 'Hostname';
  value: string;
}

export interface GatewayStatus {
  conditions?: GatewayCondition[];
  addresses?: GatewayAddress[];
}

export type WaypointOutcome =
  /** Deployment, Service and ServiceAccount applied. */
  | { readonly kind: 'programmed'; readonly address: GatewayAddress }
  /** The Gateway itself is wrong for a waypoint; nothing was applied. */
  | { readonly kind: 'invalid'; readonly message: string }
  /** Applying failed (API error); it is retried. */
  | { readonly kind: 'pending'; readonly message: string };

function condition(previous: GatewayStatus | undefined, next: Omit<GatewayCondition, 'lastTransitionTime'>, now: string): GatewayCondition {
  const before = previous?.conditions?.find((entry) => entry.type === next.type);
  // As Gateway API requires: the time moves only when the status value changes.
  return { ...next, lastTransitionTime: before?.status === next.status ? before.lastTransitionTime : now };
}

export function waypointStatus(previous: GatewayStatus | undefined, generation: number | undefined, outcome: WaypointOutcome, now: string): GatewayStatus {
  const observed = generation === undefined ? {} : { observedGeneration: generation };
  if (outcome.kind === 'invalid') {
    return {
      conditions: [
        condition(previous, { type: 'Accepted', status: 'False', reason: 'Invalid', message: outcome.message, ...observed }, now),
        condition(previous, { type: 'Programmed', status: 'False', reason: 'Invalid', message: outcome.message, ...observed }, now),
      ],
    };
  }
  const accepted = condition(previous, { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Resource accepted', ...observed }, now);
  if (outcome.kind === 'pending') {
    return { conditions: [accepted, condition(previous, { type: 'Programmed', status: 'False', reason: 'Pending', message: outcome.message, ...observed }, now)], addresses: previous?.addresses };
  }
  return {
    conditions: [accepted, condition(previous, { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Resource programmed, assigned to service(s) ' + outcome.address.value, ...observed }, now)],
    addresses: [outcome.address],
  };
}

/** Equal for every purpose but timestamps: an unchanged status is not written again (each write is a watch event). */
export function sameStatus(a: GatewayStatus | undefined, b: GatewayStatus): boolean {
  const strip = (status: GatewayStatus | undefined) =>
    JSON.stringify({
      conditions: (status?.conditions ?? []).map((entry) => [entry.type, entry.status, entry.reason, entry.message, entry.observedGeneration]),
      addresses: (status?.addresses ?? []).map((address) => [address.type, address.value]),
    });
  return strip(a) === strip(b);
}
