// TypeScript shapes of the decoded xDS messages (camelCase, as the codec returns them) and the type URLs.
//
// Conventions (see proto-plain.ts): scalar and repeated fields are always present with proto3 defaults; unset
// sub-messages and oneof members are absent (`?`); enums are their names; bytes are Uint8Array; Any is
// {typeUrl, value}. Inputs to the encoders use ProtoInput<T>, where every field may be omitted.
import type { JsonValue } from './proto-plain';

export type { JsonValue } from './proto-plain';

export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
export const WAYPOINT_TYPE_URL = 'type.googleapis.com/ambit.waypoint.v1.WaypointConfig';

/** Deep-partial form of a decoded message, accepted by the encoders. */
export type ProtoInput<T> = T extends Uint8Array
  ? Uint8Array
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<ProtoInput<U>>
    : T extends object
      ? { [K in keyof T]?: ProtoInput<T[K]> }
      : T;

export interface AnyMessage {
  typeUrl: string;
  value: Uint8Array;
}

// ---- envoy.service.discovery.v3 / envoy.config.core.v3 / google.rpc ----------------------------------------

export interface XdsNode {
  id: string;
  cluster: string;
  metadata: { [key: string]: JsonValue };
}

export interface RpcStatus {
  /** A google.rpc.Code, e.g. 3 = INVALID_ARGUMENT. */
  code: number;
  message: string;
  details: AnyMessage[];
}

export interface DeltaDiscoveryRequest {
  node?: XdsNode;
  typeUrl: string;
  resourceNamesSubscribe: string[];
  resourceNamesUnsubscribe: string[];
  initialResourceVersions: { [name: string]: string };
  responseNonce: string;
  errorDetail?: RpcStatus;
}

export interface XdsResource {
  name: string;
  aliases: string[];
  version: string;
  resource?: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  systemVersionInfo: string;
  resources: XdsResource[];
  typeUrl: string;
  removedResources: string[];
  nonce: string;
}

// ---- istio.workload ----------------------------------------------------------------------------------------

export type TunnelProtocol = 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS';
export type WorkloadType = 'DEPLOYMENT' | 'CRONJOB' | 'POD' | 'JOB';
export type WorkloadStatus = 'HEALTHY' | 'UNHEALTHY';
export type NetworkMode = 'STANDARD' | 'HOST_NETWORK';
export type AppProtocol = 'UNKNOWN' | 'HTTP11' | 'HTTP2' | 'GRPC' | 'TCP' | 'TLS';
export type IpFamilies = 'AUTOMATIC' | 'IPV4_ONLY' | 'IPV6_ONLY' | 'DUAL';
export type LoadBalancingScope = 'UNSPECIFIED_SCOPE' | 'REGION' | 'ZONE' | 'SUBZONE' | 'NODE' | 'CLUSTER' | 'NETWORK';
export type LoadBalancingMode = 'UNSPECIFIED_MODE' | 'STRICT' | 'FAILOVER' | 'PASSTHROUGH';
export type LoadBalancingHealthPolicy = 'ONLY_HEALTHY' | 'ALLOW_ALL';
export type DnsConnectStrategy = 'DEFAULT' | 'FIRST_HEALTHY_RACE';
export type ApplicationTunnelProtocol = 'NONE' | 'PROXY';

export interface NetworkAddress {
  network: string;
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  address: Uint8Array;
}

export interface NamespacedHostname {
  namespace: string;
  hostname: string;
}

/** oneof destination: exactly one of hostname / address is set. */
export interface GatewayAddress {
  hostname?: NamespacedHostname;
  address?: NetworkAddress;
  hboneMtlsPort: number;
}

export interface Port {
  servicePort: number;
  targetPort: number;
  appProtocol: AppProtocol;
}

export interface PortList {
  ports: Port[];
}

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

export interface ApplicationTunnel {
  protocol: ApplicationTunnelProtocol;
  port: number;
}

export interface Extension {
  name: string;
  config?: AnyMessage;
}

export interface LoadBalancing {
  routingPreference: LoadBalancingScope[];
  mode: LoadBalancingMode;
  healthPolicy: LoadBalancingHealthPolicy;
  dnsConnectStrategy: DnsConnectStrategy;
}

export interface Workload {
  uid: string;
  name: string;
  namespace: string;
  addresses: Uint8Array[];
  hostname: string;
  network: string;
  tunnelProtocol: TunnelProtocol;
  trustDomain: string;
  serviceAccount: string;
  waypoint?: GatewayAddress;
  networkGateway?: GatewayAddress;
  node: string;
  canonicalName: string;
  canonicalRevision: string;
  workloadType: WorkloadType;
  workloadName: string;
  nativeTunnel: boolean;
  applicationTunnel?: ApplicationTunnel;
  /** Keyed "namespace/hostname". */
  services: { [namespacedHostname: string]: PortList };
  authorizationPolicies: string[];
  status: WorkloadStatus;
  clusterId: string;
  locality?: Locality;
  networkMode: NetworkMode;
  extensions: Extension[];
  /** google.protobuf.UInt32Value; absent means 1. */
  capacity?: number;
}

export interface Service {
  name: string;
  namespace: string;
  hostname: string;
  addresses: NetworkAddress[];
  ports: Port[];
  subjectAltNames: string[];
  waypoint?: GatewayAddress;
  loadBalancing?: LoadBalancing;
  ipFamilies: IpFamilies;
  extensions: Extension[];
  canonical: boolean;
  ingressUseWaypoint: boolean;
}

/** istio.workload.Address: oneof type { workload, service }. */
export type Address = { workload: Workload; service?: undefined } | { service: Service; workload?: undefined };

export type AddressInput = { workload: ProtoInput<Workload> } | { service: ProtoInput<Service> };

// ---- istio.security ----------------------------------------------------------------------------------------

export type AuthorizationScope = 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
export type AuthorizationAction = 'ALLOW' | 'DENY';

/** oneof match_type: exactly one field is set; `presence` is google.protobuf.Empty. */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  suffix?: string;
  presence?: Record<string, never>;
}

/** A CIDR. */
export interface AuthorizationAddress {
  address: Uint8Array;
  length: number;
}

export interface ServiceAccountMatch {
  namespace: string;
  serviceAccount: string;
}

export interface Match {
  namespaces: StringMatch[];
  notNamespaces: StringMatch[];
  principals: StringMatch[];
  notPrincipals: StringMatch[];
  sourceIps: AuthorizationAddress[];
  notSourceIps: AuthorizationAddress[];
  destinationIps: AuthorizationAddress[];
  notDestinationIps: AuthorizationAddress[];
  destinationPorts: number[];
  notDestinationPorts: number[];
  serviceAccounts: ServiceAccountMatch[];
  notServiceAccounts: ServiceAccountMatch[];
}

export interface Clause {
  matches: Match[];
}

export interface Rule {
  clauses: Clause[];
}

export interface Authorization {
  name: string;
  namespace: string;
  scope: AuthorizationScope;
  action: AuthorizationAction;
  rules: Rule[];
  dryRun: boolean;
}

// ---- ambit.waypoint.v1 -------------------------------------------------------------------------------------

export interface WaypointConfig {
  name: string;
  namespace: string;
  /** Routes and policies as a JSON document validated by the control plane. */
  json: string;
}
