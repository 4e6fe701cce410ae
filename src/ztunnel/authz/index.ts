// Public surface of the ztunnel's L4 authorization: the policy snapshot built from xDS and the per-connection check.
export { PolicySnapshot } from './policy-store';
export {
  authorize,
  policyMatchesConnection,
  ALLOWED,
  NO_ALLOW_MATCHED,
  type AuthzConnection,
  type AuthzDecision,
  type AuthorizeOptions,
  type DryRunResult,
  type SourceIdentity,
} from './evaluate';
export {
  compileAuthorization,
  policyKey,
  type CompiledPolicy,
  type CompiledRule,
  type CompiledClause,
  type CompiledMatch,
  type CompiledStringMatch,
} from './compiled-policy';
export { parseIp, parseRange, canonicalIp, ipInRange, type IpWords, type IpRange } from './ip-range';
export { PolicyDeniedError } from './errors';
