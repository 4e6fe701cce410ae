// Public surface of waypoints on Kubernetes: the reconciler the control plane runs and the functions `ambit waypoint` calls.
export { WaypointReconciler, WAYPOINT_FIELD_MANAGER } from './waypoint-reconciler';
export type { GatewaySource, Leadership, WaypointReconcilerOptions } from './waypoint-reconciler';
export { WaypointTemplates, WaypointTemplateError, WAYPOINT_TEMPLATE_FILES } from './waypoint-templates';
export type { WaypointValues } from './waypoint-templates';
export { waypointStatus, sameStatus } from './waypoint-status';
export type { GatewayAddress, GatewayCondition, GatewayStatus, WaypointOutcome } from './waypoint-status';
export { applyWaypoint, deleteWaypoints, isWaypointGateway, listWaypoints, summarizeWaypoint, CLI_FIELD_MANAGER } from './waypoint-commands';
export type { AppliedWaypoint, WaypointSummary } from './waypoint-commands';
