// The encoded resources the control plane serves, per xDS type: versioned by content, changed through drafts that are
// published together at the end of a change, with the names each change touched (what proxies may need pushed).
import { createHash } from 'node:crypto';
import type { CatalogEntry } from '../push';

function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export class VersionedCatalog {
  private readonly published = new Map<string, Map<string, CatalogEntry>>();
  private readonly drafts = new Map<string, Map<string, CatalogEntry>>();
  private changed = new Map<string, Set<string>>();

  constructor(typeUrls: readonly string[]) {
    for (const typeUrl of typeUrls) this.published.set(typeUrl, new Map());
  }

  /** Starts a change: forgets the previous change's names, and anything a change that threw left unpublished. */
  begin(): void {
    this.drafts.clear();
    this.changed = new Map();
  }

  /** Publishes every draft at once. Maps handed out by resources() are replaced, never mutated. */
  commit(): void {
    for (const [typeUrl, draft] of this.drafts) this.published.set(typeUrl, draft);
    this.drafts.clear();
  }

  resources(typeUrl: string): ReadonlyMap<string, CatalogEntry> {
    return this.published.get(typeUrl) ?? new Map();
  }

  /** The current change's view (drafts included). */
  current(typeUrl: string): ReadonlyMap<string, CatalogEntry> {
    return this.drafts.get(typeUrl) ?? this.resources(typeUrl);
  }

  /** Names the current (or last) change added, changed or removed, by type URL. */
  changedNames(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.changed;
  }

  /** Sets (bytes) or removes (undefined) one resource; true when that changed what is served. */
  put(typeUrl: string, name: string, bytes: Uint8Array | undefined): boolean {
    const previous = this.current(typeUrl).get(name);
    if (!bytes) {
      if (!previous) return false;
      this.writable(typeUrl).delete(name);
      this.note(typeUrl, name);
      return true;
    }
    const version = versionOf(bytes);
    if (previous?.version === version) return false;
    this.writable(typeUrl).set(name, { version, resource: bytes });
    this.note(typeUrl, name);
    return true;
  }

  /** The first write of a change copies the published map; later writes reuse the copy. */
  private writable(typeUrl: string): Map<string, CatalogEntry> {
    let draft = this.drafts.get(typeUrl);
    if (!draft) {
      draft = new Map(this.published.get(typeUrl));
      this.drafts.set(typeUrl, draft);
    }
    return draft;
  }

  private note(typeUrl: string, name: string): void {
    let names = this.changed.get(typeUrl);
    if (!names) {
      names = new Set();
      this.changed.set(typeUrl, names);
    }
    names.add(name);
  }
}
