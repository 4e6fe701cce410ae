// Turns a decoded istio.security.Authorization into the form evaluated per connection: string matches, CIDRs and
// ports checked once here, so a connection only compares values.
import type { Authorization, AuthorizationAction, AuthorizationScope, Match, ServiceAccountMatch, StringMatch } from '../../xds';
import { rangeFromBytes, type IpRange } from './ip-range';

export type CompiledStringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'presence' };

/** One Match: every non-empty field must hold (values within a field are OR-ed); `not*` values must not match. */
export interface CompiledMatch {
  readonly namespaces: readonly CompiledStringMatch[];
  readonly notNamespaces: readonly CompiledStringMatch[];
  readonly principals: readonly CompiledStringMatch[];
  readonly notPrincipals: readonly CompiledStringMatch[];
  readonly sourceIps: readonly IpRange[];
  readonly notSourceIps: readonly IpRange[];
  readonly destinationIps: readonly IpRange[];
  readonly notDestinationIps: readonly IpRange[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
  readonly serviceAccounts: readonly ServiceAccountMatch[];
  readonly notServiceAccounts: readonly ServiceAccountMatch[];
  /** True when no field survived compilation; ztunnel skips such a match, so it matches nothing. */
  readonly empty: boolean;
}

/** OR of matches. A clause with no matches at all matches everything. */
export type CompiledClause = readonly CompiledMatch[];

/** AND of clauses. A rule with no clauses matches everything. */
export type CompiledRule = readonly CompiledClause[];

export interface CompiledPolicy {
  /** "namespace/name", the xDS resource name and the key workloads list in `authorization_policies`. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly scope: AuthorizationScope;
  readonly action: AuthorizationAction;
  readonly dryRun: boolean;
  /** OR of rules. A policy with no rules matches nothing. */
  readonly rules: readonly CompiledRule[];
}

export function policyKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A StringMatch with no member set carries no condition; ztunnel drops it, and so do we. */
function compileStringMatch(m: StringMatch): CompiledStringMatch | undefined {
  if (m.exact !== undefined) return { kind: 'exact', value: m.exact };
  if (m.prefix !== undefined) return { kind: 'prefix', value: m.prefix };
  if (m.suffix !== undefined) return { kind: 'suffix', value: m.suffix };
  if (m.presence !== undefined) return { kind: 'presence' };
  return undefined;
}

function compileStrings(list: readonly StringMatch[]): readonly CompiledStringMatch[] {
  const out: CompiledStringMatch[] = [];
  for (const m of list) {
    const c = compileStringMatch(m);
    if (c !== undefined) out.push(c);
  }
  return Object.freeze(out);
}

function compileRanges(list: Match['sourceIps']): readonly IpRange[] {
  const out: IpRange[] = [];
  for (const a of list) {
    const r = rangeFromBytes(a.address, a.length);
    if (r !== undefined) out.push(r);
  }
  return Object.freeze(out);
}

/** uint32 on the wire; ztunnel truncates to u16, which we mirror so a port > 65535 behaves identically. */
function compilePorts(list: readonly number[]): readonly number[] {
  return Object.freeze(list.map((p) => p & 0xffff));
}

function compileServiceAccounts(list: readonly ServiceAccountMatch[]): readonly ServiceAccountMatch[] {
  return Object.freeze(list.map((sa) => Object.freeze({ namespace: sa.namespace, serviceAccount: sa.serviceAccount })));
}

export function compileMatch(m: Match): CompiledMatch {
  const compiled = {
    namespaces: compileStrings(m.namespaces),
    notNamespaces: compileStrings(m.notNamespaces),
    principals: compileStrings(m.principals),
    notPrincipals: compileStrings(m.notPrincipals),
    sourceIps: compileRanges(m.sourceIps),
    notSourceIps: compileRanges(m.notSourceIps),
    destinationIps: compileRanges(m.destinationIps),
    notDestinationIps: compileRanges(m.notDestinationIps),
    destinationPorts: compilePorts(m.destinationPorts),
    notDestinationPorts: compilePorts(m.notDestinationPorts),
    serviceAccounts: compileServiceAccounts(m.serviceAccounts),
    notServiceAccounts: compileServiceAccounts(m.notServiceAccounts),
  };
  const empty = Object.values(compiled).every((field) => field.length === 0);
  return Object.freeze({ ...compiled, empty });
}

/** Compiles one decoded Authorization. It never throws: values ztunnel would drop are dropped. */
export function compileAuthorization(a: Authorization): CompiledPolicy {
  const rules = a.rules.map((rule) =>
    Object.freeze(rule.clauses.map((clause) => Object.freeze(clause.matches.map(compileMatch)))),
  );
  return Object.freeze({
    key: policyKey(a.namespace, a.name),
    name: a.name,
    namespace: a.namespace,
    scope: a.scope,
    action: a.action,
    dryRun: a.dryRun,
    rules: Object.freeze(rules),
  });
}
