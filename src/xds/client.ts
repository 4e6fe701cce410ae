// The proxies' delta-xDS (ADS) client: keeps one DeltaAggregatedResources stream to the control plane open,
// subscribes wildcard to each registered type, hands every response to that type's `apply` and ACKs it, or
// NACKs it when decoding or applying throws. State belongs to the caller; the client only remembers the
// versions it ACKed, which it offers as initial_resource_versions when it reconnects.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../telemetry/logger';
import { DELTA_ADS_METHOD_PATH, decodeDeltaResponse, encodeDeltaRequest } from './ads-service';
import { backoffDelay, DEFAULT_XDS_BACKOFF, type BackoffPolicy } from './backoff';
import { XdsClientClosedError, XdsDecodeError, XdsUnknownTypeError } from './errors';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, JsonValue, ProtoInput } from './types';

/** google.rpc.Code INVALID_ARGUMENT, sent in error_detail of a NACK. */
const INVALID_ARGUMENT = 3;

/** One response's worth of changes for one type. */
export interface XdsUpdate<T> {
  readonly upserts: ReadonlyMap<string, T>;
  readonly removals: readonly string[];
}

export interface XdsTypeHandler<T> {
  readonly typeUrl: string;
  /** Decodes one resource's bytes; throwing NACKs the whole response. */
  decode(bytes: Uint8Array): T;
  /** Applies one response atomically; throwing NACKs it (error message sent as the reason). */
  apply(update: XdsUpdate<T>): void;
}

/** Erases T so handlers of different types can share one `types` array while keeping inference at the call. */
export function xdsType<T>(handler: XdsTypeHandler<T>): XdsTypeHandler<unknown> {
  return handler as XdsTypeHandler<unknown>;
}

export interface DeltaXdsClientOptions {
  /** Control plane address, e.g. "istiod.istio-system.svc:15012" or "127.0.0.1:15012". */
  readonly address: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly node: { readonly id: string; readonly cluster?: string; readonly metadata?: { readonly [key: string]: JsonValue } };
  /** Call metadata for each (re)connect, e.g. `authorization: Bearer <token>` read fresh from disk. */
  readonly metadataForCall?: () => grpc.Metadata | Promise<grpc.Metadata>;
  readonly types: ReadonlyArray<XdsTypeHandler<unknown>>;
  readonly backoff?: BackoffPolicy;
  readonly logger: Logger;
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface XdsAppliedSummary {
  readonly nonce: string;
  readonly upserts: number;
  readonly removals: number;
}

export interface DeltaXdsClientEvents {
  /** The first response arrived on a new stream. */
  connected: [];
  /** The stream ended; a reconnect is scheduled unless the client is closed. */
  disconnected: [error: Error, code: grpc.status];
  /** The first response of this type was applied. */
  synced: [typeUrl: string];
  applied: [typeUrl: string, summary: XdsAppliedSummary];
  nack: [typeUrl: string, message: string];
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface TypeState {
  readonly handler: XdsTypeHandler<unknown>;
  readonly acked: Map<string, string>;
  synced: boolean;
  waiter: Deferred | undefined;
}

type AdsStream = grpc.ClientDuplexStream<ProtoInput<DeltaDiscoveryRequest>, DeltaDiscoveryResponse>;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection on close must not become an unhandled rejection when nobody awaits it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class DeltaXdsClient extends EventEmitter<DeltaXdsClientEvents> {
  private readonly types = new Map<string, TypeState>();
  private readonly backoff: BackoffPolicy;
  private grpcClient: grpc.Client | undefined;
  private stream: AdsStream | undefined;
  private streamAnswered = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: DeltaXdsClientOptions) {
    super();
    for (const handler of options.types) {
      if (this.types.has(handler.typeUrl)) throw new Error(`xDS type ${handler.typeUrl} registered twice`);
      this.types.set(handler.typeUrl, { handler, acked: new Map(), synced: false, waiter: undefined });
    }
    this.backoff = options.backoff ?? DEFAULT_XDS_BACKOFF;
  }

  /** Opens the stream (and keeps reopening it until close()). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.grpcClient = new grpc.Client(this.options.address, this.options.credentials, this.options.channelOptions);
    void this.connect();
  }

  /** Resolves once the first response of `typeUrl` has been applied; rejects if the client closes first. */
  synced(typeUrl: string): Promise<void> {
    const state = this.types.get(typeUrl);
    if (!state) return Promise.reject(new XdsUnknownTypeError(typeUrl));
    if (state.synced) return Promise.resolve();
    if (this.closed) return Promise.reject(new XdsClientClosedError(`${typeUrl} synced`));
    state.waiter ??= deferred();
    return state.waiter.promise;
  }

  /** Versions of `typeUrl` the client ACKed, by resource name (what it will report on reconnect). */
  ackedVersions(typeUrl: string): ReadonlyMap<string, string> {
    return new Map(this.types.get(typeUrl)?.acked ?? []);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.grpcClient?.close();
    for (const [typeUrl, state] of this.types) {
      state.waiter?.reject(new XdsClientClosedError(`${typeUrl} synced`));
      state.waiter = undefined;
    }
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.closed || !this.grpcClient) return;
    let metadata: grpc.Metadata;
    try {
      metadata = this.options.metadataForCall ? await this.options.metadataForCall() : new grpc.Metadata();
    } catch (err) {
      this.options.logger.warn({ reason: messageOf(err) }, 'cannot build xDS call metadata; will retry');
      this.scheduleReconnect();
      return;
    }
    if (this.closed) return;

    const stream: AdsStream = this.grpcClient.makeBidiStreamRequest(
      DELTA_ADS_METHOD_PATH,
      encodeDeltaRequest,
      decodeDeltaResponse,
      metadata,
    );
    this.stream = stream;
    this.streamAnswered = false;
    let ended = false;
    const onEnd = (error: Error, code: grpc.status): void => {
      if (ended) return;
      ended = true;
      this.onStreamEnded(stream, error, code);
    };
    stream.on('data', (response: DeltaDiscoveryResponse) => this.onResponse(stream, response));
    stream.on('error', (err: Error & { code?: number }) => onEnd(err, err.code ?? grpc.status.UNKNOWN));
    stream.on('status', (status: grpc.StatusObject) =>
      onEnd(new Error(`xDS stream closed: ${status.details || grpc.status[status.code]}`), status.code),
    );

    let first = true;
    for (const [typeUrl, state] of this.types) {
      this.send(stream, {
        ...(first ? { node: this.options.node } : {}),
        typeUrl,
        // Empty subscribe on the first request of a type = wildcard (legacy form every server understands).
        resourceNamesSubscribe: [],
        initialResourceVersions: Object.fromEntries(state.acked),
      });
      first = false;
    }
  }

  private onStreamEnded(stream: AdsStream, error: Error, code: grpc.status): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    if (this.closed) return;
    this.options.logger.warn(
      { address: this.options.address, code: grpc.status[code] ?? code, reason: error.message },
      'xDS stream to the control plane ended; reconnecting',
    );
    this.safeEmit('disconnected', error, code);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private onResponse(stream: AdsStream, response: DeltaDiscoveryResponse): void {
    if (stream !== this.stream || this.closed) return;
    if (!this.streamAnswered) {
      this.streamAnswered = true;
      this.attempt = 0;
      this.safeEmit('connected');
    }
    const { typeUrl, nonce } = response;
    const state = this.types.get(typeUrl);
    let versions: Map<string, string>;
    try {
      if (!state) throw new XdsUnknownTypeError(typeUrl);
      versions = this.applyResponse(state, response);
    } catch (err) {
      const message = messageOf(err);
      this.options.logger.warn({ typeUrl, nonce, reason: message }, 'rejecting xDS push (NACK); keeping the previous config');
      this.send(stream, { typeUrl, responseNonce: nonce, errorDetail: { code: INVALID_ARGUMENT, message } });
      this.safeEmit('nack', typeUrl, message);
      return;
    }
    for (const [name, version] of versions) state.acked.set(name, version);
    for (const name of response.removedResources) state.acked.delete(name);
    this.send(stream, { typeUrl, responseNonce: nonce });
    this.safeEmit('applied', typeUrl, { nonce, upserts: versions.size, removals: response.removedResources.length });
    if (!state.synced) {
      state.synced = true;
      state.waiter?.resolve();
      state.waiter = undefined;
      this.safeEmit('synced', typeUrl);
    }
  }

  /** Decodes every resource, then applies them in one call; returns the versions to ACK. */
  private applyResponse(state: TypeState, response: DeltaDiscoveryResponse): Map<string, string> {
    const upserts = new Map<string, unknown>();
    const versions = new Map<string, string>();
    for (const resource of response.resources) {
      const body = resource.resource;
      if (!body) throw new XdsDecodeError(response.typeUrl, `resource ${resource.name} has no body`);
      if (body.typeUrl !== response.typeUrl) {
        throw new XdsDecodeError(response.typeUrl, `resource ${resource.name} carries ${body.typeUrl}`);
      }
      upserts.set(resource.name, state.handler.decode(body.value));
      versions.set(resource.name, resource.version);
    }
    state.handler.apply({ upserts, removals: [...response.removedResources] });
    return versions;
  }

  private send(stream: AdsStream, request: ProtoInput<DeltaDiscoveryRequest>): void {
    if (stream !== this.stream) return;
    try {
      stream.write(request);
    } catch (err) {
      this.options.logger.debug({ reason: messageOf(err) }, 'xDS request not sent: stream already closing');
    }
  }

  private safeEmit<K extends keyof DeltaXdsClientEvents>(event: K, ...args: DeltaXdsClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: DeltaXdsClientEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.options.logger.error({ event, err }, 'an xDS client event listener threw');
    }
  }
}
