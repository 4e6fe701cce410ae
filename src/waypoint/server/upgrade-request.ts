// Tells HTTP/1.1 Upgrade requests apart (WebSocket, h2c, anything else) and serves an h2c upgrade as the plain HTTP/1.1 request it also is, as Envoy's codec does.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * What an HTTP/1.1 request asks to upgrade to. `none`: no upgrade (both `Connection: upgrade` and `Upgrade` are
 * needed); `websocket`: proxied (Istio enables Envoy's `upgrade_configs: websocket`); `h2c`: ignored, the request is
 * served as HTTP/1.1; `unsupported` for every other token, refused with 403 as Envoy refuses an unconfigured upgrade type.
 */
export type UpgradeKind = 'none' | 'websocket' | 'h2c' | 'unsupported';

function tokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
}

export function classifyUpgrade(headers: IncomingHttpHeaders): UpgradeKind {
  if (!tokens(headers.connection).includes('upgrade')) return 'none';
  const upgrade = headers.upgrade;
  if (upgrade === undefined || upgrade.trim() === '') return 'none';
  // Envoy compares the whole Upgrade value with the configured type, case-insensitively: "websocket, foo" is not websocket.
  const value = upgrade.trim().toLowerCase();
  if (value === 'websocket') return 'websocket';
  if (value === 'h2c') return 'h2c';
  return 'unsupported';
}

/**
 * The raw header list of an h2c upgrade request without the upgrade: `Upgrade` and `HTTP2-Settings` go, and so do
 * their tokens in `Connection` (which goes when nothing is left). Everything else keeps its order and spelling.
 */
export function withoutH2cUpgrade(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    const lower = name.toLowerCase();
    if (lower === 'upgrade' || lower === 'http2-settings') continue;
    if (lower === 'connection') {
      const kept = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && !['upgrade', 'http2-settings'].includes(token.toLowerCase()));
      if (kept.length > 0) out.push(name, kept.join(', '));
      continue;
    }
    out.push(name, value);
  }
  return out;
}

/** An HTTP/1.x request head in wire form. Names and values come from Node's parser, so they hold no CR or LF. */
export function requestHeadBytes(method: string, url: string, httpVersion: string, rawHeaders: readonly string[]): Buffer {
  let head = `${method} ${url} HTTP/${httpVersion}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/**
 * The 101 head relayed to the client. Values come from the upstream's parsed answer and route header operations; a
 * name or value Node would refuse to send (a CR or LF from config) is left out rather than written.
 */
export function switchingProtocolsHead(headers: OutgoingHttpHeaders): Buffer {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, String(one));
      } catch {
        continue;
      }
      head += `${name}: ${String(one)}\r\n`;
    }
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/**
 * Serves an h2c upgrade request as plain HTTP/1.1 on the same connection. Node hands an upgrade request to the
 * 'upgrade' event with the parser already detached, so the request head (minus the upgrade) and the bytes read past
 * it are put back in front of the stream and the connection is handed to the HTTP server again: its body, and any
 * pipelined requests after it, are parsed as usual.
 */
export function serveWithoutUpgrade(server: http.Server, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const bytes = requestHeadBytes(req.method ?? 'GET', req.url ?? '/', req.httpVersion, withoutH2cUpgrade(req.rawHeaders));
  socket.unshift(head.length > 0 ? Buffer.concat([bytes, head]) : bytes);
  server.emit('connection', socket);
}
