// Loads ambit's xDS .proto files (from PROTO_ROOT) once, on first use, and hands out the message types.
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { PROTO_ROOT } from './proto-root';

/** The .proto files this module owns, relative to PROTO_ROOT. */
export const XDS_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/discovery.proto',
  'istio/workload/workload.proto',
  'istio/security/authorization.proto',
  'ambit/waypoint/v1/waypoint.proto',
];

export interface XdsSchema {
  readonly root: protobuf.Root;
  readonly deltaRequest: protobuf.Type;
  readonly deltaResponse: protobuf.Type;
  readonly address: protobuf.Type;
  readonly authorization: protobuf.Type;
  readonly waypointConfig: protobuf.Type;
}

let cached: XdsSchema | undefined;

/** Parses the protos on the first call (nothing happens at import time) and returns the same schema afterwards. */
export function xdsSchema(): XdsSchema {
  if (cached) return cached;
  const root = new protobuf.Root();
  // google/protobuf/*.proto come bundled with protobufjs; everything else lives under PROTO_ROOT.
  root.resolvePath = (_origin: string, target: string): string =>
    target in protobuf.common ? target : path.join(PROTO_ROOT, target);
  root.loadSync([...XDS_PROTO_FILES], { keepCase: false });
  root.resolveAll();
  cached = {
    root,
    deltaRequest: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
    deltaResponse: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
    address: root.lookupType('istio.workload.Address'),
    authorization: root.lookupType('istio.security.Authorization'),
    waypointConfig: root.lookupType('ambit.waypoint.v1.WaypointConfig'),
  };
  return cached;
}
