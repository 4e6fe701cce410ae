// Where the control plane's view of the cluster comes from: the local store today, the Kubernetes API later; the model sees only this.
import type { Resource } from '../../api';

/** Every object the control plane may read, by resourceKey ("Kind/namespace/name"), as of one moment. */
export interface ConfigSnapshot {
  readonly objects: ReadonlyMap<string, Resource>;
}

export type ConfigChangeListener = (snapshot: ConfigSnapshot, changedKeys: ReadonlySet<string>) => void;

export interface ConfigSource {
  /** Resolves once the source holds a complete view (never a half-synced one). */
  start(): Promise<void>;
  snapshot(): ConfigSnapshot;
  onChange(listener: ConfigChangeListener): () => void;
  stop(): void;
}

/** Keys whose object was added, removed or changed (by resourceVersion, or by content when versions are absent). */
export function changedKeys(before: ReadonlyMap<string, Resource>, after: ReadonlyMap<string, Resource>): Set<string> {
  const changed = new Set<string>();
  for (const [key, object] of after) {
    const previous = before.get(key);
    if (!previous) changed.add(key);
    else if (previous !== object && (previous.metadata.resourceVersion !== object.metadata.resourceVersion || object.metadata.resourceVersion === undefined)) changed.add(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.add(key);
  return changed;
}
