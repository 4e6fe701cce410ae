// A pino destination for the per-request access log that writes whole lines in batches: one system call per batch instead of one per request.
import fs from 'node:fs';
import pino from 'pino';
import type { Logger } from '../../telemetry/logger';

export interface BatchedLineWriterOptions {
  /** Lines are written once this many characters are waiting. */
  readonly batchChars?: number;
  /** ...and at least this often, so a quiet waypoint's lines still show up promptly. 0: only by size, flush() and exit. */
  readonly flushMs?: number;
}

const DEFAULT_BATCH_CHARS = 32 * 1024;
const DEFAULT_FLUSH_MS = 1_000;
/** How long to keep retrying a full pipe (EAGAIN) before dropping a batch rather than stalling the proxy. */
const EAGAIN_RETRY_MS = 100;

/*
 * Why not pino.destination: with sync: true every request pays a write(2); with sync: false SonicBoom recomputes the
 * byte length of its whole pending buffer on every line and hands each batch to libuv's thread pool, which under
 * load cost the waypoint more than the synchronous writes did. Lines are still written whole and in order.
 */
export class BatchedLineWriter {
  private pending: string[] = [];
  private chars = 0;
  private readonly batchChars: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onExit = (): void => this.flush();
  private closed = false;

  constructor(
    private readonly fd: number,
    options: BatchedLineWriterOptions = {},
  ) {
    this.batchChars = options.batchChars ?? DEFAULT_BATCH_CHARS;
    const flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    if (flushMs > 0) {
      this.timer = setInterval(() => this.flush(), flushMs);
      this.timer.unref();
    }
    process.on('exit', this.onExit);
  }

  /** Characters waiting to be written. */
  get pendingChars(): number {
    return this.chars;
  }

  /** pino calls this with one complete line (newline included). */
  write(line: string): void {
    if (this.closed) return;
    this.pending.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.flush();
  }

  /** Writes every waiting line now. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.chars = 0;
    writeAll(this.fd, text);
  }

  /** Flushes and stops the timer; later lines are dropped. */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    process.off('exit', this.onExit);
  }
}

function writeAll(fd: number, text: string): void {
  // A string goes to write(2) without a Buffer made for it; only a partial write (a full pipe) needs the bytes.
  let data: Buffer | undefined;
  try {
    const written = fs.writeSync(fd, text);
    if (written === Buffer.byteLength(text)) return;
    data = Buffer.from(text).subarray(written);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    data = Buffer.from(text);
  }
  let offset = 0;
  let retryUntil = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset);
    } catch (error) {
      // A log pipe that is full for a moment is waited for, briefly; anything else (closed stderr) drops the batch.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      const now = Date.now();
      if (retryUntil === 0) retryUntil = now + EAGAIN_RETRY_MS;
      else if (now > retryUntil) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

let timeMs = -1;
let timeField = '';

/**
 * pino's isoTime, formatted once per millisecond: under load many access lines share a millisecond, and
 * Date#toISOString was a visible share of the per-request cost.
 */
export function isoTimeField(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/**
 * The waypoint's access logger: the process logger's settings (level from AMBIT_LOG_LEVEL, base component, ISO
 * time; see src/telemetry/logger.ts) with a batching destination and the per-millisecond time field.
 */
export function createAccessLogger(fd: number, waypoint: string, options: BatchedLineWriterOptions = {}): { logger: Logger; writer: BatchedLineWriter } {
  const writer = new BatchedLineWriter(fd, options);
  const level = process.env.AMBIT_LOG_LEVEL ?? 'info';
  const logger = pino({ level, base: { component: 'waypoint' }, timestamp: isoTimeField }, writer).child({ waypoint }).child({ target: 'access' });
  return { logger, writer };
}
