// Decides whether the destination ztunnel lets an inbound connection through, with ztunnel's exact L4 semantics:
// any matching DENY denies; no ALLOW policies allows; a matching ALLOW allows; otherwise deny.
import type { ServiceAccountMatch } from '../../xds';
import type { CompiledMatch, CompiledPolicy, CompiledStringMatch } from './compiled-policy';
import { canonicalIp, ipInRange, type IpRange, type IpWords } from './ip-range';
import type { PolicySnapshot } from './policy-store';

/** The peer's mTLS identity, as read from its certificate's SPIFFE ID. */
export interface SourceIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface AuthzConnection {
  readonly sourceIp: string;
  /** Undefined for plaintext (no client certificate): principals and service accounts then never match. */
  readonly sourceIdentity?: SourceIdentity | undefined;
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly destinationWorkload: {
    readonly namespace: string;
    /** WORKLOAD_SELECTOR policy keys ("ns/name") from the workload's `authorization_policies`. */
    readonly authorizationPolicies: readonly string[];
  };
}

export type AuthzDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** "ns/name" of the DENY policy that matched; absent when no ALLOW policy matched. */
      readonly policy?: string;
      readonly reason: string;
    };

/** What a dry-run policy would have done; reported, never enforced. */
export interface DryRunResult {
  readonly policy: string;
  readonly action: CompiledPolicy['action'];
  readonly matched: boolean;
}

export interface AuthorizeOptions {
  /** Called for each dry-run policy that applies to the connection. */
  readonly onDryRun?: (result: DryRunResult) => void;
  /** Called for a key a workload lists that the snapshot lacks (usually a push still in flight); it is skipped. */
  readonly onUnknownPolicy?: (key: string) => void;
}

export const ALLOWED: AuthzDecision = Object.freeze({ allowed: true });
export const NO_ALLOW_MATCHED = 'allow policies exist but none matched';

/** Per-connection values, computed at most once and only when some policy asks for them. */
class ConnectionFacts {
  private sourceIpWords: IpWords | null | undefined;
  private destinationIpWords: IpWords | null | undefined;
  private principalText: string | null | undefined;

  constructor(readonly conn: AuthzConnection) {}

  get sourceIp(): IpWords | null {
    if (this.sourceIpWords === undefined) this.sourceIpWords = canonicalIp(this.conn.sourceIp) ?? null;
    return this.sourceIpWords;
  }

  get destinationIp(): IpWords | null {
    if (this.destinationIpWords === undefined) this.destinationIpWords = canonicalIp(this.conn.destinationIp) ?? null;
    return this.destinationIpWords;
  }

  /** "td/ns/X/sa/Y": the SPIFFE ID without "spiffe://", which is how istiod writes principals; null for plaintext. */
  get principal(): string | null {
    if (this.principalText === undefined) {
      const id = this.conn.sourceIdentity;
      this.principalText = id === undefined ? null : `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
    }
    return this.principalText;
  }

  /** ztunnel matches namespaces against "" for plaintext, so an exact "" or a bare prefix/suffix still matches. */
  get namespace(): string {
    return this.conn.sourceIdentity?.namespace ?? '';
  }
}

function stringMatches(m: CompiledStringMatch, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return value.startsWith(m.value);
    case 'suffix':
      return value.endsWith(m.value);
    case 'presence':
      return value !== '';
  }
}

// Each field check below is "some positive value matches (when any are listed) and no negative value matches",
// written as plain loops so that evaluating a connection allocates nothing.

function anyString(list: readonly CompiledStringMatch[], value: string | null): boolean {
  if (value === null) return false;
  for (const m of list) if (stringMatches(m, value)) return true;
  return false;
}

function stringField(positive: readonly CompiledStringMatch[], negative: readonly CompiledStringMatch[], value: string | null): boolean {
  if (positive.length > 0 && !anyString(positive, value)) return false;
  return negative.length === 0 || !anyString(negative, value);
}

function anyRange(list: readonly IpRange[], ip: IpWords | null): boolean {
  if (ip === null) return false;
  for (const r of list) if (ipInRange(ip, r)) return true;
  return false;
}

function rangeField(positive: readonly IpRange[], negative: readonly IpRange[], ip: IpWords | null): boolean {
  if (positive.length > 0 && !anyRange(positive, ip)) return false;
  return negative.length === 0 || !anyRange(negative, ip);
}

function portField(positive: readonly number[], negative: readonly number[], port: number): boolean {
  if (positive.length > 0 && !positive.includes(port)) return false;
  return negative.length === 0 || !negative.includes(port);
}

function anyServiceAccount(list: readonly ServiceAccountMatch[], id: SourceIdentity | undefined): boolean {
  if (id === undefined) return false;
  for (const s of list) if (s.namespace === id.namespace && s.serviceAccount === id.serviceAccount) return true;
  return false;
}

function serviceAccountField(positive: readonly ServiceAccountMatch[], negative: readonly ServiceAccountMatch[], id: SourceIdentity | undefined): boolean {
  if (positive.length > 0 && !anyServiceAccount(positive, id)) return false;
  return negative.length === 0 || !anyServiceAccount(negative, id);
}

function hasAny(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length > 0 || b.length > 0;
}

/** An empty match is skipped by ztunnel: it matches nothing, it does not match everything. */
function matchMatches(m: CompiledMatch, facts: ConnectionFacts): boolean {
  if (m.empty) return false;
  const conn = facts.conn;
  if (hasAny(m.destinationIps, m.notDestinationIps) && !rangeField(m.destinationIps, m.notDestinationIps, facts.destinationIp)) return false;
  if (hasAny(m.sourceIps, m.notSourceIps) && !rangeField(m.sourceIps, m.notSourceIps, facts.sourceIp)) return false;
  if (!portField(m.destinationPorts, m.notDestinationPorts, conn.destinationPort)) return false;
  if (!serviceAccountField(m.serviceAccounts, m.notServiceAccounts, conn.sourceIdentity)) return false;
  if (hasAny(m.principals, m.notPrincipals) && !stringField(m.principals, m.notPrincipals, facts.principal)) return false;
  if (hasAny(m.namespaces, m.notNamespaces) && !stringField(m.namespaces, m.notNamespaces, facts.namespace)) return false;
  return true;
}

function policyMatches(policy: CompiledPolicy, facts: ConnectionFacts): boolean {
  for (const rule of policy.rules) {
    let ruleMatches = true;
    for (const clause of rule) {
      if (clause.length === 0) continue;
      let clauseMatches = false;
      for (const m of clause) {
        if (matchMatches(m, facts)) {
          clauseMatches = true;
          break;
        }
      }
      if (!clauseMatches) {
        ruleMatches = false;
        break;
      }
    }
    if (ruleMatches) return true;
  }
  return false;
}

/** True when `policy` matches the connection; exported for admin tooling and tests. */
export function policyMatchesConnection(policy: CompiledPolicy, conn: AuthzConnection): boolean {
  return policyMatches(policy, new ConnectionFacts(conn));
}

interface ScanState {
  hasAllow: boolean;
}

/** The policy if it is an enforced DENY that matches; notes in `state` that an enforced ALLOW applies. */
function visitForDeny(p: CompiledPolicy, facts: ConnectionFacts, state: ScanState): CompiledPolicy | undefined {
  if (p.dryRun) return undefined;
  if (p.action === 'ALLOW') {
    state.hasAllow = true;
    return undefined;
  }
  return policyMatches(p, facts) ? p : undefined;
}

function scanForDeny(list: readonly CompiledPolicy[], facts: ConnectionFacts, state: ScanState): CompiledPolicy | undefined {
  for (const p of list) {
    const found = visitForDeny(p, facts, state);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every applicable dry-run policy is reported, whatever the enforced ones decide. */
function reportDryRuns(snapshot: PolicySnapshot, lists: readonly (readonly CompiledPolicy[])[], listed: readonly string[], facts: ConnectionFacts, report: (r: DryRunResult) => void): void {
  const visit = (p: CompiledPolicy | undefined): void => {
    if (p !== undefined && p.dryRun) report({ policy: p.key, action: p.action, matched: policyMatches(p, facts) });
  };
  for (const list of lists) for (const p of list) visit(p);
  for (const key of listed) visit(snapshot.get(key));
}

function anyAllowMatches(list: readonly CompiledPolicy[], facts: ConnectionFacts): boolean {
  for (const p of list) if (!p.dryRun && p.action === 'ALLOW' && policyMatches(p, facts)) return true;
  return false;
}

function denied(p: CompiledPolicy): AuthzDecision {
  return { allowed: false, policy: p.key, reason: `denied by DENY policy ${p.key}` };
}

/**
 * Authorizes one inbound connection against the snapshot it started with. Policies are gathered from the
 * destination's namespace (NAMESPACE), the mesh (GLOBAL) and the workload's own list (WORKLOAD_SELECTOR); dry-run
 * ones are only reported through `options.onDryRun`. Every DENY is checked before any ALLOW, in that order.
 */
export function authorize(snapshot: PolicySnapshot, conn: AuthzConnection, options: AuthorizeOptions = {}): AuthzDecision {
  const namespaced = snapshot.namespaced(conn.destinationWorkload.namespace);
  const global = snapshot.global();
  const listed = conn.destinationWorkload.authorizationPolicies;
  if (namespaced.length === 0 && global.length === 0 && listed.length === 0) return ALLOWED;

  const facts = new ConnectionFacts(conn);
  if (options.onDryRun !== undefined) reportDryRuns(snapshot, [namespaced, global], listed, facts, options.onDryRun);
  const state: ScanState = { hasAllow: false };
  const deny = scanForDeny(namespaced, facts, state) ?? scanForDeny(global, facts, state);
  if (deny !== undefined) return denied(deny);
  for (const key of listed) {
    const p = snapshot.get(key);
    if (p === undefined) {
      options.onUnknownPolicy?.(key);
      continue;
    }
    const found = visitForDeny(p, facts, state);
    if (found !== undefined) return denied(found);
  }

  if (!state.hasAllow) return ALLOWED;
  if (anyAllowMatches(namespaced, facts) || anyAllowMatches(global, facts)) return ALLOWED;
  for (const key of listed) {
    const p = snapshot.get(key);
    if (p !== undefined && !p.dryRun && p.action === 'ALLOW' && policyMatches(p, facts)) return ALLOWED;
  }
  return { allowed: false, reason: NO_ALLOW_MATCHED };
}
