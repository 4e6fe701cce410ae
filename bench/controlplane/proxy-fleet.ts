// A fleet of in-process delta-xDS proxies (one DeltaXdsClient per node, as ztunnels would connect), each
// subscribing to Address and Authorization, counting what it holds, and reporting when it has applied what a
// step waits for.
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../src/telemetry/logger';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  decodeAddress,
  decodeAuthorization,
  DeltaXdsClient,
  xdsType,
  type Address,
  type Authorization,
  type XdsUpdate,
} from '../../src/xds';
import { BenchTimeout } from '../lib/benchmark';

export interface ProxyFleetOptions {
  /** Always a loopback address: the benchmark sends traffic only to 127.0.0.1. */
  readonly address: string;
  readonly rootPem: string;
  /** Node name -> bearer token (from NodeTokenAuthenticator). */
  readonly tokens: ReadonlyMap<string, string>;
  /** Largest DeltaDiscoveryResponse a proxy accepts (grpc's default is 4 MiB). */
  readonly maxReceiveBytes: number;
}

interface ProxyState {
  readonly node: string;
  readonly held: Map<string, Set<string>>;
  /** Resources (upserts + removals) applied since the counters were last reset. */
  received: number;
  responses: number;
  /** performance.now() when the current wait was satisfied for this proxy. */
  doneAt: number | undefined;
}

/** What a step waits for, checked after every response a proxy applies. */
type Condition = (state: ProxyState, typeUrl: string, update: XdsUpdate<unknown> | undefined) => boolean;

export interface FleetWait {
  /** performance.now() at which each proxy satisfied the condition, in node order. */
  readonly doneAt: readonly number[];
}

export interface FleetCounters {
  /** Resources applied (upserts + removals), summed over proxies. */
  readonly resources: number;
  readonly responses: number;
}

export class ProxyFleet {
  private readonly states: ProxyState[] = [];
  private readonly clients: DeltaXdsClient[] = [];
  private waiter: { condition: Condition; remaining: number; resolve: () => void } | undefined;
  private nacks: string[] = [];

  constructor(options: ProxyFleetOptions) {
    const credentials = grpc.credentials.createSsl(Buffer.from(options.rootPem));
    for (const [node, token] of options.tokens) {
      const state: ProxyState = { node, held: new Map([[ADDRESS_TYPE_URL, new Set()], [AUTHORIZATION_TYPE_URL, new Set()]]), received: 0, responses: 0, doneAt: undefined };
      const handler = <T>(typeUrl: string, decode: (bytes: Uint8Array) => T) =>
        xdsType<T>({ typeUrl, decode, apply: (update) => this.onApplied(state, typeUrl, update) });
      const client = new DeltaXdsClient({
        address: options.address,
        credentials,
        channelOptions: {
          'grpc.ssl_target_name_override': 'ambit-controlplane',
          'grpc.default_authority': 'ambit-controlplane',
          'grpc.max_receive_message_length': options.maxReceiveBytes,
          // One TCP/TLS connection per proxy, as separate ztunnels would have (grpc-js would otherwise share one).
          'grpc.use_local_subchannel_pool': 1,
        },
        node: { id: `ztunnel~10.99.0.${this.states.length + 11}~ztunnel-${node}.istio-system~istio-system.svc.cluster.local` },
        metadataForCall: () => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', `Bearer ${token}`);
          return metadata;
        },
        types: [handler<Address>(ADDRESS_TYPE_URL, decodeAddress), handler<Authorization>(AUTHORIZATION_TYPE_URL, decodeAuthorization)],
        backoff: { initialMs: 100, maxMs: 1_000 },
        logger: silentLogger(),
      });
      client.on('nack', (typeUrl, message) => this.nacks.push(`${node} ${typeUrl}: ${message}`));
      this.states.push(state);
      this.clients.push(client);
    }
  }

  get size(): number {
    return this.states.length;
  }

  /** NACKs the proxies sent (a benchmark run should have none). */
  nackMessages(): readonly string[] {
    return this.nacks;
  }

  start(): void {
    for (const client of this.clients) client.start();
  }

  close(): void {
    for (const client of this.clients) client.close();
  }

  /** Resources of `typeUrl` each proxy holds, in node order. */
  held(typeUrl: string): number[] {
    return this.states.map((state) => state.held.get(typeUrl)?.size ?? 0);
  }

  resetCounters(): void {
    for (const state of this.states) {
      state.received = 0;
      state.responses = 0;
    }
  }

  counters(): FleetCounters {
    return {
      resources: this.states.reduce((sum, state) => sum + state.received, 0),
      responses: this.states.reduce((sum, state) => sum + state.responses, 0),
    };
  }

  /** Resolves once every proxy holds at least `counts[typeUrl]` resources of each type. */
  waitForHolding(counts: ReadonlyMap<string, number>, step: string, timeoutMs: number): Promise<FleetWait> {
    return this.waitFor((state) => [...counts].every(([typeUrl, count]) => (state.held.get(typeUrl)?.size ?? 0) >= count), step, timeoutMs);
  }

  /** Resolves once every proxy has applied a resource of `typeUrl` whose decoded form mentions `marker`. */
  waitForMarker(typeUrl: string, marker: string, step: string, timeoutMs: number): Promise<FleetWait> {
    return this.waitFor(
      (_state, appliedType, update) => appliedType === typeUrl && update !== undefined && [...update.upserts.values()].some((value) => JSON.stringify(value).includes(marker)),
      step,
      timeoutMs,
    );
  }

  private async waitFor(condition: Condition, step: string, timeoutMs: number): Promise<FleetWait> {
    if (this.waiter) throw new Error('ProxyFleet: one wait at a time');
    let remaining = 0;
    for (const state of this.states) {
      state.doneAt = undefined;
      if (condition(state, '', undefined)) state.doneAt = performance.now();
      else remaining += 1;
    }
    if (remaining > 0) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.waiter = { condition, remaining, resolve };
          timer = setTimeout(() => {
            const missing = this.states.filter((state) => state.doneAt === undefined).map((state) => state.node);
            reject(new BenchTimeout(step, timeoutMs, `${missing.length} of ${this.states.length} proxies never got there (first: ${missing.slice(0, 5).join(', ')})`));
          }, timeoutMs);
        });
      } finally {
        clearTimeout(timer);
        this.waiter = undefined;
      }
    }
    return { doneAt: this.states.map((state) => state.doneAt as number) };
  }

  private onApplied(state: ProxyState, typeUrl: string, update: XdsUpdate<unknown>): void {
    const held = state.held.get(typeUrl) as Set<string>;
    for (const name of update.upserts.keys()) held.add(name);
    for (const name of update.removals) held.delete(name);
    state.received += update.upserts.size + update.removals.length;
    state.responses += 1;
    const waiter = this.waiter;
    if (!waiter || state.doneAt !== undefined || !waiter.condition(state, typeUrl, update)) return;
    state.doneAt = performance.now();
    waiter.remaining -= 1;
    if (waiter.remaining === 0) waiter.resolve();
  }
}
