// Per-type counters of what the xDS server pushed and how clients answered; kept by the server itself so the
// debug endpoint has numbers without a global metrics registry.
import type { XdsNackEvent, XdsPushEvent, XdsTypeStats } from './types';

interface MutableTypeStats {
  pushes: number;
  bytes: number;
  resources: number;
  removals: number;
  nacks: number;
}

export class PushStats {
  private readonly byType = new Map<string, MutableTypeStats>();

  private entry(typeUrl: string): MutableTypeStats {
    let stats = this.byType.get(typeUrl);
    if (!stats) {
      stats = { pushes: 0, bytes: 0, resources: 0, removals: 0, nacks: 0 };
      this.byType.set(typeUrl, stats);
    }
    return stats;
  }

  recordPush(event: XdsPushEvent): void {
    const stats = this.entry(event.typeUrl);
    stats.pushes += 1;
    stats.bytes += event.bytes;
    stats.resources += event.resources;
    stats.removals += event.removals;
  }

  recordNack(event: XdsNackEvent): void {
    this.entry(event.typeUrl).nacks += 1;
  }

  /** A copy of the counters, by type URL. */
  snapshot(): { readonly [typeUrl: string]: XdsTypeStats } {
    const out: { [typeUrl: string]: XdsTypeStats } = {};
    for (const [typeUrl, stats] of this.byType) out[typeUrl] = { ...stats };
    return out;
  }
}
