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
  // The timer is not re-armed for every chunk: it checks the last activity when it fires.
  let lastActive = 0;
  const schedule = (ms: number): void => {
    timer = setTimeout(fired, ms);
    timer.unref();
  };
  const fired = (): void => {
    timer = undefined;
    if (idleMs <= 0 || s.destroyed) return;
    const idle = Date.now() - lastActive;
    if (idle >= idleMs) s.emit('timeout');
    else schedule(idleMs - idle);
  };
  const touch = (): void => {
    lastActive = Date.now();
    if (timer === undefined && idleMs > 0 && !s.destroyed) schedule(idleMs);
  };
  s.setKeepAlive ??= () => s;
  s.setNoDelay ??= () => s;
  s.ref ??= () => s;
  s.unref ??= () => s;
  s.setTimeout ??= (ms: number, callback?: () => void) => {
    idleMs = ms;
    s.timeout = ms;
    // As net.Socket does: 0 turns the timeout off and removes the callback (the HTTP client passes its
    // per-request timeout callback this way when a response ends; adding it instead leaked one per request).
    if (callback) {
      if (ms === 0) s.removeListener('timeout', callback);
      else s.once('timeout', callback);
    }
    if (timer) clearTimeout(timer);
    timer = undefined;
    touch();
    return s;
  };
  s.on('data', () => idleMs > 0 && touch());
  s.once('close', () => timer && clearTimeout(timer));
  return s as unknown as net.Socket;
}
