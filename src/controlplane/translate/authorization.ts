// AuthorizationPolicy -> istio.security.Authorization for ztunnel, following istiod's ambient conversion
// (pilot/pkg/serviceregistry/ambient/authorization.go): which scope a policy gets, how L4 fields become Match
// values, and what happens to HTTP-only (L7) fields that ztunnel cannot see.
import net from 'node:net';
import type { AuthorizationPolicy, AuthorizationRule, AuthorizationCondition } from '../../api';
import type { Authorization, AuthorizationAction, AuthorizationScope, Clause, Match, ProtoInput, ServiceAccountMatch, StringMatch } from '../../xds';

export const DEFAULT_ROOT_NAMESPACE = 'istio-system';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** `when` keys ztunnel can evaluate; every other key needs a waypoint. */
export const L4_CONDITION_KEYS: readonly string[] = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'];

export interface AuthorizationConversionOptions {
  /** Namespace whose selector-less policies apply mesh-wide (GLOBAL). */
  readonly rootNamespace?: string;
  /** The mesh's trust domain; principals naming another one can never match, which is worth a warning. */
  readonly trustDomain?: string;
}

export interface ConvertedAuthorizationPolicy {
  /** Absent when ztunnel must not enforce the policy at all; `reason` or `warnings` say why. */
  readonly authorization?: ProtoInput<Authorization>;
  readonly scope: AuthorizationScope;
  /** The workload selector's matchLabels when the policy has a selector (scope WORKLOAD_SELECTOR). */
  readonly selector?: Record<string, string>;
  /** Problems for the user, each a full sentence naming the policy; log once per policy change. */
  readonly warnings: string[];
  /** Why there is no authorization although nothing is wrong (e.g. the policy is bound to a waypoint). */
  readonly reason?: string;
}

type MatchInput = ProtoInput<Match>;
type ClauseInput = ProtoInput<Clause>;

const HTTP_RULE =
  'ztunnel does not support HTTP attributes (found: %s). In ambient mode you must use a waypoint proxy to enforce HTTP rules.';
const DENY_NO_EFFECT =
  'After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel and will have no effect. ' +
  'Deploy a waypoint proxy and use a targetRef to enforce this policy.';
const DENY_MIXED = 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.';
const ALLOW_OMITTED = 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.';
const ALLOW_NOTHING_LEFT =
  'No rule is left, so this policy allows nothing: unless another ALLOW policy matches, every connection to the workloads it selects is denied.';

/** "*" -> presence, "*x" -> suffix x, "x*" -> prefix x, else exact (istiod's stringToMatch). */
export function toStringMatch(value: string): ProtoInput<StringMatch> {
  if (value === '*') return { presence: {} };
  if (value.startsWith('*')) return { suffix: value.slice(1) };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1) };
  return { exact: value };
}

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** Any valid IPv6 spelling, including "::" and an embedded IPv4 tail ("::ffff:10.0.0.1"), as 16 bytes. */
function ipv6Bytes(text: string): number[] {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)];
      const [a, b, c, d] = ipv4Bytes(g);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const gap = text.indexOf('::');
  const head = groups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** "10.0.0.0/8" or a bare address (full length) -> {address, length}; undefined when unparsable (istiod skips it). */
export function toAuthorizationAddress(value: string): { address: Uint8Array; length: number } | undefined {
  const slash = value.indexOf('/');
  const ip = slash < 0 ? value : value.slice(0, slash);
  const bare = ip.includes('%') && slash < 0 ? ip.slice(0, ip.indexOf('%')) : ip;
  const family = net.isIP(bare);
  if (family === 0) return undefined;
  const width = family === 4 ? 32 : 128;
  let length = width;
  if (slash >= 0) {
    const bits = value.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > width) return undefined;
    length = Number(bits);
  }
  return { address: Uint8Array.from(family === 4 ? ipv4Bytes(bare) : ipv6Bytes(bare)), length };
}

function toAddresses(values: readonly string[] | undefined): { address: Uint8Array; length: number }[] {
  return (values ?? []).flatMap((v) => toAuthorizationAddress(v) ?? []);
}

function toPorts(values: readonly string[] | undefined): number[] {
  return (values ?? []).flatMap((v) => (/^[0-9]+$/.test(v) && Number(v) <= 65535 ? [Number(v)] : []));
}

function toStringMatches(values: readonly string[] | undefined): ProtoInput<StringMatch>[] {
  return (values ?? []).map(toStringMatch);
}

/** "ns/sa" names another namespace's account; a bare "sa" means the policy's own namespace. */
function toServiceAccounts(values: readonly string[] | undefined, policyNamespace: string): ServiceAccountMatch[] {
  return (values ?? []).map((v) => {
    const slash = v.indexOf('/');
    return slash < 0 ? { namespace: policyNamespace, serviceAccount: v } : { namespace: v.slice(0, slash), serviceAccount: v.slice(slash + 1) };
  });
}

/** Keeps only non-empty fields, so an "empty Match" is recognisably `{}`. */
function compact(fields: { [K in keyof Match]?: readonly unknown[] }): MatchInput {
  const out: Record<string, readonly unknown[]> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v.length > 0) out[k] = v;
  return out as MatchInput;
}

function isEmptyMatch(m: MatchInput): boolean {
  return Object.values(m).every((v) => !Array.isArray(v) || v.length === 0);
}

function l7Fields(present: Record<string, readonly unknown[] | undefined>): string[] {
  return Object.entries(present).flatMap(([k, v]) => (v !== undefined && v.length > 0 ? [k] : []));
}

function conditionMatch(when: AuthorizationCondition): MatchInput {
  const pick = <T>(key: string, convert: (v: readonly string[] | undefined) => readonly T[], values: readonly string[] | undefined): readonly T[] =>
    when.key === key ? convert(values) : [];
  return compact({
    namespaces: pick('source.namespace', toStringMatches, when.values),
    principals: pick('source.principal', toStringMatches, when.values),
    sourceIps: pick('source.ip', toAddresses, when.values),
    destinationPorts: pick('destination.port', toPorts, when.values),
    destinationIps: pick('destination.ip', toAddresses, when.values),
    notNamespaces: pick('source.namespace', toStringMatches, when.notValues),
    notPrincipals: pick('source.principal', toStringMatches, when.notValues),
    notSourceIps: pick('source.ip', toAddresses, when.notValues),
    notDestinationPorts: pick('destination.port', toPorts, when.notValues),
    notDestinationIps: pick('destination.ip', toAddresses, when.notValues),
  });
}

interface RuleConversion {
  /** The rule's clauses (to, from, then one per `when`); undefined when an ALLOW rule is dropped for L7 content. */
  readonly clauses: ClauseInput[] | undefined;
  readonly l7: string[];
}

/** One AuthorizationPolicy rule -> one Authorization rule (istiod's handleRule). */
function convertRule(action: AuthorizationAction, rule: AuthorizationRule, policyNamespace: string): RuleConversion {
  const l7: string[] = [];
  const clauses: ClauseInput[] = [];
  const to = (rule.to ?? []).map(({ operation: op }) => {
    l7.push(...l7Fields({ hosts: op.hosts, notHosts: op.notHosts, methods: op.methods, notMethods: op.notMethods, paths: op.paths, notPaths: op.notPaths }));
    return compact({ destinationPorts: toPorts(op.ports), notDestinationPorts: toPorts(op.notPorts) });
  });
  const from = (rule.from ?? []).map(({ source: s }) => {
    l7.push(
      ...l7Fields({
        remoteIpBlocks: s.remoteIpBlocks,
        notRemoteIpBlocks: s.notRemoteIpBlocks,
        requestPrincipals: s.requestPrincipals,
        notRequestPrincipals: s.notRequestPrincipals,
      }),
    );
    return compact({
      sourceIps: toAddresses(s.ipBlocks),
      notSourceIps: toAddresses(s.notIpBlocks),
      namespaces: toStringMatches(s.namespaces),
      notNamespaces: toStringMatches(s.notNamespaces),
      serviceAccounts: toServiceAccounts(s.serviceAccounts, policyNamespace),
      notServiceAccounts: toServiceAccounts(s.notServiceAccounts, policyNamespace),
      principals: toStringMatches(s.principals),
      notPrincipals: toStringMatches(s.notPrincipals),
    });
  });
  if (to.length > 0) clauses.push({ matches: to });
  if (from.length > 0) clauses.push({ matches: from });
  for (const when of rule.when ?? []) {
    if (!L4_CONDITION_KEYS.includes(when.key)) l7.push(when.key);
    // An L7 key yields an empty Match here: ztunnel skips it, so for DENY the whole rule can never match.
    clauses.push({ matches: [conditionMatch(when)] });
  }
  return { clauses: action === 'ALLOW' && l7.length > 0 ? undefined : clauses, l7 };
}

/**
 * Whether some rule can fire at ztunnel: a rule with no clauses matches everything; otherwise every clause needs a
 * non-empty match, because ztunnel skips empty ones.
 */
export function hasEffectiveRules(rules: readonly { clauses?: readonly ClauseInput[] }[]): boolean {
  return rules.some((r) => (r.clauses ?? []).every((c) => (c.matches ?? []).length === 0 || (c.matches ?? []).some((m) => !isEmptyMatch(m))));
}

/** Go's strconv.ParseBool, which istiod uses for the dry-run annotation. */
function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

function principalWarnings(values: readonly string[], field: string, trustDomain: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith('spiffe://')) {
      out.push(`${field} value ${JSON.stringify(v)} never matches: ztunnel compares principals without the "spiffe://" prefix (write ${JSON.stringify(v.slice(9))}).`);
      continue;
    }
    const slash = v.indexOf('/');
    const td = slash < 0 ? '' : v.slice(0, slash);
    if (td !== '' && !td.includes('*') && td !== trustDomain) {
      out.push(`${field} value ${JSON.stringify(v)} names trust domain ${JSON.stringify(td)}, but workload identities are in ${JSON.stringify(trustDomain)}, so it never matches.`);
    }
  }
  return out;
}

function collectPrincipalWarnings(rules: readonly AuthorizationRule[], trustDomain: string): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const { source } of rule.from ?? []) {
      out.push(...principalWarnings(source.principals ?? [], 'principals', trustDomain));
      out.push(...principalWarnings(source.notPrincipals ?? [], 'notPrincipals', trustDomain));
    }
    for (const when of rule.when ?? []) {
      if (when.key !== 'source.principal') continue;
      out.push(...principalWarnings(when.values ?? [], 'when source.principal', trustDomain));
      out.push(...principalWarnings(when.notValues ?? [], 'when source.principal notValues', trustDomain));
    }
  }
  return out;
}

/** Converts one AuthorizationPolicy for ztunnel. Pure: the same policy always gives the same result. */
export function convertAuthorizationPolicy(policy: AuthorizationPolicy, options: AuthorizationConversionOptions = {}): ConvertedAuthorizationPolicy {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const spec = policy.spec ?? {};
  const namespace = policy.metadata.namespace ?? '';
  const name = policy.metadata.name;
  const label = `AuthorizationPolicy ${namespace}/${name}`;
  const warnings: string[] = [];

  const selector = spec.selector === undefined ? undefined : { ...(spec.selector.matchLabels ?? {}) };
  const scope: AuthorizationScope = selector !== undefined ? 'WORKLOAD_SELECTOR' : namespace === rootNamespace ? 'GLOBAL' : 'NAMESPACE';
  const base = selector === undefined ? { scope } : { scope, selector };

  const annotation = policy.metadata.annotations?.[DRY_RUN_ANNOTATION];
  let dryRun = false;
  if (annotation !== undefined && annotation !== '') {
    const parsed = parseGoBool(annotation);
    if (parsed === undefined) warnings.push(`${label}: annotation ${DRY_RUN_ANNOTATION}=${JSON.stringify(annotation)} is not a boolean; the policy is enforced (use "true" or "false").`);
    dryRun = parsed ?? false;
  }

  if (spec.targetRef !== undefined || (spec.targetRefs ?? []).length > 0) {
    return { ...base, warnings, reason: `${label} uses targetRefs, so it is enforced by a waypoint, not by ztunnel.` };
  }

  const action = spec.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    warnings.push(`${label}: ztunnel does not support the ${action} action, so ztunnel does not enforce this policy; bind it to a waypoint with targetRefs.`);
    return { ...base, warnings };
  }

  const rules: { clauses: ClauseInput[] }[] = [];
  const l7 = new Set<string>();
  for (const rule of spec.rules ?? []) {
    const converted = convertRule(action, rule, namespace);
    if (converted.clauses !== undefined) rules.push({ clauses: converted.clauses });
    for (const f of converted.l7) l7.add(f);
  }

  if (l7.size > 0) {
    const found = HTTP_RULE.replace('%s', [...l7].sort().join(', '));
    if (action === 'DENY') warnings.push(`${label}: ${found} ${hasEffectiveRules(rules) ? DENY_MIXED : DENY_NO_EFFECT}`);
    else warnings.push(`${label}: ${found} ${ALLOW_OMITTED}${rules.length === 0 ? ` ${ALLOW_NOTHING_LEFT}` : ''}`);
  }
  for (const w of collectPrincipalWarnings(spec.rules ?? [], trustDomain)) warnings.push(`${label}: ${w}`);

  const authorization: ProtoInput<Authorization> = { name, namespace, scope, action, rules, dryRun };
  return { ...base, authorization, warnings };
}

export interface PolicyWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The "ns/name" keys a workload lists in `authorization_policies` for AuthorizationPolicies: selector policies from
 * its own namespace or the root namespace whose matchLabels it carries, sorted (istiod's buildWorkloadPolicies).
 * PeerAuthentication-derived keys (see peer-authentication.ts) go after these.
 */
export function selectorPolicyKeysForWorkload(
  converted: readonly ConvertedAuthorizationPolicy[],
  workload: PolicyWorkload,
  rootNamespace: string = DEFAULT_ROOT_NAMESPACE,
): string[] {
  const keys = new Set<string>();
  for (const c of converted) {
    const a = c.authorization;
    if (a === undefined || c.selector === undefined) continue;
    if (a.namespace !== rootNamespace && a.namespace !== workload.namespace) continue;
    if (selects(c.selector, workload.labels)) keys.add(`${a.namespace}/${a.name}`);
  }
  return [...keys].sort();
}
