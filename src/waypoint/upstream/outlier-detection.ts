// Outlier detection per cluster (Envoy's consecutive-5xx and consecutive-gateway-error ejection): ejected endpoints sit out base ejection time x ejections, then return.
import type { OutlierDetectionDoc } from '../config/types';

interface EndpointHealth {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Epoch ms until which the endpoint is ejected; 0 when not ejected. */
  ejectedUntil: number;
  /** Ejections in a row, the multiplier of the base ejection time; decays by one per healthy interval. */
  ejections: number;
  lastChange: number;
}

/** How one try ended for outlier purposes: an HTTP status, or a local failure (connect failure, reset, timeout) counted as 503. */
export type OutlierResult = { readonly status: number } | { readonly localFailure: true };

export interface EjectionEvent {
  readonly endpoint: string;
  readonly until: number;
  readonly reason: 'consecutive_5xx' | 'consecutive_gateway_failure';
}

export class OutlierDetector {
  private readonly health = new Map<string, EndpointHealth>();

  constructor(private config: OutlierDetectionDoc | undefined) {}

  update(config: OutlierDetectionDoc | undefined, liveEndpoints: readonly string[]): void {
    this.config = config;
    const live = new Set(liveEndpoints);
    for (const key of this.health.keys()) if (!live.has(key)) this.health.delete(key);
  }

  get enabled(): boolean {
    return this.config !== undefined;
  }

  isEjected(endpoint: string, now: number): boolean {
    const h = this.health.get(endpoint);
    if (h === undefined || h.ejectedUntil === 0) return false;
    if (now < h.ejectedUntil) return true;
    h.ejectedUntil = 0;
    h.lastChange = now;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    return false;
  }

  ejectedCount(now: number): number {
    let n = 0;
    for (const key of this.health.keys()) if (this.isEjected(key, now)) n += 1;
    return n;
  }

  /** Records a try's result; returns the ejection it caused, if any. `hosts` is the cluster's endpoint count. */
  report(endpoint: string, result: OutlierResult, hosts: number, now: number): EjectionEvent | undefined {
    const config = this.config;
    if (config === undefined) return undefined;
    let h = this.health.get(endpoint);
    if (h === undefined) {
      h = { consecutive5xx: 0, consecutiveGateway: 0, ejectedUntil: 0, ejections: 0, lastChange: now };
      this.health.set(endpoint, h);
    }
    const status = 'status' in result ? result.status : 503;
    if (status < 500) {
      h.consecutive5xx = 0;
      h.consecutiveGateway = 0;
      return undefined;
    }
    h.consecutive5xx += 1;
    if (status === 502 || status === 503 || status === 504) h.consecutiveGateway += 1;
    else h.consecutiveGateway = 0;
    if (this.isEjected(endpoint, now)) return undefined;
    let reason: EjectionEvent['reason'] | undefined;
    if (config.consecutive5xxErrors > 0 && h.consecutive5xx >= config.consecutive5xxErrors) reason = 'consecutive_5xx';
    else if (config.consecutiveGatewayErrors > 0 && h.consecutiveGateway >= config.consecutiveGatewayErrors) reason = 'consecutive_gateway_failure';
    if (reason === undefined) return undefined;
    // Envoy ejects only while the ejected share stays within max_ejection_percent.
    const share = (100 * (this.ejectedCount(now) + 1)) / Math.max(1, hosts);
    if (share > config.maxEjectionPercent) return undefined;
    const healthyIntervals = Math.floor((now - h.lastChange) / config.intervalMs);
    h.ejections = Math.max(0, h.ejections - healthyIntervals) + 1;
    h.ejectedUntil = now + config.baseEjectionTimeMs * h.ejections;
    h.lastChange = now;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    return { endpoint, until: h.ejectedUntil, reason };
  }

  /** Below minHealthPercent usable endpoints, Istio's panic threshold ignores ejections. */
  panics(usable: number, hosts: number): boolean {
    const min = this.config?.minHealthPercent ?? 0;
    return min > 0 && hosts > 0 && (100 * usable) / hosts < min;
  }
}
