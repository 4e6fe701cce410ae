// Picks the route for a request and the destination within it: the pure decisions of the router, table-tested without sockets.
import { matchedPrefix, type CompiledMatch } from './match';
import type { RequestFacts } from './request-facts';
import type { CompiledDestination, CompiledRoute, ServiceEntry } from './table';

export interface RouteSelection {
  readonly route: CompiledRoute;
  /** The match that fired, or undefined for a route without matches. */
  readonly match?: CompiledMatch;
  /** The path prefix that match consumed (prefix rewrites and redirects replace it). */
  readonly matchedPrefix: string;
}

/** A service without routes sends everything to itself on the port the request came in on. */
export function defaultRoute(service: ServiceEntry): CompiledRoute {
  return {
    name: 'default',
    source: '',
    gatewaySemantics: false,
    matches: [],
    destinations: [{ host: service.doc.hostname, weight: 1 }],
    totalWeight: 1,
    mirrors: [],
  };
}

/**
 * The first route whose matches accept the request on `port`, in order; routes of a service that has some, but none
 * match answer 404 (Envoy's "no route", NR), reported here as undefined.
 */
export function selectRoute(service: ServiceEntry, facts: RequestFacts, port: number): RouteSelection | undefined {
  if (service.routes.length === 0) return { route: defaultRoute(service), matchedPrefix: '/' };
  for (const route of service.routes) {
    if (route.matches.length === 0) return { route, matchedPrefix: '/' };
    for (const match of route.matches) {
      if (match.test(facts, port)) return { route, match, matchedPrefix: matchedPrefix(match.doc.uri, facts.path) };
    }
  }
  return undefined;
}

/** A weighted pick among destinations with weight > 0; `random` returns [0, 1). */
export function pickDestination(route: CompiledRoute, random: () => number = Math.random): CompiledDestination | undefined {
  if (route.destinations.length === 1) return route.destinations[0];
  if (route.totalWeight <= 0) return undefined;
  let point = random() * route.totalWeight;
  for (const destination of route.destinations) {
    if (destination.weight <= 0) continue;
    point -= destination.weight;
    if (point < 0) return destination;
  }
  return route.destinations.filter((d) => d.weight > 0).at(-1);
}

/**
 * The service port a destination means: its own port, else the port the request arrived on when the host has it,
 * else the host's only port. Undefined when none fits (the request then fails like an unknown cluster).
 */
export function destinationPort(destination: { readonly port?: number }, service: ServiceEntry | undefined, requestPort: number): number | undefined {
  if (destination.port !== undefined) return destination.port;
  if (service === undefined) return undefined;
  if (service.ports.has(requestPort)) return requestPort;
  return service.ports.size === 1 ? [...service.ports.keys()][0] : undefined;
}
