// The ztunnel's HTTP endpoints: admin with /config_dump on localhost:15000, Prometheus on 15020, readiness on 15021.
import http from 'node:http';
import type { Registry } from 'prom-client';
import { spiffeUri } from './state/model';
import type { ZtunnelSnapshot } from './state/snapshot';
import type { CertificateStatus } from './certificates';

export const ADMIN_PORT = 15000;
export const METRICS_PORT = 15020;
export const READINESS_PORT = 15021;

export interface AdminSources {
  readonly node: string;
  snapshot(): ZtunnelSnapshot;
  certificates(): CertificateStatus[];
  /** Pods this ztunnel serves (enrolled through the CNI agent) and the state of their listeners. */
  pods(): { uid: string; name: string; namespace: string; ips: readonly string[]; state: string }[];
  ready(): boolean;
  registry: Registry;
}

export function configDump(sources: AdminSources) {
  const snapshot = sources.snapshot();
  return {
    node: sources.node,
    generation: snapshot.generation,
    workloads: [...snapshot.workloads.values()].map((w) => ({
      uid: w.uid,
      name: w.name,
      namespace: w.namespace,
      ips: w.ips,
      node: w.node,
      identity: spiffeUri(w.identity),
      protocol: w.protocol,
      status: w.healthy ? 'Healthy' : 'Unhealthy',
      canonicalName: w.canonicalName,
      canonicalRevision: w.canonicalRevision,
      services: Object.fromEntries(w.services),
      authorizationPolicies: w.authorizationPolicies,
      waypoint: w.waypoint ?? null,
    })),
    services: [...snapshot.services.values()].map((s) => ({
      name: s.key,
      vips: s.vips,
      ports: s.ports,
      endpoints: (snapshot.endpointsByService.get(s.key) ?? []).map((w) => w.uid),
      waypoint: s.waypoint ?? null,
    })),
    policies: [...snapshot.authorizations.entries()].map(([name, policy]) => ({ name, scope: policy.scope, action: policy.action, rules: policy.rules, dryRun: policy.dryRun })),
    certificates: sources.certificates(),
    pods: sources.pods(),
  };
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

function listen(server: http.Server, host: string, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Starts the three servers; returns a function that closes them. */
export async function startAdminServers(sources: AdminSources, options: { metricsHost: string; ports?: { admin: number; metrics: number; readiness: number } }): Promise<() => void> {
  const ports = options.ports ?? { admin: ADMIN_PORT, metrics: METRICS_PORT, readiness: READINESS_PORT };
  const admin = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/config_dump') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(configDump(sources), replacer, 2) + '\n');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('try /config_dump\n');
    }
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
  const servers = await Promise.all([listen(admin, '127.0.0.1', ports.admin), listen(metrics, options.metricsHost, ports.metrics), listen(readiness, options.metricsHost, ports.readiness)]);
  return () => servers.forEach((server) => server.close());
}
