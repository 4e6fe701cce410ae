// The labels and annotations through which users drive the mesh, with Istio's meaning, shared by the control plane and the CNI.

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const USE_WAYPOINT_NAMESPACE_LABEL = 'istio.io/use-waypoint-namespace';
/** ambit's opt-in for apps that cannot see spoofed sources: inbound delivery prepends a PROXY v2 header instead. */
export const INBOUND_PROXY_PROTOCOL_ANNOTATION = 'ambient.ambit.io/inbound-proxy-protocol';
export const DATAPLANE_MODE_AMBIENT = 'ambient';
export const DATAPLANE_MODE_NONE = 'none';
/** Set by Istio's sidecar injector on injected pods; such pods keep their sidecar and are never captured. */
export const SIDECAR_STATUS_ANNOTATION = 'sidecar.istio.io/status';

export type Labels = Readonly<Record<string, string>>;

/** Why a pod is or is not captured, for logs and `ambit` output. */
export type AmbientReason =
  | 'host-network'
  | 'sidecar-injected'
  | 'pod-opted-out'
  | 'pod-label'
  | 'namespace-label'
  | 'not-enrolled';

export interface AmbientDecision {
  readonly ambient: boolean;
  readonly reason: AmbientReason;
}

/**
 * Istio's default selector, in order: host-network pods are never captured; sidecar-injected pods are not;
 * pod label `istio.io/dataplane-mode=none` opts a pod out; `=ambient` on the pod, or on its namespace, opts in.
 */
export function ambientDecision(podLabels: Labels, namespaceLabels: Labels, annotations: Labels, hostNetwork = false): AmbientDecision {
  if (hostNetwork) return { ambient: false, reason: 'host-network' };
  if (Object.prototype.hasOwnProperty.call(annotations, SIDECAR_STATUS_ANNOTATION)) return { ambient: false, reason: 'sidecar-injected' };
  const podMode = podLabels[DATAPLANE_MODE_LABEL];
  if (podMode === DATAPLANE_MODE_NONE) return { ambient: false, reason: 'pod-opted-out' };
  if (podMode === DATAPLANE_MODE_AMBIENT) return { ambient: true, reason: 'pod-label' };
  if (namespaceLabels[DATAPLANE_MODE_LABEL] === DATAPLANE_MODE_AMBIENT) return { ambient: true, reason: 'namespace-label' };
  return { ambient: false, reason: 'not-enrolled' };
}

export function isAmbientPod(podLabels: Labels, namespaceLabels: Labels, annotations: Labels, hostNetwork = false): boolean {
  return ambientDecision(podLabels, namespaceLabels, annotations, hostNetwork).ambient;
}
