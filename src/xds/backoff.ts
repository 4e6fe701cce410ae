// Reconnect delays for the xDS client: capped exponential backoff with jitter, so a restarted control plane is
// not hit by every proxy at the same instant.

export interface BackoffPolicy {
  /** Delay before the first retry (before jitter). */
  readonly initialMs: number;
  /** Cap on the delay (before jitter). */
  readonly maxMs: number;
}

export const DEFAULT_XDS_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 15_000 };

/**
 * Delay before retry number `attempt` (0-based): the capped exponential value, of which a random half is
 * jitter ("equal jitter"), so the delay stays between half and all of the cap.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
