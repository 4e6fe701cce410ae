// A request's "the client went away" signal: the few AbortSignal members the request path uses, without the cost of an AbortController per request.
/**
 * What the request path needs from a cancellation signal. A real AbortSignal fits it, so the upstream pool and the
 * circuit breaker take either.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/*
 * Why not AbortController: creating one, reading its signal and adding/removing listeners goes through Node's
 * EventTarget, a few microseconds per request under load, for a signal that almost never fires.
 */
export class RequestAbort implements AbortLike {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;
  private linked: AbortController | undefined;

  /** The signal side; the same object, so code written for an AbortController reads naturally. */
  get signal(): this {
    return this;
  }

  /** Fires every listener once; later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new Error('This operation was aborted');
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) {
      try {
        listener();
      } catch (error) {
        // EventTarget reports a throwing listener without stopping the others; so does this.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  /** Like AbortSignal: a listener added after the abort never fires, and each fires at most once. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  /** A real AbortSignal that follows this one, for APIs that need one (AbortSignal.any); made on first use. */
  toAbortSignal(): AbortSignal {
    if (this.linked === undefined) {
      const controller = new AbortController();
      this.linked = controller;
      if (this.aborted) controller.abort(this.reason);
      else this.addEventListener('abort', () => controller.abort(this.reason));
    }
    return this.linked.signal;
  }
}
