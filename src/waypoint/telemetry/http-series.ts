// The waypoint's four HTTP metrics kept as one cell per label set, found per request by a cheap key, and shown to a prom-client Registry as ordinary counter/histogram metrics.
import type { Registry } from 'prom-client';
import type { ServiceDoc, WorkloadDoc } from '../config/types';
import { httpLabels, type LabelInput } from './labels';
import type { HttpLabels } from './request-metrics';

/*
 * Why not prom-client's Counter/Histogram: each inc/observe hashes and validates all 25 Istio labels, and a
 * request updates four metrics, so a request paid for building the label object and four hashes (a tenth of the
 * waypoint's CPU under load). Here a request finds its cell once and bumps plain numbers; the label object is built
 * only for a label set not seen before. Scrapes render the same text prom-client would.
 */

/** One label set's counts for all four request metrics. */
export class HttpSeries {
  requests = 0;
  readonly duration: HistogramCell;
  readonly requestBytes: HistogramCell;
  readonly responseBytes: HistogramCell;

  constructor(
    readonly labels: HttpLabels,
    durationBuckets: readonly number[],
    sizeBuckets: readonly number[],
  ) {
    this.duration = new HistogramCell(durationBuckets);
    this.requestBytes = new HistogramCell(sizeBuckets);
    this.responseBytes = new HistogramCell(sizeBuckets);
  }
}

/** Non-cumulative bucket counts (the last slot is +Inf only), sum and count; rendered cumulative like Prometheus wants. */
export class HistogramCell {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i] += 1;
    this.sum += value;
    this.count += 1;
  }
}

/** A cached lookup: the objects the labels were built from, so a config push that replaced them rebuilds the labels. */
interface CachedLookup {
  readonly source: WorkloadDoc | undefined;
  readonly service: Pick<ServiceDoc, 'hostname' | 'namespace' | 'name'> | undefined;
  readonly destination: WorkloadDoc | undefined;
  readonly series: HttpSeries;
}

/** Above this many distinct lookup keys the cache starts over (the series themselves are kept). */
const MAX_CACHED_LOOKUPS = 10_000;

export class HttpSeriesStore {
  private readonly series = new Map<string, HttpSeries>();
  private readonly lookups = new Map<string, CachedLookup>();

  constructor(
    private readonly durationBuckets: readonly number[],
    private readonly sizeBuckets: readonly number[],
  ) {}

  /** The cell for a request's label set; builds the labels only for a combination not seen with these objects. */
  seriesFor(input: LabelInput): HttpSeries {
    const key = lookupKey(input);
    const cached = this.lookups.get(key);
    if (cached !== undefined && cached.source === input.source && cached.service === input.service && cached.destination === input.destination) return cached.series;
    const labels = httpLabels(input);
    const seriesKey = seriesKeyOf(labels);
    let series = this.series.get(seriesKey);
    if (series === undefined) {
      series = new HttpSeries(labels, this.durationBuckets, this.sizeBuckets);
      this.series.set(seriesKey, series);
    }
    if (this.lookups.size >= MAX_CACHED_LOOKUPS) this.lookups.clear();
    this.lookups.set(key, { source: input.source, service: input.service, destination: input.destination, series });
    return series;
  }

  all(): IterableIterator<HttpSeries> {
    return this.series.values();
  }

  reset(): void {
    this.series.clear();
    this.lookups.clear();
  }
}

/** What makes labels differ, as one string: identities and names, not whole documents (those are checked by reference). */
function lookupKey(input: LabelInput): string {
  return `${input.responseCode}\u0001${input.flags}\u0001${input.grpcStatus ?? '\u0002'}\u0001${input.sourceIdentity}\u0001${input.source?.uid ?? ''}\u0001${input.service?.hostname ?? ''}\u0001${input.destination?.uid ?? ''}`;
}

/** httpLabels() always builds its keys in the same order, so the values alone identify a label set. */
function seriesKeyOf(labels: HttpLabels): string {
  let key = '';
  for (const value of Object.values(labels)) key += `${value}\u0001`;
  return key;
}

/** The value shape prom-client's Registry renders (what its own metrics' get() return). */
interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string>;
  readonly metricName?: string;
}

interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: MetricValue[];
  readonly aggregator: 'sum';
}

/** A read-only view of one metric over the store, registered like a prom-client metric. */
abstract class SeriesMetric {
  readonly aggregator = 'sum' as const;
  abstract readonly type: 'counter' | 'histogram';

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly store: HttpSeriesStore,
  ) {}

  register(registry: Registry): void {
    // The Registry only needs name, type, get() and reset(); it renders values the same way for any metric.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  abstract get(): Promise<MetricSnapshot>;

  /** Registry.resetMetrics(): all four views share the store, so any one of them clears it. */
  reset(): void {
    this.store.reset();
  }
}

export class SeriesCounter extends SeriesMetric {
  readonly type = 'counter' as const;

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const series of this.store.all()) values.push({ value: series.requests, labels: series.labels });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class SeriesHistogram extends SeriesMetric {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    store: HttpSeriesStore,
    private readonly cell: (series: HttpSeries) => HistogramCell,
  ) {
    super(name, help, store);
  }

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.store.all()) {
      const cell = this.cell(series);
      let cumulative = 0;
      cell.bounds.forEach((le, i) => {
        cumulative += cell.counts[i];
        values.push({ value: cumulative, labels: { le }, sharedLabels: series.labels, metricName: bucket });
      });
      values.push({ value: cell.count, labels: { le: '+Inf' }, sharedLabels: series.labels, metricName: bucket });
      values.push({ value: cell.sum, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_sum` });
      values.push({ value: cell.count, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
