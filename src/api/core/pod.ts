// The core v1 Pod kind; its spec schema is shared with Deployment templates.

import { dnsLabel, dnsSubdomain } from '../formats';
import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { bool, enumOf, int, list, localModeUnsupported, object, opaque, refine, required, str, stringMap, type Schema } from '../schema';
import { containerSchema, type Container } from './container';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSpec {
  containers: Container[];
  nodeName?: string;
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName; defaulting copies it over. */
  serviceAccount?: string;
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  hostname?: string;
  subdomain?: string;
  nodeSelector?: Record<string, string>;
  automountServiceAccountToken?: boolean;
  /** Only in a real cluster: local pods always get their own network namespace. */
  hostNetwork?: boolean;
  /** Accepted and not interpreted. */
  volumes?: unknown[];
  securityContext?: unknown;
}

export type Pod = Resource<PodSpec>;

export const podSpecSchema: Schema = object({
  containers: required(list(containerSchema, { minItems: 1, tooFew: 'must have at least one container', uniqueField: 'name' })),
  initContainers: localModeUnsupported('init containers are not supported in local mode'),
  nodeName: dnsSubdomain(),
  serviceAccountName: dnsSubdomain(),
  serviceAccount: dnsSubdomain(),
  restartPolicy: enumOf(['Always', 'OnFailure', 'Never']),
  terminationGracePeriodSeconds: int({ min: 0 }),
  hostname: dnsLabel(),
  subdomain: dnsLabel(),
  nodeSelector: stringMap(),
  automountServiceAccountToken: bool(),
  hostNetwork: refine(bool(), (_v, at) => {
    if (at.options.mode === 'local') at.fail('hostNetwork is not supported in local mode: every pod gets its own network namespace');
  }),
  volumes: list(opaque()),
  securityContext: opaque(),
  tolerations: opaque(),
  affinity: opaque(),
  dnsPolicy: opaque(),
  imagePullSecrets: list(object({ name: str() })),
  priorityClassName: opaque(),
  enableServiceLinks: opaque(),
});

/** The defaults the API server would fill in: restart policy and the service account. */
export function applyPodSpecDefaults(spec: PodSpec): void {
  spec.restartPolicy ??= 'Always';
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
}

export const podKind: KindDefinition = {
  group: '',
  kind: 'Pod',
  versions: ['v1'],
  namespaced: true,
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(podSpecSchema) },
  applyDefaults: (r) => applyPodSpecDefaults((r as Pod).spec as PodSpec),
};
