// The shapes every Kubernetes-style object shares, plus how ambit names one in keys and messages.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface Resource<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: unknown;
}

/** Where an object was written: `line` is 1-based, 0 when the object did not come from a file. */
export interface SourceLocation {
  file: string;
  line: number;
}

export interface LocatedResource {
  resource: Resource;
  source: SourceLocation;
}

/**
 * Stable identity of an object: "Kind/namespace/name", or "Kind/name" for
 * cluster-scoped kinds (validated resources carry no namespace exactly when
 * their kind is cluster-scoped).
 */
export function resourceKey(r: Resource): string {
  const ns = r.metadata.namespace;
  return ns === undefined || ns === '' ? `${r.kind}/${r.metadata.name}` : `${r.kind}/${ns}/${r.metadata.name}`;
}

/** How messages name an object: "Pod bookinfo/productpage-v1-abc", "Namespace bookinfo". */
export function describeObject(r: Resource): string {
  const ns = r.metadata.namespace;
  return ns === undefined || ns === '' ? `${r.kind} ${r.metadata.name}` : `${r.kind} ${ns}/${r.metadata.name}`;
}
