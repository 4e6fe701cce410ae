// Request timeout, per request: turns the route's timeout into a deadline the router enforces; expiry answers 504.
import { localReply, type LocalReply } from '../local-reply';
import type { TimeoutConfig } from './config';

/** The epoch-ms deadline for a request that started at `startedAt`, or undefined when the route has no timeout. */
export function deadlineFor(config: TimeoutConfig | undefined, startedAt: number): number | undefined {
  return config === undefined ? undefined : startedAt + config.timeoutMs;
}

/** Envoy's answer when the route timeout passes before the upstream's response headers. */
export const UPSTREAM_TIMEOUT: LocalReply = Object.freeze(localReply(504, 'upstream request timeout', 'UT'));
