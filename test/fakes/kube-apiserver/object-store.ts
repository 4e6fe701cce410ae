// The fake API server's storage: objects per resource type, one global resourceVersion counter, and the event history watches resume from.
import { typeKey, type ApiResourceType } from './resource-types';

export interface OwnerReferenceShape {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReferenceShape[];
  managedFields?: unknown[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  [field: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: EventType;
  /** The resourceVersion this change got. */
  readonly revision: number;
  readonly resourceType: ApiResourceType;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  readonly object: KubeObject;
  /** The object before the change, for MODIFIED and DELETED. */
  readonly previous?: KubeObject;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class ObjectStore {
  /** The last resourceVersion handed out; starts above zero so versions look like a real server's. */
  private revision = 1000;
  /** Watches and exact lists from a revision below this answer 410 Gone. */
  private compactedBelow = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly types = new Map<string, ApiResourceType>();
  private history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  get currentRevision(): number {
    return this.revision;
  }

  /** The oldest revision a watch may resume from. */
  get oldestResumableRevision(): number {
    return this.compactedBelow;
  }

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(type: ApiResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.objects.get(typeKey(type))?.get(objectKey(namespace, name));
    return object === undefined ? undefined : structuredClone(object);
  }

  list(type: ApiResourceType, namespace?: string): KubeObject[] {
    const objects = [...(this.objects.get(typeKey(type))?.values() ?? [])];
    return objects
      .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
      .sort((a, b) => objectKey(a.metadata.namespace, a.metadata.name ?? '').localeCompare(objectKey(b.metadata.namespace, b.metadata.name ?? '')))
      .map((object) => structuredClone(object));
  }

  /** Every object of every type (for garbage collection and namespace deletion). */
  all(): { type: ApiResourceType; object: KubeObject }[] {
    const found: { type: ApiResourceType; object: KubeObject }[] = [];
    for (const [key, objects] of this.objects) {
      const type = this.types.get(key);
      if (type) for (const object of objects.values()) found.push({ type, object: structuredClone(object) });
    }
    return found;
  }

  /**
   * The objects of a type as they were at `revision`, rebuilt by undoing later events; undefined when the history
   * needed was compacted away.
   */
  listAt(type: ApiResourceType, namespace: string | undefined, revision: number): KubeObject[] | undefined {
    if (revision < this.compactedBelow) return undefined;
    const state = new Map<string, KubeObject>();
    for (const object of this.list(type)) state.set(objectKey(object.metadata.namespace, object.metadata.name ?? ''), object);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const event = this.history[i];
      if (event.revision <= revision) break;
      if (typeKey(event.resourceType) !== typeKey(type)) continue;
      const key = objectKey(event.object.metadata.namespace, event.object.metadata.name ?? '');
      if (event.type === 'ADDED') state.delete(key);
      else if (event.previous) state.set(key, structuredClone(event.previous));
    }
    return [...state.values()].filter((object) => namespace === undefined || object.metadata.namespace === namespace);
  }

  /** Stores `object` (already shaped by the caller's API rules), giving it the next resourceVersion. */
  put(type: ApiResourceType, object: KubeObject): StoreEvent {
    const key = typeKey(type);
    this.types.set(key, type);
    const objects = this.objects.get(key) ?? new Map<string, KubeObject>();
    this.objects.set(key, objects);
    const name = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    const previous = objects.get(name);
    this.revision += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.revision);
    objects.set(name, stored);
    return this.record({ type: previous ? 'MODIFIED' : 'ADDED', revision: this.revision, resourceType: type, object: stored, previous });
  }

  remove(type: ApiResourceType, namespace: string | undefined, name: string): StoreEvent | undefined {
    const objects = this.objects.get(typeKey(type));
    const key = objectKey(namespace, name);
    const previous = objects?.get(key);
    if (!objects || !previous) return undefined;
    objects.delete(key);
    this.revision += 1;
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(this.revision);
    return this.record({ type: 'DELETED', revision: this.revision, resourceType: type, object, previous });
  }

  /** Events of one type after `revision`, oldest first; undefined when `revision` was compacted away. */
  eventsAfter(type: ApiResourceType, revision: number): StoreEvent[] | undefined {
    if (revision < this.compactedBelow) return undefined;
    return this.history.filter((event) => event.revision > revision && typeKey(event.resourceType) === typeKey(type));
  }

  /** Forgets the history, as etcd compaction does: resuming from any revision seen so far now answers 410 Gone. */
  compact(): void {
    this.compactedBelow = this.revision;
    this.history = [];
  }

  private record(event: StoreEvent): StoreEvent {
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
    return event;
  }
}
