// An open HBONE tunnel as the application sees it: a Duplex of the tunnelled bytes, plus who answered and how.
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { HboneStreamReset } from './errors';
import type { SpiffeId } from './identity';

export interface TunnelMetadata {
  /** The `:authority` the CONNECT asked for. */
  readonly authority: string;
  /** The server's SPIFFE ID that satisfied secure naming. */
  readonly peerIdentity: SpiffeId;
  /** Where the HBONE connection goes (`ip:port`, normally a pod or waypoint on 15008). */
  readonly peerAddress: string;
  /** The 200 response's headers (e.g. `baggage` describing the destination). */
  readonly responseHeaders: http2.IncomingHttpHeaders;
  /** Pool-unique id of the HTTP/2 connection the stream runs on. */
  readonly connectionId: number;
}

/**
 * The tunnelled byte stream. Ending it sends END_STREAM (the far side sees a TCP half-close); destroying it resets
 * the stream (CANCEL, or CONNECT_ERROR when destroyed with an error). A reset from the far side destroys it with
 * `HboneStreamReset`.
 */
export class HboneTunnel extends Duplex implements TunnelMetadata {
  readonly authority: string;
  readonly peerIdentity: SpiffeId;
  readonly peerAddress: string;
  readonly responseHeaders: http2.IncomingHttpHeaders;
  readonly connectionId: number;
  /** The HTTP/2 stream underneath, for diagnostics (its id, state, rstCode); do not read or write it directly. */
  readonly h2Stream: http2.ClientHttp2Stream;
  private sent = 0;
  private received = 0;
  private pendingWrite: ((error?: Error | null) => void) | undefined;

  constructor(stream: http2.ClientHttp2Stream, metadata: TunnelMetadata) {
    super({ allowHalfOpen: true });
    this.h2Stream = stream;
    this.authority = metadata.authority;
    this.peerIdentity = metadata.peerIdentity;
    this.peerAddress = metadata.peerAddress;
    this.responseHeaders = metadata.responseHeaders;
    this.connectionId = metadata.connectionId;
    stream.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (!this.push(chunk)) stream.pause();
    });
    // Node reports a received RST_STREAM as 'end' and then the reset, within the same socket read; waiting for that
    // read to finish keeps a reset from looking like a clean half-close to whoever reads this tunnel.
    stream.on('end', () =>
      setImmediate(() => {
        const code = stream.rstCode;
        if (this.destroyed || (code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR)) return;
        this.push(null);
      }),
    );
    stream.on('drain', () => this.flushPendingWrite());
    stream.on('error', () => undefined);
    stream.once('close', () => this.onStreamClose());
  }

  /** Application bytes written into the tunnel so far. */
  get bytesSent(): number {
    return this.sent;
  }

  /** Application bytes received from the tunnel so far. */
  get bytesReceived(): number {
    return this.received;
  }

  override _read(): void {
    this.h2Stream.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const stream = this.h2Stream;
    if (stream.closed || stream.destroyed) {
      callback(new HboneStreamReset(this.authority, stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR));
      return;
    }
    this.sent += chunk.length;
    if (this.h2Stream.write(chunk)) callback();
    else this.pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.h2Stream.closed) this.h2Stream.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const stream = this.h2Stream;
    const cleanEnd = error === null && this.readableEnded && this.writableFinished;
    if (!stream.closed && !cleanEnd) {
      stream.close(error === null ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_CONNECT_ERROR);
    }
    // Only a write still waiting for 'drain' needs an error; building one per clean close cost a stack capture each.
    if (this.pendingWrite !== undefined) this.flushPendingWrite(error ?? new Error('the tunnel was destroyed'));
    callback(error);
  }

  private flushPendingWrite(error?: Error): void {
    const callback = this.pendingWrite;
    this.pendingWrite = undefined;
    callback?.(error);
  }

  private onStreamClose(): void {
    const code = this.h2Stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
    if (this.destroyed) return;
    if (code !== http2.constants.NGHTTP2_NO_ERROR || !this.h2Stream.readableEnded) {
      this.destroy(new HboneStreamReset(this.authority, code));
      return;
    }
    // Closed with NO_ERROR after the far side's END_STREAM: anything still unsent can no longer be delivered.
    if (!this.writableFinished) this.flushPendingWrite(new HboneStreamReset(this.authority, code));
  }
}
