// The control plane's policy translation: AuthorizationPolicy one by one, PeerAuthentication as a set (its meaning depends on its neighbours).
import type { AuthorizationPolicy, PeerAuthentication, Resource } from '../../api';
import type { Logger } from '../../telemetry/logger';
import type { TranslatedPolicy } from '../model/types';
import { convertAuthorizationPolicy, DEFAULT_ROOT_NAMESPACE } from './authorization';
import { peerAuthenticationAuthorizations, peerAuthenticationPolicyKeysForWorkload } from './peer-authentication';

export interface PolicyTranslationOptions {
  readonly trustDomain: string;
  readonly rootNamespace?: string;
  readonly logger: Logger;
}

export interface PolicyTranslator {
  /** The ztunnel Authorization of one AuthorizationPolicy, or none (waypoint-bound, CUSTOM, ...). */
  authorizationPolicy(resource: Resource): TranslatedPolicy | undefined;
  /** Every Authorization derived from the cluster's PeerAuthentications. */
  peerAuthentications(all: readonly Resource[]): TranslatedPolicy[];
  /** PeerAuthentication-derived names a workload lists in `authorization_policies`. */
  peerAuthenticationKeys(all: readonly Resource[], namespace: string, labels: Readonly<Record<string, string>>): string[];
}

export function policyTranslator(options: PolicyTranslationOptions): PolicyTranslator {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  return {
    authorizationPolicy(resource) {
      const converted = convertAuthorizationPolicy(resource as AuthorizationPolicy, { rootNamespace, trustDomain: options.trustDomain });
      for (const warning of converted.warnings) options.logger.warn({ policy: `${resource.metadata.namespace}/${resource.metadata.name}` }, warning);
      if (!converted.authorization) return undefined;
      const namespace = resource.metadata.namespace ?? 'default';
      return { name: `${namespace}/${resource.metadata.name}`, namespace, scope: converted.scope, selector: converted.selector, authorization: converted.authorization };
    },
    peerAuthentications(all) {
      const { authorizations, warnings } = peerAuthenticationAuthorizations(all as PeerAuthentication[], { rootNamespace });
      for (const warning of warnings) options.logger.warn(warning);
      // These are attached to workloads by name (peerAuthenticationKeys), never by scope.
      return authorizations.map((authorization) => ({
        name: `${authorization.namespace}/${authorization.name}`,
        namespace: authorization.namespace ?? rootNamespace,
        scope: 'WORKLOAD_SELECTOR' as const,
        authorization,
      }));
    },
    peerAuthenticationKeys(all, namespace, labels) {
      return peerAuthenticationPolicyKeysForWorkload(all as PeerAuthentication[], { namespace, labels }, rootNamespace);
    },
  };
}
