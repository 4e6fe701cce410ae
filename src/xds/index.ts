// Public surface of ambit's xDS layer: message types, type URLs, resource codecs, the ADS wiring and the
// delta-xDS client used by proxies.
export * from './types';
export {
  encodeAddress,
  decodeAddress,
  encodeAuthorization,
  decodeAuthorization,
  encodeWaypointConfig,
  decodeWaypointConfig,
  toAny,
  addressToAny,
  authorizationToAny,
  waypointConfigToAny,
  addressFromAny,
  authorizationFromAny,
  waypointConfigFromAny,
} from './codec';
export {
  ADS_SERVICE_NAME,
  DELTA_ADS_METHOD_PATH,
  encodeDeltaRequest,
  decodeDeltaRequest,
  encodeDeltaResponse,
  decodeDeltaResponse,
  deltaAdsServerDefinition,
} from './ads-service';
export {
  DeltaXdsClient,
  xdsType,
  type DeltaXdsClientOptions,
  type DeltaXdsClientEvents,
  type XdsAppliedSummary,
  type XdsTypeHandler,
  type XdsUpdate,
} from './client';
export { backoffDelay, DEFAULT_XDS_BACKOFF, type BackoffPolicy } from './backoff';
export { XdsDecodeError, XdsEncodeError, XdsUnknownTypeError, XdsClientClosedError } from './errors';
export { xdsSchema, XDS_PROTO_FILES, type XdsSchema } from './schema';
export { PROTO_ROOT } from './proto-root';
export { ipToBytes, ipFromBytes } from './ip-bytes';
