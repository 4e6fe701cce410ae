// Bounds how many large responses are on their way at once. A control plane restart makes every proxy reconnect and
// ask for everything: written all at once, each full snapshot (megabytes at a few thousand pods) sits in memory until
// its proxy has read it. As istiod's push throttle, large responses take a slot and give it back when answered.

/** A response carrying at least this many resources is large (a first sync or a resync), not an incremental edit. */
export const LARGE_RESPONSE_RESOURCES = 500;
export const DEFAULT_LARGE_RESPONSES_IN_FLIGHT = 16;
/** A proxy that has not answered a large response by then gives its slot back anyway: a stuck client must not starve others. */
export const DEFAULT_SLOT_TIMEOUT_MS = 30_000;

export interface PushSlot {
  /** Idempotent; also happens by itself after the slot timeout. */
  release(): void;
}

export class PushThrottle {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most large responses ever in flight together, for tests and debug. */
  peak = 0;

  constructor(
    readonly capacity = DEFAULT_LARGE_RESPONSES_IN_FLIGHT,
    private readonly slotTimeoutMs = DEFAULT_SLOT_TIMEOUT_MS,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`the push throttle needs a capacity of at least 1, not ${capacity}`);
  }

  /** A slot now, or undefined with `retry` queued to run once one may be free. */
  tryAcquire(retry: () => void): PushSlot | undefined {
    if (this.inFlight >= this.capacity) {
      this.waiting.push(retry);
      return undefined;
    }
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.inFlight -= 1;
      // A waiter whose stream ended, or that has nothing large to send any more, takes no slot; the next one tries.
      while (this.inFlight < this.capacity && this.waiting.length > 0) this.waiting.shift()?.();
    };
    const timer = setTimeout(release, this.slotTimeoutMs);
    timer.unref();
    return { release };
  }

  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.inFlight;
  }
}
