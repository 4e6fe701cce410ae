// Public surface of ambit's HBONE library (HTTP/2 CONNECT over mutual TLS 1.3, port 15008), shared by the ztunnel and waypoints.
export { HBONE_PORT } from './port';
export { canonicalIp, formatAuthority, parseAuthority } from './authority';
export type { AuthorityParse, TunnelAuthority } from './authority';
export { peerCertificateFacts, peerIdentity, spiffeIdsOfDer } from './identity';
export type { PeerCertificateFacts, SpiffeId } from './identity';
export { clientTlsOptions, materialFingerprint, secureContextFor, secureNamingCheck, serverTlsOptions } from './tls';
export type { CertificateMaterial, SourceIdentity } from './tls';
export { DEFAULT_HTTP2_TUNING } from './h2-settings';
export type { Http2Tuning } from './h2-settings';
export { relay } from './relay';
export type { RelayProgress, RelayResult, RelaySide } from './relay';
export { HboneServer } from './server';
export type {
  ConnectionRejection,
  ConnectionRejectReason,
  HboneServerEvents,
  HboneServerOptions,
  ServerConnectionInfo,
  TunnelAccept,
  TunnelClosedInfo,
  TunnelDecision,
  TunnelInfo,
  TunnelOutcome,
  TunnelPeer,
  TunnelRefuse,
  TunnelRequest,
} from './server-types';
export { defaultDialer } from './client';
export type { Dialer } from './client';
export { HbonePool, poolKey } from './pool';
export type { HboneConnectRequest, HbonePoolOptions, PoolConnectionInfo } from './pool';
export { HboneTunnel } from './tunnel';
export type { TunnelMetadata } from './tunnel';
export {
  HboneConnectRefused,
  HboneConnectTimeout,
  HboneConnectionLost,
  HboneDialFailed,
  HboneStreamReset,
  InvalidConnectRequest,
  PeerIdentityError,
  SecureNamingViolation,
  TlsHandshakeFailed,
} from './errors';
export type { HboneConnectError, PeerIdentityProblem } from './errors';
