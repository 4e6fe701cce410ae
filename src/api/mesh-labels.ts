// The labels and annotations through which users drive the mesh, with Istio's meaning, shared by the control plane and the CNI.

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const USE_WAYPOINT_NAMESPACE_LABEL = 'istio.io/use-waypoint-namespace';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
export const SIDECAR_STATUS_ANNOTATION = 'sidecar.istio.io/status';

export interface EnrollmentInputs {
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly podAnnotations?: Readonly<Record<string, string>>;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  readonly hostNetwork?: boolean;
}

/**
 * Whether a pod is in the ambient mesh, as Istio decides it: the pod's own `istio.io/dataplane-mode` wins
 * (`none` opts out, `ambient` opts in), else the namespace's; pods with a sidecar or on the host network never are.
 */
export function isAmbientPod(inputs: EnrollmentInputs): boolean {
  if (inputs.hostNetwork) return false;
  if (inputs.podAnnotations?.[SIDECAR_STATUS_ANNOTATION] !== undefined) return false;
  const podMode = inputs.podLabels?.[DATAPLANE_MODE_LABEL];
  if (podMode === 'none') return false;
  if (podMode === 'ambient') return true;
  return inputs.namespaceLabels?.[DATAPLANE_MODE_LABEL] === 'ambient';
}
