// Public surface of ambit's resource API: kinds, validation and manifest loading.

export * from './resource';
export * from './errors';
export type { KindDefinition, KindInfo } from './kind';
export { allKinds, kindInfo, kindsNamed, lookupKind } from './registry';
export { parseManifests, loadManifestPaths, type ManifestLoad } from './load';
export { validateResource, checkResource, type ValidateOptions, type ResourceValidation, type CheckedResource } from './validate';
export type { ValidationMode, FieldPath, Problem } from './schema';
export { formatPath } from './schema';
export { parseDuration, isCidr, isIpAddress, isDnsLabel, isDnsSubdomain, isQualifiedName, isLabelValue } from './formats';
export { compileRe2, RegexSyntaxError } from './regex';
export type { Namespace, NamespaceSpec } from './core/namespace';
export type { ServiceAccount } from './core/service-account';
export type { Pod, PodSpec, RestartPolicy } from './core/pod';
export type { Container, ContainerPort, EnvVar, FieldRef, Probe, HttpGetAction, Protocol } from './core/container';
export type { Deployment, DeploymentSpec, PodTemplate } from './core/deployment';
export type { Service, ServiceSpec, ServicePort, ServiceType } from './core/service';
export type {
  AuthorizationPolicy, AuthorizationPolicySpec, AuthorizationAction, AuthorizationRule, AuthorizationSource, AuthorizationOperation, AuthorizationCondition,
} from './istio/authorization-policy';
export { CONDITION_KEYS, isConditionKey } from './istio/authorization-policy';
export type { PeerAuthentication, PeerAuthenticationSpec, MtlsMode } from './istio/peer-authentication';
export type { WorkloadSelector, PolicyTargetReference, StringMatch, Percent, PortSelector, Headers, HeaderOperations } from './istio/common';
export type {
  VirtualServiceHttpRoute, Destination, HTTPRouteDestination, HTTPMatchRequest, HTTPRedirect, HTTPDirectResponse, HTTPRewrite, HTTPRetry,
  HTTPFaultInjection, HTTPMirrorPolicy,
} from './istio/http-route';
export { RETRY_CONDITIONS, GRPC_STATUS_NAMES } from './istio/http-route';
export type { VirtualService, VirtualServiceSpec } from './istio/virtual-service';
export type {
  DestinationRule, DestinationRuleSpec, TrafficPolicy, PortTrafficPolicy, LoadBalancerSettings, SimpleLoadBalancer, ConsistentHash,
  ConnectionPoolSettings, OutlierDetection, ClientTlsSettings, Subset,
} from './istio/destination-rule';
export type { ServiceEntry, ServiceEntrySpec, ServiceEntryPort, WorkloadEntrySpec } from './istio/service-entry';
export { serviceEntryVips as serviceEntrySpecVips } from './istio/service-entry';
export type { Gateway, GatewaySpec, Listener } from './gateway/gateway';
export { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, WAYPOINT_FOR_VALUES, HBONE_PORT } from './gateway/gateway';
export type {
  HTTPRoute, HTTPRouteSpec, HTTPRouteRule, HTTPRouteMatch, HTTPPathMatch, HTTPHeaderMatch, HTTPMethod, HTTPRouteFilter, HTTPHeaderFilter,
  HTTPPathModifier, HTTPBackendRef, BackendObjectReference, ParentReference,
} from './gateway/http-route';
export { analyze, formatFinding, type Finding, type FindingCode, type Severity, type AnalyzeOptions } from './analyze';
export { fieldLine } from './source-lines';
export { hostCovers, selects } from './mesh-index';
