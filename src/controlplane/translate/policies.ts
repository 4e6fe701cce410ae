// Chooses the translation for each policy kind and logs conversion warnings once per change of a policy.
import type { Resource } from '../../api';
import type { Logger } from '../../telemetry/logger';
import type { TranslatedPolicy } from '../model/types';

export interface PolicyTranslationOptions {
  readonly trustDomain: string;
  readonly rootNamespace?: string;
  readonly logger: Logger;
}

/** Placeholder until the AuthorizationPolicy / PeerAuthentication converters land: nothing is enforced yet. */
export function translatePolicy(options: PolicyTranslationOptions): (resource: Resource) => readonly TranslatedPolicy[] {
  void options;
  return () => [];
}
