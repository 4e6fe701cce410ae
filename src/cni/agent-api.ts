// The wire between the ambit-cni plugin and the node's CNI agent: JSON over HTTP/1.1 on a unix socket (as Istio's plugin POSTs to /cmdadd).
import http from 'node:http';
import net from 'node:net';
import type { AgentErrorCode } from './errors';

export type PluginCommand = 'add' | 'del' | 'check';

export const AGENT_PATHS: Readonly<Record<PluginCommand, string>> = { add: '/cmdadd', del: '/cmddel', check: '/cmdcheck' };

/** What the plugin tells the agent about a pod sandbox. */
export interface PluginRequest {
  readonly podName: string;
  readonly podNamespace: string;
  /** K8S_POD_UID from CNI_ARGS; '' when the runtime did not pass it (the agent then uses the uid it knows). */
  readonly podUid: string;
  /** CNI_NETNS, a path such as /var/run/netns/<name>; '' on a DEL without one. */
  readonly netns: string;
  /** The pod's addresses from prevResult, without prefix length. */
  readonly ips: readonly string[];
}

/**
 * The agent's verdict. add: `enrolled` (rules in, ztunnel acked), `pending` (rules in, the ztunnel will get the pod
 * when it connects), `not-ambient`. del: `released` or `not-known`. check: `ok`.
 */
export type AgentVerdict = 'enrolled' | 'pending' | 'not-ambient' | 'released' | 'not-known' | 'ok';

export interface AgentReply {
  readonly result: AgentVerdict;
  /** Human-readable detail, e.g. the ambient decision's reason. */
  readonly detail?: string;
}

export interface AgentErrorReply {
  readonly error: { readonly code: AgentErrorCode; readonly message: string; readonly retryable: boolean };
}

/** Validates a request body; returns the problem as text for a 400 answer. */
export function decodePluginRequest(body: unknown, command: PluginCommand): PluginRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const fields = body as Record<string, unknown>;
  for (const key of ['podName', 'podNamespace'] as const) {
    if (typeof fields[key] !== 'string' || fields[key] === '') return `${key} must be a non-empty string`;
  }
  for (const key of ['podUid', 'netns'] as const) {
    if (fields[key] !== undefined && typeof fields[key] !== 'string') return `${key} must be a string`;
  }
  const netns = (fields.netns as string | undefined) ?? '';
  if (command !== 'del' && !netns.startsWith('/')) return 'netns must be an absolute path';
  const ips = fields.ips ?? [];
  if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string' || net.isIP(ip) === 0)) return 'ips must be an array of IP addresses';
  return { podName: fields.podName as string, podNamespace: fields.podNamespace as string, podUid: (fields.podUid as string | undefined) ?? '', netns, ips: ips as string[] };
}

/** The agent's answer as the plugin sees it; `unreachable` means no agent answered at all. */
export type AgentCallOutcome =
  | { readonly kind: 'reply'; readonly reply: AgentReply }
  | { readonly kind: 'refused'; readonly error: AgentErrorReply['error'] }
  | { readonly kind: 'unreachable'; readonly reason: string };

/** POSTs one request to the agent's socket. Never rejects. */
export function callAgent(socketPath: string, command: PluginCommand, request: PluginRequest, timeoutMs: number): Promise<AgentCallOutcome> {
  return new Promise((resolve) => {
    const body = JSON.stringify(request);
    const req = http.request(
      { socketPath, method: 'POST', path: AGENT_PATHS[command], headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => resolve({ kind: 'unreachable', reason: err.message }));
        res.on('end', () => resolve(readReply(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'unreachable', reason: err.code ? `${err.code}: ${err.message}` : err.message }));
    req.end(body);
  });
}

function readReply(status: number, text: string): AgentCallOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'unreachable', reason: `the agent answered HTTP ${status} with a body that is not JSON` };
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (status === 200 && typeof fields.result === 'string') return { kind: 'reply', reply: fields as unknown as AgentReply };
  const error = fields.error as Record<string, unknown> | undefined;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return { kind: 'refused', error: { code: error.code as AgentErrorCode, message: error.message, retryable: error.retryable === true } };
  }
  return { kind: 'unreachable', reason: `the agent answered HTTP ${status} without a result or error` };
}
