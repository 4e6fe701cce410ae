// Copies bytes both ways between a tunnel and its upstream with backpressure, half-close and reset propagation.
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

export type RelaySide = 'tunnel' | 'upstream';

export interface RelayResult {
  /** Bytes read from the tunnel side and written to the upstream side. */
  readonly bytesIn: number;
  /** Bytes read from the upstream side and written to the tunnel side. */
  readonly bytesOut: number;
  /** `completed` when both sides closed after a clean end in both directions. */
  readonly outcome: 'completed' | 'aborted';
  /** The side that closed abnormally first (reset, error, destroyed mid-stream), when aborted. */
  readonly abortedBy?: RelaySide;
  readonly error?: Error;
}

export interface RelayProgress {
  /** Called with each chunk's size as it moves; for live byte counters. */
  onBytes?(direction: 'in' | 'out', bytes: number): void;
}

/**
 * Splices `tunnel` and `upstream` until both have closed. The end of one side's input ends the other side's output
 * (TCP half-close maps to END_STREAM and back); an abnormal close of either side (RST_STREAM, ECONNRESET, a
 * destroy) resets the other: HTTP/2 streams with CONNECT_ERROR (RFC 9113 8.5), TCP sockets with an RST.
 */
export function relay(tunnel: Duplex, upstream: Duplex, progress: RelayProgress = {}): Promise<RelayResult> {
  // A socket that ends its write side when its read side ends would cut off data still flowing the other way.
  tunnel.allowHalfOpen = true;
  upstream.allowHalfOpen = true;
  let bytesIn = 0;
  let bytesOut = 0;
  let abortedBy: RelaySide | undefined;
  let error: Error | undefined;

  return new Promise((resolve) => {
    let open = 2;
    const sideClosed = (side: RelaySide, stream: Duplex, other: Duplex): void => {
      if (!closedCleanly(stream)) {
        if (abortedBy === undefined) abortedBy = side;
        abort(other, error ?? new Error(`the ${side} side closed abnormally`));
      }
      open -= 1;
      if (open === 0) {
        resolve(abortedBy === undefined ? { bytesIn, bytesOut, outcome: 'completed' } : { bytesIn, bytesOut, outcome: 'aborted', abortedBy, ...(error ? { error } : {}) });
      }
    };
    const watch = (side: RelaySide, stream: Duplex, other: Duplex): void => {
      stream.on('error', (cause: Error) => {
        error ??= cause;
      });
      if (stream.closed) queueMicrotask(() => sideClosed(side, stream, other));
      else stream.once('close', () => sideClosed(side, stream, other));
    };
    watch('tunnel', tunnel, upstream);
    watch('upstream', upstream, tunnel);
    pump(tunnel, upstream, (bytes) => {
      bytesIn += bytes;
      progress.onBytes?.('in', bytes);
    });
    pump(upstream, tunnel, (bytes) => {
      bytesOut += bytes;
      progress.onBytes?.('out', bytes);
    });
    tunnel.once('end', () => propagateEnd(tunnel, upstream));
    upstream.once('end', () => propagateEnd(upstream, tunnel));
  });
}

// A chunk this big is part of a burst (TLS hands HTTP/2 at most 16 KiB of plaintext at a time, so a bulk transfer
// arrives as many such chunks per socket read); 1-byte round trips stay far below it and are written at once.
const COALESCE_MIN_BYTES = 4 * 1024;
// How much may wait in a socket's write queue before `from` is paused. Above the socket's 16 KiB highWaterMark so
// that a corked burst is not cut short by a pause; other destinations pause at their own highWaterMark, as pipe does.
const MAX_CORKED_BYTES = 256 * 1024;

/**
 * Copies `from` into `to` (like `pipe` with `end: false`) with backpressure. Bursts into a TCP or TLS socket are
 * corked until the end of this event-loop turn, so the chunks HTTP/2 delivers one 16 KiB TLS record at a time
 * leave in one writev instead of one write syscall each.
 */
function pump(from: Duplex, to: Duplex, count: (bytes: number) => void): void {
  const coalesce = to instanceof net.Socket;
  const pauseAt = coalesce ? MAX_CORKED_BYTES : 0;
  let corked = false;
  let waiting = false;
  const uncork = (): void => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  const resume = (): void => {
    if (!waiting) return;
    waiting = false;
    to.off('drain', resume);
    if (!from.destroyed) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    // Once `to` is gone or finished the bytes have nowhere to go (pipe would have unpiped); `from` keeps being read
    // so that its end or reset is still seen.
    if (to.destroyed || to.writableEnded) return;
    if (coalesce && !corked && chunk.length >= COALESCE_MIN_BYTES) {
      corked = true;
      to.cork();
      setImmediate(uncork);
    }
    if (!to.write(chunk) && !waiting && to.writableLength >= pauseAt) {
      waiting = true;
      from.pause();
      to.on('drain', resume);
    }
  });
  to.once('close', resume);
}

/**
 * Half-closes `to` after `from` ended. Node reports an HTTP/2 RST_STREAM as 'end' first and 'aborted' right after,
 * within the same read from the socket, so for streams the decision waits until that read is fully processed:
 * a reset must reach the other side as a reset, not as a FIN.
 */
function propagateEnd(from: Duplex, to: Duplex): void {
  if (!isHttp2Stream(from)) {
    to.end();
    return;
  }
  setImmediate(() => {
    if (from.rstCode !== undefined && from.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return;
    if (!to.destroyed) to.end();
  });
}

/** True when a closed stream ended both directions normally (and, for HTTP/2, was not reset with an error). */
function closedCleanly(stream: Duplex): boolean {
  if (stream.errored !== null) return false;
  if (isHttp2Stream(stream) && stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return false;
  return stream.readableEnded && stream.writableFinished;
}

/** Resets a stream the way its protocol spells "the other side broke": RST_STREAM(CONNECT_ERROR) or a TCP RST. */
export function abort(stream: Duplex, cause: Error): void {
  if (stream.destroyed) return;
  if (isHttp2Stream(stream)) {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
    return;
  }
  // libuv cannot reset a TCP socket that already began its shutdown (EINVAL, and Node then never emits 'close').
  if (stream instanceof net.Socket && !(stream instanceof tls.TLSSocket) && !stream.connecting && !stream.writableEnded) {
    try {
      stream.resetAndDestroy();
      return;
    } catch {
      // A socket whose handle is not TCP (a pipe, a JS stream) cannot send an RST; destroying it is the next best.
    }
  }
  stream.destroy(cause);
}

function isHttp2Stream(stream: Duplex): stream is http2.Http2Stream {
  return 'rstCode' in stream && 'session' in stream && typeof (stream as { close?: unknown }).close === 'function';
}
