// L7 authorization, build step: AuthorizationPolicies compiled once per push into matchers over request attributes.
import { canonicalIp, ipInRange, parseRange, type IpRange } from '../../../ztunnel/authz/ip-range';
import type { AuthorizationConditionDoc, AuthorizationDoc, AuthorizationOperationDoc, AuthorizationRuleDoc, AuthorizationSourceDoc } from '../../config/types';

/** What a policy is judged against; HTTP fields are absent for TCP traffic. */
export interface AuthzAttributes {
  readonly http: boolean;
  readonly method?: string;
  /** Path without query, normalized. */
  readonly path?: string;
  readonly host?: string;
  header?(name: string): string | undefined;
  readonly sourceIp: string;
  /** Without "spiffe://"; undefined without mTLS. */
  readonly principal?: string;
  readonly namespace?: string;
  /** "ns/sa". */
  readonly serviceAccount?: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

type Check = (a: AuthzAttributes) => boolean;

/** `when` keys a TCP connection can answer; the rest need an HTTP request. */
const L4_CONDITION_KEYS = new Set(['source.ip', 'source.namespace', 'source.principal', 'source.serviceAccount', 'destination.ip', 'destination.port']);

/** A compiled rule: `l7` records whether it used HTTP-only fields (which TCP traffic cannot satisfy). */
export interface CompiledRule {
  readonly test: Check;
  /** The same rule with HTTP-only fields removed, for DENY on TCP traffic (Istio enforces the L4 remainder). */
  readonly l4Test: Check;
  readonly usesHttp: boolean;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly action: 'ALLOW' | 'DENY' | 'AUDIT';
  readonly dryRun: boolean;
  /** Empty: the policy matches nothing. */
  readonly rules: readonly CompiledRule[];
}

/** Policies for one attachment point, split by action; DENY is checked before ALLOW. */
export interface CompiledPolicySet {
  readonly deny: readonly CompiledPolicy[];
  readonly allow: readonly CompiledPolicy[];
  readonly audit: readonly CompiledPolicy[];
  readonly size: number;
}

export const EMPTY_POLICY_SET: CompiledPolicySet = Object.freeze({ deny: [], allow: [], audit: [], size: 0 });

/** Istio's string forms: "*" any non-empty value, "*x" suffix, "x*" prefix, else exact. */
export function valuePattern(pattern: string, options: { ignoreCase?: boolean } = {}): (value: string | undefined) => boolean {
  const fold = options.ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
  const p = fold(pattern);
  if (p === '*') return (v) => v !== undefined && v !== '';
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (v) => v !== undefined && fold(v).endsWith(suffix);
  }
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (v) => v !== undefined && fold(v).startsWith(prefix);
  }
  return (v) => v !== undefined && fold(v) === p;
}

function anyOf(patterns: readonly string[], options: { ignoreCase?: boolean } = {}): (value: string | undefined) => boolean {
  const tests = patterns.map((p) => valuePattern(p, options));
  return (v) => tests.some((t) => t(v));
}

function inRanges(values: readonly string[]): (ip: string) => boolean {
  const ranges = values.map(parseRange).filter((r): r is IpRange => r !== undefined);
  return (ip) => {
    const parsed = canonicalIp(ip);
    return parsed !== undefined && ranges.some((range) => ipInRange(parsed, range));
  };
}

/** A host pattern matches the Host header with or without its port, case-insensitively. */
function hostMatcher(values: readonly string[]): (host: string | undefined) => boolean {
  const test = anyOf(values, { ignoreCase: true });
  return (host) => host !== undefined && (test(host) || test(host.replace(/:[0-9]+$/, '')));
}

interface FieldChecks {
  readonly all: Check[];
  readonly l4: Check[];
  usesHttp: boolean;
}

function add(checks: FieldChecks, http: boolean, positive: readonly string[] | undefined, negative: readonly string[] | undefined, build: (values: readonly string[]) => Check): void {
  if (positive?.length) {
    const check = build(positive);
    checks.all.push(check);
    if (!http) checks.l4.push(check);
    checks.usesHttp ||= http;
  }
  if (negative?.length) {
    const check = build(negative);
    const not: Check = (a) => !check(a);
    checks.all.push(not);
    if (!http) checks.l4.push(not);
    checks.usesHttp ||= http;
  }
}

function sourceChecks(s: AuthorizationSourceDoc, checks: FieldChecks): void {
  add(checks, false, s.principals, s.notPrincipals, (v) => {
    const t = anyOf(v);
    return (a) => t(a.principal);
  });
  add(checks, false, s.namespaces, s.notNamespaces, (v) => {
    const t = anyOf(v);
    return (a) => t(a.namespace);
  });
  add(checks, false, s.serviceAccounts, s.notServiceAccounts, (v) => {
    const t = anyOf(v);
    return (a) => t(a.serviceAccount);
  });
  add(checks, false, s.ipBlocks, s.notIpBlocks, (v) => {
    const t = inRanges(v);
    return (a) => t(a.sourceIp);
  });
  // The waypoint trusts no X-Forwarded-For hops, so the remote address is the peer's.
  add(checks, true, s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => {
    const t = inRanges(v);
    return (a) => t(a.sourceIp);
  });
  // No RequestAuthentication here: a request never carries a verified JWT principal.
  add(checks, true, s.requestPrincipals, s.notRequestPrincipals, () => () => false);
}

function operationChecks(o: AuthorizationOperationDoc, checks: FieldChecks): void {
  add(checks, true, o.hosts, o.notHosts, (v) => {
    const t = hostMatcher(v);
    return (a) => t(a.host);
  });
  add(checks, false, o.ports, o.notPorts, (v) => (a) => v.includes(String(a.destinationPort)));
  add(checks, true, o.methods, o.notMethods, (v) => {
    const t = anyOf(v);
    return (a) => t(a.method);
  });
  add(checks, true, o.paths, o.notPaths, (v) => {
    const t = anyOf(v);
    return (a) => t(a.path);
  });
}

function conditionCheck(c: AuthorizationConditionDoc, checks: FieldChecks): void {
  const header = /^request\.headers\[(.+)\]$/.exec(c.key)?.[1]?.toLowerCase();
  const http = header !== undefined || !L4_CONDITION_KEYS.has(c.key);
  let build: (values: readonly string[]) => Check;
  if (header !== undefined) {
    build = (v) => {
      const t = anyOf(v);
      return (a) => t(a.header?.(header));
    };
  } else {
    switch (c.key) {
      case 'source.ip':
      case 'remote.ip':
        build = (v) => {
          const t = inRanges(v);
          return (a) => t(a.sourceIp);
        };
        break;
      case 'source.namespace':
        build = (v) => ((t) => (a: AuthzAttributes) => t(a.namespace))(anyOf(v));
        break;
      case 'source.principal':
        build = (v) => ((t) => (a: AuthzAttributes) => t(a.principal))(anyOf(v));
        break;
      case 'source.serviceAccount':
        build = (v) => ((t) => (a: AuthzAttributes) => t(a.serviceAccount))(anyOf(v));
        break;
      case 'destination.ip':
        build = (v) => {
          const t = inRanges(v);
          return (a) => t(a.destinationIp);
        };
        break;
      case 'destination.port':
        build = (v) => (a) => v.includes(String(a.destinationPort));
        break;
      default:
        // request.auth.*, connection.sni and experimental.* have no value here: `values` never match.
        build = () => () => false;
    }
  }
  add(checks, http, c.values, c.notValues, build);
}

/** One rule: it matches when one of its sources, one of its operations and every condition match (an absent part matches). */
export function compileRule(rule: AuthorizationRuleDoc): CompiledRule {
  const parts: FieldChecks[] = [];
  const group = (items: readonly FieldChecks[]): { all: Check; l4: Check; usesHttp: boolean } | undefined => {
    if (items.length === 0) return undefined;
    const all = items.map((c) => c.all);
    const l4 = items.map((c) => c.l4);
    return {
      all: (a) => all.some((checks) => checks.every((check) => check(a))),
      l4: (a) => l4.some((checks) => checks.every((check) => check(a))),
      usesHttp: items.some((c) => c.usesHttp),
    };
  };
  const fresh = (): FieldChecks => ({ all: [], l4: [], usesHttp: false });
  const from = group((rule.from ?? []).map((s) => ((c) => (sourceChecks(s, c), c))(fresh())));
  const to = group((rule.to ?? []).map((o) => ((c) => (operationChecks(o, c), c))(fresh())));
  for (const condition of rule.when ?? []) {
    const c = fresh();
    conditionCheck(condition, c);
    parts.push(c);
  }
  const clauses = [from, to, ...parts.map((c) => ({ all: (a: AuthzAttributes) => c.all.every((k) => k(a)), l4: (a: AuthzAttributes) => c.l4.every((k) => k(a)), usesHttp: c.usesHttp }))].filter(
    (c): c is { all: Check; l4: Check; usesHttp: boolean } => c !== undefined,
  );
  return {
    test: (a) => clauses.every((c) => c.all(a)),
    l4Test: (a) => clauses.every((c) => c.l4(a)),
    usesHttp: clauses.some((c) => c.usesHttp),
  };
}

export function compilePolicy(doc: AuthorizationDoc): CompiledPolicy {
  return { name: doc.name, action: doc.action, dryRun: doc.dryRun, rules: (doc.rules ?? []).map(compileRule) };
}

export function compilePolicySet(docs: readonly AuthorizationDoc[]): CompiledPolicySet {
  if (docs.length === 0) return EMPTY_POLICY_SET;
  const compiled = docs.map(compilePolicy);
  return {
    deny: compiled.filter((p) => p.action === 'DENY'),
    allow: compiled.filter((p) => p.action === 'ALLOW'),
    audit: compiled.filter((p) => p.action === 'AUDIT'),
    size: compiled.length,
  };
}
