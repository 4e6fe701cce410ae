// Live per-cluster state that outlives config pushes: the load balancer, circuit breaker counters and outlier ejections.
import type { WorkloadDoc } from '../config/types';
import type { ClusterSpec, EndpointSpec, RoutingTable } from '../routing/table';
import { CircuitBreaker, circuitLimits } from './circuit-breaker';
import { createLoadBalancer, type LoadBalancer } from './load-balancer';
import { OutlierDetector, type EjectionEvent, type OutlierResult } from './outlier-detection';

export interface PickOptions {
  readonly hashKey?: string;
  /** Endpoints already tried by this request (Envoy's previous-hosts retry predicate avoids them when it can). */
  readonly exclude?: ReadonlySet<string>;
  readonly now?: number;
  readonly random?: () => number;
}

export class ClusterRuntime {
  readonly breaker: CircuitBreaker;
  readonly outliers: OutlierDetector;
  private balancer: LoadBalancer;
  private balancerSignature: string;
  private readonly active = new Map<string, number>();
  /** The spec's healthy endpoints, kept per spec rather than filtered for every request. */
  private healthy: readonly EndpointSpec[];
  private readonly activeRequests = (key: string): number => this.active.get(key) ?? 0;

  constructor(private current: ClusterSpec) {
    this.healthy = current.endpoints.filter((e) => e.healthy);
    this.breaker = new CircuitBreaker(current.key, circuitLimits(current.policy.connectionPool));
    this.outliers = new OutlierDetector(current.policy.outlierDetection);
    this.balancer = createLoadBalancer(current.policy.loadBalancer);
    this.balancerSignature = JSON.stringify(current.policy.loadBalancer ?? null);
  }

  get spec(): ClusterSpec {
    return this.current;
  }

  /** Takes a new push's spec for the same cluster: limits and policies change, counters and ejections stay. */
  update(spec: ClusterSpec): void {
    this.current = spec;
    this.healthy = spec.endpoints.filter((e) => e.healthy);
    this.breaker.update(circuitLimits(spec.policy.connectionPool));
    this.outliers.update(spec.policy.outlierDetection, spec.endpoints.map((e) => e.key));
    const signature = JSON.stringify(spec.policy.loadBalancer ?? null);
    if (signature !== this.balancerSignature) {
      this.balancer = createLoadBalancer(spec.policy.loadBalancer);
      this.balancerSignature = signature;
    }
  }

  /**
   * An endpoint for one try: healthy ones, minus ejected ones (unless below minHealthPercent), preferring ones this
   * request has not tried yet. Undefined when none is usable (Envoy's "no healthy upstream").
   */
  pick(options: PickOptions = {}): EndpointSpec | undefined {
    const now = options.now ?? Date.now();
    const healthy = this.healthy;
    if (healthy.length === 0) return undefined;
    let usable = healthy.some((e) => this.outliers.isEjected(e.key, now)) ? healthy.filter((e) => !this.outliers.isEjected(e.key, now)) : healthy;
    if (this.outliers.panics(usable.length, healthy.length)) usable = healthy;
    if (usable.length === 0) return undefined;
    const exclude = options.exclude;
    if (exclude !== undefined && exclude.size > 0) {
      const fresh = usable.filter((e) => !exclude.has(e.key));
      if (fresh.length > 0) usable = fresh;
    }
    return this.balancer.pick(usable, healthy, {
      ...(options.hashKey !== undefined ? { hashKey: options.hashKey } : {}),
      activeRequests: this.activeRequests,
      random: options.random ?? Math.random,
    });
  }

  /** Counts a try in flight to `endpoint` (least-request balancing); call the returned function when it ends. */
  begin(endpoint: string): () => void {
    this.active.set(endpoint, (this.active.get(endpoint) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.active.get(endpoint) ?? 1) - 1;
      if (n <= 0) this.active.delete(endpoint);
      else this.active.set(endpoint, n);
    };
  }

  report(endpoint: string, result: OutlierResult, now = Date.now()): EjectionEvent | undefined {
    return this.outliers.report(endpoint, result, this.healthy.length, now);
  }
}

/** Owns every ClusterRuntime; a push updates the ones that remain and forgets the rest. */
export class ClusterManager {
  private readonly runtimes = new Map<string, ClusterRuntime>();

  apply(table: RoutingTable): void {
    for (const [key, spec] of table.clusters) {
      const runtime = this.runtimes.get(key);
      if (runtime) runtime.update(spec);
    }
    for (const key of [...this.runtimes.keys()]) {
      if (!table.clusters.has(key)) this.runtimes.delete(key);
    }
  }

  /** The runtime for a cluster, made on first use. */
  runtime(spec: ClusterSpec): ClusterRuntime {
    let runtime = this.runtimes.get(spec.key);
    if (runtime === undefined) {
      runtime = new ClusterRuntime(spec);
      this.runtimes.set(spec.key, runtime);
    }
    return runtime;
  }

  /** Traffic to a directly served workload goes to that pod on the port it asked for (Istio's passthrough "encap" cluster). */
  passthrough(table: RoutingTable, workload: WorkloadDoc, ip: string, port: number): ClusterRuntime {
    const key = `passthrough|${ip}:${port}`;
    const endpoint: EndpointSpec = { key: `${ip}:${port}`, ip, port, identity: workload.identity, healthy: true, workload };
    const service = { doc: { hostname: workload.name, namespace: workload.namespace, name: workload.name, vips: [], ports: [], endpoints: [], routes: [] }, served: false, ports: new Map(), routes: [], policies: table.gatewayPolicies };
    const spec: ClusterSpec = { key, service, port, appProtocol: 'UNKNOWN', endpoints: [endpoint], policy: {} };
    return this.runtime(spec);
  }

  list(): ClusterRuntime[] {
    return [...this.runtimes.values()];
  }
}
