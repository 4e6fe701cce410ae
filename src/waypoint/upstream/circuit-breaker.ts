// Circuit breaking per cluster (Envoy's thresholds from DestinationRule connectionPool): overflow is answered at once with 503 and x-envoy-overloaded.
import type { ConnectionPoolDoc } from '../config/types';
import type { AbortLike } from '../pipeline/request-abort';

const UNLIMITED = 2 ** 32 - 1;

export interface CircuitLimits {
  /** HTTP/1.1 connections in use across the cluster (each carries one request at a time). */
  readonly maxConnections: number;
  /** Requests waiting for a connection. */
  readonly maxPending: number;
  /** Requests in flight, any protocol (Istio's http2MaxRequests). */
  readonly maxRequests: number;
  /** Retries in flight. */
  readonly maxRetries: number;
}

export function circuitLimits(pool: ConnectionPoolDoc | undefined): CircuitLimits {
  return {
    maxConnections: pool?.maxConnections ?? UNLIMITED,
    maxPending: pool?.http1MaxPendingRequests ?? UNLIMITED,
    maxRequests: pool?.http2MaxRequests ?? UNLIMITED,
    maxRetries: pool?.maxRetries ?? UNLIMITED,
  };
}

/** A granted request: release it exactly once when the try ends. */
export interface Admission {
  release(): void;
}

export class CircuitOverflow extends Error {
  readonly code = 'CIRCUIT_OVERFLOW' as const;
  constructor(readonly cluster: string, readonly limit: 'maxRequests' | 'maxPending' | 'maxRetries') {
    super(`${cluster} is at its ${limit} limit`);
    this.name = 'CircuitOverflow';
  }
}

interface Waiter {
  readonly grant: () => void;
  readonly abort: (error: Error) => void;
}

export class CircuitBreaker {
  private requests = 0;
  private connections = 0;
  private retries = 0;
  private readonly pending: Waiter[] = [];

  constructor(
    readonly cluster: string,
    private limits: CircuitLimits,
  ) {}

  update(limits: CircuitLimits): void {
    this.limits = limits;
    this.drain();
  }

  get activeRequests(): number {
    return this.requests;
  }

  get pendingRequests(): number {
    return this.pending.length;
  }

  /**
   * Admits one try. HTTP/1.1 tries also take a connection slot, waiting (as a pending request) when all are busy.
   * Rejects with CircuitOverflow when a limit is full, or with `signal`'s reason when the caller gives up.
   */
  admit(http1: boolean, signal?: AbortLike): Promise<Admission> {
    if (this.requests >= this.limits.maxRequests) return Promise.reject(new CircuitOverflow(this.cluster, 'maxRequests'));
    this.requests += 1;
    let released = false;
    const release = (holdsConnection: boolean) => (): void => {
      if (released) return;
      released = true;
      this.requests -= 1;
      if (holdsConnection) {
        this.connections -= 1;
        this.drain();
      }
    };
    if (!http1) return Promise.resolve({ release: release(false) });
    if (this.connections < this.limits.maxConnections) {
      this.connections += 1;
      return Promise.resolve({ release: release(true) });
    }
    if (this.pending.length >= this.limits.maxPending) {
      this.requests -= 1;
      return Promise.reject(new CircuitOverflow(this.cluster, 'maxPending'));
    }
    return new Promise<Admission>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.connections += 1;
          resolve({ release: release(true) });
        },
        abort: (error) => {
          this.requests -= 1;
          reject(error);
        },
      };
      const onAbort = (): void => {
        const index = this.pending.indexOf(waiter);
        if (index >= 0) this.pending.splice(index, 1);
        waiter.abort(signal?.reason instanceof Error ? signal.reason : new Error('the request was abandoned while pending'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push(waiter);
    });
  }

  /** Takes a retry slot, or returns false when the retry budget is exhausted. */
  startRetry(): boolean {
    if (this.retries >= this.limits.maxRetries) return false;
    this.retries += 1;
    return true;
  }

  endRetry(): void {
    this.retries = Math.max(0, this.retries - 1);
  }

  private drain(): void {
    while (this.pending.length > 0 && this.connections < this.limits.maxConnections) this.pending.shift()!.grant();
  }
}
