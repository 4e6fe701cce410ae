// Istio's TCP metrics for the ztunnel (istio_tcp_*), with Istio's label set, in a registry owned by one ztunnel.
import { PEER_LABELS } from '../../telemetry/istio-labels';
import { Counter, Gauge, Registry } from 'prom-client';

export const TCP_LABELS = [
  'reporter',
  ...PEER_LABELS,
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TcpLabels = Record<(typeof TCP_LABELS)[number], string>;

export class ConnectionMetrics {
  readonly registry = new Registry();
  readonly opened: Counter<(typeof TCP_LABELS)[number]>;
  readonly closed: Counter<(typeof TCP_LABELS)[number]>;
  readonly failed: Counter<(typeof TCP_LABELS)[number]>;
  readonly sent: Counter<(typeof TCP_LABELS)[number]>;
  readonly received: Counter<(typeof TCP_LABELS)[number]>;
  readonly socketsOpen: Gauge<'reporter'>;

  constructor() {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: TCP_LABELS, registers: [this.registry] });
    this.opened = counter('istio_tcp_connections_opened_total', 'Total TCP connections opened');
    this.closed = counter('istio_tcp_connections_closed_total', 'Total TCP connections closed');
    this.failed = counter('istio_tcp_connections_failed_total', 'Total TCP connections that failed or were denied');
    this.sent = counter('istio_tcp_sent_bytes_total', 'Bytes sent during a response on a TCP connection');
    this.received = counter('istio_tcp_received_bytes_total', 'Bytes received during a request on a TCP connection');
    this.socketsOpen = new Gauge({ name: 'istio_tcp_sockets_open', help: 'Open TCP sockets', labelNames: ['reporter'], registers: [this.registry] });
  }
}
