// IP addresses and CIDR ranges as 32-bit words, parsed once, so a per-connection range check is a few integer compares.
import net from 'node:net';

/** An IPv4 address as one unsigned 32-bit word, or an IPv6 address as four. */
export interface IpWords {
  readonly family: 4 | 6;
  readonly words: readonly number[];
}

/** A CIDR with its host bits cleared, ready for `ipInRange`. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly words: readonly number[];
  readonly masks: readonly number[];
  /** The range as written by the control plane, e.g. "10.0.0.0/8", for logs and tests. */
  readonly text: string;
}

function ipv4Word(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Expands any valid IPv6 spelling ("::", "fe80::1%eth0", "::ffff:1.2.3.4") into four words. */
function ipv6Words(text: string): number[] {
  const zone = text.indexOf('%');
  const bare = zone < 0 ? text : text.slice(0, zone);
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = ipv4Word(piece);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = bare.indexOf('::');
  let all: number[];
  if (gap < 0) {
    all = groups(bare);
  } else {
    const head = groups(bare.slice(0, gap));
    const tail = groups(bare.slice(gap + 2));
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  return [0, 1, 2, 3].map((i) => ((all[2 * i] << 16) | all[2 * i + 1]) >>> 0);
}

/** Parses a textual address; undefined when it is not one. IPv4-mapped IPv6 stays IPv6 (see `canonicalIp`). */
export function parseIp(text: string): IpWords | undefined {
  const family = net.isIP(text.includes('%') ? text.slice(0, text.indexOf('%')) : text);
  if (family === 4) return { family: 4, words: [ipv4Word(text)] };
  if (family === 6) return { family: 6, words: ipv6Words(text) };
  return undefined;
}

/**
 * The address a connection is judged by: dual-stack sockets report IPv4 peers as "::ffff:a.b.c.d", and ztunnel
 * canonicalizes those to plain IPv4 before matching, so an IPv4 CIDR still applies.
 */
export function canonicalIp(text: string): IpWords | undefined {
  const ip = parseIp(text);
  if (ip === undefined || ip.family === 4) return ip;
  const [w0, w1, w2, w3] = ip.words;
  return w0 === 0 && w1 === 0 && w2 === 0xffff ? { family: 4, words: [w3] } : ip;
}

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function rangeOf(ip: IpWords, length: number, text: string): IpRange {
  const masks = ip.words.map((_, i) => maskWord(length - 32 * i));
  return { family: ip.family, words: ip.words.map((w, i) => (w & masks[i]) >>> 0), masks, text };
}

/**
 * The range an xDS `Address {address, length}` names; undefined when the bytes are not 4 or 16 long or the length
 * exceeds the family's width. ztunnel drops such entries rather than rejecting the policy, and so do we.
 */
export function rangeFromBytes(address: Uint8Array, length: number): IpRange | undefined {
  if (address.length === 4) {
    if (length > 32) return undefined;
    const ip: IpWords = { family: 4, words: [((address[0] << 24) | (address[1] << 16) | (address[2] << 8) | address[3]) >>> 0] };
    return rangeOf(ip, length, `${address.join('.')}/${length}`);
  }
  if (address.length === 16) {
    if (length > 128) return undefined;
    const words: number[] = [];
    for (let i = 0; i < 16; i += 4) words.push(((address[i] << 24) | (address[i + 1] << 16) | (address[i + 2] << 8) | address[i + 3]) >>> 0);
    const groups = words.flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]);
    return rangeOf({ family: 6, words }, length, `${groups.join(':')}/${length}`);
  }
  return undefined;
}

/** Parses "10.0.0.0/8", "fd00::/8" or a bare address (a full-length range); undefined when it is neither. */
export function parseRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined) return undefined;
  const width = ip.family === 4 ? 32 : 128;
  if (slash < 0) return rangeOf(ip, width, text);
  const bits = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > width) return undefined;
  return rangeOf(ip, Number(bits), text);
}

export function ipInRange(ip: IpWords, range: IpRange): boolean {
  if (ip.family !== range.family) return false;
  const { words, masks } = range;
  for (let i = 0; i < words.length; i++) {
    if (((ip.words[i] & masks[i]) >>> 0) !== words[i]) return false;
  }
  return true;
}
