// Load balancing over a cluster's usable endpoints: round robin, least request (power of two choices), random, and a consistent-hash ring.
import type { LoadBalancerDoc } from '../config/types';
import type { EndpointSpec } from '../routing/table';

/** What a pick may use besides the candidates: a hash key (consistent hash) and live request counts (least request). */
export interface PickContext {
  readonly hashKey?: string;
  activeRequests(endpointKey: string): number;
  readonly random: () => number;
}

export interface LoadBalancer {
  /** Picks among `candidates` (usable endpoints, never empty); `all` is every endpoint of the cluster. */
  pick(candidates: readonly EndpointSpec[], all: readonly EndpointSpec[], context: PickContext): EndpointSpec;
}

/** 32-bit FNV-1a: stable across processes, cheap, and good enough to spread ring points. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // A final avalanche so nearby inputs ("a_1", "a_2") land far apart on the ring.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}

class RoundRobin implements LoadBalancer {
  private next = 0;
  pick(candidates: readonly EndpointSpec[]): EndpointSpec {
    const chosen = candidates[this.next % candidates.length];
    this.next = (this.next + 1) % 1_000_000_007;
    return chosen;
  }
}

class RandomPick implements LoadBalancer {
  pick(candidates: readonly EndpointSpec[], _all: readonly EndpointSpec[], context: PickContext): EndpointSpec {
    return candidates[Math.floor(context.random() * candidates.length)];
  }
}

/** Envoy's LEAST_REQUEST: two random candidates, the one with fewer active requests wins. */
class LeastRequest implements LoadBalancer {
  pick(candidates: readonly EndpointSpec[], _all: readonly EndpointSpec[], context: PickContext): EndpointSpec {
    if (candidates.length === 1) return candidates[0];
    const a = candidates[Math.floor(context.random() * candidates.length)];
    let b = candidates[Math.floor(context.random() * candidates.length)];
    if (b === a) b = candidates[(candidates.indexOf(a) + 1) % candidates.length];
    return context.activeRequests(b.key) < context.activeRequests(a.key) ? b : a;
  }
}

/** Envoy's ring hash: each endpoint owns many points; a key goes to the first point clockwise whose endpoint is usable. */
class RingHash implements LoadBalancer {
  private ring: { readonly point: number; readonly key: string }[] = [];
  private builtFor = '';

  constructor(private readonly minimumRingSize: number) {}

  pick(candidates: readonly EndpointSpec[], all: readonly EndpointSpec[], context: PickContext): EndpointSpec {
    if (context.hashKey === undefined) return candidates[Math.floor(context.random() * candidates.length)];
    this.build(all);
    const usable = new Map(candidates.map((e) => [e.key, e]));
    const hash = fnv1a(context.hashKey);
    let low = 0;
    let high = this.ring.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ring[mid].point < hash) low = mid + 1;
      else high = mid;
    }
    for (let i = 0; i < this.ring.length; i++) {
      const endpoint = usable.get(this.ring[(low + i) % this.ring.length].key);
      if (endpoint) return endpoint;
    }
    return candidates[0];
  }

  private build(all: readonly EndpointSpec[]): void {
    const signature = all.map((e) => e.key).join(',');
    if (signature === this.builtFor) return;
    const perEndpoint = Math.max(1, Math.ceil(this.minimumRingSize / Math.max(1, all.length)));
    const ring: { point: number; key: string }[] = [];
    for (const endpoint of all) for (let i = 0; i < perEndpoint; i++) ring.push({ point: fnv1a(`${endpoint.key}_${i}`), key: endpoint.key });
    ring.sort((a, b) => a.point - b.point);
    this.ring = ring;
    this.builtFor = signature;
  }
}

/** The balancer a DestinationRule asks for; ROUND_ROBIN when it says nothing. */
export function createLoadBalancer(doc: LoadBalancerDoc | undefined): LoadBalancer {
  if (doc === undefined) return new RoundRobin();
  if ('consistentHash' in doc) return new RingHash(doc.consistentHash.minimumRingSize ?? 1024);
  if (doc.simple === 'LEAST_REQUEST') return new LeastRequest();
  if (doc.simple === 'RANDOM') return new RandomPick();
  return new RoundRobin();
}
