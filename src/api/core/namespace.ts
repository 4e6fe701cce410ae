// The core v1 Namespace kind.

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { list, object, str } from '../schema';

export interface NamespaceSpec {
  finalizers?: string[];
}

export type Namespace = Resource<NamespaceSpec>;

export const namespaceKind: KindDefinition = {
  group: '',
  kind: 'Namespace',
  versions: ['v1'],
  namespaced: false,
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  nameFormat: 'dns-1123-label',
  fields: {
    spec: object({ finalizers: list(str()) }),
  },
};
