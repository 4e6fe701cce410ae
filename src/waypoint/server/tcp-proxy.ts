// Traffic that is not HTTP: L4 authorization, then bytes relayed to one endpoint of the service (or to the pod itself for a workload target).
import type { Duplex } from 'node:stream';
import { relay } from '../../hbone/relay';
import type { AuthzAttributes } from '../filters/authz/config';
import { authorize } from '../filters/authz/filter';
import type { ProxyDeps, TunnelContext } from '../pipeline/exchange';
import { sourceFacts } from '../pipeline/handler';
import { EMPTY_POLICY_SET } from '../routing/table';
import { tcpLabels } from '../telemetry/labels';

/** Proxies one tunnel as TCP. Failures close the tunnel (the client sees a reset), and are logged once here. */
export async function proxyTcp(deps: ProxyDeps, tunnel: TunnelContext, inner: Duplex): Promise<void> {
  const table = deps.table();
  const startedAt = Date.now();
  const target = table.target(tunnel.destinationIp, tunnel.destinationPort);
  const source = sourceFacts(table, tunnel.peer);
  const service = target?.kind === 'service' ? target.service.doc : undefined;
  const log = (fields: Record<string, unknown>, message: string): void =>
    deps.accessLog.info({ protocol: 'tcp', 'src.addr': `${tunnel.peer.address}:${tunnel.peer.port}`, 'src.identity': tunnel.peer.identity, 'dst.addr': `${tunnel.destinationIp}:${tunnel.destinationPort}`, 'dst.service': service?.hostname, ...fields }, message);
  const fail = (error: string, flags: string): void => {
    log({ error, durationMs: Date.now() - startedAt }, 'connection failed');
    deps.metrics.tcpOpened.inc(tcpLabels({ sourceIdentity: tunnel.peer.identity, ...(source.workload ? { source: source.workload } : {}), ...(service ? { service } : {}), flags }));
    inner.destroy(new Error(error));
  };
  if (target === undefined) return fail('this waypoint does not serve the destination', 'NR');
  const attributes: AuthzAttributes = {
    http: false,
    sourceIp: source.ip,
    principal: source.principal,
    namespace: source.namespace,
    serviceAccount: source.serviceAccount,
    destinationIp: tunnel.destinationIp,
    destinationPort: tunnel.destinationPort,
  };
  const decision = authorize([table.gatewayPolicies, target.kind === 'service' ? target.service.policies : EMPTY_POLICY_SET], attributes);
  if (!decision.allowed) return fail(`denied: ${decision.reason}`, 'DENY');
  let runtime;
  if (target.kind === 'workload') runtime = deps.clusters.passthrough(table, target.workload, tunnel.destinationIp, target.port);
  else {
    const spec = table.cluster(target.service.doc.hostname, target.port.port, undefined);
    if (spec === undefined) return fail('no cluster for the service port', 'NC');
    runtime = deps.clusters.runtime(spec);
  }
  const endpoint = runtime.pick({ ...(runtime.spec.policy.loadBalancer && 'consistentHash' in runtime.spec.policy.loadBalancer ? { hashKey: source.ip } : {}), random: deps.random });
  if (endpoint === undefined) return fail('no healthy upstream', 'UH');
  let upstream: Duplex;
  try {
    upstream = await deps.pool.connectRaw(endpoint, runtime.spec.policy.connectionPool?.connectTimeoutMs);
  } catch (error) {
    runtime.report(endpoint.key, { localFailure: true });
    return fail(error instanceof Error ? error.message : String(error), 'UF');
  }
  if (inner.destroyed) {
    upstream.destroy();
    return;
  }
  const labels = tcpLabels({ sourceIdentity: tunnel.peer.identity, ...(source.workload ? { source: source.workload } : {}), ...(service ? { service } : {}), destination: endpoint.workload, flags: '-' });
  deps.metrics.tcpOpened.inc(labels);
  const done = runtime.begin(endpoint.key);
  const result = await relay(inner, upstream);
  done();
  deps.metrics.tcpClosed.inc(labels);
  deps.metrics.tcpReceived.inc(labels, result.bytesIn);
  deps.metrics.tcpSent.inc(labels, result.bytesOut);
  log({ upstreamHost: endpoint.key, bytesReceived: result.bytesIn, bytesSent: result.bytesOut, durationMs: Date.now() - startedAt, ...(result.error ? { error: result.error.message } : {}) }, 'connection complete');
}
