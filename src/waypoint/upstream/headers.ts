// Header hygiene at the proxy's two edges: hop-by-hop and pseudo headers never cross it, and HTTP/2 gets only what it allows.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Connection-specific headers (RFC 9110 7.6.1) plus the ones HTTP/2 forbids. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization', 'http2-settings', 'host']);

const CLOSE_ONLY: ReadonlySet<string> = new Set(['close']);

/** Header names a Connection header lists (which are hop-by-hop too); undefined when it lists none. */
function connectionNamed(connection: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (connection === undefined) return undefined;
  const value = String(connection).toLowerCase();
  // The usual values: no set to build per request.
  if (value === 'keep-alive') return undefined;
  if (value === 'close') return CLOSE_ONLY;
  const named = new Set(value.split(',').map((h) => h.trim()).filter(Boolean));
  return named.size > 0 ? named : undefined;
}

/** Request headers to forward: no pseudo or hop-by-hop headers (plus any the Connection header names); `te: trailers` kept for gRPC. */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionNamed(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  const te = headers.te;
  if (typeof te === 'string' && te.toLowerCase().split(',').some((v) => v.trim() === 'trailers')) out.te = 'trailers';
  return out;
}

/** Response headers to pass back: no pseudo or hop-by-hop headers. */
export function forwardableResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionNamed(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */ || (HOP_BY_HOP.has(name) && name !== 'host') || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Rough header size in bytes (names, values, ": " and CRLF), for istio_request_bytes / istio_response_bytes. */
export function headerBytes(headers: IncomingHttpHeaders | OutgoingHttpHeaders): number {
  let n = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) n += name.length + String(v).length + 4;
    else n += name.length + String(value).length + 4;
  }
  return n;
}

/**
 * Request headers for an HTTP/1.1 Upgrade sent upstream: the filtered headers (`forwarded`, after route header
 * operations) plus `Connection: Upgrade` and the client's `Upgrade` value, which are hop-by-hop and dropped for
 * every other request. The client's transfer-encoding stays too: its bytes after the head are relayed unchanged.
 */
export function upgradeRequestHeaders(client: IncomingHttpHeaders, forwarded: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...forwarded, connection: 'Upgrade' };
  if (client.upgrade !== undefined) out.upgrade = client.upgrade;
  if (client['transfer-encoding'] !== undefined) out['transfer-encoding'] = client['transfer-encoding'];
  return out;
}

/** Headers of an upstream 101 for the client: the usual response hygiene, then `Connection: Upgrade` and the agreed `Upgrade`. */
export function switchingProtocolsHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = forwardableResponseHeaders(upstream);
  out.connection = 'Upgrade';
  if (upstream.upgrade !== undefined) out.upgrade = upstream.upgrade;
  return out;
}
