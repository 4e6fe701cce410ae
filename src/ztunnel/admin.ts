// The ztunnel's HTTP endpoints: admin with /config_dump on localhost:15000, Prometheus on 15020, readiness on 15021.
import type { Registry } from 'prom-client';
import { spiffeUri } from './state/model';
import type { ZtunnelSnapshot } from './state/snapshot';
import type { CertificateStatus } from './certificates';

import { startProxyEndpoints, type AdminPorts } from '../telemetry/proxy-endpoints';

export { ADMIN_PORT, METRICS_PORT, READINESS_PORT } from '../telemetry/proxy-endpoints';

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

/** Starts the three servers; returns a function that closes them. */
export async function startAdminServers(sources: AdminSources, options: { metricsHost: string; ports?: Partial<AdminPorts> }): Promise<() => void> {
  const endpoints = await startProxyEndpoints({ configDump: () => configDump(sources), ready: () => sources.ready(), registry: sources.registry }, { host: options.metricsHost, ports: options.ports });
  return () => void endpoints.close();
}
