// Open watch connections: JSON-lines streams of ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events, filtered as the API server's cacher does.
import type http from 'node:http';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store';
import { apiVersionOf, type ApiResourceType } from './resource-types';
import { fieldsMatch, labelsMatch, type FieldRequirement, type LabelRequirement } from './selectors';

export interface WatchSpec {
  readonly type: ApiResourceType;
  /** Only objects in this namespace (a namespaced watch URL). */
  readonly namespace?: string;
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds?: number;
}

interface OpenWatch {
  readonly response: http.ServerResponse;
  readonly spec: WatchSpec;
  timer?: NodeJS.Timeout;
}

type WireEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

function withTypeMeta(type: ApiResourceType, object: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
}

/** The Status object an expired watch ends with (`410 Gone`, reason Expired), as the real server sends it. */
export function expiredStatus(requested: number | string, oldest: number): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${requested} (${oldest})`, reason: 'Expired', code: 410 };
}

export class WatchStreams {
  private readonly open = new Set<OpenWatch>();
  private paused = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ObjectStore,
    bookmarkIntervalMs: number,
  ) {
    store.onEvent((event) => this.deliver(event));
    if (bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => this.sendBookmarks(), bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
  }

  get count(): number {
    return this.open.size;
  }

  /**
   * Starts a watch. `resumeFrom` undefined means "current state first" (synthetic ADDED events, as for an unset or
   * "0" resourceVersion); a number replays every later event, or ends with 410 Expired when that history is gone.
   */
  start(response: http.ServerResponse, spec: WatchSpec, resumeFrom: number | undefined): void {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    // Headers go out at once, as the real server's do, so the client sees the watch established.
    response.flushHeaders();
    const watch: OpenWatch = { response, spec };
    if (resumeFrom === undefined) {
      for (const object of this.store.list(spec.type, spec.namespace)) {
        if (this.matches(spec, object)) this.write(watch, 'ADDED', withTypeMeta(spec.type, object));
      }
    } else {
      const events = this.store.eventsAfter(spec.type, resumeFrom);
      if (events === undefined) {
        this.write(watch, 'ERROR', expiredStatus(resumeFrom, this.store.oldestResumableRevision));
        response.end();
        return;
      }
      for (const event of events) this.send(watch, event);
    }
    if (spec.timeoutSeconds !== undefined && spec.timeoutSeconds > 0) {
      watch.timer = setTimeout(() => response.end(), spec.timeoutSeconds * 1000);
      watch.timer.unref();
    }
    this.open.add(watch);
    response.on('close', () => {
      if (watch.timer) clearTimeout(watch.timer);
      this.open.delete(watch);
    });
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to every watch that asked for bookmarks. */
  sendBookmarks(): number {
    let sent = 0;
    for (const watch of this.open) {
      if (!watch.spec.allowBookmarks) continue;
      this.write(watch, 'BOOKMARK', { apiVersion: apiVersionOf(watch.spec.type), kind: watch.spec.type.kind, metadata: { resourceVersion: String(this.store.currentRevision) } });
      sent += 1;
    }
    return sent;
  }

  /** Stops delivering events to open watches (they fall behind, as a slow watcher does); new watches still work. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Ends every open watch: gracefully (the stream ends) or abruptly (the socket is destroyed). */
  drop(options: { abrupt?: boolean } = {}): number {
    const count = this.open.size;
    for (const watch of [...this.open]) {
      if (options.abrupt) watch.response.socket?.destroy();
      else watch.response.end();
    }
    return count;
  }

  /** Ends every open watch with an ERROR event carrying 410 Expired, as the server does to a watcher that fell too far behind. */
  expire(): number {
    const count = this.open.size;
    for (const watch of [...this.open]) {
      this.write(watch, 'ERROR', expiredStatus(this.store.oldestResumableRevision - 1, this.store.oldestResumableRevision));
      watch.response.end();
    }
    return count;
  }

  close(): void {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.drop({ abrupt: true });
  }

  private deliver(event: StoreEvent): void {
    if (this.paused) return;
    for (const watch of this.open) {
      if (watch.spec.type.group === event.resourceType.group && watch.spec.type.resource === event.resourceType.resource) this.send(watch, event);
    }
  }

  private matches(spec: WatchSpec, object: KubeObject): boolean {
    if (spec.namespace !== undefined && object.metadata.namespace !== spec.namespace) return false;
    return labelsMatch(spec.labels, object.metadata.labels) && fieldsMatch(spec.fields, object);
  }

  /** Selector transitions turn into ADDED/DELETED, as the API server's cacher reports them. */
  private send(watch: OpenWatch, event: StoreEvent): void {
    const { spec } = watch;
    const now = event.type !== 'DELETED' && this.matches(spec, event.object);
    const before = event.previous !== undefined && this.matches(spec, event.previous);
    if (event.type === 'ADDED' && now) this.write(watch, 'ADDED', withTypeMeta(spec.type, event.object));
    else if (event.type === 'MODIFIED' && now) this.write(watch, before ? 'MODIFIED' : 'ADDED', withTypeMeta(spec.type, event.object));
    else if (event.type === 'MODIFIED' && before) {
      const gone = structuredClone(event.previous as KubeObject);
      gone.metadata.resourceVersion = String(event.revision);
      this.write(watch, 'DELETED', withTypeMeta(spec.type, gone));
    } else if (event.type === 'DELETED' && before) this.write(watch, 'DELETED', withTypeMeta(spec.type, event.object));
  }

  private write(watch: OpenWatch, type: WireEventType, object: unknown): void {
    if (!watch.response.writableEnded) watch.response.write(`${JSON.stringify({ type, object })}\n`);
  }
}
