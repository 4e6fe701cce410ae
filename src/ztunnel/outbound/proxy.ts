// Outbound traffic captured from a pod on 15001: plan from one snapshot, then HBONE (pooled, from the pod's netns) or plain TCP.
import type net from 'node:net';
import { HbonePool, relay, type HboneTunnel, type SourceIdentity, type SpiffeId } from '../../hbone';
import { connectInNetns, originalDst } from '../../native';
import type { Logger } from '../../telemetry/logger';
import type { CertificateManager, CertificateMaterial } from '../certificates';
import { ZTUNNEL_MARK } from '../inbound';
import type { EnrolledPod } from '../pod-listeners';
import { spiffeUri, type WorkloadState } from '../state/model';
import type { StateStore } from '../state/state-store';
import type { ConnectionMetrics } from '../telemetry/connection-metrics';
import { ConnectionRecord } from '../telemetry/connection-record';
import { planOutbound, type OutboundPlan } from './plan';

export interface OutboundDeps {
  readonly state: StateStore;
  readonly certificates: CertificateManager;
  readonly pool: HbonePool;
  readonly metrics: ConnectionMetrics;
  readonly accessLog: Logger;
  readonly logger: Logger;
}

/** Headers Istio's ztunnel sends on CONNECT so the other side can attribute the connection. */
function connectHeaders(source: WorkloadState, clientAddress: string, plan: Extract<OutboundPlan, { kind: 'hbone' | 'waypoint' }>): Record<string, string> {
  const baggage = [`k8s.namespace.name=${source.namespace}`, `k8s.deployment.name=${source.workloadName}`, `service.name=${source.canonicalName}`, `service.version=${source.canonicalRevision}`, 'k8s.cluster.name=Kubernetes'].join(',');
  const host = plan.service ? `;host=${plan.service.hostname}` : '';
  return { baggage, forwarded: `for="${clientAddress}"${host}` };
}

export class OutboundProxy {
  /** One SourceIdentity object per certificate: the pool caches TLS contexts by object, so a fresh spread per connection re-hashed the key and chain every time. */
  private readonly sources = new WeakMap<object, SourceIdentity>();

  constructor(private readonly deps: OutboundDeps) {}

  private sourceIdentity(material: CertificateMaterial, identity: SpiffeId): SourceIdentity {
    let source = this.sources.get(material);
    if (!source || source.identity !== identity) {
      source = { ...material, identity };
      this.sources.set(material, source);
    }
    return source;
  }

  async handle(socket: net.Socket, pod: EnrolledPod): Promise<void> {
    const snapshot = this.deps.state.current();
    const clientAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    let target: { address: string; port: number };
    try {
      target = originalDst(socket);
    } catch (error) {
      this.deps.logger.warn({ pod: `${pod.namespace}/${pod.name}`, err: (error as Error).message }, 'outbound connection without an original destination');
      socket.destroy();
      return;
    }
    const source = pod.ips.map((ip) => snapshot.workloadsByIp.get(ip)).find((workload) => workload !== undefined);
    const record = new ConnectionRecord(
      { direction: 'outbound', sourceAddress: clientAddress, destinationAddress: `${target.address}:${target.port}`, source, mtls: false },
      this.deps.metrics,
      this.deps.accessLog,
    );
    let plan: OutboundPlan;
    try {
      plan = planOutbound(snapshot, { ip: target.address, port: target.port }, undefined, source);
    } catch (error) {
      record.finish({ error: (error as Error).message, responseFlags: 'NR' });
      socket.resetAndDestroy();
      return;
    }
    let upstream: net.Socket | HboneTunnel;
    try {
      if (plan.kind === 'passthrough') {
        record.update({ destination: plan.destination, service: plan.service, destinationAddress: `${plan.ip}:${plan.port}` });
        upstream = (await connectInNetns({ netns: pod.netns, host: plan.ip, port: plan.port, mark: ZTUNNEL_MARK, timeoutMs: 10_000 })).setNoDelay(true);
      } else {
        if (!source) throw new Error(`pod ${pod.namespace}/${pod.name} is not known to the control plane yet`);
        const identity = spiffeUri(source.identity) as SpiffeId;
        const material = await this.deps.certificates.get(identity);
        const expected = plan.kind === 'hbone' ? plan.expectedIdentity : undefined;
        // A waypoint is reached at its Service VIP; the identities of the pods behind it are what it may present.
        const waypointIdentities =
          plan.kind === 'waypoint'
            ? (snapshot.endpointsByService.get(snapshot.servicesByVip.get(plan.waypoint.ip)?.key ?? '') ?? []).map((endpoint) => spiffeUri(endpoint.identity) as SpiffeId)
            : [];
        if (plan.kind === 'waypoint' && waypointIdentities.length === 0) throw new Error(`waypoint at ${plan.waypoint.ip} has no known endpoint yet`);
        record.update({ destination: plan.destination, service: plan.service, destinationAddress: `${plan.dialIp}:${plan.dialPort}`, hboneTarget: plan.authority, destinationIdentity: expected, mtls: true });
        upstream = await this.deps.pool.connect({
          source: this.sourceIdentity(material, identity),
          destination: { ip: plan.dialIp, port: plan.dialPort },
          expectedIdentities: expected ? [expected as SpiffeId] : [...new Set(waypointIdentities)],
          authority: plan.authority,
          headers: connectHeaders(source, clientAddress, plan),
          dial: (ip, port) => connectInNetns({ netns: pod.netns, host: ip, port, mark: ZTUNNEL_MARK, timeoutMs: 10_000 }),
          poolPartition: pod.uid,
        });
      }
    } catch (error) {
      const err = error as Error & { code?: string; status?: number };
      record.finish({ error: err.message, responseFlags: err.status === 401 || err.status === 403 ? 'DENY' : 'CONNECT' });
      socket.resetAndDestroy();
      return;
    }
    record.opened();
    const result = await relay(upstream, socket, { onBytes: (direction, bytes) => (direction === 'in' ? record.addSent(bytes) : record.addReceived(bytes)) });
    record.finish(result.outcome === 'aborted' ? { error: result.error?.message ?? `reset by ${result.abortedBy}` } : {});
  }
}
