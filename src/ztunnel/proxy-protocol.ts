// PROXY protocol v2 header for apps that ask for it (they see the ztunnel as peer, so the header carries the real client and its identity).
import net from 'node:net';
import { Command, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { ipToBytes } from '../xds';

/** TLV type carrying the client's SPIFFE ID, as Istio's ztunnel sends it (custom range 0xD0-0xEF of the spec). */
export const PEER_IDENTITY_TLV = 0xd0;

export interface ProxyHeaderFields {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** The client's SPIFFE ID; omitted for plaintext clients. */
  readonly identity?: string;
}

function tlv(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(3);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(value.length, 1);
  return Buffer.concat([header, value]);
}

export function proxyV2Header(fields: ProxyHeaderFields): Buffer {
  const tlvs = fields.identity ? tlv(PEER_IDENTITY_TLV, Buffer.from(fields.identity, 'utf8')) : undefined;
  const v4 = net.isIPv4(fields.sourceIp) && net.isIPv4(fields.destinationIp);
  const address = v4
    ? new IPv4ProxyAddress(IPv4Address.createFrom([...ipToBytes(fields.sourceIp)]), fields.sourcePort, IPv4Address.createFrom([...ipToBytes(fields.destinationIp)]), fields.destinationPort)
    : new IPv6ProxyAddress(IPv6Address.createFrom([...ipToBytes(fields.sourceIp)]), fields.sourcePort, IPv6Address.createFrom([...ipToBytes(fields.destinationIp)]), fields.destinationPort);
  return Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, address, tlvs).build());
}
