// The HBONE client pool: shares HTTP/2 connections per (source identity, destination identities, destination address) and opens tunnels on them.
import { canonicalIp, formatAuthority } from './authority';
import { defaultDialer, HboneClientConnection, type ClientConnectionState, type Dialer } from './client';
import { HboneConnectionLost, InvalidConnectRequest } from './errors';
import { DEFAULT_HTTP2_TUNING } from './h2-settings';
import type { SpiffeId } from './identity';
import { materialFingerprint, type SourceIdentity } from './tls';
import type { HboneTunnel } from './tunnel';

export interface HbonePoolOptions {
  /** Streams per HTTP/2 connection before another is opened; ztunnel `POOL_MAX_STREAMS_PER_CONNECTION`, 100. */
  readonly maxStreamsPerConnection?: number;
  /** A connection with no streams closes after this; ztunnel `POOL_UNUSED_RELEASE_TIMEOUT`, 5 minutes. */
  readonly idleTimeoutMs?: number;
  /** Limit for dial + TLS + the CONNECT answer of one `connect`. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Used when a request brings no `dial`; default `net.connect`. */
  readonly dial?: Dialer;
}

export interface HboneConnectRequest {
  /** The client workload's certificate material and identity; a new material object (renewal) gets new connections. */
  readonly source: SourceIdentity;
  /** Where to dial: normally `podIP:15008`, or a waypoint's. */
  readonly destination: { readonly ip: string; readonly port: number };
  /** Secure naming: the server must present one of these SPIFFE IDs. */
  readonly expectedIdentities: readonly SpiffeId[];
  /** `:authority` of the CONNECT, the original destination `ip:port` (IPv6 bracketed). */
  readonly authority: string;
  /** Extra request headers: `baggage`, `forwarded`, `traceparent`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How to dial; the ztunnel dials from inside the source pod's netns with SO_MARK. */
  readonly dial?: Dialer;
  /**
   * Extra pool-key component for callers whose `dial` differs by something the key does not show (the source pod
   * whose netns is dialled from): connections are shared only within one partition.
   */
  readonly poolPartition?: string;
}

/** One pooled connection, for admin dumps and tests. */
export interface PoolConnectionInfo {
  readonly id: number;
  readonly sourceIdentity: SpiffeId;
  readonly peerAddress: string;
  readonly peerIdentity: SpiffeId | undefined;
  readonly expectedIdentities: readonly SpiffeId[];
  readonly state: ClientConnectionState;
  readonly activeStreams: number;
}

const DEFAULT_MAX_STREAMS = 100;
const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface PoolEntry {
  readonly connection: HboneClientConnection;
  readonly expectedIdentities: readonly SpiffeId[];
}

export class HbonePool {
  private readonly maxStreams: number;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly dial: Dialer;
  private readonly groups = new Map<string, PoolEntry[]>();
  private nextConnectionId = 1;
  private closed = false;

  constructor(options: HbonePoolOptions = {}) {
    this.maxStreams = positive(options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS, 'maxStreamsPerConnection');
    this.idleTimeoutMs = positive(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs');
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
    this.dial = options.dial ?? defaultDialer;
  }

  /**
   * Opens a tunnel: reuses a connection of the same key with a free stream slot and the same certificate material,
   * or opens one. Rejects with one of `HboneConnectError`; a request the server never saw (GOAWAY race, refused
   * stream) is retried once on a fresh connection.
   */
  async connect(request: HboneConnectRequest): Promise<HboneTunnel> {
    if (this.closed) throw new InvalidConnectRequest('the HBONE pool is closed');
    if (request.expectedIdentities.length === 0) {
      throw new InvalidConnectRequest(`no expected identities for ${formatAuthority(request.destination.ip, request.destination.port)}; secure naming needs at least one`);
    }
    if (request.authority === '') throw new InvalidConnectRequest('the :authority is empty');
    const pseudo = Object.keys(request.headers ?? {}).find((name) => name.startsWith(':'));
    if (pseudo !== undefined) throw new InvalidConnectRequest(`header ${pseudo} is a pseudo-header; the pool sets :method and :authority itself`);
    const deadline = Date.now() + this.connectTimeoutMs;
    try {
      return await this.attempt(request, deadline);
    } catch (error) {
      if (!(error instanceof HboneConnectionLost) || !error.retryable || Date.now() >= deadline) throw error;
      return this.attempt(request, deadline);
    }
  }

  /** Connections in the pool (any state but closed). */
  get connectionCount(): number {
    let count = 0;
    for (const entries of this.groups.values()) count += entries.length;
    return count;
  }

  connections(): PoolConnectionInfo[] {
    return [...this.groups.values()].flat().map(({ connection, expectedIdentities }) => ({
      id: connection.id,
      sourceIdentity: connection.sourceIdentity,
      peerAddress: connection.peerAddress,
      peerIdentity: connection.peerIdentity,
      expectedIdentities,
      state: connection.state,
      activeStreams: connection.activeStreams,
    }));
  }

  /** Closes idle connections now and every other one once its tunnels end; `connect` fails afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.groups.values()].flat();
    await Promise.all(
      entries.map(
        ({ connection }) =>
          new Promise<void>((resolve) => {
            if (connection.state === 'closed') {
              resolve();
              return;
            }
            connection.once('closed', () => resolve());
            connection.drain();
          }),
      ),
    );
  }

  /** Destroys every connection and its tunnels at once. */
  destroy(): void {
    this.closed = true;
    for (const { connection } of [...this.groups.values()].flat()) connection.destroy();
  }

  private attempt(request: HboneConnectRequest, deadline: number): Promise<HboneTunnel> {
    const connection = this.connectionFor(request);
    connection.reserve();
    return connection.openTunnel(request.authority, request.headers ?? {}, deadline);
  }

  private connectionFor(request: HboneConnectRequest): HboneClientConnection {
    const key = poolKey(request);
    const fingerprint = materialFingerprint(request.source);
    const entries = this.groups.get(key) ?? [];
    for (const { connection } of entries) {
      if (connection.materialFingerprint !== fingerprint) {
        // The source's certificate was renewed: existing tunnels keep the old connection, new ones get the new cert.
        connection.drain();
        continue;
      }
      if (connection.hasCapacity(this.maxStreams)) return connection;
    }
    const connection = new HboneClientConnection(
      this.nextConnectionId++,
      { source: request.source, destination: request.destination, expectedIdentities: request.expectedIdentities, dial: request.dial ?? this.dial },
      { connectTimeoutMs: this.connectTimeoutMs, idleTimeoutMs: this.idleTimeoutMs, tuning: DEFAULT_HTTP2_TUNING },
    );
    const entry: PoolEntry = { connection, expectedIdentities: [...request.expectedIdentities] };
    entries.push(entry);
    this.groups.set(key, entries);
    connection.once('closed', () => this.remove(key, entry));
    return connection;
  }

  private remove(key: string, entry: PoolEntry): void {
    const entries = this.groups.get(key);
    if (entries === undefined) return;
    const remaining = entries.filter((candidate) => candidate !== entry);
    if (remaining.length === 0) this.groups.delete(key);
    else this.groups.set(key, remaining);
  }
}

/** Connections are shared only between requests that agree on who connects, whom they accept, and where to. */
export function poolKey(request: HboneConnectRequest): string {
  const expected = [...new Set(request.expectedIdentities)].sort();
  return JSON.stringify([request.source.identity, expected, canonicalIp(request.destination.ip), request.destination.port, request.poolPartition ?? '']);
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`HbonePool option ${name} must be a positive number, got ${value}`);
  return value;
}
