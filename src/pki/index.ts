// Public surface of ambit's PKI helpers: SPIFFE IDs, keys, CSRs, certificates, trust bundles and the CA client.
export { InvalidSpiffeId, isSpiffeId, parseSpiffeId, parseSpiffeIdParts, spiffeIdFor } from './spiffe';
export type { SpiffeId, SpiffeIdParts } from './spiffe';
export { generateKeyPair, generateWorkloadKey, keyAlgorithmOf, publicKeyPemOf, spkiDerOf } from './keys';
export type { KeyAlgorithm, KeyPairPem } from './keys';
export { createCsr, readCsr } from './csr';
export type { CsrContents } from './csr';
export {
  CLOCK_SKEW_SECONDS,
  CertificateIssuer,
  certInfo,
  generateRootCa,
  issueLeafCertificate,
  parseX509,
  verifyChain,
} from './certificate';
export type { CaKeyPair, CertificateInfo, ChainVerdict, LeafRequest, RootCaOptions, SubjectAltNames } from './certificate';
export { TrustBundle, tlsContextFor } from './bundle';
export type { MeshTlsOptions, TlsIdentity } from './bundle';
export { derToPem, normalizeCertificatePem, splitPemCertificates } from './pem';
export { CertificateRejected, CertificateRequestFailed, InvalidCertificate, InvalidCsr, UnsupportedKey } from './errors';
export { CA_SERVICE_NAME, CREATE_CERTIFICATE_PATH, IMPERSONATED_IDENTITY_KEY, asCertificateRequest, caServiceDefinition, structString } from './ca-proto';
export type { IstioCertificateRequest, IstioCertificateResponse, StructMessage, StructValue } from './ca-proto';
export { requestCertificate } from './ca-client';
export type { CertificateRequestOptions, IssuedCertificate } from './ca-client';
