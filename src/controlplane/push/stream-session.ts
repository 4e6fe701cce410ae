// One delta-ADS stream on the server: authenticates it, tracks a TypeSubscription per resource type, turns
// requests (subscribe, ACK, NACK) and catalog changes into responses, one in flight per type.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../telemetry/logger';
import { assembleDeltaResponse } from '../../xds/delta-response-parts';
import type { DeltaDiscoveryRequest } from '../../xds/types';
import type { EncodedResources } from './encoded-resources';
import { LARGE_RESPONSE_RESOURCES, type PushSlot, type PushThrottle } from './push-throttle';
import type { PushStats } from './push-stats';
import { TypeSubscription } from './type-subscription';
import type { CatalogSnapshot, ChangedNames, ResourceCatalog, XdsAuthenticator, XdsClientDebug, XdsClientInfo, XdsPushMetrics } from './types';

/** The server side of DeltaAggregatedResources: decoded requests in, pre-encoded responses out. */
export type DeltaAdsServerStream = grpc.ServerDuplexStream<DeltaDiscoveryRequest, Buffer>;

export interface StreamSessionDeps<TCaller> {
  readonly streamId: number;
  readonly catalog: ResourceCatalog<TCaller>;
  readonly authenticate: XdsAuthenticator<TCaller>;
  readonly logger: Logger;
  readonly stats: PushStats;
  /** Shared by every stream of the server. */
  readonly encoded: EncodedResources;
  /** Shared by every stream of the server: how many large responses may be unanswered at once. */
  readonly throttle: PushThrottle;
  readonly metrics?: XdsPushMetrics;
  /** Debug-only system_version_info stamped on responses. */
  readonly systemVersion: () => string;
  readonly onFinished: (session: XdsStreamSession<TCaller>) => void;
}

function statusError(code: grpc.status, details: string): Error & { code: grpc.status; details: string } {
  return Object.assign(new Error(details), { code, details });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class XdsStreamSession<TCaller> {
  readonly connectedAt = new Date();
  private caller: { readonly value: TCaller } | undefined;
  private client: XdsClientInfo<TCaller> | undefined;
  private readonly queued: DeltaDiscoveryRequest[] = [];
  private readonly types = new Map<string, TypeSubscription>();
  private nonceCounter = 0;
  private finished = false;
  /** Subscriptions whose large response holds a throttle slot, with that response's nonce. */
  private readonly slots = new Map<TypeSubscription, { readonly nonce: string; readonly slot: PushSlot }>();
  /** Subscriptions queued for a throttle slot (each at most once). */
  private readonly awaitingSlot = new Set<TypeSubscription>();

  constructor(
    private readonly call: DeltaAdsServerStream,
    private readonly deps: StreamSessionDeps<TCaller>,
  ) {}

  get streamId(): number {
    return this.deps.streamId;
  }

  start(): void {
    this.call.on('data', (request: DeltaDiscoveryRequest) => {
      if (this.caller) this.handle(request);
      else this.queued.push(request);
    });
    this.call.on('end', () => {
      // The client half-closed: finish our side with OK.
      if (!this.finished) this.call.end();
      this.finish('client ended the stream');
    });
    this.call.on('cancelled', () => this.finish('stream cancelled'));
    this.call.on('error', (err: Error) => this.finish(`stream error: ${err.message}`));
    void this.authenticate();
  }

  /** Some resources of these types may have changed: push to this client where it is subscribed. */
  notifyChanged(typeUrls: readonly string[], names?: ChangedNames): void {
    for (const typeUrl of typeUrls) {
      const subscription = this.types.get(typeUrl);
      if (!subscription) continue;
      subscription.markDirty(names?.get(typeUrl));
      this.push(subscription);
    }
  }

  /** Ends the stream with UNAVAILABLE so the client reconnects elsewhere or later. */
  close(reason: string): void {
    this.fail(grpc.status.UNAVAILABLE, reason);
  }

  debug(): XdsClientDebug | undefined {
    if (!this.client) return undefined;
    return {
      streamId: this.deps.streamId,
      nodeId: this.client.nodeId,
      cluster: this.client.cluster,
      peer: this.client.peer,
      connectedAt: this.connectedAt.toISOString(),
      types: [...this.types.values()].map((s) => s.debug()).sort((a, b) => (a.typeUrl < b.typeUrl ? -1 : 1)),
    };
  }

  private async authenticate(): Promise<void> {
    try {
      const value = await this.deps.authenticate(this.call.metadata, {
        peer: this.call.getPeer(),
        authContext: this.call.getAuthContext(),
      });
      this.caller = { value };
    } catch (err) {
      this.deps.logger.warn({ peer: this.call.getPeer(), reason: messageOf(err) }, 'xDS stream refused: authentication failed');
      this.fail(grpc.status.UNAUTHENTICATED, `xDS stream refused: ${messageOf(err)}`);
      return;
    }
    for (const request of this.queued.splice(0)) this.handle(request);
  }

  private handle(request: DeltaDiscoveryRequest): void {
    if (this.finished || !this.caller) return;
    if (!this.client) {
      const node = request.node;
      if (!node || node.id === '') {
        this.fail(grpc.status.INVALID_ARGUMENT, 'the first DeltaDiscoveryRequest of a stream must carry node.id');
        return;
      }
      this.client = {
        nodeId: node.id,
        cluster: node.cluster,
        metadata: node.metadata,
        peer: this.call.getPeer(),
        caller: this.caller.value,
      };
      this.deps.logger.info({ nodeId: node.id, peer: this.client.peer, streamId: this.deps.streamId }, 'xDS client connected');
    }
    const { nodeId } = this.client;
    if (request.typeUrl === '') {
      this.deps.logger.warn({ nodeId }, 'ignoring a DeltaDiscoveryRequest without type_url');
      return;
    }
    let subscription = this.types.get(request.typeUrl);
    if (!subscription) {
      subscription = new TypeSubscription(request.typeUrl);
      this.types.set(request.typeUrl, subscription);
    }
    const outcome = subscription.applyAck(request, new Date());
    const held = this.slots.get(subscription);
    if (held && ((outcome.kind === 'ack' && held.nonce === outcome.nonce) || (outcome.kind === 'nack' && held.nonce === outcome.record.nonce))) {
      this.slots.delete(subscription);
      held.slot.release();
    }
    if (outcome.kind === 'nack') {
      const { nonce, code, message } = outcome.record;
      this.deps.logger.warn(
        { nodeId, typeUrl: request.typeUrl, nonce, code, reason: message },
        'xDS client rejected (NACKed) a push; it keeps its previous config until the next change',
      );
      const event = { typeUrl: request.typeUrl, nodeId, nonce, code, message };
      this.deps.stats.recordNack(event);
      this.deps.metrics?.onNack?.(event);
    } else if (outcome.kind === 'stale') {
      this.deps.logger.debug({ nodeId, typeUrl: request.typeUrl, nonce: outcome.nonce }, 'ignoring (N)ACK of a superseded response');
    }
    subscription.applySubscription(request);
    this.push(subscription);
  }

  private push(subscription: TypeSubscription): void {
    const client = this.client;
    if (this.finished || !client || !subscription.readyToPush()) return;
    const typeUrl = subscription.typeUrl;
    let snapshot: CatalogSnapshot;
    try {
      snapshot = this.deps.catalog.snapshot(typeUrl, client);
    } catch (err) {
      this.deps.logger.error({ nodeId: client.nodeId, typeUrl, err }, 'resource catalog failed to produce a snapshot; push skipped');
      return;
    }
    const plan = subscription.plan(snapshot);
    if (!plan) return;
    let slot: PushSlot | undefined;
    if (plan.upserts.length >= LARGE_RESPONSE_RESOURCES) {
      if (this.awaitingSlot.has(subscription)) return;
      slot = this.deps.throttle.tryAcquire(() => {
        this.awaitingSlot.delete(subscription);
        this.push(subscription);
      });
      if (!slot) {
        this.awaitingSlot.add(subscription);
        this.deps.logger.debug({ nodeId: client.nodeId, typeUrl, resources: plan.upserts.length, queued: this.deps.throttle.queued }, 'large xDS response waits for a push slot');
        return;
      }
    }

    const nonce = `${this.deps.streamId}-${++this.nonceCounter}`;
    const versions = new Map<string, string>();
    const resources: Uint8Array[] = [];
    for (const name of plan.upserts) {
      const entry = snapshot.get(name);
      if (!entry) continue;
      versions.set(name, entry.version);
      resources.push(this.deps.encoded.bytes(typeUrl, name, entry));
    }
    const bytes = assembleDeltaResponse({
      systemVersionInfo: this.deps.systemVersion(),
      resources,
      typeUrl,
      removedResources: plan.removals,
      nonce,
    });
    subscription.sent(nonce, versions, plan.removals);
    if (slot) this.slots.set(subscription, { nonce, slot });
    this.call.write(bytes);

    const event = {
      typeUrl,
      nodeId: client.nodeId,
      bytes: bytes.length,
      resources: resources.length,
      removals: plan.removals.length,
      nonce,
    };
    this.deps.stats.recordPush(event);
    this.deps.metrics?.onPush?.(event);
    this.deps.logger.debug(event, 'xDS push');
  }

  private fail(code: grpc.status, details: string): void {
    if (this.finished) return;
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    this.call.emit('error', statusError(code, details));
  }

  private finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.queued.length = 0;
    for (const { slot } of this.slots.values()) slot.release();
    this.slots.clear();
    if (this.client) {
      this.deps.logger.info({ nodeId: this.client.nodeId, streamId: this.deps.streamId, reason }, 'xDS client disconnected');
    }
    this.deps.onFinished(this);
  }
}
