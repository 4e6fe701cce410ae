// Encoded Resource messages kept per catalog entry: catalog entries are immutable and shared by every proxy's
// snapshot, so the first push of a version pays for its encoding and every other proxy reuses the bytes.
import { encodeResourceMessage } from '../../xds/delta-response-parts';
import type { CatalogEntry } from './types';

interface Encoded {
  readonly name: string;
  readonly typeUrl: string;
  readonly bytes: Uint8Array;
}

export class EncodedResources {
  /** Weak: an entry replaced in the catalog (a new version) and gone from every session lets its bytes go too. */
  private readonly byEntry = new WeakMap<CatalogEntry, Encoded>();
  hits = 0;
  misses = 0;

  bytes(typeUrl: string, name: string, entry: CatalogEntry): Uint8Array {
    const cached = this.byEntry.get(entry);
    if (cached && cached.name === name && cached.typeUrl === typeUrl) {
      this.hits += 1;
      return cached.bytes;
    }
    this.misses += 1;
    const bytes = encodeResourceMessage({ name, version: entry.version, aliases: entry.aliases ?? [], typeUrl, value: entry.resource });
    this.byEntry.set(entry, { name, typeUrl, bytes });
    return bytes;
  }
}
