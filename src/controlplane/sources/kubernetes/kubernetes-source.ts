// The Kubernetes ConfigSource: one informer per watched kind, events batched into immutable snapshots, and no snapshot at
// all until every informer has listed (a half-synced view would make the control plane push deletions).
import { resourceKey, type Resource } from '../../../api';
import type { KubeConnection } from '../../../kube/connection';
import type { Logger } from '../../../telemetry/logger';
import type { ConfigChangeListener, ConfigSnapshot, ConfigSource } from '../config-source';
import { KindInformer, type InformerBackoff, type InformerRestart, type InformerState } from './kind-informer';
import { WATCHED_KINDS, type WatchedKind } from './watched-kinds';

export interface KubernetesSourceOptions {
  readonly connection: KubeConnection;
  readonly logger: Logger;
  /** Default: WATCHED_KINDS. */
  readonly kinds?: readonly WatchedKind[];
  /** Events arriving within this window become one change (default 50 ms). */
  readonly batchMs?: number;
  /** Restart delays after errors (default 1 s doubling to 30 s, as the library's own reconnects). */
  readonly backoff?: InformerBackoff;
  /** How often to look for a CRD that was not installed (default 60 s). */
  readonly missingKindRetryMs?: number;
  /** Server-side watch timeout, randomised up to twice this (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  /** A watch without any event or bookmark for this long is reopened (default 90 s; the server bookmarks every minute). */
  readonly watchInactivityMs?: number;
  /** How long start() waits before logging which kinds have not synced yet (default 10 s). */
  readonly slowSyncLogMs?: number;
  readonly onRestart?: (restart: InformerRestart) => void;
  /**
   * Problems that make an arriving object unusable, or undefined to accept it. A refused object is logged with its
   * problems and its last accepted version stays in the snapshot (or it stays absent).
   */
  readonly admit?: (object: Resource) => string[] | undefined;
}

/** start() was cut short by stop(). */
export class SourceStopped extends Error {
  readonly code = 'SOURCE_STOPPED' as const;
  constructor() {
    super('the Kubernetes source was stopped before every informer synced');
    this.name = 'SourceStopped';
  }
}

export class KubernetesSource implements ConfigSource {
  private readonly informers: KindInformer[];
  /** The live state the informers write; snapshots are copies of it. */
  private readonly objects = new Map<string, Resource>();
  private pending = new Set<string>();
  private current: ConfigSnapshot = { objects: new Map() };
  private readonly listeners = new Set<ConfigChangeListener>();
  private flushTimer: NodeJS.Timeout | undefined;
  private serving = false;
  private stopped = false;
  private stopWaiting: (() => void) | undefined;
  private readonly batchMs: number;
  /** Objects refused, by key, with the resourceVersion last logged (each version is reported once). */
  private readonly refused = new Map<string, string>();

  constructor(private readonly options: KubernetesSourceOptions) {
    this.batchMs = options.batchMs ?? 50;
    const sink = {
      upsert: (object: Resource) => this.upsert(object),
      remove: (object: Resource) => this.write(resourceKey(object), undefined),
      clear: (kind: WatchedKind) => {
        for (const [key, object] of this.objects) if (object.kind === kind.kind && object.apiVersion === kind.apiVersion) this.write(key, undefined);
      },
    };
    const informerOptions = {
      logger: options.logger,
      backoff: options.backoff ?? { initialMs: 1000, maxMs: 30_000 },
      missingKindRetryMs: options.missingKindRetryMs ?? 60_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      watchInactivityMs: options.watchInactivityMs ?? 90_000,
      onRestart: options.onRestart,
    };
    this.informers = (options.kinds ?? WATCHED_KINDS).map((kind) => new KindInformer(options.connection, kind, sink, informerOptions));
  }

  /** Resolves when every kind has been listed (absent CRDs count as listed-empty); only then is there a snapshot. */
  async start(): Promise<void> {
    const { logger } = this.options;
    logger.info({ server: this.options.connection.server, kinds: this.informers.map((informer) => informer.kind.kind) }, 'starting Kubernetes informers');
    for (const informer of this.informers) informer.start();
    const slowLog = setTimeout(() => {
      const waiting = this.informers.filter((informer) => informer.state !== 'watching' && informer.state !== 'missing').map((informer) => informer.kind.kind);
      logger.warn({ waiting }, 'still waiting for informers to list; nothing is served from a half-synced view, so check the API server and RBAC for these kinds');
    }, this.options.slowSyncLogMs ?? 10_000);
    slowLog.unref();
    const stopped = new Promise<never>((_resolve, reject) => (this.stopWaiting = () => reject(new SourceStopped())));
    try {
      await Promise.race([Promise.all(this.informers.map((informer) => informer.synced)), stopped]);
    } finally {
      clearTimeout(slowLog);
      this.stopWaiting = undefined;
    }
    this.pending.clear();
    this.current = { objects: new Map(this.objects) };
    this.serving = true;
    logger.info({ objects: this.objects.size }, 'Kubernetes informers synced');
  }

  snapshot(): ConfigSnapshot {
    return this.current;
  }

  onChange(listener: ConfigChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const informer of this.informers) informer.stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.stopWaiting?.();
  }

  /** Each kind's informer state, for /debug and tests. */
  informerStates(): Record<string, InformerState> {
    return Object.fromEntries(this.informers.map((informer) => [informer.kind.kind, informer.state]));
  }

  /** Per-kind counts of lists, watches, bookmarks, 410s and restarts. */
  informerCounts(): Record<string, KindInformer['counts']> {
    return Object.fromEntries(this.informers.map((informer) => [informer.kind.kind, { ...informer.counts }]));
  }

  private upsert(object: Resource): void {
    const key = resourceKey(object);
    const problems = this.options.admit?.(object);
    if (problems === undefined) {
      this.refused.delete(key);
      this.write(key, object);
      return;
    }
    const version = object.metadata.resourceVersion ?? '';
    if (this.refused.get(key) === version) return;
    this.refused.set(key, version);
    const name = `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
    this.options.logger.warn(
      { object: name, resourceVersion: version, problems, kept: this.objects.has(key) ? 'its last valid version' : 'nothing (it stays absent)' },
      `ignoring invalid ${name}: ${problems.join('; ')}`,
    );
  }

  /** Keys of objects whose latest version was refused (for /debug and tests). */
  refusedKeys(): string[] {
    return [...this.refused.keys()].sort();
  }

  private write(key: string, object: Resource | undefined): void {
    if (object === undefined) this.refused.delete(key);
    if (this.stopped) return;
    if (object === undefined) this.objects.delete(key);
    else this.objects.set(key, object);
    this.pending.add(key);
    if (this.serving && !this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.batchMs);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const before = this.current.objects;
    const candidates = this.pending;
    this.pending = new Set();
    // A relist re-delivers objects it already had; only keys whose object really changed go out.
    const changed = new Set<string>();
    for (const key of candidates) {
      const previous = before.get(key);
      const next = this.objects.get(key);
      if (previous === next) continue;
      if (previous && next && previous.metadata.resourceVersion !== undefined && previous.metadata.resourceVersion === next.metadata.resourceVersion) continue;
      changed.add(key);
    }
    if (changed.size === 0) return;
    this.current = { objects: new Map(this.objects) };
    for (const listener of this.listeners) listener(this.current, changed);
  }
}
