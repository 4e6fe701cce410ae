// The mutable copy a store write edits: objects are cloned when first read, so a write that touches three objects of
// ten thousand copies and compares three, not ten thousand.
import type { Resource } from '../../api';

export class StoreDraft extends Map<string, Resource> {
  /** Keys whose value is this draft's own (cloned on read, or set): only these can differ from the snapshot. */
  private readonly owned = new Set<string>();
  /** Keys set by the caller: the caller may still hold (and later change) those objects. */
  private readonly assigned = new Set<string>();

  constructor(private readonly base: ReadonlyMap<string, Resource>) {
    super();
    // Map.prototype.set directly: the constructor must not mark the snapshot's objects as owned.
    for (const [key, object] of base) Map.prototype.set.call(this, key, object);
  }

  override get(key: string): Resource | undefined {
    const object = super.get(key);
    if (object === undefined || this.owned.has(key)) return object;
    const copy = structuredClone(object) as Resource;
    super.set(key, copy);
    this.owned.add(key);
    return copy;
  }

  override set(key: string, value: Resource): this {
    this.owned.add(key);
    this.assigned.add(key);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.owned.delete(key);
    this.assigned.delete(key);
    return super.delete(key);
  }

  override *entries(): MapIterator<[string, Resource]> {
    for (const key of [...super.keys()]) {
      const object = this.get(key);
      if (object !== undefined) yield [key, object];
    }
  }

  override *values(): MapIterator<Resource> {
    for (const [, object] of this.entries()) yield object;
  }

  override [Symbol.iterator](): MapIterator<[string, Resource]> {
    return this.entries();
  }

  override forEach(callback: (value: Resource, key: string, map: Map<string, Resource>) => void, thisArg?: unknown): void {
    for (const [key, object] of this.entries()) callback.call(thisArg, object, key, this);
  }

  /**
   * The draft as it stands, for reading only, without cloning: objects not yet written are the snapshot's (frozen)
   * originals. Iterating the draft itself clones everything, since a caller may change what it iterates.
   */
  peek(): ReadonlyMap<string, Resource> {
    return new Map(super.entries());
  }

  /** Keys whose objects may differ from the snapshot's. */
  ownedKeys(): ReadonlySet<string> {
    return this.owned;
  }

  /** Keys whose object came from the caller rather than from a clone this draft made. */
  assignedKeys(): ReadonlySet<string> {
    return this.assigned;
  }

  /** Keys of the snapshot no longer in the draft. */
  deletedKeys(): string[] {
    return [...this.base.keys()].filter((key) => !super.has(key));
  }
}

/** A read-only view of the objects a store write sees, cloning nothing when it is a StoreDraft. */
export function readOnly(objects: ReadonlyMap<string, Resource>): ReadonlyMap<string, Resource> {
  return objects instanceof StoreDraft ? objects.peek() : objects;
}
