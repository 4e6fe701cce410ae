// The waypoint config document (version 1): the JSON the control plane puts in WaypointConfig.json, self-contained so a waypoint needs nothing else to route.
//
// Everything here is plain data: names, numbers and strings already resolved by the control plane (short hosts made
// fully qualified, DestinationRules merged per port and subset, HTTPRoutes ordered by Gateway API precedence). The
// waypoint validates and compiles it once per push (see ./validate and ../routing/table).

export const WAYPOINT_CONFIG_VERSION = 1;

/** Service port protocols, as in istio.workload.Service ports. */
export type AppProtocolDoc = 'UNKNOWN' | 'HTTP11' | 'HTTP2' | 'GRPC' | 'TCP' | 'TLS';

export interface WaypointConfigDoc {
  readonly version: 1;
  readonly waypoint: WaypointSelfDoc;
  /** Services bound to this waypoint (traffic to their VIPs arrives here), sorted by hostname. */
  readonly services: readonly ServiceDoc[];
  /** Hosts that routes or mirrors send to but that this waypoint does not serve, sorted by hostname. */
  readonly backends: readonly ServiceDoc[];
  /** Uids of workloads served directly (traffic to their pod IPs arrives here; `istio.io/waypoint-for: workload|all`). */
  readonly directWorkloads: readonly string[];
  /** Every workload the waypoint may meet: endpoints, direct targets and clients (for sourceLabels and telemetry), sorted by uid. */
  readonly workloads: readonly WorkloadDoc[];
  /** L7 AuthorizationPolicies enforced here, sorted by name. */
  readonly policies: readonly AuthorizationDoc[];
}

export interface WaypointSelfDoc {
  /** The waypoint Gateway's name and namespace. */
  readonly name: string;
  readonly namespace: string;
  /** The SPIFFE ID the waypoint presents (and its certificate carries). */
  readonly identity: string;
  readonly trustDomain: string;
}

export interface WorkloadDoc {
  /** Istio's uid form, e.g. "Kubernetes//Pod/bookinfo/reviews-v1-abc". */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly ips: readonly string[];
  /** spiffe://<td>/ns/<ns>/sa/<sa>. */
  readonly identity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly healthy: boolean;
  /** The owning Deployment/Job/... name (Istio's workload_name). */
  readonly workloadName: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
}

export interface ServicePortDoc {
  readonly port: number;
  /** 0 when the Service names its targetPort; each endpoint then says which port it uses. */
  readonly targetPort: number;
  readonly appProtocol: AppProtocolDoc;
}

export interface EndpointDoc {
  /** A uid in `workloads`. */
  readonly workload: string;
  /** The address to reach it on (one of the workload's ips). */
  readonly ip: string;
  /** Service port (as a decimal string) to the pod port it maps to on this workload. */
  readonly ports: Readonly<Record<string, number>>;
}

export interface ServiceDoc {
  /** Fully qualified, e.g. reviews.bookinfo.svc.cluster.local. */
  readonly hostname: string;
  readonly namespace: string;
  readonly name: string;
  readonly vips: readonly string[];
  readonly ports: readonly ServicePortDoc[];
  readonly endpoints: readonly EndpointDoc[];
  /** HTTP routes in match order; empty means "everything goes to this service". Always empty for backends. */
  readonly routes: readonly HttpRouteDoc[];
  /** The DestinationRule for this host, merged per port and subset. */
  readonly destinationPolicy?: DestinationPolicyDoc;
}

// ---------------------------------------------------------------------------------------------------------------
// Routes

/** How a string is matched. `pathPrefix` is Gateway API's segment-wise prefix ("/a" matches "/a" and "/a/b", not "/ab"). */
export type StringMatchDoc =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly pathPrefix: string }
  | { readonly regex: string }
  | { readonly present: true };

export interface NamedMatchDoc {
  /** Header names are lower case; query parameter names are as written. */
  readonly name: string;
  readonly match: StringMatchDoc;
}

export interface RouteMatchDoc {
  readonly name?: string;
  readonly uri?: StringMatchDoc;
  readonly ignoreUriCase?: boolean;
  readonly method?: StringMatchDoc;
  readonly authority?: StringMatchDoc;
  readonly scheme?: StringMatchDoc;
  /** All must match. */
  readonly headers?: readonly NamedMatchDoc[];
  /** None may match (VirtualService withoutHeaders). */
  readonly withoutHeaders?: readonly NamedMatchDoc[];
  readonly queryParams?: readonly NamedMatchDoc[];
  /** The service port the request arrived on. */
  readonly port?: number;
  /** Labels the calling workload must carry. */
  readonly sourceLabels?: Readonly<Record<string, string>>;
  /** Namespace of the caller's identity. */
  readonly sourceNamespace?: string;
}

export interface HeaderOpsDoc {
  /** Replace (or create) these headers. */
  readonly set?: readonly (readonly [string, string])[];
  /** Append these values. */
  readonly add?: readonly (readonly [string, string])[];
  readonly remove?: readonly string[];
}

export interface HeaderRulesDoc {
  readonly request?: HeaderOpsDoc;
  readonly response?: HeaderOpsDoc;
}

export interface RouteDestinationDoc {
  /** Fully qualified host: a served service or a backend. */
  readonly host: string;
  readonly subset?: string;
  /** Service port to send to; defaults to the port the request arrived on (or the host's only port). */
  readonly port?: number;
  /** Relative weight; destinations with weight 0 get no traffic. */
  readonly weight: number;
  readonly headers?: HeaderRulesDoc;
}

export interface RedirectDoc {
  /** Replace the whole path. */
  readonly path?: string;
  /** Replace the prefix the route matched (Gateway API ReplacePrefixMatch). */
  readonly prefix?: string;
  readonly authority?: string;
  readonly port?: number;
  readonly derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  readonly scheme?: string;
  readonly status: number;
}

export interface RewriteDoc {
  /** Replace the prefix the route matched (VirtualService rewrite.uri, Gateway API ReplacePrefixMatch). */
  readonly prefix?: string;
  /** Replace the whole path (Gateway API ReplaceFullPath). */
  readonly fullPath?: string;
  /** Regex substitution over the path (VirtualService uriRegexRewrite; `\1` style groups). */
  readonly regex?: { readonly match: string; readonly rewrite: string };
  readonly authority?: string;
}

export interface RetryDoc {
  /** Retries after the first try (0 disables retries). */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry conditions: 5xx, gateway-error, connect-failure, reset, retriable-4xx, refused-stream, retriable-status-codes, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable. */
  readonly retryOn: readonly string[];
  /** Codes that `retriable-status-codes` retries. */
  readonly retriableStatusCodes: readonly number[];
}

export interface FaultDoc {
  readonly delay?: { readonly fixedDelayMs: number; readonly percentage: number };
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: string; readonly percentage: number };
}

export interface MirrorDoc {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** 0-100. */
  readonly percentage: number;
}

export interface HttpRouteDoc {
  /** The route's own name (VirtualService http[].name, HTTPRoute rule name), or "". */
  readonly name: string;
  /** Where it came from, for logs and metrics: "VirtualService ns/name" or "HTTPRoute ns/name". */
  readonly source: string;
  /** Gateway API semantics: unresolvable backends answer 500 instead of 503. */
  readonly gatewaySemantics: boolean;
  /** Any one must match; empty matches every request. */
  readonly matches: readonly RouteMatchDoc[];
  /** Exactly one of destinations, redirect, directResponse. */
  readonly destinations?: readonly RouteDestinationDoc[];
  readonly redirect?: RedirectDoc;
  readonly directResponse?: { readonly status: number; readonly body?: string };
  readonly rewrite?: RewriteDoc;
  readonly headers?: HeaderRulesDoc;
  /** Whole-request deadline across retries; absent means none. */
  readonly timeoutMs?: number;
  readonly retries?: RetryDoc;
  readonly fault?: FaultDoc;
  readonly mirrors?: readonly MirrorDoc[];
}

// ---------------------------------------------------------------------------------------------------------------
// Destination policy (DestinationRule, merged as Istio merges it)

export type LoadBalancerDoc =
  | { readonly simple: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' }
  | {
      readonly consistentHash: {
        readonly header?: string;
        readonly cookie?: { readonly name: string; readonly ttlMs?: number; readonly path?: string };
        readonly sourceIp?: true;
        readonly queryParameter?: string;
        readonly minimumRingSize?: number;
      };
    };

export interface ConnectionPoolDoc {
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly http1MaxPendingRequests?: number;
  readonly http2MaxRequests?: number;
  readonly maxRequestsPerConnection?: number;
  readonly maxRetries?: number;
  readonly idleTimeoutMs?: number;
}

export interface OutlierDetectionDoc {
  /** 0 disables the 5xx rule. */
  readonly consecutive5xxErrors: number;
  /** 0 disables the 502/503/504 rule. */
  readonly consecutiveGatewayErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly minHealthPercent: number;
}

export interface TrafficPolicyDoc {
  readonly loadBalancer?: LoadBalancerDoc;
  readonly connectionPool?: ConnectionPoolDoc;
  readonly outlierDetection?: OutlierDetectionDoc;
}

export interface DestinationPolicyDoc {
  /** "DestinationRule ns/name". */
  readonly source: string;
  readonly subsets: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[];
  /** The effective policy for every (service port, subset or none), top-level, port-level and subset-level merged. */
  readonly policies: readonly { readonly port: number; readonly subset?: string; readonly policy: TrafficPolicyDoc }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Authorization

/** Where a policy applies: to all traffic of the waypoint, to one served service, or to every tunnel at HBONE termination. */
export type PolicyAttachmentDoc =
  | { readonly kind: 'gateway' }
  | { readonly kind: 'service'; readonly hostname: string }
  | { readonly kind: 'termination' };

export interface AuthorizationSourceDoc {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  /** "ns/sa" (a bare "sa" is resolved to the policy's namespace by the control plane). */
  readonly serviceAccounts?: readonly string[];
  readonly notServiceAccounts?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface AuthorizationOperationDoc {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface AuthorizationConditionDoc {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface AuthorizationRuleDoc {
  readonly from?: readonly AuthorizationSourceDoc[];
  readonly to?: readonly AuthorizationOperationDoc[];
  readonly when?: readonly AuthorizationConditionDoc[];
}

export interface AuthorizationDoc {
  /** "ns/name". */
  readonly name: string;
  readonly namespace: string;
  readonly action: 'ALLOW' | 'DENY' | 'AUDIT';
  /** istio.io/dry-run: evaluated and logged, never enforced. */
  readonly dryRun: boolean;
  readonly attachment: PolicyAttachmentDoc;
  /** Absent: the policy matches nothing (an ALLOW then denies everything it covers). */
  readonly rules?: readonly AuthorizationRuleDoc[];
}
