// Coalesces bursts of catalog change signals into one push: fires after `quietMs` without a new change, or at
// the latest `maxDelayMs` after the first change of the burst, with the union of the changed type URLs and names.
import type { ChangedNames } from './types';

export interface ChangeDebouncerOptions {
  /** Quiet period that ends a burst (default 100 ms). */
  readonly quietMs?: number;
  /** Longest a change may wait while changes keep coming (default 1000 ms). */
  readonly maxDelayMs?: number;
}

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 1000;

export class ChangeDebouncer {
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly pending = new Set<string>();
  /** Per pending type, the changed names; a type with 'all' had a change reported without names. */
  private readonly pendingNames = new Map<string, Set<string> | 'all'>();
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly fire: (typeUrls: readonly string[], names: ChangedNames) => void,
    options: ChangeDebouncerOptions = {},
  ) {
    this.quietMs = options.quietMs ?? DEFAULT_DEBOUNCE_MS;
    this.maxDelayMs = Math.max(options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, this.quietMs);
  }

  add(typeUrls: readonly string[], names?: ChangedNames): void {
    if (this.closed || typeUrls.length === 0) return;
    for (const typeUrl of typeUrls) {
      this.pending.add(typeUrl);
      const known = this.pendingNames.get(typeUrl);
      const changed = names?.get(typeUrl);
      if (changed === undefined) this.pendingNames.set(typeUrl, 'all');
      else if (known === undefined) this.pendingNames.set(typeUrl, new Set(changed));
      else if (known !== 'all') for (const name of changed) known.add(name);
    }
    if (this.quietMs <= 0) {
      this.flush();
      return;
    }
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.quietMs);
    if (!this.maxTimer) {
      this.maxTimer = setTimeout(() => this.flush(), this.maxDelayMs);
    }
  }

  /** Fires now with whatever is pending (no-op when nothing is). */
  flush(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
    if (this.pending.size === 0) return;
    const typeUrls = [...this.pending];
    const names = new Map<string, ReadonlySet<string>>();
    for (const [typeUrl, changed] of this.pendingNames) if (changed !== 'all') names.set(typeUrl, changed);
    this.pending.clear();
    this.pendingNames.clear();
    this.fire(typeUrls, names);
  }

  close(): void {
    this.closed = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
    this.pending.clear();
    this.pendingNames.clear();
  }
}
