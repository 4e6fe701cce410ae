// The HBONE `:authority`: the original destination as `ip:port`, IPv6 in brackets, parsed and printed in one place.
import net from 'node:net';

/** A destination socket address as carried in a CONNECT `:authority`. */
export interface TunnelAuthority {
  /** Canonical text form of the IP (IPv4 dotted quad or IPv6 without brackets). */
  readonly ip: string;
  readonly port: number;
}

export type AuthorityParse = { readonly ok: true; readonly authority: TunnelAuthority } | { readonly ok: false; readonly reason: string };

/** Parses `1.2.3.4:80` or `[fd00::1]:80`; hostnames, a missing port or an unbracketed IPv6 are rejected. */
export function parseAuthority(input: string | undefined): AuthorityParse {
  if (input === undefined || input === '') return { ok: false, reason: 'the :authority is missing' };
  let host: string;
  let portText: string;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0 || input[close + 1] !== ':') return { ok: false, reason: `${JSON.stringify(input)} is not [ipv6]:port` };
    host = input.slice(1, close);
    portText = input.slice(close + 2);
    if (net.isIPv6(host) === false) return { ok: false, reason: `${JSON.stringify(host)} is not an IPv6 address` };
  } else {
    const colon = input.lastIndexOf(':');
    if (colon <= 0) return { ok: false, reason: `${JSON.stringify(input)} has no port (expected ip:port)` };
    host = input.slice(0, colon);
    portText = input.slice(colon + 1);
    if (net.isIPv4(host) === false) {
      const hint = net.isIPv6(host) ? 'IPv6 addresses must be bracketed' : 'expected an IP address, not a name';
      return { ok: false, reason: `${JSON.stringify(host)} is not an IPv4 address (${hint})` };
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return { ok: false, reason: `port ${JSON.stringify(portText)} is not a number` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is out of range 1-65535` };
  return { ok: true, authority: { ip: canonicalIp(host), port } };
}

/** `ip:port`, bracketing IPv6 addresses. */
export function formatAuthority(ip: string, port: number): string {
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * One spelling per address so authorities and socket addresses compare as strings: IPv6 compressed and lowercased
 * (`FD00:0::01` -> `fd00::1`), IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports) as plain IPv4.
 */
export function canonicalIp(ip: string): string {
  if (!net.isIPv6(ip)) return ip;
  const compressed = new net.SocketAddress({ address: ip, family: 'ipv6' }).address;
  if (compressed.startsWith('::ffff:') && net.isIPv4(compressed.slice(7))) return compressed.slice(7);
  return compressed;
}
