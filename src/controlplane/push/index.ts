// Public surface of the control plane's xDS push server.
export { DeltaXdsServer, type DeltaXdsServerOptions } from './delta-xds-server';
export { planDelta, planDeltaFor, isEmptyPlan, type DeltaPlan, type DeltaPlanInput } from './delta-plan';
export { ChangeDebouncer, DEFAULT_DEBOUNCE_MS, DEFAULT_MAX_DELAY_MS, type ChangeDebouncerOptions } from './change-debouncer';
export type {
  CatalogChangeListener,
  ChangedNames,
  CatalogEntry,
  CatalogSnapshot,
  GrpcAuthContext,
  ResourceCatalog,
  XdsAuthContext,
  XdsAuthenticator,
  XdsClientDebug,
  XdsClientInfo,
  XdsNackEvent,
  XdsNackRecord,
  XdsPushEvent,
  XdsPushMetrics,
  XdsTypeDebug,
  XdsTypeStats,
} from './types';
