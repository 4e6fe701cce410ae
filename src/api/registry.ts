// The table of kinds ambit accepts, and lookups by apiVersion/kind or by a kubectl-style name.

import { deploymentKind } from './core/deployment';
import { namespaceKind } from './core/namespace';
import { podKind } from './core/pod';
import { serviceKind } from './core/service';
import { serviceAccountKind } from './core/service-account';
import { gatewayKind } from './gateway/gateway';
import { httpRouteKind } from './gateway/http-route';
import { authorizationPolicyKind } from './istio/authorization-policy';
import { destinationRuleKind } from './istio/destination-rule';
import { peerAuthenticationKind } from './istio/peer-authentication';
import { serviceEntryKind } from './istio/service-entry';
import { virtualServiceKind } from './istio/virtual-service';
import { apiVersionsOf, type KindDefinition, type KindInfo } from './kind';

const DEFINITIONS: readonly KindDefinition[] = [
  namespaceKind,
  serviceAccountKind,
  podKind,
  deploymentKind,
  serviceKind,
  authorizationPolicyKind,
  peerAuthenticationKind,
  virtualServiceKind,
  destinationRuleKind,
  serviceEntryKind,
  gatewayKind,
  httpRouteKind,
];

const KINDS: readonly KindInfo[] = DEFINITIONS.map((def) => Object.freeze({ ...def, apiVersions: apiVersionsOf(def) }));

/** Every kind ambit accepts, in a stable order. */
export function allKinds(): readonly KindInfo[] {
  return KINDS;
}

/** The kind served at exactly this apiVersion, or undefined. */
export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

/** Kinds with this name, whatever their apiVersion (kind names are case-sensitive, as in Kubernetes). */
export function kindsNamed(kind: string): readonly KindInfo[] {
  return KINDS.filter((k) => k.kind === kind);
}

/**
 * Resolves what a user typed on the command line: kind ("Pod"), plural
 * ("pods"), singular ("pod"), short name ("po"), case-insensitively, or any
 * of those qualified by group ("gateways.gateway.networking.k8s.io").
 */
export function lookupKind(nameOrAlias: string): KindInfo | undefined {
  const wanted = nameOrAlias.toLowerCase();
  const dot = wanted.indexOf('.');
  const name = dot < 0 ? wanted : wanted.slice(0, dot);
  const group = dot < 0 ? undefined : wanted.slice(dot + 1);
  return KINDS.find((k) => {
    if (group !== undefined && k.group !== group) return false;
    return k.kind.toLowerCase() === name || k.plural === name || k.singular === name || k.shortNames.includes(name);
  });
}
