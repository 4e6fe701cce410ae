// The kinds the control plane watches on Kubernetes: where each lives in the API and how to list it with the client library.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeConnection } from '../../../kube/connection';

export interface WatchedKind {
  readonly kind: string;
  /** The group/version the control plane reads ("v1", "security.istio.io/v1"). */
  readonly apiVersion: string;
  /** Lower-case plural: the URL segment and the RBAC resource. */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Served by a CRD that may be absent: a 404 on list means "none yet" and is retried later, never fatal. */
  readonly optional: boolean;
  /** Narrows list and watch alike, e.g. "spec.nodeName=node-1" for a node agent that needs only its own pods. */
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

const builtIn = (apiVersion: string, kind: string, plural: string, namespaced: boolean): WatchedKind => ({ apiVersion, kind, plural, namespaced, optional: false });
const crd = (apiVersion: string, kind: string, plural: string): WatchedKind => ({ apiVersion, kind, plural, namespaced: true, optional: true });

/** Everything the mesh model reads; the RBAC in daemonset/ grants list and watch on exactly these. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  builtIn('v1', 'Namespace', 'namespaces', false),
  builtIn('v1', 'Pod', 'pods', true),
  builtIn('v1', 'Service', 'services', true),
  builtIn('v1', 'Node', 'nodes', false),
  builtIn('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true),
  crd('security.istio.io/v1', 'AuthorizationPolicy', 'authorizationpolicies'),
  crd('security.istio.io/v1', 'PeerAuthentication', 'peerauthentications'),
  crd('networking.istio.io/v1', 'VirtualService', 'virtualservices'),
  crd('networking.istio.io/v1', 'DestinationRule', 'destinationrules'),
  crd('networking.istio.io/v1', 'ServiceEntry', 'serviceentries'),
  crd('gateway.networking.k8s.io/v1', 'Gateway', 'gateways'),
  crd('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes'),
];

export function groupOf(kind: Pick<WatchedKind, 'apiVersion'>): string {
  const slash = kind.apiVersion.indexOf('/');
  return slash < 0 ? '' : kind.apiVersion.slice(0, slash);
}

function versionOf(kind: Pick<WatchedKind, 'apiVersion'>): string {
  return kind.apiVersion.slice(kind.apiVersion.indexOf('/') + 1);
}

/** The collection URL across all namespaces, e.g. /api/v1/pods or /apis/security.istio.io/v1/authorizationpolicies. */
export function collectionPath(kind: WatchedKind): string {
  return groupOf(kind) === '' ? `/api/${kind.apiVersion}/${kind.plural}` : `/apis/${kind.apiVersion}/${kind.plural}`;
}

export type ListFunction = () => Promise<KubernetesListObject<KubernetesObject>>;

/**
 * How to list one kind across namespaces. Built-in kinds use their typed API (whose items are class instances,
 * converted on arrival); CRD kinds use the custom-objects API, which hands back plain JSON.
 */
export function listFunction(connection: KubeConnection, kind: WatchedKind): ListFunction {
  const typed = (list: Promise<unknown>) => list as Promise<KubernetesListObject<KubernetesObject>>;
  const selectors = {
    ...(kind.fieldSelector === undefined ? {} : { fieldSelector: kind.fieldSelector }),
    ...(kind.labelSelector === undefined ? {} : { labelSelector: kind.labelSelector }),
  };
  switch (`${kind.apiVersion}/${kind.kind}`) {
    case 'v1/Namespace':
      return () => typed(connection.core().listNamespace(selectors));
    case 'v1/Pod':
      return () => typed(connection.core().listPodForAllNamespaces(selectors));
    case 'v1/Service':
      return () => typed(connection.core().listServiceForAllNamespaces(selectors));
    case 'v1/Node':
      return () => typed(connection.core().listNode(selectors));
    case 'discovery.k8s.io/v1/EndpointSlice':
      return () => typed(connection.discovery().listEndpointSliceForAllNamespaces(selectors));
    default:
      return () => typed(connection.custom().listClusterCustomObject({ group: groupOf(kind), version: versionOf(kind), plural: kind.plural, ...selectors }));
  }
}
