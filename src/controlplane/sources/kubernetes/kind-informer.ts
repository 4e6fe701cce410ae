// One kind's list-then-watch through the client library's ListWatch, wrapped so it always comes back: bookmarks on, restart
// with capped backoff after any error (the library gives up after most), and an absent CRD treated as "none yet".
import type { KubernetesListObject, KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { Resource } from '../../../api';
import { reasonOf, statusOf } from '../../../kube/api-errors';
import type { KubeConnection } from '../../../kube/connection';
import type { Logger } from '../../../telemetry/logger';
import { toResource } from './convert';
import { collectionPath, listFunction, type ListFunction, type WatchedKind } from './watched-kinds';

export interface InformerBackoff {
  /** First delay after a failure; also scales the library's own reconnect delays (its base is 1 s). */
  readonly initialMs: number;
  readonly maxMs: number;
}

/** One restart after a failure, for logs, metrics and tests. */
export interface InformerRestart {
  readonly kind: string;
  /** Consecutive failures so far (1 after the first); reset by a successful list or any watch event. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly status?: number;
  readonly reason: string;
}

export interface KindInformerSink {
  upsert(object: Resource): void;
  remove(object: Resource): void;
  /** Forget every object of the kind (its CRD is not served). */
  clear(kind: WatchedKind): void;
}

export interface KindInformerOptions {
  readonly logger: Logger;
  readonly backoff: InformerBackoff;
  /** How often to look again for a kind whose CRD is not installed. */
  readonly missingKindRetryMs: number;
  /** Watches ask the server to end them after this many seconds (randomised up to twice that), as client-go does. */
  readonly watchTimeoutSeconds: number;
  /** A watch silent this long (no event, no bookmark) is presumed dead and reopened. */
  readonly watchInactivityMs: number;
  readonly onRestart?: (restart: InformerRestart) => void;
}

export type InformerState = 'starting' | 'watching' | 'missing' | 'backing-off' | 'stopped';

type WatchCallback = (phase: string, object: unknown, raw?: unknown) => void;

export class KindInformer {
  /** Resolves once the kind has been listed (or found not served); never rejects. */
  readonly synced: Promise<void>;
  state: InformerState = 'stopped';
  readonly counts = { lists: 0, watches: 0, bookmarks: 0, expired: 0, restarts: 0 };
  private resolveSynced: () => void = () => undefined;
  private isSynced = false;
  private informer: ListWatch<KubernetesObject> | undefined;
  private stopped = true;
  private failures = 0;
  private failedWhileListing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly connection: KubeConnection,
    readonly kind: WatchedKind,
    private readonly sink: KindInformerSink,
    private readonly options: KindInformerOptions,
  ) {
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.state = 'starting';
    this.launch(this.create());
  }

  stop(): void {
    this.stopped = true;
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const wake of this.wakers) wake();
    void this.informer?.stop();
    this.informer = undefined;
  }

  private create(): ListWatch<KubernetesObject> {
    const { lib, config } = this.connection;
    const watch = new lib.Watch(config);
    // The library keeps this private; its 30 s default would reopen quiet watches twice a minute.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.options.watchInactivityMs;
    const list = listFunction(this.connection, this.kind);
    const wrapped = {
      watch: (path: string, query: Record<string, string | number | boolean | undefined>, callback: WatchCallback, done: (error: unknown) => void) =>
        this.openWatch(informer, watch, path, query, callback, done),
    } as unknown as Watch;
    const informer: ListWatch<KubernetesObject> = new lib.ListWatch(collectionPath(this.kind), wrapped, () => this.list(informer, list), false, this.kind.labelSelector, this.kind.fieldSelector, {
      delayFn: (ms) => this.sleep(Math.min(ms * (this.options.backoff.initialMs / 1000), this.options.backoff.maxMs)),
    });
    const current = (handler: (object: KubernetesObject) => void) => (object: KubernetesObject) => {
      if (informer === this.informer && !this.stopped) handler(object);
    };
    informer.on('add', current((object) => this.sink.upsert(toResource(object, this.kind))));
    informer.on('update', current((object) => this.sink.upsert(toResource(object, this.kind))));
    informer.on('delete', current((object) => this.sink.remove(toResource(object, this.kind))));
    informer.on('error', (error: unknown) => this.failed(informer, error));
    return informer;
  }

  private launch(informer: ListWatch<KubernetesObject>): void {
    this.informer = informer;
    this.failedWhileListing = false;
    informer.start().catch((error: unknown) => this.failed(informer, error));
  }

  private async list(informer: ListWatch<KubernetesObject>, list: ListFunction): Promise<KubernetesListObject<KubernetesObject>> {
    this.counts.lists += 1;
    try {
      const result = await list();
      if (informer === this.informer) {
        this.failures = 0;
        this.failedWhileListing = false;
      }
      return result;
    } catch (error) {
      if (informer === this.informer) this.failedWhileListing = true;
      throw error;
    }
  }

  /** Called by ListWatch only after a list has been fully applied, so the first call marks the kind synced. */
  private async openWatch(
    informer: ListWatch<KubernetesObject>,
    watch: Watch,
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    // The library may call this after stop() (its reconnect delay does not look at the flag); do nothing then.
    if (this.stopped || informer !== this.informer) return new AbortController();
    this.state = 'watching';
    this.markSynced();
    this.counts.watches += 1;
    const timeoutSeconds = this.options.watchTimeoutSeconds + Math.floor(Math.random() * this.options.watchTimeoutSeconds);
    const controller = await watch.watch(path, { ...query, allowWatchBookmarks: true, timeoutSeconds }, (phase, object, raw) => {
      this.failures = 0;
      if (phase === 'BOOKMARK') this.counts.bookmarks += 1;
      if (phase === 'ERROR') this.watchError(object);
      callback(phase, object, raw);
    }, done);
    // stop() while the request was being made could not abort it (the library had no handle yet): do it now.
    if (this.stopped || informer !== this.informer) controller.abort();
    return controller;
  }

  private watchError(status: unknown): void {
    const code = statusOf(status);
    if (code === 410) {
      this.counts.expired += 1;
      this.options.logger.info({ kind: this.kind.kind }, 'watch resourceVersion expired (410 Gone); relisting');
    } else {
      this.options.logger.warn({ kind: this.kind.kind, status: code, reason: reasonOf({ body: status }) }, 'watch reported an error');
    }
  }

  private failed(informer: ListWatch<KubernetesObject>, error: unknown): void {
    if (this.stopped || informer !== this.informer) return;
    const status = statusOf(error);
    const reason = reasonOf(error);
    // 404 on a list, or on a watch after the CRD was deleted: the kind is not served right now.
    if (status === 404 && this.kind.optional) {
      if (this.state !== 'missing') {
        this.options.logger.warn(
          { kind: this.kind.kind, apiVersion: this.kind.apiVersion, retryMs: this.options.missingKindRetryMs },
          `${this.kind.kind} (${this.kind.apiVersion}) is not served by the API server: is its CRD installed? Treating it as empty and looking again periodically`,
        );
      }
      this.state = 'missing';
      this.sink.clear(this.kind);
      this.markSynced();
      void informer.stop();
      // A fresh ListWatch: the old one's cache would hide objects it still remembers from the next list.
      this.schedule(this.options.missingKindRetryMs, () => this.launch(this.create()));
      return;
    }
    this.failures += 1;
    this.counts.restarts += 1;
    const delayMs = Math.min(this.options.backoff.initialMs * 2 ** (this.failures - 1), this.options.backoff.maxMs);
    const restart: InformerRestart = { kind: this.kind.kind, attempt: this.failures, delayMs, reason, ...(status === undefined ? {} : { status }) };
    this.options.logger.warn({ ...restart }, `${this.failedWhileListing ? 'list' : 'watch'} of ${this.kind.kind} failed; restarting after backoff`);
    this.options.onRestart?.(restart);
    this.state = 'backing-off';
    // Restarting the same ListWatch resumes from its last resourceVersion; it relists only if it never had one.
    this.schedule(delayMs, () => this.launch(informer));
  }

  private schedule(delayMs: number, action: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) action();
    }, delayMs);
    this.timer.unref();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.wakers.add(wake);
    });
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.resolveSynced();
  }
}
