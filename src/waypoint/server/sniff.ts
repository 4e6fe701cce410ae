// Protocol detection on a tunnelled byte stream: the HTTP/2 connection preface, an HTTP/1.x request line, or anything else (TCP).
import type { Duplex } from 'node:stream';

export type SniffedProtocol = 'h2' | 'http1' | 'tcp';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** The longest request line we wait for before deciding it is not HTTP. */
const MAX_REQUEST_LINE = 8192;
const REQUEST_LINE = /^[A-Z][A-Z0-9_-]{0,31} [^\s]+ HTTP\/1\.[01]\r?$/;

/** Classifies the first bytes; 'more' when they could still become either answer. Pure, for table tests. */
export function classify(head: Buffer): SniffedProtocol | 'more' {
  if (head.length === 0) return 'more';
  const prefix = head.subarray(0, Math.min(head.length, H2_PREFACE.length));
  if (prefix.equals(H2_PREFACE.subarray(0, prefix.length))) return head.length >= H2_PREFACE.length ? 'h2' : 'more';
  const newline = head.indexOf(0x0a);
  if (newline < 0) {
    if (head.length >= MAX_REQUEST_LINE) return 'tcp';
    // Still plausible while it looks like the start of "METHOD SP target SP HTTP/1.x".
    const text = head.toString('latin1');
    return /^[A-Z][A-Z0-9_-]{0,31}( [^\s]*( H?T?T?P?\/?1?\.?[01]?\r?)?)?$/.test(text) ? 'more' : 'tcp';
  }
  return REQUEST_LINE.test(head.subarray(0, newline).toString('latin1')) ? 'http1' : 'tcp';
}

/**
 * Reads from `stream` until the protocol is clear or `timeoutMs` passes (a server-first protocol sends nothing:
 * TCP), then puts the bytes back so the chosen handler reads them again.
 */
export function sniff(stream: Duplex, timeoutMs: number): Promise<SniffedProtocol> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const decide = (protocol: SniffedProtocol): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      if (chunks.length > 0) stream.unshift(Buffer.concat(chunks));
      resolve(protocol);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        const verdict = classify(Buffer.concat(chunks));
        if (verdict !== 'more') decide(verdict);
      }
    };
    const onEnd = (): void => decide('tcp');
    const timer = setTimeout(() => decide('tcp'), timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}
