// The waypoint's HTTP endpoints: admin /config_dump on 127.0.0.1:15000, Prometheus on :15020 (/stats/prometheus, /metrics), readiness on :15021/healthz/ready.
import type { Registry } from 'prom-client';
import type { CertificateStatus } from '../ztunnel/certificates';
import type { WaypointProxy } from './proxy';

import { startProxyEndpoints, type AdminPorts, type ProxyEndpoints } from '../telemetry/proxy-endpoints';

export { ADMIN_PORT, METRICS_PORT, READINESS_PORT } from '../telemetry/proxy-endpoints';

export interface WaypointAdminSources {
  readonly waypoint: { readonly name: string; readonly namespace: string; readonly identity: string };
  readonly proxy: WaypointProxy;
  certificates(): CertificateStatus[];
  ready(): boolean;
  readonly registry: Registry;
}

/** What /config_dump shows: the applied document, the compiled clusters with live state, pools and certificates. */
export function waypointConfigDump(sources: WaypointAdminSources): unknown {
  const table = sources.proxy.table;
  const now = Date.now();
  return {
    waypoint: sources.waypoint,
    generation: table.generation,
    ready: sources.ready(),
    config: table.doc,
    clusters: sources.proxy.clusters.list().map((runtime) => ({
      name: runtime.spec.key,
      policy: runtime.spec.policy,
      activeRequests: runtime.breaker.activeRequests,
      pendingRequests: runtime.breaker.pendingRequests,
      endpoints: runtime.spec.endpoints.map((e) => ({ address: e.key, identity: e.identity, healthy: e.healthy, ejected: runtime.outliers.isEjected(e.key, now) })),
    })),
    upstreamConnections: sources.proxy.pool.stats(),
    tunnels: sources.proxy.tunnels.size,
    certificates: sources.certificates(),
  };
}

export type { AdminPorts, ProxyEndpoints as AdminServers } from '../telemetry/proxy-endpoints';

/** Starts the three servers (port 0 picks a free port, for tests). */
export function startWaypointAdmin(sources: WaypointAdminSources, options: { host: string; ports?: Partial<AdminPorts> }): Promise<ProxyEndpoints> {
  return startProxyEndpoints({ configDump: () => waypointConfigDump(sources), ready: sources.ready, registry: sources.registry }, options);
}
