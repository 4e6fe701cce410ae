// The production UpstreamConnector: HBONE to the endpoint's pod (<ip>:15008, :authority <ip>:<targetPort>), secure naming on the endpoint's identity, pooled per HbonePool's key.
import type { Duplex } from 'node:stream';
import { formatAuthority, HBONE_PORT, HbonePool, type Dialer, type SourceIdentity, type SpiffeId } from '../hbone';
import type { UpstreamConnector, UpstreamEndpoint } from './upstream/connector';

export interface HboneUpstreamOptions {
  /** The waypoint's own certificate material and identity, fetched (and renewed) by the CertificateManager. */
  source(): Promise<SourceIdentity>;
  /** Defaults to a pool with ztunnel's settings (100 streams per connection, 5 min idle release). */
  readonly pool?: HbonePool;
  /** The HBONE port on pods; 15008. */
  readonly hbonePort?: number;
  /** How to dial; tests map pod addresses to loopback listeners. */
  readonly dial?: Dialer;
}

export class HboneUpstreamConnector implements UpstreamConnector {
  readonly pool: HbonePool;
  private readonly hbonePort: number;

  constructor(private readonly options: HboneUpstreamOptions) {
    this.pool = options.pool ?? new HbonePool();
    this.hbonePort = options.hbonePort ?? HBONE_PORT;
  }

  async connect(endpoint: UpstreamEndpoint): Promise<Duplex> {
    const source = await this.options.source();
    return this.pool.connect({
      source,
      destination: { ip: endpoint.ip, port: this.hbonePort },
      expectedIdentities: [endpoint.identity as SpiffeId],
      authority: formatAuthority(endpoint.ip, endpoint.port),
      ...(this.options.dial ? { dial: this.options.dial } : {}),
    });
  }

  close(): void {
    this.pool.destroy();
  }
}
