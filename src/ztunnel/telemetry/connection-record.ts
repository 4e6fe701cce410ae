// One proxied connection's telemetry: labels derived once from the workloads involved, bytes counted, one access-log line at the end.
import type { Logger } from '../../telemetry/logger';
import type { ServiceState, WorkloadState } from '../state/model';
import { spiffeUri } from '../state/model';
import type { ConnectionMetrics, TcpLabels } from './connection-metrics';

export type Direction = 'inbound' | 'outbound';

export interface ConnectionParties {
  readonly direction: Direction;
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  /** Inner target of an HBONE tunnel ("ip:port"). */
  readonly hboneTarget?: string;
  readonly source?: WorkloadState;
  /** SPIFFE ID the peer proved with mTLS (inbound HBONE); absent for plaintext. */
  readonly sourceIdentity?: string;
  readonly destination?: WorkloadState;
  readonly destinationIdentity?: string;
  readonly service?: ServiceState;
  readonly mtls: boolean;
}

const UNKNOWN = 'unknown';

function workloadLabels(prefix: 'source' | 'destination', workload: WorkloadState | undefined, principal: string | undefined) {
  return {
    [`${prefix}_workload`]: workload?.workloadName || UNKNOWN,
    [`${prefix}_canonical_service`]: workload?.canonicalName || UNKNOWN,
    [`${prefix}_canonical_revision`]: workload?.canonicalRevision || UNKNOWN,
    [`${prefix}_workload_namespace`]: workload?.namespace || UNKNOWN,
    [`${prefix}_principal`]: principal ?? (workload ? spiffeUri(workload.identity) : UNKNOWN),
    [`${prefix}_app`]: workload?.canonicalName || UNKNOWN,
    [`${prefix}_version`]: workload?.canonicalRevision || UNKNOWN,
    [`${prefix}_cluster`]: workload ? 'Kubernetes' : UNKNOWN,
  };
}

export function tcpLabels(parties: ConnectionParties, responseFlags: string): TcpLabels {
  return {
    reporter: parties.direction === 'outbound' ? 'source' : 'destination',
    ...workloadLabels('source', parties.source, parties.sourceIdentity ?? (parties.mtls || parties.direction === 'outbound' ? undefined : UNKNOWN)),
    ...workloadLabels('destination', parties.destination, parties.destinationIdentity),
    destination_service: parties.service?.hostname ?? UNKNOWN,
    destination_service_namespace: parties.service?.namespace ?? UNKNOWN,
    destination_service_name: parties.service?.name ?? UNKNOWN,
    request_protocol: 'tcp',
    response_flags: responseFlags,
    connection_security_policy: parties.mtls ? 'mutual_tls' : 'unknown',
  } as TcpLabels;
}

/** Tracks one connection from accept to close. `finish` is idempotent. */
export class ConnectionRecord {
  private readonly started = process.hrtime.bigint();
  private bytesSent = 0;
  private bytesReceived = 0;
  private finished = false;
  private openedLabels: TcpLabels | undefined;

  constructor(
    private parties: ConnectionParties,
    private readonly metrics: ConnectionMetrics,
    private readonly accessLog: Logger,
  ) {
    metrics.socketsOpen.inc({ reporter: parties.direction === 'outbound' ? 'source' : 'destination' });
  }

  /** Fills in what was learnt after accept (the peer's identity, the chosen endpoint). */
  update(more: Partial<ConnectionParties>): void {
    this.parties = { ...this.parties, ...more };
  }

  /** Called once the upstream is connected: the connection counts as opened from here. */
  opened(): void {
    this.openedLabels = tcpLabels(this.parties, '-');
    this.metrics.opened.inc(this.openedLabels);
  }

  /** Bytes from the client towards the server. */
  addReceived(count: number): void {
    this.bytesReceived += count;
  }

  /** Bytes from the server back to the client. */
  addSent(count: number): void {
    this.bytesSent += count;
  }

  finish(outcome: { error?: string; responseFlags?: string } = {}): void {
    if (this.finished) return;
    this.finished = true;
    const direction = this.parties.direction;
    this.metrics.socketsOpen.dec({ reporter: direction === 'outbound' ? 'source' : 'destination' });
    const durationMs = Number(process.hrtime.bigint() - this.started) / 1e6;
    if (this.openedLabels) {
      this.metrics.closed.inc(this.openedLabels);
      this.metrics.received.inc(this.openedLabels, this.bytesReceived);
      this.metrics.sent.inc(this.openedLabels, this.bytesSent);
    } else {
      this.metrics.failed.inc(tcpLabels(this.parties, outcome.responseFlags ?? 'CONNECT'));
    }
    const p = this.parties;
    const line = {
      direction,
      'src.addr': p.sourceAddress,
      'src.workload': p.source?.name,
      'src.namespace': p.source?.namespace,
      'src.identity': p.sourceIdentity ?? (direction === 'outbound' && p.source ? spiffeUri(p.source.identity) : undefined),
      'dst.addr': p.destinationAddress,
      'dst.hbone_addr': p.hboneTarget,
      'dst.service': p.service?.hostname,
      'dst.workload': p.destination?.name,
      'dst.namespace': p.destination?.namespace,
      'dst.identity': p.destinationIdentity,
      // From the client's point of view, as ztunnel's access log reports them.
      bytes_sent: this.bytesReceived,
      bytes_recv: this.bytesSent,
      duration: `${Math.round(durationMs)}ms`,
      error: outcome.error,
      outcome: outcome.error ? 'failed' : 'complete',
    };
    if (outcome.error) this.accessLog.warn(line, 'connection failed');
    else this.accessLog.info(line, 'connection complete');
  }
}
