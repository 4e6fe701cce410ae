// A minimal DER walker that keeps byte offsets, so signed parts (TBS, SPKI, names) are used exactly as received.

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number); multi-octet tags are rejected. */
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

export class DerError extends Error {
  readonly code = 'DER_MALFORMED' as const;
  constructor(reason: string) {
    super(`malformed DER: ${reason}`);
    this.name = 'DerError';
  }
}

export function readNode(buf: Buffer, offset: number, limit: number = buf.length): DerNode {
  if (offset + 2 > limit) throw new DerError(`truncated header at byte ${offset}`);
  const tag = buf[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${offset}`);
  let lengthByte = buf[offset + 1] ?? 0;
  let contentStart = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new DerError(`unsupported length encoding at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = buf[contentStart + i] ?? 0;
      length = length * 256 + lengthByte;
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`value at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** Parses the single top-level element of `buf`, refusing trailing bytes. */
export function readRoot(buf: Buffer): DerNode {
  const node = readNode(buf, 0);
  if (node.end !== buf.length) throw new DerError(`${buf.length - node.end} trailing bytes`);
  return node;
}

export function childrenOf(buf: Buffer, node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`tag 0x${node.tag.toString(16)} at byte ${node.start} is not constructed`);
  const children: DerNode[] = [];
  let offset = node.contentStart;
  while (offset < node.end) {
    const child = readNode(buf, offset, node.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The `index`-th child, checked to carry `tag`. */
export function childAt(buf: Buffer, node: DerNode, index: number, tag: number, what: string): DerNode {
  const child = childrenOf(buf, node)[index];
  if (child === undefined) throw new DerError(`${what} is missing`);
  expectTag(child, tag, what);
  return child;
}

export function expectTag(node: DerNode, tag: number, what: string): void {
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
}

/** The whole encoding of `node`, header included. */
export function encodingOf(buf: Buffer, node: DerNode): Buffer {
  return buf.subarray(node.start, node.end);
}

export function contentOf(buf: Buffer, node: DerNode): Buffer {
  return buf.subarray(node.contentStart, node.end);
}

export function readOid(buf: Buffer, node: DerNode): string {
  expectTag(node, TAG.OID, 'object identifier');
  const bytes = contentOf(buf, node);
  if (bytes.length === 0) throw new DerError('empty object identifier');
  const first = bytes[0] ?? 0;
  const arcs: number[] = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/** BIT STRING content without its leading unused-bits octet; only whole-octet strings are accepted. */
export function readBitStringBytes(buf: Buffer, node: DerNode, what: string): Buffer {
  expectTag(node, TAG.BIT_STRING, what);
  const content = contentOf(buf, node);
  if (content.length === 0 || content[0] !== 0) throw new DerError(`${what} is not a whole number of octets`);
  return content.subarray(1);
}
