// The HTTP endpoints every ambit proxy serves, as Istio's do: /config_dump on 127.0.0.1:15000, Prometheus on :15020, readiness on :15021.
import http from 'node:http';
import type net from 'node:net';
import type { Registry } from 'prom-client';

export const ADMIN_PORT = 15000;
export const METRICS_PORT = 15020;
export const READINESS_PORT = 15021;

export interface AdminPorts {
  readonly admin: number;
  readonly metrics: number;
  readonly readiness: number;
}

export interface ProxyEndpointSources {
  /** The /config_dump document. */
  configDump(): unknown;
  ready(): boolean;
  readonly registry: Registry;
}

export interface ProxyEndpoints {
  /** The ports actually bound (port 0 picks a free one, for tests). */
  readonly ports: AdminPorts;
  close(): Promise<void>;
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
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

export async function startProxyEndpoints(sources: ProxyEndpointSources, options: { host: string; ports?: Partial<AdminPorts> }): Promise<ProxyEndpoints> {
  const ports = { admin: ADMIN_PORT, metrics: METRICS_PORT, readiness: READINESS_PORT, ...options.ports };
  const admin = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/config_dump') response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(sources.configDump(), replacer, 2)}\n`);
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
  // Admin stays on localhost, as Istio's: it shows keys' metadata and full config.
  const servers = await Promise.all([listen(admin, '127.0.0.1', ports.admin), listen(metrics, options.host, ports.metrics), listen(readiness, options.host, ports.readiness)]);
  const bound = (server: http.Server): number => (server.address() as net.AddressInfo).port;
  return {
    ports: { admin: bound(servers[0]), metrics: bound(servers[1]), readiness: bound(servers[2]) },
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
