// The API resources the fake API server serves (group, version, plural, kind, scope) and the discovery documents built from them.

export interface ApiResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, as in URLs and RBAC rules. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Whether writes to the main resource ignore status and `/status` writes touch only status. */
  readonly statusSubresource: boolean;
  /** Built-in kinds come back from lists without per-item apiVersion/kind, as the real server's typed lists do. */
  readonly builtIn: boolean;
  /** Field selector keys beyond metadata.name and metadata.namespace. */
  readonly fieldLabels?: readonly string[];
  readonly shortNames?: readonly string[];
}

export function apiVersionOf(type: Pick<ApiResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** "group/resource", the key the fake stores objects under ("/pods" for the core group). */
export function typeKey(type: Pick<ApiResourceType, 'group' | 'resource'>): string {
  return `${type.group}/${type.resource}`;
}

const core = (resource: string, kind: string, namespaced: boolean, extra: Partial<ApiResourceType> = {}): ApiResourceType => ({
  group: '',
  version: 'v1',
  resource,
  kind,
  namespaced,
  statusSubresource: false,
  builtIn: true,
  ...extra,
});

const grouped = (group: string, version: string, resource: string, kind: string, namespaced: boolean, extra: Partial<ApiResourceType> = {}): ApiResourceType => ({
  group,
  version,
  resource,
  kind,
  namespaced,
  statusSubresource: false,
  builtIn: false,
  ...extra,
});

/** Istio and Gateway API kinds the control plane watches: CRDs, so tests can uninstall them. */
export const MESH_CRD_TYPES: readonly ApiResourceType[] = [
  grouped('security.istio.io', 'v1', 'authorizationpolicies', 'AuthorizationPolicy', true, { statusSubresource: true }),
  grouped('security.istio.io', 'v1', 'peerauthentications', 'PeerAuthentication', true, { statusSubresource: true }),
  grouped('networking.istio.io', 'v1', 'virtualservices', 'VirtualService', true, { statusSubresource: true }),
  grouped('networking.istio.io', 'v1', 'destinationrules', 'DestinationRule', true, { statusSubresource: true }),
  grouped('networking.istio.io', 'v1', 'serviceentries', 'ServiceEntry', true, { statusSubresource: true }),
  grouped('gateway.networking.k8s.io', 'v1', 'gateways', 'Gateway', true, { statusSubresource: true }),
  grouped('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute', true, { statusSubresource: true }),
  grouped('gateway.networking.k8s.io', 'v1', 'gatewayclasses', 'GatewayClass', false, { statusSubresource: true }),
];

export const BUILT_IN_TYPES: readonly ApiResourceType[] = [
  core('namespaces', 'Namespace', false, { statusSubresource: true, fieldLabels: ['status.phase'], shortNames: ['ns'] }),
  core('pods', 'Pod', true, { statusSubresource: true, fieldLabels: ['spec.nodeName', 'spec.serviceAccountName', 'spec.restartPolicy', 'spec.schedulerName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'], shortNames: ['po'] }),
  core('services', 'Service', true, { statusSubresource: true, shortNames: ['svc'] }),
  core('nodes', 'Node', false, { statusSubresource: true, fieldLabels: ['spec.unschedulable'], shortNames: ['no'] }),
  core('serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  core('configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  core('secrets', 'Secret', true, { fieldLabels: ['type'] }),
  core('events', 'Event', true, { fieldLabels: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type', 'source'] }),
  { ...grouped('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true), builtIn: true },
  { ...grouped('apps', 'v1', 'deployments', 'Deployment', true, { statusSubresource: true, shortNames: ['deploy'] }), builtIn: true },
  { ...grouped('apps', 'v1', 'daemonsets', 'DaemonSet', true, { statusSubresource: true, shortNames: ['ds'] }), builtIn: true },
  { ...grouped('coordination.k8s.io', 'v1', 'leases', 'Lease', true), builtIn: true },
  { ...grouped('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false), builtIn: true },
  { ...grouped('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false), builtIn: true },
  { ...grouped('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true), builtIn: true },
  { ...grouped('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true), builtIn: true },
  { ...grouped('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { statusSubresource: true, shortNames: ['crd'] }), builtIn: true },
];

/** Create-only virtual resources: they answer a POST and store nothing. */
export const TOKEN_REVIEW_TYPE: ApiResourceType = { ...grouped('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false), builtIn: true };

const VERBS_STORED = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The APIResourceList for one group/version, as `GET /api/v1` or `GET /apis/<group>/<version>` returns it. */
export function resourceList(group: string, version: string, types: readonly ApiResourceType[]): Record<string, unknown> | undefined {
  const served = types.filter((type) => type.group === group && type.version === version);
  if (served.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const type of served) {
    const virtual = type === TOKEN_REVIEW_TYPE;
    resources.push({
      name: type.resource,
      singularName: type.kind.toLowerCase(),
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: virtual ? ['create'] : VERBS_STORED,
      ...(type.shortNames ? { shortNames: type.shortNames } : {}),
    });
    if (type.statusSubresource) resources.push({ name: `${type.resource}/status`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

/** The APIGroupList `GET /apis` returns. */
export function groupList(types: readonly ApiResourceType[]): Record<string, unknown> {
  const versions = new Map<string, Set<string>>();
  for (const type of types) {
    if (type.group === '') continue;
    const set = versions.get(type.group) ?? new Set<string>();
    set.add(type.version);
    versions.set(type.group, set);
  }
  const groups = [...versions].map(([name, set]) => {
    const list = [...set].map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: list, preferredVersion: list[0] };
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}
