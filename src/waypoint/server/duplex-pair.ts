// Two connected in-memory stream ends: what one writes the other reads, with backpressure, half-close and reset carried across.
import { Duplex } from 'node:stream';

export interface PairAddress {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/**
 * One end of a pair. It carries the few socket properties and methods Node's HTTP servers use (addresses, an idle
 * `setTimeout`, no-op keep-alive/no-delay/ref), so an HBONE tunnel can be handed to `http` and `http2` servers.
 */
export class PairEnd extends Duplex {
  peer!: PairEnd;
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  readonly remoteFamily = 'IPv4';
  timeout = 0;
  private writeWaiter: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Epoch ms of the last activity; the idle timer checks it when it fires instead of being re-armed on every write. */
  private lastActive = 0;

  constructor(address?: PairAddress) {
    super({ allowHalfOpen: true });
    if (address) Object.assign(this, address);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer.destroyed || peer.readableEnded) {
      callback(new Error('the other end of the stream is closed'));
      return;
    }
    this.touch();
    peer.touch();
    if (peer.push(chunk)) callback();
    else peer.writeWaiter = () => callback();
  }

  override _read(): void {
    const waiter = this.writeWaiter;
    this.writeWaiter = undefined;
    waiter?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const peer = this.peer;
    // Like a socket: a destroy with an error resets the other end; a plain destroy (an idle keep-alive connection
    // closed by the HTTP server) is an end of stream for it, and its later writes fail.
    if (!peer.destroyed) {
      if (error !== null) peer.destroy(error);
      else if (!peer.readableEnded) peer.push(null);
    }
    const waiter = peer.writeWaiter;
    peer.writeWaiter = undefined;
    waiter?.();
    callback(error);
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms;
    // As net.Socket does: 0 turns the timeout off and removes the callback rather than adding it.
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    // A new idle limit starts counting now.
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  destroySoon(): void {
    this.end(() => undefined);
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  }

  /** Restarts the idle clock; activity in either direction counts. */
  touch(): void {
    if (this.timeout <= 0) return;
    this.lastActive = Date.now();
    if (this.idleTimer === undefined && !this.destroyed) this.armIdle(this.timeout);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => this.idleTimerFired(), ms);
    this.idleTimer.unref();
  }

  /** Emits 'timeout' after `timeout` ms without activity; activity since the timer was armed pushes it back. */
  private idleTimerFired(): void {
    this.idleTimer = undefined;
    if (this.destroyed || this.timeout <= 0) return;
    const idle = Date.now() - this.lastActive;
    if (idle >= this.timeout) this.emit('timeout');
    else this.armIdle(this.timeout - idle);
  }
}

/** A connected pair; `inner` gets the addresses the proxy should see (client as remote, original destination as local). */
export function createDuplexPair(innerAddress?: PairAddress): { outer: PairEnd; inner: PairEnd } {
  const outer = new PairEnd();
  const inner = new PairEnd(innerAddress);
  outer.peer = inner;
  inner.peer = outer;
  return { outer, inner };
}
