// The control plane's delta-xDS (ADS) server: serves DeltaAggregatedResources on a caller-owned grpc.Server,
// generic over the resource catalog, with per-client debug state and push counters.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../telemetry/logger';
import { deltaAdsServerDefinition } from '../../xds/ads-service';
import { ChangeDebouncer, DEFAULT_DEBOUNCE_MS, DEFAULT_MAX_DELAY_MS } from './change-debouncer';
import { EncodedResources } from './encoded-resources';
import { PushThrottle } from './push-throttle';
import { PushStats } from './push-stats';
import { XdsStreamSession, type DeltaAdsServerStream } from './stream-session';
import type {
  ChangedNames,
  ResourceCatalog,
  XdsAuthenticator,
  XdsClientDebug,
  XdsPushMetrics,
  XdsTypeStats,
} from './types';

export interface DeltaXdsServerOptions<TCaller> {
  readonly catalog: ResourceCatalog<TCaller>;
  /** Rejecting refuses the stream with UNAUTHENTICATED. */
  readonly authenticate: XdsAuthenticator<TCaller>;
  readonly logger: Logger;
  /** Quiet period that ends a burst of catalog changes (default 100 ms). */
  readonly debounceMs?: number;
  /** Longest a change waits while changes keep coming (default 1 s). */
  readonly maxDelayMs?: number;
  readonly metrics?: XdsPushMetrics;
  /** How many large responses (first syncs) may be unanswered at once (default 16), bounding memory on reconnect storms. */
  readonly largeResponsesInFlight?: number;
}

export class DeltaXdsServer<TCaller = unknown> {
  private readonly sessions = new Set<XdsStreamSession<TCaller>>();
  private readonly stats_ = new PushStats();
  private readonly encoded = new EncodedResources();
  private readonly throttle: PushThrottle;
  private readonly debouncer: ChangeDebouncer;
  private unsubscribeCatalog: (() => void) | undefined;
  private listening = false;
  private closed = false;
  private nextStreamId = 1;
  /** Counts change batches delivered; stamped as system_version_info for debugging. */
  private generation = 0;

  constructor(private readonly options: DeltaXdsServerOptions<TCaller>) {
    this.throttle = new PushThrottle(options.largeResponsesInFlight);
    this.debouncer = new ChangeDebouncer((typeUrls, names) => this.deliver(typeUrls, names), {
      quietMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    });
  }

  /** Registers the ADS service on `server` (which the caller binds and starts) and starts watching the catalog. */
  addTo(server: grpc.Server): void {
    if (this.closed) throw new Error('DeltaXdsServer.addTo called after close()');
    server.addService(deltaAdsServerDefinition(), {
      DeltaAggregatedResources: (call: DeltaAdsServerStream) => this.accept(call),
    });
    if (!this.listening) {
      this.listening = true;
      const unsubscribe = this.options.catalog.onChange((typeUrls, names) => this.debouncer.add(typeUrls, names));
      this.unsubscribeCatalog = typeof unsubscribe === 'function' ? unsubscribe : undefined;
    }
  }

  /** Per connected client: node id, subscribed types, ACKed versions per resource, last NACK. */
  clients(): XdsClientDebug[] {
    const out: XdsClientDebug[] = [];
    for (const session of this.sessions) {
      const debug = session.debug();
      if (debug) out.push(debug);
    }
    return out.sort((a, b) => (a.nodeId === b.nodeId ? a.streamId - b.streamId : a.nodeId < b.nodeId ? -1 : 1));
  }

  /** Push/NACK counters by type URL since the server was created. */
  stats(): { readonly [typeUrl: string]: XdsTypeStats } {
    return this.stats_.snapshot();
  }

  /** Pushes pending debounced changes now instead of waiting for the quiet period. */
  flush(): void {
    this.debouncer.flush();
  }

  /** Stops watching the catalog and ends every stream with UNAVAILABLE. The grpc.Server stays the caller's. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.debouncer.close();
    this.unsubscribeCatalog?.();
    for (const session of [...this.sessions]) session.close('control plane xDS server shutting down');
    this.sessions.clear();
  }

  private accept(call: DeltaAdsServerStream): void {
    if (this.closed) {
      const details = 'control plane xDS server is shut down';
      call.emit('error', Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details }));
      return;
    }
    const session = new XdsStreamSession<TCaller>(call, {
      streamId: this.nextStreamId++,
      catalog: this.options.catalog,
      authenticate: this.options.authenticate,
      logger: this.options.logger,
      stats: this.stats_,
      encoded: this.encoded,
      throttle: this.throttle,
      metrics: this.options.metrics,
      systemVersion: () => String(this.generation),
      onFinished: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
    session.start();
  }

  private deliver(typeUrls: readonly string[], names: ChangedNames): void {
    this.generation += 1;
    for (const session of [...this.sessions]) session.notifyChanged(typeUrls, names);
  }
}
