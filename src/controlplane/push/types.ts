// The contract between the delta-xDS server and the control plane: what the server asks of the resource
// catalog and of authentication, what it reports through metrics hooks, and what its debug view returns.
import type * as grpc from '@grpc/grpc-js';
import type { JsonValue } from '../../xds/types';

/** One resource as the catalog holds it: an opaque version and the encoded message (not wrapped in Any). */
export interface CatalogEntry {
  readonly version: string;
  readonly resource: Uint8Array;
  /** Other names the resource can go by (Address: "network/IP"). */
  readonly aliases?: readonly string[];
}

/** Names of resources that changed (added, updated or removed), by type URL. */
export type ChangedNames = ReadonlyMap<string, ReadonlySet<string>>;

export type CatalogChangeListener = (typeUrls: readonly string[], names?: ChangedNames) => void;

/** Everything of one type that one client may see, by resource name. */
export type CatalogSnapshot = ReadonlyMap<string, CatalogEntry>;

/** Who is on the other end of a stream; built from the first request's node and the authenticated caller. */
export interface XdsClientInfo<TCaller = unknown> {
  readonly nodeId: string;
  readonly cluster: string;
  readonly metadata: { readonly [key: string]: JsonValue };
  /** grpc peer string, e.g. "127.0.0.1:53412" or "ipv4:127.0.0.1:53412" depending on grpc-js. */
  readonly peer: string;
  readonly caller: TCaller;
}

export interface ResourceCatalog<TCaller = unknown> {
  /** The current resources of `typeUrl` visible to `client`. Called on every push; cache on your side. */
  snapshot(typeUrl: string, client: XdsClientInfo<TCaller>): CatalogSnapshot;
  /**
   * Registers a listener called with the type URLs whose resources may have changed and, when the catalog knows them,
   * the names that changed per type (a type without names means "anything may have"); may return an unsubscribe.
   */
  onChange(listener: CatalogChangeListener): (() => void) | void;
}

/** grpc-js's AuthContext (not exported by name from @grpc/grpc-js). */
export type GrpcAuthContext = ReturnType<grpc.ServerDuplexStream<unknown, unknown>['getAuthContext']>;

export interface XdsAuthContext {
  readonly peer: string;
  /** TLS details of the connection (peer certificate when the client presented one). */
  readonly authContext: GrpcAuthContext;
}

/**
 * Authenticates a stream from its call metadata (e.g. `authorization: Bearer <token>`). Rejecting refuses the
 * stream with UNAUTHENTICATED and the error's message.
 */
export type XdsAuthenticator<TCaller> = (metadata: grpc.Metadata, context: XdsAuthContext) => Promise<TCaller>;

export interface XdsPushEvent {
  readonly typeUrl: string;
  readonly nodeId: string;
  /** Size of the encoded DeltaDiscoveryResponse. */
  readonly bytes: number;
  readonly resources: number;
  readonly removals: number;
  readonly nonce: string;
}

export interface XdsNackEvent {
  readonly typeUrl: string;
  readonly nodeId: string;
  readonly nonce: string;
  readonly code: number;
  readonly message: string;
}

/** Optional hooks for a metrics registry; the server also keeps its own counters (DeltaXdsServer.stats()). */
export interface XdsPushMetrics {
  onPush?(event: XdsPushEvent): void;
  onNack?(event: XdsNackEvent): void;
}

export interface XdsNackRecord {
  readonly nonce: string;
  readonly code: number;
  readonly message: string;
  /** ISO time the NACK arrived. */
  readonly at: string;
  /** The versions of the rejected response, by resource name. */
  readonly rejectedVersions: { readonly [name: string]: string };
  readonly rejectedRemovals: readonly string[];
}

export interface XdsTypeDebug {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  /** Explicitly subscribed names (besides the wildcard). */
  readonly names: readonly string[];
  /** Versions the client has ACKed (or reported holding on reconnect), by resource name. */
  readonly acked: { readonly [name: string]: string };
  /** Nonce of the response awaiting ACK/NACK, if any. */
  readonly pendingNonce?: string;
  readonly lastNack?: XdsNackRecord;
}

export interface XdsClientDebug {
  /** Server-local id of the stream (several streams may share a node id during a reconnect). */
  readonly streamId: number;
  readonly nodeId: string;
  readonly cluster: string;
  readonly peer: string;
  /** ISO time the stream was accepted. */
  readonly connectedAt: string;
  readonly types: readonly XdsTypeDebug[];
}

export interface XdsTypeStats {
  readonly pushes: number;
  readonly bytes: number;
  readonly resources: number;
  readonly removals: number;
  readonly nacks: number;
}
