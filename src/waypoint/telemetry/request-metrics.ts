// Istio's standard HTTP metrics as a waypoint reports them (reporter="waypoint"), in a prom-client registry owned by one waypoint process.
import { PEER_LABELS } from '../../telemetry/istio-labels';
import { Counter, Registry } from 'prom-client';
import { HttpSeriesStore, SeriesCounter, SeriesHistogram } from './http-series';
import type { LabelInput } from './labels';

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
  /** What the labels are built from; the label object itself is built once per distinct label set. */
  readonly labels: LabelInput;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export class WaypointMetrics {
  readonly registry = new Registry();
  /** The request metrics' cells, one per label set (see http-series.ts for why not prom-client's own). */
  readonly http = new HttpSeriesStore(DURATION_BUCKETS, SIZE_BUCKETS);
  readonly requests: SeriesCounter;
  readonly duration: SeriesHistogram;
  readonly requestBytes: SeriesHistogram;
  readonly responseBytes: SeriesHistogram;
  readonly tcpOpened: Counter<TcpLabelName>;
  readonly tcpClosed: Counter<TcpLabelName>;
  readonly tcpSent: Counter<TcpLabelName>;
  readonly tcpReceived: Counter<TcpLabelName>;

  constructor() {
    const registers = [this.registry];
    this.requests = new SeriesCounter('istio_requests_total', 'Total requests handled by the waypoint', this.http);
    this.duration = new SeriesHistogram('istio_request_duration_milliseconds', 'Request duration in milliseconds', this.http, (s) => s.duration);
    this.requestBytes = new SeriesHistogram('istio_request_bytes', 'Request size (headers and body) in bytes', this.http, (s) => s.requestBytes);
    this.responseBytes = new SeriesHistogram('istio_response_bytes', 'Response size (headers and body) in bytes', this.http, (s) => s.responseBytes);
    for (const metric of [this.requests, this.duration, this.requestBytes, this.responseBytes]) metric.register(this.registry);
    const tcp = (name: string, help: string): Counter<TcpLabelName> => new Counter({ name, help, labelNames: TCP_LABELS, registers });
    this.tcpOpened = tcp('istio_tcp_connections_opened_total', 'TCP connections opened through the waypoint');
    this.tcpClosed = tcp('istio_tcp_connections_closed_total', 'TCP connections closed through the waypoint');
    this.tcpSent = tcp('istio_tcp_sent_bytes_total', 'Bytes sent back to the client on TCP connections');
    this.tcpReceived = tcp('istio_tcp_received_bytes_total', 'Bytes received from the client on TCP connections');
  }

  observe(observation: RequestObservation): void {
    const series = this.http.seriesFor(observation.labels);
    series.requests += 1;
    series.duration.observe(observation.durationMs);
    series.requestBytes.observe(observation.requestBytes);
    series.responseBytes.observe(observation.responseBytes);
  }
}
