// Gives a plain Duplex (an HBONE tunnel) the few net.Socket methods Node's HTTP client and agent call on their sockets.
import net from 'node:net';
import type { Duplex } from 'node:stream';

type SocketLike = Duplex & {
  setKeepAlive?: (enable?: boolean, delay?: number) => unknown;
  setNoDelay?: (noDelay?: boolean) => unknown;
  setTimeout?: (ms: number, callback?: () => void) => unknown;
  ref?: () => unknown;
  unref?: () => unknown;
  timeout?: number;
};

/**
 * Returns `stream` itself when it is a socket, else adds no-op keep-alive/no-delay/ref methods and an idle
 * `setTimeout` that emits 'timeout' (which the agent uses to close idle pooled connections).
 */
export function asSocket(stream: Duplex): net.Socket {
  if (stream instanceof net.Socket) return stream;
  const s = stream as SocketLike;
  let timer: NodeJS.Timeout | undefined;
  let idleMs = 0;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = idleMs > 0 && !s.destroyed ? setTimeout(() => s.emit('timeout'), idleMs) : undefined;
    timer?.unref();
  };
  s.setKeepAlive ??= () => s;
  s.setNoDelay ??= () => s;
  s.ref ??= () => s;
  s.unref ??= () => s;
  s.setTimeout ??= (ms: number, callback?: () => void) => {
    idleMs = ms;
    s.timeout = ms;
    if (callback) s.once('timeout', callback);
    arm();
    return s;
  };
  s.on('data', () => idleMs > 0 && arm());
  s.once('close', () => timer && clearTimeout(timer));
  return s as unknown as net.Socket;
}
