// Rewrites and header manipulation, per request: the new path and authority, and header operations on a header map.
import type { OutgoingHttpHeaders } from 'node:http';
import type { HeaderOps, RewriteConfig } from './config';

/** The rewritten path (query kept) for a request whose route matched `matchedPrefix` of `path`. */
export function rewritePath(config: RewriteConfig, path: string, query: string, matchedPrefix: string): string {
  let next = path;
  if (config.fullPath !== undefined) next = config.fullPath;
  else if (config.regex) next = path.replace(config.regex.pattern, config.regex.replacement);
  else if (config.prefix !== undefined) {
    const rest = path.slice(matchedPrefix.length);
    next = config.gatewaySemantics && config.prefix === '/' ? `/${rest.replace(/^\/+/, '')}` : `${config.prefix}${rest}`;
    if (config.gatewaySemantics && config.prefix !== '/' && config.prefix.endsWith('/') && rest.startsWith('/')) next = `${config.prefix}${rest.slice(1)}`;
  }
  if (next === '') next = '/';
  return query === '' ? next : `${next}?${query}`;
}

/** Applies remove, then set, then add (Envoy's order for a route's header operations) to `headers` in place. */
export function applyHeaderOps(headers: OutgoingHttpHeaders, ops: HeaderOps | undefined): void {
  if (ops === undefined) return;
  for (const name of ops.remove) delete headers[name];
  for (const [name, value] of ops.set) headers[name] = value;
  for (const [name, value] of ops.add) {
    const current = headers[name];
    if (current === undefined) headers[name] = value;
    else headers[name] = [...(Array.isArray(current) ? current : [String(current)]), value];
  }
}
