// L7 authorization, per request: DENY policies first, then ALLOW (if any exist, one must match), as Envoy's RBAC filters run at an Istio waypoint.
import type { AuthzAttributes, CompiledPolicy, CompiledPolicySet } from './config';

export const RBAC_DENIED_BODY = 'RBAC: access denied';

export type AuthzDecision =
  | { readonly allowed: true; readonly dryRun: readonly DryRunOutcome[] }
  | { readonly allowed: false; readonly policy?: string; readonly reason: string; readonly dryRun: readonly DryRunOutcome[] };

/** What a dry-run policy would have done; logged, never enforced. */
export interface DryRunOutcome {
  readonly policy: string;
  readonly action: 'ALLOW' | 'DENY';
  readonly matched: boolean;
}

function matches(policy: CompiledPolicy, attributes: AuthzAttributes): boolean {
  if (attributes.http) return policy.rules.some((rule) => rule.test(attributes));
  // TCP traffic: an ALLOW rule needing HTTP can never match; a DENY rule is enforced on its L4 remainder.
  if (policy.action === 'DENY') return policy.rules.some((rule) => rule.l4Test(attributes));
  return policy.rules.some((rule) => !rule.usesHttp && rule.test(attributes));
}

/**
 * Decides one request against the policy sets that apply to it (the waypoint's own, then the service's). Pure:
 * the same attributes always give the same answer.
 */
export function authorize(sets: readonly CompiledPolicySet[], attributes: AuthzAttributes): AuthzDecision {
  const dryRun: DryRunOutcome[] = [];
  let allowPolicies = 0;
  let allowMatched = false;
  for (const set of sets) {
    for (const policy of set.deny) {
      const hit = matches(policy, attributes);
      if (policy.dryRun) {
        dryRun.push({ policy: policy.name, action: 'DENY', matched: hit });
        continue;
      }
      if (hit) return { allowed: false, policy: policy.name, reason: `denied by DENY policy ${policy.name}`, dryRun };
    }
  }
  for (const set of sets) {
    for (const policy of set.allow) {
      const hit = matches(policy, attributes);
      if (policy.dryRun) {
        dryRun.push({ policy: policy.name, action: 'ALLOW', matched: hit });
        continue;
      }
      allowPolicies += 1;
      allowMatched ||= hit;
    }
  }
  if (allowPolicies > 0 && !allowMatched) return { allowed: false, reason: 'ALLOW policies apply but none matched', dryRun };
  return { allowed: true, dryRun };
}

/** AUDIT policies that match, for the access log (Istio would send them to an audit sink); undefined when none does. */
export function audited(sets: readonly CompiledPolicySet[], attributes: AuthzAttributes): string[] | undefined {
  let names: string[] | undefined;
  for (const set of sets) {
    for (const policy of set.audit) if (matches(policy, attributes)) (names ??= []).push(policy.name);
  }
  return names;
}
