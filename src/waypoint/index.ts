// Public surface of ambit's waypoint proxy: the process (Waypoint), the proxy core, the config document and its validation, and the upstream connector contract.
export { Waypoint, waypointNodeId, waypointNodeMetadata, WAYPOINT_HBONE_PORT } from './waypoint';
export type { WaypointOptions, CertificateSource } from './waypoint';
export { WaypointProxy } from './proxy';
export type { WaypointProxyOptions, TunnelRefusal } from './proxy';
export { parseWaypointConfig, readWaypointConfig } from './config/validate';
export * from './config/types';
export { HboneUpstreamConnector } from './upstream-hbone';
export type { HboneUpstreamOptions } from './upstream-hbone';
export type { UpstreamConnector, UpstreamEndpoint } from './upstream/connector';
export { FILTER_ORDER } from './pipeline/handler';
export { startWaypointAdmin, waypointConfigDump, ADMIN_PORT, METRICS_PORT, READINESS_PORT } from './admin';
export { WaypointMetrics } from './telemetry/request-metrics';
export { WaypointConfigInvalid, UnknownDestination, NoHealthyUpstream, UpstreamConnectFailed, UpstreamReset, UpstreamPerTryTimeout } from './errors';
