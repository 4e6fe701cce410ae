// PeerAuthentication -> istio.security.Authorization for ztunnel, following istiod's ambient conversion: STRICT is
// a DENY of connections without a peer identity (plaintext), shared as one static policy in the root namespace;
// workload policies with port-level exceptions become their own DENY policy; PERMISSIVE/DISABLE accept plaintext.
import type { MtlsMode, PeerAuthentication } from '../../api';
import type { Authorization, Clause, ProtoInput, Rule } from '../../xds';
import { DEFAULT_ROOT_NAMESPACE, type PolicyWorkload } from './authorization';

/** The static STRICT policy istiod pushes whenever any PeerAuthentication exists ('_' keeps it out of k8s names). */
export const STATIC_STRICT_POLICY_NAME = 'istio_converted_static_strict';
export const CONVERTED_PEER_AUTHENTICATION_PREFIX = 'converted_peer_authentication_';

type ClauseInput = ProtoInput<Clause>;
type RuleInput = ProtoInput<Rule>;

/** "Deny when the peer has no principal": the whole of STRICT at L4. */
const NO_PRINCIPAL: ClauseInput = { matches: [{ notPrincipals: [{ presence: {} }] }] };

export interface PeerAuthenticationConversionOptions {
  readonly rootNamespace?: string;
  /** The effective namespace-wide PeerAuthentication of the policy's namespace (the oldest without selector). */
  readonly namespacePolicy?: PeerAuthentication;
  /** The effective mesh-wide PeerAuthentication (the oldest without selector in the root namespace). */
  readonly meshPolicy?: PeerAuthentication;
}

export interface ConvertedPeerAuthentication {
  /** Present only for a workload policy whose port-level modes differ from its effective mode. */
  readonly authorization?: ProtoInput<Authorization>;
  readonly selector?: Record<string, string>;
  readonly warnings: string[];
  /** Why no authorization of its own is needed (the static STRICT policy or nothing covers it). */
  readonly reason?: string;
}

export function staticStrictPolicyKey(rootNamespace: string = DEFAULT_ROOT_NAMESPACE): string {
  return `${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`;
}

export function convertedPeerAuthenticationName(name: string): string {
  return CONVERTED_PEER_AUTHENTICATION_PREFIX + name;
}

/** DENY plaintext. Workloads under an effective STRICT mode list it; it selects nothing by itself. */
export function staticStrictAuthorization(rootNamespace: string = DEFAULT_ROOT_NAMESPACE): ProtoInput<Authorization> {
  return {
    name: STATIC_STRICT_POLICY_NAME,
    namespace: rootNamespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [NO_PRINCIPAL] }],
    dryRun: false,
  };
}

function modeOf(m: { mode?: MtlsMode } | undefined): MtlsMode {
  return m?.mode ?? 'UNSET';
}

const isStrict = (m: MtlsMode): boolean => m === 'STRICT';
/** ztunnel has no plaintext-only mode: DISABLE only means "accept plaintext", exactly like PERMISSIVE. */
const isLax = (m: MtlsMode): boolean => m === 'PERMISSIVE' || m === 'DISABLE';

function hasLabels(pa: PeerAuthentication): boolean {
  return Object.keys(pa.spec?.selector?.matchLabels ?? {}).length > 0;
}

function label(pa: PeerAuthentication): string {
  return `PeerAuthentication ${policyName(pa)}`;
}

/** Mesh then namespace: a namespace policy with a mode overrides the mesh one, UNSET inherits it. */
function parentIsStrict(namespacePolicy: PeerAuthentication | undefined, meshPolicy: PeerAuthentication | undefined): boolean {
  const nsMode = modeOf(namespacePolicy?.spec?.mtls);
  if (nsMode !== 'UNSET') return isStrict(nsMode);
  return isStrict(modeOf(meshPolicy?.spec?.mtls));
}

function sortedPorts(pa: PeerAuthentication): [number, MtlsMode][] {
  return Object.entries(pa.spec?.portLevelMtls ?? {})
    .map(([port, m]): [number, MtlsMode] => [Number(port), modeOf(m)])
    .sort((a, b) => a[0] - b[0]);
}

function modeWarnings(pa: PeerAuthentication, rootNamespace: string): string[] {
  const out: string[] = [];
  const modes = [modeOf(pa.spec?.mtls), ...sortedPorts(pa).map(([, m]) => m)];
  if (modes.includes('DISABLE')) {
    out.push(`${label(pa)}: mode DISABLE acts like PERMISSIVE in ambient mode: plaintext is accepted, and traffic between ambient workloads is still mTLS (HBONE).`);
  }
  if (pa.metadata.namespace === rootNamespace && pa.spec?.selector !== undefined) {
    out.push(`${label(pa)}: a selector in the root namespace is ignored in ambient mode; put the policy in the workloads' namespace.`);
  }
  return out;
}

/**
 * Converts one PeerAuthentication. Only a workload policy (selector, outside the root namespace) with port-level
 * modes gets an Authorization of its own; mesh-, namespace- and plain workload-level STRICT are enforced by the
 * static STRICT policy that `peerAuthenticationPolicyKeysForWorkload` attaches to each workload.
 */
export function convertPeerAuthentication(pa: PeerAuthentication, options: PeerAuthenticationConversionOptions = {}): ConvertedPeerAuthentication {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const warnings = modeWarnings(pa, rootNamespace);
  const namespace = pa.metadata.namespace ?? '';
  const spec = pa.spec ?? {};
  const selector = spec.selector === undefined ? undefined : { ...(spec.selector.matchLabels ?? {}) };
  const base = selector === undefined ? { warnings } : { selector, warnings };
  const ports = sortedPorts(pa);
  if (namespace === rootNamespace || selector === undefined || ports.length === 0) {
    return { ...base, reason: `${label(pa)} is not a workload policy with portLevelMtls; the static STRICT policy covers its mode.` };
  }

  const mode = modeOf(spec.mtls);
  const workloadStrict = isStrict(mode) || (mode === 'UNSET' && parentIsStrict(options.namespacePolicy, options.meshPolicy));
  const strictPortRules: RuleInput[] = [];
  const exemptions: ClauseInput[] = [];
  for (const [port, portMode] of ports) {
    // A STRICT port under a STRICT workload, or a lax port under a lax one, changes nothing.
    if (isStrict(portMode) && !workloadStrict) {
      strictPortRules.push({ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [port] }] }] });
    } else if (isLax(portMode) && workloadStrict) {
      exemptions.push({ matches: [{ notDestinationPorts: [port] }] });
    }
  }
  if (strictPortRules.length === 0 && exemptions.length === 0) {
    return { ...base, reason: `${label(pa)}: every port-level mode equals the workload's effective mode, so no policy of its own is needed.` };
  }
  // One rule ANDs "no principal" with "not any exempt port"; STRICT ports are OR-ed rules of their own.
  const rules = exemptions.length > 0 ? [...strictPortRules, { clauses: [NO_PRINCIPAL, ...exemptions] }] : strictPortRules;
  const authorization: ProtoInput<Authorization> = {
    name: convertedPeerAuthenticationName(pa.metadata.name),
    namespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules,
    dryRun: false,
  };
  return { ...base, authorization };
}

function creationMillis(pa: PeerAuthentication): number {
  const t = pa.metadata.creationTimestamp === undefined ? NaN : Date.parse(pa.metadata.creationTimestamp);
  // A missing timestamp is Go's zero time, which is older than any real one.
  return Number.isNaN(t) ? -Infinity : t;
}

function policyName(pa: PeerAuthentication): string {
  return `${pa.metadata.namespace ?? ''}/${pa.metadata.name}`;
}

/** istiod's tie-break when several policies compete: the oldest wins (then namespace/name, for determinism). */
function oldest(list: readonly PeerAuthentication[]): PeerAuthentication | undefined {
  let best: PeerAuthentication | undefined;
  for (const pa of list) {
    if (best === undefined) {
      best = pa;
      continue;
    }
    const [t, bestT] = [creationMillis(pa), creationMillis(best)];
    if (t < bestT || (t === bestT && policyName(pa) < policyName(best))) best = pa;
  }
  return best;
}

function selectorless(all: readonly PeerAuthentication[], namespace: string): PeerAuthentication[] {
  return all.filter((pa) => pa.metadata.namespace === namespace && pa.spec?.selector === undefined);
}

export interface PeerAuthenticationAuthorizations {
  /** Every Authorization derived from PeerAuthentications: the static STRICT one (if any PA exists) first. */
  readonly authorizations: ProtoInput<Authorization>[];
  readonly warnings: string[];
}

/** All ztunnel Authorizations derived from the cluster's PeerAuthentications, as istiod pushes them. */
export function peerAuthenticationAuthorizations(
  all: readonly PeerAuthentication[],
  options: { readonly rootNamespace?: string } = {},
): PeerAuthenticationAuthorizations {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  if (all.length === 0) return { authorizations: [], warnings: [] };
  const authorizations = [staticStrictAuthorization(rootNamespace)];
  const warnings: string[] = [];
  const meshPolicy = oldest(selectorless(all, rootNamespace));
  const namespaces = [...new Set(all.map((pa) => pa.metadata.namespace ?? ''))].sort();
  for (const ns of namespaces) {
    const wide = selectorless(all, ns);
    const winner = oldest(wide);
    for (const pa of wide) {
      if (pa !== winner && winner !== undefined) {
        warnings.push(`${label(pa)} is ignored: ${label(winner)} is older and also applies to the whole ${ns === rootNamespace ? 'mesh' : 'namespace'}.`);
      }
    }
  }
  for (const pa of [...all].sort((a, b) => label(a).localeCompare(label(b)))) {
    const namespacePolicy = oldest(selectorless(all, pa.metadata.namespace ?? ''));
    const converted = convertPeerAuthentication(pa, { rootNamespace, namespacePolicy, meshPolicy });
    if (converted.authorization !== undefined) authorizations.push(converted.authorization);
    warnings.push(...converted.warnings);
  }
  return { authorizations, warnings };
}

function selects(matchLabels: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

/**
 * The PeerAuthentication-derived keys a workload lists in `authorization_policies` (istiod's
 * convertedSelectorPeerAuthentications): the static STRICT policy when its effective mode is STRICT everywhere, the
 * converted workload policy when port-level modes differ, or nothing (PERMISSIVE). Sorted.
 */
export function peerAuthenticationPolicyKeysForWorkload(
  all: readonly PeerAuthentication[],
  workload: PolicyWorkload,
  rootNamespace: string = DEFAULT_ROOT_NAMESPACE,
): string[] {
  const applicable = all.filter((pa) => {
    const ns = pa.metadata.namespace;
    const sel = pa.spec?.selector;
    if (ns === rootNamespace && sel === undefined) return true;
    if (ns !== workload.namespace) return false;
    return sel === undefined || selects(sel.matchLabels ?? {}, workload.labels);
  });
  const mesh = oldest(applicable.filter((pa) => !hasLabels(pa) && pa.metadata.namespace === rootNamespace));
  const namespaceWide = oldest(applicable.filter((pa) => !hasLabels(pa) && pa.metadata.namespace !== rootNamespace));
  const workloadPolicy = oldest(applicable.filter((pa) => hasLabels(pa) && pa.metadata.namespace !== rootNamespace));

  let strict = parentIsStrict(namespaceWide, mesh);
  let portPolicyKey: string | undefined;
  if (workloadPolicy !== undefined) {
    const mode = modeOf(workloadPolicy.spec?.mtls);
    const portModes = sortedPorts(workloadPolicy).map(([, m]) => m);
    const ownKey = `${workloadPolicy.metadata.namespace ?? ''}/${convertedPeerAuthenticationName(workloadPolicy.metadata.name)}`;
    if (isStrict(mode)) strict = true;
    if (isLax(mode)) strict = false;
    if (portModes.length > 0) {
      // The converted policy already contains the STRICT part, so the static one is dropped when it is referenced:
      // DENY wins over everything, so the static policy would otherwise override the port exemptions.
      if (strict && portModes.some(isLax)) {
        portPolicyKey = ownKey;
        strict = false;
      } else if (!strict && portModes.some(isStrict)) {
        portPolicyKey = ownKey;
      }
    }
  }
  const keys: string[] = [];
  if (strict) keys.push(staticStrictPolicyKey(rootNamespace));
  if (portPolicyKey !== undefined) keys.push(portPolicyKey);
  return keys.sort();
}
