// The core v1 ServiceAccount kind: the identity pods run as (spiffe://<td>/ns/<ns>/sa/<name>).

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { bool, list, object, opaque, str } from '../schema';

export interface ServiceAccount extends Resource<never> {
  automountServiceAccountToken?: boolean;
}

export const serviceAccountKind: KindDefinition = {
  group: '',
  kind: 'ServiceAccount',
  versions: ['v1'],
  namespaced: true,
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  nameFormat: 'dns-1123-subdomain',
  fields: {
    automountServiceAccountToken: bool(),
    secrets: list(opaque()),
    imagePullSecrets: list(object({ name: str() })),
  },
};
