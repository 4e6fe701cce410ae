// What route matching and authorization look at in one request, gathered once so the pure deciders need no I/O.
import type { WorkloadDoc } from '../config/types';

/** The calling workload as the waypoint knows it: proven identity from mTLS, address from the tunnel, labels from config. */
export interface SourceFacts {
  readonly ip: string;
  /** spiffe://td/ns/x/sa/y of the HBONE client. */
  readonly identity: string;
  /** The identity without "spiffe://", as AuthorizationPolicy principals are written. */
  readonly principal: string;
  readonly namespace: string;
  /** "ns/sa". */
  readonly serviceAccount: string;
  /** The workload behind the source address, when the config knows it. */
  readonly workload?: WorkloadDoc;
}

export interface RequestFacts {
  readonly method: string;
  /** Normalized path without the query. */
  readonly path: string;
  /** Raw query string without "?" ("" when none). */
  readonly query: string;
  /** Host header or :authority, as sent. */
  readonly authority: string;
  readonly scheme: string;
  /** Lower-case header name to its value (repeated headers joined with ","). */
  header(name: string): string | undefined;
  /** First value of a query parameter, or undefined. */
  queryParam(name: string): string | undefined;
  readonly source: SourceFacts;
  /** The original destination from the tunnel's :authority. */
  readonly destinationIp: string;
  readonly destinationPort: number;
}

/** Facts from a parsed request; `headers` as Node gives them (lower-case keys). */
export function requestFacts(input: {
  method: string;
  target: string;
  authority: string;
  scheme?: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  source: SourceFacts;
  destinationIp: string;
  destinationPort: number;
}): RequestFacts {
  const q = input.target.indexOf('?');
  const rawPath = q < 0 ? input.target : input.target.slice(0, q);
  const query = q < 0 ? '' : input.target.slice(q + 1);
  let params: URLSearchParams | undefined;
  return {
    method: input.method,
    path: normalizePath(rawPath),
    query,
    authority: input.authority,
    scheme: input.scheme ?? 'http',
    header(name) {
      const value = input.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    },
    queryParam(name) {
      params ??= new URLSearchParams(query);
      return params.get(name) ?? undefined;
    },
    source: input.source,
    destinationIp: input.destinationIp,
    destinationPort: input.destinationPort,
  };
}

/**
 * RFC 3986 path normalization as Envoy applies it before routing and RBAC (`normalize_path`): dot segments resolved,
 * percent-encoding of unreserved characters decoded. "/a/../admin" is judged (and forwarded) as "/admin".
 */
export function normalizePath(path: string): string {
  if (path === '' || path === '*') return path === '' ? '/' : path;
  if (!path.includes('.') && !path.includes('%')) return path.startsWith('/') ? path : `/${path}`;
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : escape.toUpperCase();
  });
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '.') {
      if (i === segments.length - 1) out.push('');
      continue;
    }
    if (segment === '..') {
      if (out.length > 1) out.pop();
      if (i === segments.length - 1) out.push('');
      continue;
    }
    out.push(segment);
  }
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}
