// Istio's metric labels for one request or connection through the waypoint, from what the config knows about both ends.
import type { ServiceDoc, WorkloadDoc } from '../config/types';
import type { HttpLabels, TcpLabelName } from './request-metrics';

const UNKNOWN = 'unknown';

export interface LabelInput {
  readonly sourceIdentity: string;
  readonly source?: WorkloadDoc | undefined;
  readonly service?: Pick<ServiceDoc, 'hostname' | 'namespace' | 'name'> | undefined;
  readonly destination?: WorkloadDoc | undefined;
  readonly responseCode: number;
  readonly grpcStatus?: string | undefined;
  readonly flags: string;
}

function workloadLabels(prefix: 'source' | 'destination', w: WorkloadDoc | undefined, identity: string | undefined): Record<string, string> {
  return {
    [`${prefix}_workload`]: w?.workloadName || UNKNOWN,
    [`${prefix}_canonical_service`]: w?.canonicalName || UNKNOWN,
    [`${prefix}_canonical_revision`]: w?.canonicalRevision || UNKNOWN,
    [`${prefix}_workload_namespace`]: w?.namespace || UNKNOWN,
    [`${prefix}_principal`]: identity || UNKNOWN,
    [`${prefix}_app`]: w?.labels.app ?? w?.labels['app.kubernetes.io/name'] ?? UNKNOWN,
    [`${prefix}_version`]: w?.labels.version ?? w?.labels['app.kubernetes.io/version'] ?? UNKNOWN,
    [`${prefix}_cluster`]: 'Kubernetes',
  };
}

export function tcpLabels(input: Omit<LabelInput, 'responseCode' | 'grpcStatus'>): Record<TcpLabelName, string> {
  return {
    reporter: 'waypoint',
    ...workloadLabels('source', input.source, input.sourceIdentity),
    destination_service: input.service?.hostname ?? UNKNOWN,
    destination_service_namespace: input.service?.namespace ?? UNKNOWN,
    destination_service_name: input.service?.name ?? UNKNOWN,
    ...workloadLabels('destination', input.destination, input.destination?.identity),
    request_protocol: 'tcp',
    response_flags: input.flags || '-',
    connection_security_policy: 'mutual_tls',
  } as Record<TcpLabelName, string>;
}

export function httpLabels(input: LabelInput): HttpLabels {
  return {
    ...tcpLabels(input),
    request_protocol: 'http',
    response_code: String(input.responseCode),
    grpc_response_status: input.grpcStatus ?? '',
  };
}
