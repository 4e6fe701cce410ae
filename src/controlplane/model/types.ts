// The control plane's model of the mesh: what each workload and service is, independent of where it came from and of xDS.
import type { AppProtocol, Authorization, LoadBalancingMode, LoadBalancingScope, ProtoInput, WorkloadType } from '../../xds';

export interface PortModel {
  readonly servicePort: number;
  /** 0 when the Service names its targetPort and no single number applies (resolved per workload instead). */
  readonly targetPort: number;
  readonly appProtocol: AppProtocol;
}

/** Where a waypoint takes HBONE: its Service's ClusterIP on 15008, and the Gateway it runs for. */
export interface WaypointRef {
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly identity: string;
}

export interface WorkloadModel {
  /** Istio's uid form: "<cluster>//Pod/<namespace>/<name>", or "<cluster>/networking.istio.io/ServiceEntry/<ns>/<name>/<address>". */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly ips: readonly string[];
  readonly serviceAccount: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Enrolled in ambient (label on pod or namespace): reached over HBONE rather than plain TCP. */
  readonly ambient: boolean;
  readonly healthy: boolean;
  readonly trustDomain: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadName: string;
  readonly workloadType: WorkloadType;
  /** "namespace/hostname" of each Service selecting this workload, with ports resolved for this workload. */
  readonly services: ReadonlyMap<string, readonly PortModel[]>;
  /** The waypoint for traffic addressed to this pod's IP. */
  readonly waypoint?: WaypointRef;
  /** The app asked (by annotation) for a PROXY v2 header instead of a spoofed source address. */
  readonly proxyProtocol: boolean;
  /** Names ("ns/name") of selector-scoped authorizations that apply to this workload. */
  readonly selectorPolicies: readonly string[];
  /** From its node's topology labels; undefined when the node has none (or is unknown). */
  readonly locality?: LocalityModel;
  /** Shares its node's network namespace (and address). */
  readonly hostNetwork: boolean;
  /** A DNS name to resolve instead of addresses (ServiceEntry endpoints given by name). */
  readonly hostname?: string;
  /** Network the workload sits on, when not the cluster's own ("" on the wire). */
  readonly network?: string;
  /** The workload terminates HBONE itself (Istio's networking.istio.io/tunnel: http). */
  readonly nativeTunnel?: boolean;
  /** Relative load-balancing weight (a ServiceEntry endpoint's weight); absent means 1. */
  readonly capacity?: number;
}

export interface LocalityModel {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

/** How a client's ztunnel picks among a service's endpoints: preferred scopes in order, and what to do when none match. */
export interface LoadBalancingModel {
  readonly routingPreference: readonly LoadBalancingScope[];
  readonly mode: LoadBalancingMode;
}

export interface ServiceModel {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly string[];
  readonly ports: readonly PortModel[];
  readonly selector?: Readonly<Record<string, string>>;
  /** The waypoint for traffic addressed to this service. */
  readonly waypoint?: WaypointRef;
  /** From spec.trafficDistribution, Istio's traffic-distribution annotation, or internalTrafficPolicy: Local. */
  readonly loadBalancing?: LoadBalancingModel;
  /** Identities a client should accept from this service's endpoints (a ServiceEntry's subjectAltNames). */
  readonly subjectAltNames?: readonly string[];
  /** The object it came from, when not a Kubernetes Service: a policy's targetRefs name that object. */
  readonly origin?: 'ServiceEntry';
}

/** One istio.security.Authorization the control plane pushes, with what decides where it applies. */
export interface TranslatedPolicy {
  /** "namespace/name". */
  readonly name: string;
  readonly namespace: string;
  readonly scope: 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
  readonly selector?: Readonly<Record<string, string>>;
  readonly authorization: ProtoInput<Authorization>;
}

export const CLUSTER_ID = 'Kubernetes';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const ROOT_NAMESPACE = 'istio-system';

export function workloadIdentity(workload: Pick<WorkloadModel, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${workload.trustDomain}/ns/${workload.namespace}/sa/${workload.serviceAccount}`;
}
