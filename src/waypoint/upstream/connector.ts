// How the waypoint reaches an endpoint: an injected connector (HBONE in production, plain TCP in tests) returning a connected byte stream.
import type { Duplex } from 'node:stream';

/** One endpoint to connect to: the pod's address, the port its app listens on, and the identity it must prove. */
export interface UpstreamEndpoint {
  readonly ip: string;
  readonly port: number;
  /** spiffe://... the endpoint's workload identity (secure naming for HBONE). */
  readonly identity: string;
}

export interface UpstreamConnector {
  /** Resolves with a connected stream to the endpoint's app, or rejects (connection refused, HBONE refused, TLS). */
  connect(endpoint: UpstreamEndpoint): Promise<Duplex>;
  /** Releases pooled connections; optional. */
  close?(): Promise<void> | void;
}
