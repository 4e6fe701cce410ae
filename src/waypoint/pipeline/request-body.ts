// A request body that can be sent more than once: chunks are kept (up to a limit) so retries and mirrors replay them, with backpressure towards the client.
import type { Readable } from 'node:stream';

/** Where body chunks go: an upstream request or a mirror. */
export interface BodySink {
  write(chunk: Buffer): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

/** Envoy's per-request buffer limit for retries and mirrors (per_request_buffer_limit_bytes, 1 MiB in Istio's waypoint). */
export const DEFAULT_REPLAY_LIMIT = 1024 * 1024;

export class RequestBody {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private total = 0;
  private ended = false;
  private overflowed = false;
  private readonly sinks = new Set<{ sink: BodySink; critical: boolean }>();
  private waitingDrains = 0;
  private failed: Error | undefined;

  constructor(
    private readonly source: Readable,
    private readonly limit: number = DEFAULT_REPLAY_LIMIT,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.once('end', () => {
      this.ended = true;
      for (const { sink } of this.sinks) if (!sink.destroyed) sink.end();
    });
    source.once('error', (error: Error) => {
      this.failed = error;
    });
  }

  /** Bytes read from the client so far. */
  get bytesRead(): number {
    return this.total;
  }

  /** True while every byte read is still held, so a new sink can get the whole body. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  get complete(): boolean {
    return this.ended;
  }

  get error(): Error | undefined {
    return this.failed;
  }

  /**
   * Sends the body to `sink`: the held chunks first, then the rest as it arrives. A critical sink (the upstream
   * try) slows the client down when it cannot keep up; a mirror never does. Returns a detach function.
   */
  attach(sink: BodySink, options: { critical: boolean }): () => void {
    if (this.overflowed) throw new Error('the request body is no longer held, so it cannot be sent again');
    const entry = { sink, critical: options.critical };
    for (const chunk of this.chunks) sink.write(chunk);
    if (this.ended) sink.end();
    else this.sinks.add(entry);
    if (!this.ended && this.source.isPaused() && this.waitingDrains === 0) this.source.resume();
    return () => {
      this.sinks.delete(entry);
      if (this.sinks.size === 0 && this.source.isPaused() && this.buffered < this.limit) this.source.resume();
    };
  }

  /** Stops keeping chunks (the request is committed to one try): later chunks only stream through. */
  release(): void {
    this.overflowed = true;
    this.chunks = [];
    this.buffered = 0;
  }

  private onData(chunk: Buffer): void {
    this.total += chunk.length;
    if (!this.overflowed) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > this.limit) {
        if (this.sinks.size === 0) {
          // Nobody is reading yet: hold the client instead of dropping bytes a first try still needs.
          this.source.pause();
          return;
        }
        this.release();
      }
    }
    for (const entry of this.sinks) {
      if (entry.sink.destroyed) continue;
      if (!entry.sink.write(chunk) && entry.critical) {
        this.waitingDrains += 1;
        this.source.pause();
        entry.sink.once('drain', () => {
          this.waitingDrains -= 1;
          if (this.waitingDrains === 0) this.source.resume();
        });
      }
    }
  }
}
