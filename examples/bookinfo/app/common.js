'use strict';
// Shared plumbing for the bookinfo sample services: who am I, a JSON HTTP
// client with a hard deadline and header forwarding, and a small server
// wrapper that logs each request and stops cleanly on SIGTERM/SIGINT.
// Plain Node.js (node:http only) so that a pod needs nothing but `node`.

const http = require('node:http');
const os = require('node:os');

const DEFAULT_TIMEOUT_MS = 2500;

// The headers Istio's bookinfo propagates from the inbound request to every
// downstream call: tracing context plus `end-user`, which routing rules match.
const FORWARDED_HEADERS = Object.freeze([
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'end-user',
  'user-agent',
]);

/** The identity of this server, included in every JSON response. */
function serverInfo(version) {
  return {
    pod: process.env.POD_NAME || os.hostname(),
    namespace: process.env.POD_NAMESPACE || 'default',
    node: process.env.NODE_NAME || os.hostname(),
    ip: process.env.POD_IP || '',
    version: version || process.env.SERVICE_VERSION || 'v1',
  };
}

/** The subset of inbound headers to pass on to downstream services. */
function forwardedHeaders(incoming) {
  const out = {};
  for (const name of FORWARDED_HEADERS) {
    const value = incoming[name];
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

/** Base URL of a service, overridable by env (tests point these at loopback). */
function serviceUrl(envName, serviceName) {
  const fromEnv = process.env[envName];
  const base = fromEnv && fromEnv !== '' ? fromEnv : `http://${serviceName}:9080`;
  return base.replace(/\/+$/, '');
}

/**
 * GET a JSON document. Never rejects: resolves to
 * { ok: true, status, body } for a 2xx JSON answer, otherwise
 * { ok: false, status?, error } so callers can render a degraded page.
 * The deadline covers connect, headers and body together.
 */
function fetchJson(url, headers, timeoutMs) {
  const deadline = timeoutMs || DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let timer;
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let req;
    try {
      // agent: false gives every call its own connection, so a pod enrolled
      // in the mesh while running sends its next call through the ztunnel
      // instead of reusing a pooled connection opened before capture began.
      req = http.get(url, { agent: false, headers: { accept: 'application/json', ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', (err) => finish({ ok: false, status: res.statusCode, error: err.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode || 0;
          let body;
          try {
            body = JSON.parse(text);
          } catch {
            finish({ ok: false, status, error: `HTTP ${status}: ${text.slice(0, 200).trim() || 'non-JSON body'}` });
            return;
          }
          if (status < 200 || status > 299) {
            const detail = body && typeof body.error === 'string' ? body.error : text.slice(0, 200);
            finish({ ok: false, status, body, error: `HTTP ${status}: ${detail}` });
            return;
          }
          finish({ ok: true, status, body });
        });
      });
    } catch (err) {
      resolve({ ok: false, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    timer = setTimeout(() => {
      finish({ ok: false, error: `timed out after ${deadline} ms` });
      req.destroy();
    }, deadline);
    req.on('error', (err) => finish({ ok: false, error: err.message }));
  });
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

/**
 * Start an HTTP server for one service. `handler(req, res, url)` may be async;
 * `/health` is answered here. Listens on HOST (default 0.0.0.0) and PORT
 * (default 9080; 0 picks a free port, printed in the "listening" line).
 */
function serve(name, version, handler) {
  const info = serverInfo(version);
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      process.stdout.write(`${new Date().toISOString()} ${name} ${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms\n`);
    });
    const url = new URL(req.url || '/', 'http://localhost');
    if (url.pathname === '/health') {
      sendJson(res, 200, { status: `${name} is healthy`, ...info });
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err) => {
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) sendJson(res, 500, { error: message, ...info });
        else res.destroy();
      });
  });
  // Keep-alive sockets from clients must not hold shutdown open.
  server.keepAliveTimeout = 5000;

  const host = process.env.HOST || '0.0.0.0';
  const port = process.env.PORT === undefined || process.env.PORT === '' ? 9080 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`${name}: PORT must be an integer 0-65535, got "${process.env.PORT}"\n`);
    process.exit(2);
  }
  server.on('error', (err) => {
    process.stderr.write(`${name}: cannot listen on ${host}:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const addr = server.address();
    const actual = addr && typeof addr === 'object' ? addr.port : port;
    process.stdout.write(`${name} ${info.version} listening on ${host}:${actual} (pod ${info.pod}, node ${info.node})\n`);
  });

  const stop = (signal) => {
    process.stdout.write(`${name}: ${signal}, shutting down\n`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    // Requests still waiting on a slow backend must not delay the exit.
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return { server, info };
}

/** Parses "/<prefix>/<id>" paths; returns the numeric id or null. */
function productId(pathname, prefix) {
  const match = new RegExp(`^/${prefix}/(\\d+)/?$`).exec(pathname);
  return match ? Number(match[1]) : null;
}

module.exports = {
  DEFAULT_TIMEOUT_MS,
  FORWARDED_HEADERS,
  serverInfo,
  forwardedHeaders,
  serviceUrl,
  fetchJson,
  sendJson,
  sendHtml,
  serve,
  productId,
};
