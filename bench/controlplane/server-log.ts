// Reads the control plane's JSON log (pino, debug level) for the server's own record of each push: when the
// xDS server encoded and queued a response, for which proxy and type, and how big it was.
import fs from 'node:fs';

export interface LoggedPush {
  /** Epoch milliseconds of the log line (millisecond resolution). */
  readonly at: number;
  readonly typeUrl: string;
  readonly nodeId: string;
  readonly bytes: number;
}

function record(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Every 'xDS push' line in the log; empty when the server logs pushes differently (the report then shows "-"). */
export function loggedPushes(logFile: string): LoggedPush[] {
  if (!fs.existsSync(logFile)) return [];
  const pushes: LoggedPush[] = [];
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"xDS push"')) continue;
    const entry = record(line);
    if (!entry || entry.msg !== 'xDS push') continue;
    const at = typeof entry.time === 'string' ? Date.parse(entry.time) : typeof entry.time === 'number' ? entry.time : Number.NaN;
    if (Number.isNaN(at) || typeof entry.typeUrl !== 'string' || typeof entry.nodeId !== 'string') continue;
    pushes.push({ at, typeUrl: entry.typeUrl, nodeId: entry.nodeId, bytes: typeof entry.bytes === 'number' ? entry.bytes : 0 });
  }
  return pushes;
}

/**
 * When the server had queued, for every one of `proxies` proxies, its first response of each of `typeUrls`
 * after `since` (epoch ms); undefined when the log does not show that many.
 */
export function allFirstResponsesQueuedAt(pushes: readonly LoggedPush[], since: number, typeUrls: readonly string[], proxies: number): number | undefined {
  const firstByProxyAndType = new Map<string, number>();
  for (const push of pushes) {
    if (push.at < Math.floor(since) || !typeUrls.includes(push.typeUrl)) continue;
    const key = `${push.nodeId} ${push.typeUrl}`;
    if (!firstByProxyAndType.has(key)) firstByProxyAndType.set(key, push.at);
  }
  if (firstByProxyAndType.size < proxies * typeUrls.length) return undefined;
  return Math.max(...firstByProxyAndType.values());
}
