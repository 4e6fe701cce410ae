// The waypoint's request metrics: one cell per label set, rebuilt when a push replaces the documents, and rendered exactly as prom-client renders the same observations.
import { Counter, Histogram, Registry } from 'prom-client';
import t from 'tap';
import type { WorkloadDoc } from '../../../../src/waypoint/config/types';
import { HttpSeriesStore } from '../../../../src/waypoint/telemetry/http-series';
import { httpLabels, type LabelInput } from '../../../../src/waypoint/telemetry/labels';
import { HTTP_LABELS, WaypointMetrics } from '../../../../src/waypoint/telemetry/request-metrics';

function workload(name: string, version: string): WorkloadDoc {
  return {
    uid: `Kubernetes//Pod/bookinfo/${name}`,
    name,
    namespace: 'bookinfo',
    ips: ['10.1.0.1'],
    identity: 'spiffe://cluster.local/ns/bookinfo/sa/reviews',
    labels: { app: 'reviews', version },
    healthy: true,
    workloadName: 'reviews',
    canonicalName: 'reviews',
    canonicalRevision: version,
  };
}

const SERVICE = { hostname: 'reviews.bookinfo.svc.cluster.local', namespace: 'bookinfo', name: 'reviews' };
const CALLER = 'spiffe://cluster.local/ns/bookinfo/sa/productpage';

t.test('one cell per label set, found again without rebuilding the labels', async (t) => {
  const store = new HttpSeriesStore([1, 10], [100]);
  const destination = workload('reviews-v1-a', 'v1');
  const input: LabelInput = { sourceIdentity: CALLER, service: SERVICE, destination, responseCode: 200, flags: '-' };
  const first = store.seriesFor(input);
  t.equal(store.seriesFor({ ...input }), first, 'the same inputs find the same cell');
  t.same(first.labels, httpLabels(input), "the cell carries Istio's labels");
  t.not(store.seriesFor({ ...input, responseCode: 503 }), first, 'another response code is another series');
  t.not(store.seriesFor({ ...input, flags: 'UF' }), first, 'other flags are another series');
  t.not(store.seriesFor({ ...input, grpcStatus: '14' }), first, 'a gRPC status is another series');
  t.equal([...store.all()].length, 4);
});

t.test('a push that replaces a workload document with new labels gets new label values', async (t) => {
  const store = new HttpSeriesStore([1], [1]);
  const before = store.seriesFor({ sourceIdentity: CALLER, destination: workload('reviews-v1-a', 'v1'), responseCode: 200, flags: '-' });
  // Same uid, new document (the pod was relabelled): the cached labels must not be reused.
  const after = store.seriesFor({ sourceIdentity: CALLER, destination: workload('reviews-v1-a', 'v2'), responseCode: 200, flags: '-' });
  t.not(after, before);
  t.equal(after.labels.destination_version, 'v2');
  // A new document with the same label values lands in the same series, as prom-client would count it.
  const again = store.seriesFor({ sourceIdentity: CALLER, destination: workload('reviews-v1-a', 'v2'), responseCode: 200, flags: '-' });
  t.equal(again, after);
});

t.test('the registry text is what prom-client prints for the same observations', async (t) => {
  const metrics = new WaypointMetrics();
  const reference = new Registry();
  const registers = [reference];
  const requests = new Counter({ name: 'istio_requests_total', help: 'Total requests handled by the waypoint', labelNames: HTTP_LABELS, registers });
  const duration = new Histogram({ name: 'istio_request_duration_milliseconds', help: 'Request duration in milliseconds', labelNames: HTTP_LABELS, buckets: [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000], registers });
  const sizes = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
  const requestBytes = new Histogram({ name: 'istio_request_bytes', help: 'Request size (headers and body) in bytes', labelNames: HTTP_LABELS, buckets: sizes, registers });
  const responseBytes = new Histogram({ name: 'istio_response_bytes', help: 'Response size (headers and body) in bytes', labelNames: HTTP_LABELS, buckets: sizes, registers });
  const v1 = workload('reviews-v1-a', 'v1');
  const observations: { input: LabelInput; ms: number; inBytes: number; outBytes: number }[] = [
    { input: { sourceIdentity: CALLER, service: SERVICE, destination: v1, responseCode: 200, flags: '-' }, ms: 0.5, inBytes: 120, outBytes: 1100 },
    { input: { sourceIdentity: CALLER, service: SERVICE, destination: v1, responseCode: 200, flags: '-' }, ms: 7, inBytes: 1, outBytes: 0 },
    { input: { sourceIdentity: CALLER, service: SERVICE, responseCode: 503, flags: 'UF,URX' }, ms: 4000000, inBytes: 2e9, outBytes: 95 },
    { input: { sourceIdentity: CALLER, service: SERVICE, destination: v1, responseCode: 200, grpcStatus: '0', flags: '-' }, ms: 12.25, inBytes: 10, outBytes: 10 },
  ];
  for (const o of observations) {
    metrics.observe({ labels: o.input, durationMs: o.ms, requestBytes: o.inBytes, responseBytes: o.outBytes });
    const labels = httpLabels(o.input);
    requests.inc(labels);
    duration.observe(labels, o.ms);
    requestBytes.observe(labels, o.inBytes);
    responseBytes.observe(labels, o.outBytes);
  }
  const ours = await metrics.registry.metrics();
  const theirs = await reference.metrics();
  const http = (text: string) => text.split('\n\n').filter((block) => !block.includes('istio_tcp_')).join('\n\n').trim();
  t.equal(http(ours), http(theirs));
  t.match(ours, /istio_requests_total\{reporter="waypoint",[^}]*response_code="200"[^}]*\} 2/);

  metrics.registry.resetMetrics();
  t.notMatch(await metrics.registry.metrics(), /istio_requests_total\{/, 'resetMetrics clears the request series');
});
