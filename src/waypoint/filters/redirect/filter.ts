// Redirects and direct responses, per request: builds the Location (scheme, authority, port, path, query kept) or the fixed answer.
import { localReply, type LocalReply } from '../local-reply';
import type { ImmediateAnswerConfig } from './config';

export interface RedirectInput {
  readonly scheme: string;
  /** Host header / :authority as received. */
  readonly authority: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: string;
  /** The part of the path the route's match consumed (for prefix replacement). */
  readonly matchedPrefix: string;
  /** The port the request arrived on (the service port). */
  readonly port: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

function splitHost(authority: string): { host: string; port?: string } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(authority);
  return m ? { host: m[1], ...(m[2] ? { port: m[2] } : {}) } : { host: authority };
}

/** The Location a redirect sends the client to, following Envoy's redirect action as Istio configures it. */
export function redirectLocation(config: Extract<ImmediateAnswerConfig, { kind: 'redirect' }>['redirect'], input: RedirectInput): string {
  const scheme = config.scheme ?? input.scheme;
  const original = splitHost(input.authority);
  const target = config.authority !== undefined ? splitHost(config.authority) : original;
  let port: string | undefined = config.authority !== undefined ? target.port : original.port;
  if (config.port !== undefined) port = String(config.port);
  else if (config.derivePort === 'FROM_REQUEST_PORT') port = String(input.port);
  else if (config.derivePort === 'FROM_PROTOCOL_DEFAULT') port = undefined;
  else if (config.scheme !== undefined && config.scheme !== input.scheme) port = undefined;
  if (port !== undefined && DEFAULT_PORTS[scheme] === Number(port)) port = undefined;
  let path = input.path;
  if (config.path !== undefined) path = config.path;
  else if (config.prefix !== undefined) {
    const rest = input.path.slice(input.matchedPrefix.length);
    path = config.prefix === '/' ? `/${rest.replace(/^\/+/, '')}` : `${config.prefix}${rest}`;
  }
  const query = input.query === '' ? '' : `?${input.query}`;
  return `${scheme}://${target.host}${port !== undefined ? `:${port}` : ''}${path}${query}`;
}

export function immediateAnswer(config: ImmediateAnswerConfig, input: RedirectInput): LocalReply {
  if (config.kind === 'direct') return localReply(config.status, config.body, '-');
  return localReply(config.redirect.status, '', '-', { location: redirectLocation(config.redirect, input) });
}
