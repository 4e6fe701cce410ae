// The local-mode ConfigSource: the directory store that `ambit apply` and the local runtime write.
import { DirectoryStore } from '../../local/store/directory-store';
import { changedKeys, type ConfigChangeListener, type ConfigSnapshot, type ConfigSource } from './config-source';

export class LocalStoreSource implements ConfigSource {
  private readonly store: DirectoryStore;
  private current: ConfigSnapshot = { objects: new Map() };
  private readonly listeners = new Set<ConfigChangeListener>();
  private unwatch: (() => void) | undefined;

  constructor(storeDir: string, private readonly pollMs = 500) {
    this.store = DirectoryStore.open(storeDir);
  }

  async start(): Promise<void> {
    this.current = { objects: this.store.read().objects };
    this.unwatch = this.store.watch((snapshot) => {
      const changed = changedKeys(this.current.objects, snapshot.objects);
      this.current = { objects: snapshot.objects };
      if (changed.size === 0) return;
      for (const listener of this.listeners) listener(this.current, changed);
    }, this.pollMs);
  }

  snapshot(): ConfigSnapshot {
    return this.current;
  }

  onChange(listener: ConfigChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.unwatch?.();
  }
}
