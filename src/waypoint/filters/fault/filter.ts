// Fault injection, per request: first the delay (if this request is picked), then the abort (if picked), as Envoy's fault filter does.
import { localReply, type LocalReply } from '../local-reply';
import type { FaultConfig } from './config';

export interface FaultPlan {
  /** Milliseconds to hold the request before going on; 0 for none. */
  readonly delayMs: number;
  readonly abort?: LocalReply;
}

const NONE: FaultPlan = Object.freeze({ delayMs: 0 });

/** Decides the faults for one request; `random` returns [0, 1) and is injectable so tests can pin outcomes. */
export function planFault(config: FaultConfig | undefined, random: () => number = Math.random): FaultPlan {
  if (config === undefined) return NONE;
  const delayMs = config.delayMs > 0 && random() * 100 < config.delayPercentage ? config.delayMs : 0;
  const a = config.abort;
  if (a === undefined || !(random() * 100 < a.percentage)) return delayMs > 0 ? { delayMs } : NONE;
  const abort: LocalReply =
    a.grpcStatus !== undefined
      ? { ...localReply(200, '', 'FI'), grpcStatus: a.grpcStatus }
      : localReply(a.httpStatus ?? 503, 'fault filter abort', 'FI');
  return { delayMs, abort };
}
