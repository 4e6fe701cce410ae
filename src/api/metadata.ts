// Schemas for metadata every kind shares: object names, namespaces, labels, annotations, label selectors.

import { annotationKey, dns1035Label, dnsLabel, dnsSubdomain, labelKey, labelValue } from './formats';
import { custom, int, list, bool, object, opaque, required, str, stringMap, type Schema } from './schema';

/** Which DNS rule a kind's object names follow (Services use DNS-1035 labels, Namespaces DNS-1123 labels, most kinds subdomains). */
export type NameFormat = 'dns-1123-label' | 'dns-1123-subdomain' | 'dns-1035-label';

/** Kubernetes caps the total size of all annotations of an object at 256 KiB. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function nameSchema(format: NameFormat): Schema {
  switch (format) {
    case 'dns-1123-label':
      return dnsLabel();
    case 'dns-1123-subdomain':
      return dnsSubdomain();
    case 'dns-1035-label':
      return dns1035Label();
  }
}

export function labelsSchema(): Schema {
  return stringMap(labelKey(), labelValue());
}

export function annotationsSchema(): Schema {
  const entries = stringMap(annotationKey(), str());
  return custom((value, at) => {
    const before = at.problemCount;
    entries.check(value, at);
    if (at.problemCount !== before || typeof value !== 'object' || value === null) return;
    const bytes = Object.entries(value).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
    if (bytes > MAX_ANNOTATIONS_BYTES) at.fail(`annotations total ${bytes} bytes, more than the 262144 Kubernetes allows`);
  });
}

const ownerReference = object({
  apiVersion: required(str({ nonEmpty: true })),
  kind: required(str({ nonEmpty: true })),
  name: required(str({ nonEmpty: true })),
  uid: required(str({ nonEmpty: true })),
  controller: bool(),
  blockOwnerDeletion: bool(),
});

/** `metadata` of a top-level object. Read-only server fields are tolerated so `kubectl get -o yaml` output loads. */
export function objectMetaSchema(format: NameFormat): Schema {
  return object({
    name: required(nameSchema(format)),
    namespace: dnsLabel(),
    labels: labelsSchema(),
    annotations: annotationsSchema(),
    uid: str(),
    resourceVersion: str(),
    generation: int({ min: 0 }),
    creationTimestamp: str(),
    ownerReferences: list(ownerReference),
    finalizers: list(str({ nonEmpty: true })),
    deletionTimestamp: str(),
    deletionGracePeriodSeconds: int({ min: 0 }),
    selfLink: str(),
    managedFields: opaque(),
  });
}

/** `metadata` inside a pod template: no name needed. */
export function templateMetaSchema(): Schema {
  return object({
    name: dnsSubdomain(),
    labels: labelsSchema(),
    annotations: annotationsSchema(),
    creationTimestamp: str(),
  });
}

/** A label selector with `matchLabels` only: ambit does not evaluate `matchExpressions`. */
export function matchLabelsSelector(options: { requireMatchLabels: boolean }): Schema {
  const matchLabels = labelsSchema();
  return object({ matchLabels: options.requireMatchLabels ? required(matchLabels) : matchLabels });
}
