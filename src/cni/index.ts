// Public surface of the CNI side of ambient capture: the plugin, the node agent, in-pod rules and the ztunnel enrollment protocol.

export { ambientDecision, isAmbientPod, DATAPLANE_MODE_LABEL, SIDECAR_STATUS_ANNOTATION, type AmbientDecision, type AmbientReason, type Labels } from './ambient';
export { CniAgent, runAgent, validateAgentConfig, type CniAgentConfig, type KnownPod, type PodInfo, type PodLabelSource, type RunningPod } from './agent';
export { callAgent, AGENT_PATHS, type AgentReply, type AgentVerdict, type PluginCommand, type PluginRequest } from './agent-api';
export { ZtunnelEnrollmentClient, type EnrollmentClientOptions, type EnrollmentResult } from './enrollment-client';
export { EnrollmentServer, type EnrollmentHandlers, type EnrollmentServerOptions } from './enrollment-server';
export { AgentRequestError, CniCommandFailed, InvalidAgentConfig, NetnsNotFound, SocketPathOccupied, type AgentErrorCode } from './errors';
export {
  findAmbitRules,
  hasInpodRules,
  installInpodRules,
  removeInpodRules,
  renderInpodRemoval,
  renderInpodRoutes,
  renderInpodRules,
  HBONE_PORT,
  INBOUND_CAPTURE_PORT,
  OUTBOUND_CAPTURE_PORT,
  ZTUNNEL_MARK,
  type InpodRuleOptions,
} from './inpod-rules';
export { CNI_ERROR, PLUGIN_TYPE, SUPPORTED_CNI_VERSIONS, runPlugin, type PluginConfig, type PluginOutput } from './plugin';
export { decodeAgentMessage, decodeZtunnelMessage, encodeMessage, EnrollmentProtocolError, MessageReader, type AgentMessage, type EnrolledPod, type ZtunnelMessage } from './protocol';
