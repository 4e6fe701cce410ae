// SPIFFE identities of HBONE peers, read from the URI SANs of the certificate the peer proved it holds.
import type crypto from 'node:crypto';
import type tls from 'node:tls';
import { certInfo, derToPem, type SpiffeId } from '../pki';
import { PeerIdentityError } from './errors';

export type { SpiffeId } from '../pki';

/** The workload SPIFFE IDs among a DER certificate's URI SANs, in certificate order. */
export function spiffeIdsOfDer(der: Buffer): readonly SpiffeId[] {
  return certInfo(derToPem(der, 'CERTIFICATE')).spiffeIds;
}

/** The URI SANs of a DER certificate (SPIFFE or not): what a secure-naming error shows as "presented". */
export function uriSansOfDer(der: Buffer): readonly string[] {
  return certInfo(derToPem(der, 'CERTIFICATE')).uriSans;
}

export interface PeerCertificateFacts {
  readonly identity: SpiffeId;
  /** Uppercase hex serial of the peer's leaf certificate (what `openssl x509 -serial` prints). */
  readonly serial: string;
  readonly notAfter: Date;
}

/**
 * The SPIFFE ID of the peer of a TLS socket whose chain was verified against the mesh roots. The first workload
 * SPIFFE ID among the URI SANs wins, as in Istio's ztunnel. `verified` must come from the TLS layer (the socket
 * was accepted by a `tls.Server` with `rejectUnauthorized`, or `socket.authorized` on a client).
 */
export function peerIdentity(socket: tls.TLSSocket, verified: boolean = socket.authorized): SpiffeId {
  return peerCertificateFacts(socket, verified).identity;
}

export function peerCertificateFacts(socket: tls.TLSSocket, verified: boolean = socket.authorized): PeerCertificateFacts {
  const peer = describePeer(socket);
  if (!verified) {
    const why = socket.authorizationError === null ? 'not verified' : String(socket.authorizationError);
    throw new PeerIdentityError('PEER_NOT_VERIFIED', peer, `its certificate chain did not verify against the mesh roots (${why})`);
  }
  const cert: crypto.X509Certificate | undefined = socket.getPeerX509Certificate();
  if (cert === undefined) throw new PeerIdentityError('NO_PEER_CERTIFICATE', peer, 'it presented no certificate');
  const info = certInfo(cert.toString());
  const identity = info.spiffeIds[0];
  if (identity === undefined) {
    const sans = info.uriSans.length === 0 ? 'no URI SAN' : `URI SANs ${info.uriSans.join(', ')}`;
    throw new PeerIdentityError('NO_SPIFFE_ID', peer, `its certificate has ${sans}; a spiffe://<td>/ns/<ns>/sa/<sa> URI SAN is required`);
  }
  return { identity, serial: info.serial, notAfter: info.notAfter };
}

function describePeer(socket: tls.TLSSocket): string {
  const address = socket.remoteAddress;
  if (address === undefined) return 'the TLS peer';
  return socket.remoteFamily === 'IPv6' ? `[${address}]:${socket.remotePort ?? 0}` : `${address}:${socket.remotePort ?? 0}`;
}
