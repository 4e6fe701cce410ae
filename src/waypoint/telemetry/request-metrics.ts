// Istio's standard HTTP metrics as a waypoint reports them (reporter="waypoint"), in a prom-client registry owned by one waypoint process.
import { PEER_LABELS } from '../../telemetry/istio-labels';
import { Counter, Histogram, Registry } from 'prom-client';

export const HTTP_LABELS = [
  'reporter',
  ...PEER_LABELS,
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type HttpLabelName = (typeof HTTP_LABELS)[number];
export type HttpLabels = Record<HttpLabelName, string>;

export const TCP_LABELS = HTTP_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status');
export type TcpLabelName = Exclude<HttpLabelName, 'response_code' | 'grpc_response_status'>;

/** Istio's default buckets for istio_request_duration_milliseconds. */
const DURATION_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's default buckets for the byte-size histograms. */
const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

export interface RequestObservation {
  readonly labels: HttpLabels;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export class WaypointMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<HttpLabelName>;
  readonly duration: Histogram<HttpLabelName>;
  readonly requestBytes: Histogram<HttpLabelName>;
  readonly responseBytes: Histogram<HttpLabelName>;
  readonly tcpOpened: Counter<TcpLabelName>;
  readonly tcpClosed: Counter<TcpLabelName>;
  readonly tcpSent: Counter<TcpLabelName>;
  readonly tcpReceived: Counter<TcpLabelName>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'istio_requests_total', help: 'Total requests handled by the waypoint', labelNames: HTTP_LABELS, registers });
    this.duration = new Histogram({ name: 'istio_request_duration_milliseconds', help: 'Request duration in milliseconds', labelNames: HTTP_LABELS, buckets: DURATION_BUCKETS, registers });
    this.requestBytes = new Histogram({ name: 'istio_request_bytes', help: 'Request size (headers and body) in bytes', labelNames: HTTP_LABELS, buckets: SIZE_BUCKETS, registers });
    this.responseBytes = new Histogram({ name: 'istio_response_bytes', help: 'Response size (headers and body) in bytes', labelNames: HTTP_LABELS, buckets: SIZE_BUCKETS, registers });
    const tcp = (name: string, help: string): Counter<TcpLabelName> => new Counter({ name, help, labelNames: TCP_LABELS, registers });
    this.tcpOpened = tcp('istio_tcp_connections_opened_total', 'TCP connections opened through the waypoint');
    this.tcpClosed = tcp('istio_tcp_connections_closed_total', 'TCP connections closed through the waypoint');
    this.tcpSent = tcp('istio_tcp_sent_bytes_total', 'Bytes sent back to the client on TCP connections');
    this.tcpReceived = tcp('istio_tcp_received_bytes_total', 'Bytes received from the client on TCP connections');
  }

  observe(observation: RequestObservation): void {
    const { labels } = observation;
    this.requests.inc(labels);
    this.duration.observe(labels, observation.durationMs);
    this.requestBytes.observe(labels, observation.requestBytes);
    this.responseBytes.observe(labels, observation.responseBytes);
  }
}
