// Header hygiene at the proxy's two edges: hop-by-hop and pseudo headers never cross it, and HTTP/2 gets only what it allows.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Connection-specific headers (RFC 9110 7.6.1) plus the ones HTTP/2 forbids. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization', 'http2-settings', 'host']);

/** Request headers to forward: no pseudo or hop-by-hop headers (plus any the Connection header names); `te: trailers` kept for gRPC. */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  const te = headers.te;
  if (typeof te === 'string' && te.toLowerCase().split(',').some((v) => v.trim() === 'trailers')) out.te = 'trailers';
  return out;
}

/** Response headers to pass back: no pseudo or hop-by-hop headers. */
export function forwardableResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || (HOP_BY_HOP.has(name) && name !== 'host') || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Rough header size in bytes (names, values, ": " and CRLF), for istio_request_bytes / istio_response_bytes. */
export function headerBytes(headers: IncomingHttpHeaders | OutgoingHttpHeaders): number {
  let n = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) n += name.length + String(v).length + 4;
  }
  return n;
}
