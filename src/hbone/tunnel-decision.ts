// Asks the proxy whether a tunnel may open, and makes sure the answer is one the server can act on, in time.
import { abort } from './relay';
import type { HboneServerOptions, TunnelDecision, TunnelRequest } from './server-types';

/**
 * Runs the proxy's handler; a throw, a rejection, a malformed answer or a timeout all become 503 so no client
 * waits forever. A client that goes away (the controller aborts) ends the wait at once; an upstream decided after
 * that is destroyed.
 */
export function decideTunnel(onTunnel: HboneServerOptions['onTunnel'], request: TunnelRequest, controller: AbortController, timeoutMs: number): Promise<TunnelDecision> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      controller.abort(new Error(`the tunnel was not decided within ${timeoutMs} ms`));
    }, timeoutMs);
    controller.signal.addEventListener('abort', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const why = controller.signal.reason instanceof Error ? controller.signal.reason.message : 'the decision was abandoned';
      resolve({ status: 503, reason: why });
    });
    Promise.resolve()
      .then(() => onTunnel(request))
      .then(
        (decision) => {
          if (settled) {
            if (decision.status === 200) abort(decision.upstream, new Error('the tunnel decision came too late'));
            return;
          }
          settled = true;
          clearTimeout(timer);
          resolve(checkedDecision(decision));
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: 503, reason: `the tunnel handler failed: ${error instanceof Error ? error.message : String(error)}` });
        },
      );
  });
}

/** A 200 must come with an upstream; a refusal must use a status ztunnel's clients understand. */
export function checkedDecision(decision: TunnelDecision): TunnelDecision {
  if (decision.status === 200 && (decision.upstream === undefined || decision.upstream === null)) {
    return { status: 503, reason: 'the tunnel handler accepted without an upstream stream' };
  }
  if (decision.status !== 200 && ![400, 401, 403, 503].includes(decision.status)) {
    return { status: 503, reason: `the tunnel handler answered unsupported status ${String(decision.status)}` };
  }
  return decision;
}
