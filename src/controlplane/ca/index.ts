// Public surface of the control plane's certificate authority.
export { CA_FILES, CaStore, DEFAULT_ROOT_TTL_DAYS } from './ca-store';
export type { CaMode, CaStoreOptions, IssueRequest, ServingCertificate } from './ca-store';
export { CaFileError } from './ca-files';
export type { CaFileProblem } from './ca-files';
export { planIssuance } from './issuance-plan';
export type { CaCaller, CaRefusal, CaRefusalReason, IssuanceLimits, IssuancePlan } from './issuance-plan';
export { DEFAULT_MAX_WORKLOAD_TTL_SECONDS, DEFAULT_WORKLOAD_TTL_SECONDS, createCertificateService } from './service';
export type {
  CaAuthenticator,
  CaServiceCounters,
  CertificateService,
  CertificateServiceOptions,
  IdentityAuthorizer,
  IssuedEvent,
  WorkloadCertificateSigner,
} from './service';
export { InvalidNodeName, InvalidNodeToken, NodeTokenAuthenticator, UnauthenticatedCaller } from './node-token';
export { CONTROL_PLANE_DNS_NAME, DEFAULT_SERVING_TTL_SECONDS, controlPlaneServerCredentials } from './serving-credentials';
export type { ServingIdentityOptions } from './serving-credentials';
