// Cross-object checks (`ambit analyze`): references between valid objects that point at nothing, with the object and field at fault.

import type { HTTPRoute, BackendObjectReference } from './gateway/http-route';
import type { AuthorizationPolicy } from './istio/authorization-policy';
import type { DestinationRule } from './istio/destination-rule';
import type { Destination } from './istio/http-route';
import type { PeerAuthentication } from './istio/peer-authentication';
import type { VirtualService } from './istio/virtual-service';
import { formatSelector, MeshIndex, selects, type IndexOptions } from './mesh-index';
import { describeObject, type LocatedResource } from './resource';
import { formatPath, type FieldPath } from './schema';
import { fieldLine } from './source-lines';

export type Severity = 'error' | 'warning';

export type FindingCode =
  | 'UNKNOWN_HOST'
  | 'UNKNOWN_SUBSET'
  | 'PORT_REQUIRED'
  | 'UNKNOWN_PORT'
  | 'UNKNOWN_BACKEND'
  | 'UNKNOWN_PARENT'
  | 'UNKNOWN_TARGET'
  | 'NO_MATCHING_WORKLOADS'
  | 'SUBSET_MATCHES_NO_WORKLOAD';

export interface Finding {
  code: FindingCode;
  /** error: traffic will fail or be refused; warning: the object has no effect or a likely slip. */
  severity: Severity;
  file: string;
  line: number;
  /** "VirtualService bookinfo/reviews". */
  object: string;
  /** "spec.http[0].route[1].destination.subset". */
  field: string;
  message: string;
}

export type AnalyzeOptions = IndexOptions;

/** "file:line: severity: object: field: message", the form `ambit analyze` prints. */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.severity}: ${f.object}: ${f.field === '' ? '' : `${f.field}: `}${f.message}`;
}

class Findings {
  readonly list: Finding[] = [];

  add(located: LocatedResource, path: FieldPath, code: FindingCode, severity: Severity, message: string): void {
    this.list.push({
      code,
      severity,
      file: located.source.file,
      line: fieldLine(located, path),
      object: describeObject(located.resource),
      field: formatPath(path),
      message,
    });
  }
}

function checkDestination(index: MeshIndex, out: Findings, located: LocatedResource, path: FieldPath, dest: Destination): void {
  const ns = located.resource.metadata.namespace ?? '';
  const fqdn = index.resolveHost(dest.host, ns);
  const svc = index.serviceByFqdn(fqdn);
  if (svc === undefined && index.serviceEntryFor(fqdn) === undefined) {
    const looked = fqdn === dest.host ? '' : ` (looked for ${fqdn})`;
    out.add(located, [...path, 'host'], 'UNKNOWN_HOST', 'error', `host ${JSON.stringify(dest.host)} is not a known Service or ServiceEntry${looked}`);
    return;
  }
  if (dest.subset !== undefined) {
    const rules = index.destinationRulesFor(fqdn);
    if (!rules.some((dr) => (dr.spec?.subsets ?? []).some((s) => s.name === dest.subset))) {
      const defined = rules.map((dr) => `${describeObject(dr)} defines ${(dr.spec?.subsets ?? []).map((s) => s.name).join(', ') || 'no subsets'}`);
      const hint = defined.length === 0 ? '' : ` (${defined.join('; ')})`;
      out.add(located, [...path, 'subset'], 'UNKNOWN_SUBSET', 'error', `subset ${JSON.stringify(dest.subset)} is not defined by any DestinationRule for host ${fqdn}${hint}`);
    }
  }
  const ports = svc?.spec?.ports ?? [];
  if (svc === undefined || ports.length === 0) return;
  const svcName = describeObject(svc);
  if (dest.port === undefined && ports.length > 1) {
    out.add(located, path, 'PORT_REQUIRED', 'error', `${svcName} has ${ports.length} ports (${ports.map((p) => p.port).join(', ')}); set port.number`);
  } else if (dest.port !== undefined && !ports.some((p) => p.port === dest.port?.number)) {
    out.add(located, [...path, 'port', 'number'], 'UNKNOWN_PORT', 'warning', `${svcName} has no port ${dest.port.number} (ports: ${ports.map((p) => p.port).join(', ')})`);
  }
}

function checkVirtualService(index: MeshIndex, out: Findings, located: LocatedResource): void {
  const spec = (located.resource as VirtualService).spec;
  (spec?.http ?? []).forEach((route, i) => {
    const at: FieldPath = ['spec', 'http', i];
    (route.route ?? []).forEach((r, j) => checkDestination(index, out, located, [...at, 'route', j, 'destination'], r.destination));
    if (route.mirror !== undefined) checkDestination(index, out, located, [...at, 'mirror'], route.mirror);
    (route.mirrors ?? []).forEach((m, j) => checkDestination(index, out, located, [...at, 'mirrors', j, 'destination'], m.destination));
  });
}

function checkSelectorPolicy(index: MeshIndex, out: Findings, located: LocatedResource): void {
  const r = located.resource as AuthorizationPolicy | PeerAuthentication;
  const selector = r.spec?.selector?.matchLabels;
  if (selector === undefined || Object.keys(selector).length === 0) return;
  const ns = r.metadata.namespace ?? '';
  if (index.workloadsSelected(ns, selector).length > 0) return;
  const where = ns === index.rootNamespace ? 'any namespace' : `namespace ${ns}`;
  out.add(located, ['spec', 'selector'], 'NO_MATCHING_WORKLOADS', 'warning', `selector ${formatSelector(selector)} matches no Pod or Deployment in ${where}`);
}

const TARGET_KINDS: Readonly<Record<string, string>> = { Service: 'Service', ServiceEntry: 'ServiceEntry', Gateway: 'Gateway' };

function checkPolicyTargets(index: MeshIndex, out: Findings, located: LocatedResource): void {
  const spec = (located.resource as AuthorizationPolicy).spec;
  const ns = located.resource.metadata.namespace ?? '';
  const refs = spec?.targetRefs ?? (spec?.targetRef === undefined ? [] : [spec.targetRef]);
  const field = spec?.targetRefs !== undefined ? 'targetRefs' : 'targetRef';
  refs.forEach((ref, i) => {
    const kind = TARGET_KINDS[ref.kind];
    if (kind === undefined || index.has(kind, ns, ref.name)) return;
    const path: FieldPath = field === 'targetRefs' ? ['spec', field, i, 'name'] : ['spec', field, 'name'];
    out.add(located, path, 'UNKNOWN_TARGET', 'warning', `${kind} ${ns}/${ref.name} does not exist, so this policy applies to nothing`);
  });
}

function checkBackend(index: MeshIndex, out: Findings, located: LocatedResource, path: FieldPath, ref: BackendObjectReference): void {
  const ns = ref.namespace ?? located.resource.metadata.namespace ?? '';
  const kind = ref.kind ?? 'Service';
  if (kind === 'Hostname') {
    if (!index.isKnownHost(ref.name)) out.add(located, [...path, 'name'], 'UNKNOWN_BACKEND', 'error', `host ${JSON.stringify(ref.name)} is not a known Service or ServiceEntry`);
    return;
  }
  if (!index.has(kind, ns, ref.name)) {
    out.add(located, [...path, 'name'], 'UNKNOWN_BACKEND', 'error', `${kind} ${ns}/${ref.name} does not exist`);
    return;
  }
  if (kind !== 'Service' || ref.port === undefined) return;
  const svc = index.serviceByFqdn(index.serviceFqdn(ref.name, ns));
  const ports = svc?.spec?.ports ?? [];
  if (ports.length > 0 && !ports.some((p) => p.port === ref.port)) {
    out.add(located, [...path, 'port'], 'UNKNOWN_PORT', 'warning', `Service ${ns}/${ref.name} has no port ${ref.port} (ports: ${ports.map((p) => p.port).join(', ')})`);
  }
}

function checkHttpRoute(index: MeshIndex, out: Findings, located: LocatedResource): void {
  const spec = (located.resource as HTTPRoute).spec;
  const own = located.resource.metadata.namespace ?? '';
  (spec?.parentRefs ?? []).forEach((p, i) => {
    const kind = p.kind ?? 'Gateway';
    const ns = p.namespace ?? own;
    if (!index.has(kind, ns, p.name)) out.add(located, ['spec', 'parentRefs', i, 'name'], 'UNKNOWN_PARENT', 'warning', `${kind} ${ns}/${p.name} does not exist, so this route is not attached`);
  });
  (spec?.rules ?? []).forEach((rule, i) => {
    const at: FieldPath = ['spec', 'rules', i];
    (rule.backendRefs ?? []).forEach((b, j) => checkBackend(index, out, located, [...at, 'backendRefs', j], b));
    (rule.filters ?? []).forEach((f, j) => {
      if (f.requestMirror !== undefined) checkBackend(index, out, located, [...at, 'filters', j, 'requestMirror', 'backendRef'], f.requestMirror.backendRef);
    });
  });
}

function checkSubsets(index: MeshIndex, out: Findings, located: LocatedResource): void {
  const dr = located.resource as DestinationRule;
  if (dr.spec === undefined) return;
  const fqdn = index.resolveHost(dr.spec.host, dr.metadata.namespace ?? '');
  const behind = index.workloadsBehind(fqdn);
  if (behind === undefined) return;
  (dr.spec.subsets ?? []).forEach((s, i) => {
    const labels = s.labels ?? {};
    if (Object.keys(labels).length === 0 || behind.workloads.some((w) => selects(labels, w.labels))) return;
    out.add(located, ['spec', 'subsets', i, 'labels'], 'SUBSET_MATCHES_NO_WORKLOAD', 'warning', `subset ${JSON.stringify(s.name)} (${formatSelector(labels)}) matches no workload of ${behind.backing}`);
  });
}

/** Problems between objects, in the order of the objects given. Every object is assumed valid on its own. */
export function analyze(resources: readonly LocatedResource[], options: AnalyzeOptions = {}): Finding[] {
  const index = new MeshIndex(resources, options);
  const out = new Findings();
  for (const located of resources) {
    switch (located.resource.kind) {
      case 'VirtualService':
        checkVirtualService(index, out, located);
        break;
      case 'AuthorizationPolicy':
        checkSelectorPolicy(index, out, located);
        checkPolicyTargets(index, out, located);
        break;
      case 'PeerAuthentication':
        checkSelectorPolicy(index, out, located);
        break;
      case 'HTTPRoute':
        checkHttpRoute(index, out, located);
        break;
      case 'DestinationRule':
        checkSubsets(index, out, located);
        break;
    }
  }
  return out.list;
}
