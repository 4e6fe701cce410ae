// Whether a pod is captured: the decision lives with the labels' definitions, shared with the control plane.
export {
  ambientDecision,
  isAmbientPod,
  DATAPLANE_MODE_AMBIENT,
  DATAPLANE_MODE_LABEL,
  DATAPLANE_MODE_NONE,
  SIDECAR_STATUS_ANNOTATION,
  type AmbientDecision,
  type AmbientReason,
  type Labels,
} from '../api/mesh-labels';
