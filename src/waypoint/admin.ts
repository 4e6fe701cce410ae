// The waypoint's HTTP endpoints: admin /config_dump on 127.0.0.1:15000, Prometheus on :15020 (/stats/prometheus, /metrics), readiness on :15021/healthz/ready.
import http from 'node:http';
import type net from 'node:net';
import type { Registry } from 'prom-client';
import type { CertificateStatus } from '../ztunnel/certificates';
import type { WaypointProxy } from './proxy';

export const ADMIN_PORT = 15000;
export const METRICS_PORT = 15020;
export const READINESS_PORT = 15021;

export interface AdminPorts {
  readonly admin: number;
  readonly metrics: number;
  readonly readiness: number;
}

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

function listen(server: http.Server, host: string, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export interface AdminServers {
  readonly ports: AdminPorts;
  close(): Promise<void>;
}

/** Starts the three servers (port 0 picks a free port, for tests). */
export async function startWaypointAdmin(sources: WaypointAdminSources, options: { host: string; ports?: Partial<AdminPorts> }): Promise<AdminServers> {
  const ports = { admin: ADMIN_PORT, metrics: METRICS_PORT, readiness: READINESS_PORT, ...options.ports };
  const admin = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/config_dump') response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(waypointConfigDump(sources), null, 2)}\n`);
    else response.writeHead(404, { 'content-type': 'text/plain' }).end('try /config_dump\n');
  });
  const metrics = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/stats/prometheus') {
      response.writeHead(404).end();
      return;
    }
    sources.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': sources.registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  const readiness = http.createServer((request, response) => {
    const ok = (request.url ?? '').startsWith('/healthz/ready') && sources.ready();
    response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
  });
  const servers = await Promise.all([listen(admin, '127.0.0.1', ports.admin), listen(metrics, options.host, ports.metrics), listen(readiness, options.host, ports.readiness)]);
  const bound = (s: http.Server): number => (s.address() as net.AddressInfo).port;
  return {
    ports: { admin: bound(servers[0]), metrics: bound(servers[1]), readiness: bound(servers[2]) },
    close: () => Promise.all(servers.map((s) => new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    }))).then(() => undefined),
  };
}
